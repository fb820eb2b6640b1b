// The read side of a Raft log's durable storage, and an in-memory one.
import { ErrCompacted, ErrSnapOutOfDate, ErrUnavailable, UsageError } from './errors';
import { ConfState, Entry, HardState, Snapshot, emptyHardState, emptySnapshot, entrySize } from './types';

/**
 * Synchronous on purpose: the store keeps recent entries cached in memory
 * (backed by RocksDB), and the core calls these on every step.
 * Errors: ErrCompacted, ErrUnavailable, ErrSnapshotTemporarilyUnavailable.
 */
export interface Storage {
  initialState(): { hardState: HardState; confState: ConfState };
  /** Entries in [lo, hi), at least one if any, at most maxBytes beyond the first. */
  entries(lo: number, hi: number, maxBytes: number): Entry[];
  /** Term of entry i; firstIndex()-1 is allowed (the snapshot's term). */
  term(i: number): number;
  firstIndex(): number;
  lastIndex(): number;
  snapshot(): Snapshot;
}

/** Returns the longest prefix of ents whose total size stays under maxBytes (always at least one). */
export function limitSize(ents: Entry[], maxBytes: number): Entry[] {
  if (ents.length === 0) return ents;
  let size = entrySize(ents[0]);
  let n = 1;
  for (; n < ents.length; n++) {
    size += entrySize(ents[n]);
    if (size > maxBytes) break;
  }
  return n === ents.length ? ents : ents.slice(0, n);
}

/**
 * Storage held in memory: tests, the simulator, the bench. `ents[0]` is a
 * dummy entry carrying the snapshot's index and term.
 */
export class MemoryStorage implements Storage {
  private hardState: HardState = emptyHardState();
  private confState: ConfState = { voters: [], learners: [] };
  private snap: Snapshot = emptySnapshot();
  private ents: Entry[] = [{ term: 0, index: 0, type: 0, data: new Uint8Array(0) }];

  initialState(): { hardState: HardState; confState: ConfState } {
    return { hardState: { ...this.hardState }, confState: cloneConfState(this.confState) };
  }

  setHardState(hs: HardState): void {
    this.hardState = { ...hs };
  }

  hardStateNow(): HardState {
    return { ...this.hardState };
  }

  /**
   * The configuration as of the applied index, written with the apply
   * (bootstrap, and after every applied conf change).
   */
  setConfState(cs: ConfState): void {
    this.confState = cloneConfState(cs);
  }

  entries(lo: number, hi: number, maxBytes: number): Entry[] {
    const offset = this.ents[0].index;
    if (lo <= offset) throw new ErrCompacted();
    if (hi > this.lastIndex() + 1) throw new ErrUnavailable(`entries hi ${hi} out of bound lastIndex ${this.lastIndex()}`);
    if (this.ents.length === 1) throw new ErrUnavailable();
    return limitSize(this.ents.slice(lo - offset, hi - offset), maxBytes);
  }

  term(i: number): number {
    const offset = this.ents[0].index;
    if (i < offset) throw new ErrCompacted();
    if (i - offset >= this.ents.length) throw new ErrUnavailable();
    return this.ents[i - offset].term;
  }

  firstIndex(): number {
    return this.ents[0].index + 1;
  }

  lastIndex(): number {
    return this.ents[0].index + this.ents.length - 1;
  }

  snapshot(): Snapshot {
    return this.snap;
  }

  /** Replaces the log with a snapshot received from the leader. */
  applySnapshot(snap: Snapshot): void {
    if (this.snap.meta.index >= snap.meta.index) throw new ErrSnapOutOfDate();
    this.snap = snap;
    this.confState = cloneConfState(snap.meta.confState);
    this.ents = [{ term: snap.meta.term, index: snap.meta.index, type: 0, data: new Uint8Array(0) }];
  }

  /** Makes a snapshot of the state machine at applied index i (≤ lastIndex). */
  createSnapshot(i: number, cs: ConfState | undefined, data: Uint8Array): Snapshot {
    if (i <= this.snap.meta.index) throw new ErrSnapOutOfDate();
    if (i > this.lastIndex()) throw new UsageError(`snapshot ${i} is out of bound lastindex(${this.lastIndex()})`);
    const offset = this.ents[0].index;
    this.snap = {
      meta: { index: i, term: this.ents[i - offset].term, confState: cloneConfState(cs ?? this.confState) },
      data,
    };
    return this.snap;
  }

  /** Discards entries up to and including compactIndex (must be ≤ applied, which the caller knows). */
  compact(compactIndex: number): void {
    const offset = this.ents[0].index;
    if (compactIndex <= offset) throw new ErrCompacted();
    if (compactIndex > this.lastIndex()) throw new UsageError(`compact ${compactIndex} is out of bound lastindex(${this.lastIndex()})`);
    const i = compactIndex - offset;
    const head: Entry = { term: this.ents[i].term, index: this.ents[i].index, type: 0, data: new Uint8Array(0) };
    this.ents = [head, ...this.ents.slice(i + 1)];
  }

  /** Appends entries, replacing any conflicting suffix. */
  append(entries: Entry[]): void {
    if (entries.length === 0) return;
    const first = this.firstIndex();
    const last = entries[0].index + entries.length - 1;
    if (last < first) return; // all compacted
    if (first > entries[0].index) entries = entries.slice(first - entries[0].index);
    const offset = entries[0].index - this.ents[0].index;
    if (offset > this.ents.length) {
      throw new UsageError(`missing log entry [last: ${this.lastIndex()}, append at: ${entries[0].index}]`);
    }
    if (offset < this.ents.length) this.ents.length = offset; // drop the conflicting suffix
    for (const e of entries) this.ents.push(e);
  }
}

export function cloneConfState(cs: ConfState): ConfState {
  return { voters: [...cs.voters], learners: [...cs.learners] };
}
