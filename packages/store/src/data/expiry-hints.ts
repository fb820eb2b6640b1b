// Per slot, the earliest expiry that may be due there: the expiry cycle
// (raftstore/expiry.ts) scans only the slots whose hint has passed, so an
// idle keyspace costs it nothing. A hint is local and advisory: apply lowers
// it when it writes an expiry (on every replica, so a new leader has them),
// a scan raises it to what it found, and 0 means "unknown, look". Too low
// costs one useless scan; it must never be too high, which is why a scan
// resets its slots only at a quiet point (see ExpiryCycle.expireOnce).
import { SLOT_COUNT } from '@redraft/common';

/** 0 at the start: every slot is looked at once. */
const hints = new Float64Array(SLOT_COUNT);

/** A key of `slot` was written to expire at `expireAt` (called by apply). */
export function noteExpiry(slot: number, expireAt: number): void {
  if (expireAt < hints[slot]) hints[slot] = expireAt;
}

/** The slot's next possible due time: the earlier of the current hint and `at`. */
export const lowerHint = noteExpiry;

/** What a scan found: nothing before `at` (Infinity: no row at all). */
export function resetHint(slot: number, at: number): void {
  hints[slot] = at;
}

/** Slots of [start, end) to look at again from scratch (their data was replaced by a snapshot). */
export function forgetExpiryHints(start: number, end: number): void {
  hints.fill(0, Math.max(0, start), Math.min(SLOT_COUNT, end));
}

/**
 * Up to `max` slots of [start, end) whose hint is before `now`, in order
 * from `from` (wrapping), so that a busy region's slots all get their turn.
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
