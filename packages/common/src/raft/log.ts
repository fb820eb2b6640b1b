// The Raft log: durable entries (Storage) followed by entries and a snapshot
// not yet written (Unstable). Ideas from etcd/raft's log.go/log_unstable.go.
import { ErrCompacted, ErrUnavailable, UsageError } from './errors';
import { Storage, limitSize } from './storage';
import { Entry, Snapshot } from './types';

/** Entries and a snapshot the host has not written yet. */
export class Unstable {
  snapshot: Snapshot | undefined;
  entries: Entry[] = [];
  /** Index of entries[0]. */
  offset: number;
  /** Entries below this index were handed to the host in a Ready not yet advanced. */
  offsetInProgress: number;
  /** The snapshot was handed to the host in a Ready not yet advanced. */
  snapshotInProgress = false;

  constructor(offset: number) {
    this.offset = offset;
    this.offsetInProgress = offset;
  }

  /** Entries not yet handed to the host. */
  nextEntries(): Entry[] {
    const from = this.offsetInProgress - this.offset;
    return from >= this.entries.length ? [] : this.entries.slice(from);
  }

  hasNextEntries(): boolean {
    return this.offsetInProgress - this.offset < this.entries.length;
  }

  nextSnapshot(): Snapshot | undefined {
    return this.snapshot && !this.snapshotInProgress ? this.snapshot : undefined;
  }

  /** Everything now unstable has been handed to the host. */
  acceptInProgress(): void {
    this.offsetInProgress = this.offset + this.entries.length;
    if (this.snapshot) this.snapshotInProgress = true;
  }

  maybeFirstIndex(): number | undefined {
    return this.snapshot ? this.snapshot.meta.index + 1 : undefined;
  }

  maybeLastIndex(): number | undefined {
    if (this.entries.length > 0) return this.offset + this.entries.length - 1;
    if (this.snapshot) return this.snapshot.meta.index;
    return undefined;
  }

  maybeTerm(i: number): number | undefined {
    if (i < this.offset) {
      if (this.snapshot && this.snapshot.meta.index === i) return this.snapshot.meta.term;
      return undefined;
    }
    const last = this.maybeLastIndex();
    if (last === undefined || i > last) return undefined;
    return this.entries[i - this.offset].term;
  }

  stableTo(i: number, t: number): void {
    const gt = this.maybeTerm(i);
    if (gt === undefined || gt !== t || i < this.offset) return;
    this.entries = this.entries.slice(i + 1 - this.offset);
    this.offset = i + 1;
    this.offsetInProgress = Math.max(this.offsetInProgress, this.offset);
  }

  stableSnapTo(i: number): void {
    if (this.snapshot && this.snapshot.meta.index === i) {
      this.snapshot = undefined;
      this.snapshotInProgress = false;
    }
  }

  restore(s: Snapshot): void {
    this.offset = s.meta.index + 1;
    this.offsetInProgress = this.offset;
    this.entries = [];
    this.snapshot = s;
    this.snapshotInProgress = false;
  }

  truncateAndAppend(ents: Entry[]): void {
    const after = ents[0].index;
    if (after === this.offset + this.entries.length) {
      for (const e of ents) this.entries.push(e);
    } else if (after <= this.offset) {
      // Replace everything unstable; the host overwrites storage from `after`.
      this.offset = after;
      this.offsetInProgress = after;
      this.entries = ents.slice();
    } else {
      this.entries = this.entries.slice(0, after - this.offset).concat(ents);
      this.offsetInProgress = Math.min(this.offsetInProgress, after);
    }
  }

  slice(lo: number, hi: number): Entry[] {
    return this.entries.slice(lo - this.offset, hi - this.offset);
  }
}

export interface LogMutations {
  /** Follower keeps its own conflicting entries instead of truncating (WRONG). */
  noTruncate?: boolean;
}

export class RaftLog {
  readonly storage: Storage;
  unstable: Unstable;
  committed: number;
  applied: number;
  /** Highest index handed to the host for applying (≥ applied). */
  applying: number;
  readonly maxNextEntsSize: number;
  mutations: LogMutations = {};

  constructor(storage: Storage, maxNextEntsSize: number) {
    this.storage = storage;
    const first = storage.firstIndex();
    const last = storage.lastIndex();
    this.unstable = new Unstable(last + 1);
    this.committed = first - 1;
    this.applied = first - 1;
    this.applying = first - 1;
    this.maxNextEntsSize = maxNextEntsSize;
  }

  firstIndex(): number {
    return this.unstable.maybeFirstIndex() ?? this.storage.firstIndex();
  }

  lastIndex(): number {
    return this.unstable.maybeLastIndex() ?? this.storage.lastIndex();
  }

  /** Last index already written by the host (pending snapshot: 0). */
  stableLastIndex(): number {
    if (this.unstable.snapshot) return 0;
    return this.unstable.offset - 1;
  }

  /** Term of entry i; throws ErrCompacted / ErrUnavailable. */
  term(i: number): number {
    const dummy = this.firstIndex() - 1;
    if (i < dummy) throw new ErrCompacted();
    if (i > this.lastIndex()) throw new ErrUnavailable();
    const t = this.unstable.maybeTerm(i);
    if (t !== undefined) return t;
    return this.storage.term(i);
  }

  /**
   * Term of entry i, or undefined if it is compacted or absent. Checks the
   * bounds instead of catching term()'s errors: a follower asks this of
   * every MsgApp's first new entry, and building an Error costs more than
   * the whole append.
   */
  private maybeTerm(i: number): number | undefined {
    if (i < this.firstIndex() - 1 || i > this.lastIndex()) return undefined;
    try {
      return this.term(i);
    } catch (e) {
      if (e instanceof ErrCompacted || e instanceof ErrUnavailable) return undefined;
      throw e;
    }
  }

  /** Term of entry i, or 0 if it is compacted or absent. */
  termOr0(i: number): number {
    return this.maybeTerm(i) ?? 0;
  }

  lastTerm(): number {
    return this.term(this.lastIndex());
  }

  matchTerm(i: number, t: number): boolean {
    return this.maybeTerm(i) === t;
  }

  isUpToDate(lasti: number, term: number): boolean {
    const lt = this.lastTerm();
    return term > lt || (term === lt && lasti >= this.lastIndex());
  }

  /**
   * Appends the entries following (index, logTerm) if that matches, truncating
   * conflicts. Returns the last new index, or undefined on mismatch.
   */
  maybeAppend(index: number, logTerm: number, committed: number, ents: Entry[]): number | undefined {
    if (!this.matchTerm(index, logTerm)) return undefined;
    const lastnewi = index + ents.length;
    let ci = this.findConflict(ents);
    if (this.mutations.noTruncate && ci !== 0 && ci <= this.lastIndex()) {
      // WRONG on purpose: keep our entries, take only what lies beyond our log.
      ci = this.lastIndex() + 1 <= lastnewi ? this.lastIndex() + 1 : 0;
    }
    if (ci !== 0) {
      if (ci <= this.committed) {
        throw new UsageError(`entry ${ci} conflict with committed entry [committed(${this.committed})]`);
      }
      this.append(ents.slice(ci - (index + 1)));
    }
    this.commitTo(Math.min(committed, lastnewi));
    return lastnewi;
  }

  append(ents: Entry[]): number {
    if (ents.length === 0) return this.lastIndex();
    const after = ents[0].index - 1;
    if (after < this.committed) {
      throw new UsageError(`after(${after}) is out of range [committed(${this.committed})]`);
    }
    this.unstable.truncateAndAppend(ents);
    return this.lastIndex();
  }

  /** First index whose term differs from ours (or that we lack); 0 if none. */
  findConflict(ents: Entry[]): number {
    for (const e of ents) {
      if (!this.matchTerm(e.index, e.term)) return e.index;
    }
    return 0;
  }

  /**
   * The largest index ≤ index whose term is ≤ term (or 0 if compacted), and its
   * term: the leader's next probe after a rejection (etcd's fast backtracking).
   */
  findConflictByTerm(index: number, term: number): { index: number; term: number } {
    for (; index > 0; index--) {
      let ourTerm: number;
      try {
        ourTerm = this.term(index);
      } catch (e) {
        if (e instanceof ErrCompacted || e instanceof ErrUnavailable) return { index, term: 0 };
        throw e;
      }
      if (ourTerm <= term) return { index, term: ourTerm };
    }
    return { index: 0, term: 0 };
  }

  unstableEntries(): Entry[] {
    return this.unstable.entries.slice();
  }

  hasNextCommittedEnts(): boolean {
    if (this.unstable.snapshot) return false;
    const off = Math.max(this.applying + 1, this.firstIndex());
    return this.committed + 1 > off;
  }

  nextCommittedEnts(): Entry[] {
    if (this.unstable.snapshot) return [];
    const off = Math.max(this.applying + 1, this.firstIndex());
    if (this.committed + 1 > off) return this.slice(off, this.committed + 1, this.maxNextEntsSize);
    return [];
  }

  snapshot(): Snapshot {
    return this.unstable.snapshot ?? this.storage.snapshot();
  }

  commitTo(c: number): void {
    if (this.committed < c) {
      if (this.lastIndex() < c) {
        throw new UsageError(`commit(${c}) is out of range [lastIndex(${this.lastIndex()})]`);
      }
      this.committed = c;
    }
  }

  appliedTo(i: number): void {
    if (i === 0) return;
    if (this.committed < i || i < this.applied) {
      throw new UsageError(`applied(${i}) is out of range [prevApplied(${this.applied}), committed(${this.committed})]`);
    }
    this.applied = i;
    if (this.applying < i) this.applying = i;
  }

  stableTo(i: number, t: number): void {
    this.unstable.stableTo(i, t);
  }

  stableSnapTo(i: number): void {
    this.unstable.stableSnapTo(i);
  }

  /** Entries from i on, at most maxBytes (but at least one). */
  entries(i: number, maxBytes: number): Entry[] {
    if (i > this.lastIndex()) return [];
    return this.slice(i, this.lastIndex() + 1, maxBytes);
  }

  /** Commits maxIndex if it carries the given term (the leader's current term). */
  maybeCommit(maxIndex: number, term: number, anyTerm = false): boolean {
    if (maxIndex > this.committed && (anyTerm || this.termOr0(maxIndex) === term)) {
      this.commitTo(maxIndex);
      return true;
    }
    return false;
  }

  restore(s: Snapshot): void {
    this.committed = s.meta.index;
    this.unstable.restore(s);
  }

  /** Entries in [lo, hi), size-limited; throws ErrCompacted if lo is compacted. */
  slice(lo: number, hi: number, maxBytes: number): Entry[] {
    if (lo > hi) throw new UsageError(`invalid slice ${lo} > ${hi}`);
    const fi = this.firstIndex();
    if (lo < fi) throw new ErrCompacted();
    const length = this.lastIndex() + 1 - fi;
    if (hi > fi + length) throw new UsageError(`slice[${lo},${hi}) out of bound [${fi},${this.lastIndex()}]`);
    if (lo === hi) return [];
    let ents: Entry[] = [];
    if (lo < this.unstable.offset) {
      const stored = this.storage.entries(lo, Math.min(hi, this.unstable.offset), maxBytes);
      // A short read from storage means the size limit was hit.
      if (stored.length < Math.min(hi, this.unstable.offset) - lo) return stored;
      ents = stored;
    }
    if (hi > this.unstable.offset) {
      const u = this.unstable.slice(Math.max(lo, this.unstable.offset), hi);
      ents = ents.length > 0 ? ents.concat(u) : u;
    }
    return limitSize(ents, maxBytes);
  }
}
