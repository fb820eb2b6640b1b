// Per slot, the earliest expiry that may be due there: the expiry cycle
// (raftstore/expiry.ts) scans only the slots whose hint has passed, so an
// idle keyspace costs it nothing. A hint is local and advisory: apply lowers
// it when it writes an expiry (on every replica, so a new leader has them),
// and a scan sets it to what it found. Too low costs one useless scan; it
// must never be too high, which is why a scan resets its slots only at a
// quiet point (see ExpiryCycle.expireOnce).
//
// At the start (and after a snapshot replaced a region's data) no slot's
// hint is known: the leader's sweep, which reads every row of its region in
// order, lowers the hints from the expiry-index rows it passes and marks
// the slots it passed known. (A scan per unknown slot would be cheaper only
// in theory: the binding's iterators have no upper bound, so the scan of an
// empty slot walks on to the next live row, across any run of tombstones.)
import { SLOT_COUNT } from '@redraft/common';

const hints = new Float64Array(SLOT_COUNT).fill(Infinity);
/** 1: what the slot holds was never scanned here. */
const unknown = new Uint8Array(SLOT_COUNT).fill(1);

/** A key of `slot` was written to expire at `expireAt` (apply), or is due again (the cycle). */
export function noteExpiry(slot: number, expireAt: number): void {
  if (expireAt < hints[slot]) hints[slot] = expireAt;
}

export const lowerHint = noteExpiry;

/** A scan of the slot begins (at a quiet point): what it finds, and later writes, set the hint. */
export function resetHint(slot: number): void {
  hints[slot] = Infinity;
}

/** The sweep read every row of slots [start, end): their hints hold every expiry there. */
export function markSlotsKnown(start: number, end: number): void {
  unknown.fill(0, Math.max(0, start), Math.min(SLOT_COUNT, end));
}

/** Some slot of [start, end) was never read here. */
export function hasUnknownSlots(start: number, end: number): boolean {
  for (let s = start; s < end; s++) if (unknown[s]) return true;
  return false;
}

/** Slots of [start, end) to look at again from scratch (their data was replaced by a snapshot). */
export function forgetExpiryHints(start: number, end: number): void {
  unknown.fill(1, Math.max(0, start), Math.min(SLOT_COUNT, end));
}

/**
 * Up to `max` slots of [start, end) whose hint is before `now`, in order
 * from `from` (wrapping), so that every slot of a busy region gets its turn.
 */
export function dueSlots(start: number, end: number, now: number, from: number, max: number): number[] {
  const out: number[] = [];
  const n = end - start;
  const first = from >= start && from < end ? from : start;
  for (let i = 0; i < n && out.length < max; i++) {
    const slot = start + ((first - start + i) % n);
    if (hints[slot] < now) out.push(slot);
  }
  return out;
}
