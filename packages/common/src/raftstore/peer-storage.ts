// A region peer's Raft storage on the store's one RocksDB. The core reads it
// synchronously, so every live entry (after the truncated index) is also
// kept in memory, log GC keeping that bounded: as bytes (encoded-log.ts),
// and as Entry objects only until applied. Writes go into the round's
// WriteBatch; the in-memory view changes at the same time, before the
// batch is durable, as the core expects of etcd's MemoryStorage.
import type { Engine, WriteBatch } from '../storage/engine';
import { applyStateKey, hardStateKey, raftLogKey, raftLogRange, regionStateKey } from '../keys';
import { redraft as pb } from '../gen/proto';
import {
  ErrCompacted,
  ErrSnapshotTemporarilyUnavailable,
  ErrUnavailable,
  limitSize,
  type ConfState,
  type Entry,
  type HardState,
  type Snapshot,
  type Storage,
  entrySize,
} from '../raft';
import { decodeEntry, decodeHardState, encodeHardState, entryBytes } from './codec';
import { EncodedLog } from './encoded-log';

/** Every bootstrapped replica of a new region starts from this index, term and state (as TiKV does). */
export const RAFT_INIT_INDEX = 5;
export const RAFT_INIT_TERM = 5;

export interface ApplyState {
  appliedIndex: number;
  truncatedIndex: number;
  truncatedTerm: number;
}

export function encodeApplyState(a: ApplyState): Uint8Array {
  return pb.ApplyState.encode(a).finish();
}

export function decodeApplyState(b: Uint8Array): ApplyState {
  const a = pb.ApplyState.decode(b);
  return { appliedIndex: Number(a.appliedIndex), truncatedIndex: Number(a.truncatedIndex), truncatedTerm: Number(a.truncatedTerm) };
}

export function encodeRegionState(region: pb.Region.$Properties, state: pb.PeerState, peerId = 0): Uint8Array {
  return pb.RegionLocalState.encode({ region, state, peerId }).finish();
}

/** Voters and learners of a region descriptor, as the core's ConfState. */
export function confStateOf(region: pb.Region.$Properties): ConfState {
  const peers = region.peers ?? [];
  return {
    voters: peers.filter((p) => (p.role ?? pb.PeerRole.VOTER) === pb.PeerRole.VOTER).map((p) => Number(p.id)),
    learners: peers.filter((p) => p.role === pb.PeerRole.LEARNER).map((p) => Number(p.id)),
  };
}

/** Supplies snapshots: metadata now if one is ready, else starts making one and throws. */
export type SnapshotSource = () => Snapshot | undefined;

export class PeerStorage implements Storage {
  /** Every live entry's bytes: [truncatedIndex + 1, lastIndex]. */
  private readonly encoded: EncodedLog;
  /**
   * The live entries not applied yet, as objects: [objectsFrom, lastIndex].
   * An applied entry's object is let go (setApplied), so that it dies
   * young; the rare read of an older entry (a lagging follower) decodes it
   * from `encoded`.
   */
  private ents: Entry[] = [];
  private objectsFrom: number;
  /**
   * A replica created by a message is not on disk yet: its region state goes
   * into the same batch as its first hard state or entries, so a restart
   * finds the replica (and its vote) or finds nothing, never half of it.
   */
  private regionStateUnsaved = false;

  private constructor(
    readonly regionId: number,
    /** This store's replica of the region (0 for legacy records: found by store id). */
    readonly peerId: number,
    public hardState: HardState,
    public applyState: ApplyState,
    public region: pb.Region.$Properties,
    private snapshotSource: SnapshotSource,
  ) {
    this.encoded = new EncodedLog(applyState.truncatedIndex + 1);
    this.objectsFrom = applyState.truncatedIndex + 1;
  }

  /** Loads a peer's state and its live log from the engine. */
  static async load(engine: Engine, regionId: number, region: pb.Region.$Properties, peerId = 0): Promise<PeerStorage> {
    const hsRaw = await engine.get(hardStateKey(regionId));
    const asRaw = await engine.get(applyStateKey(regionId));
    const hs = hsRaw ? decodeHardState(hsRaw) : { term: 0, vote: 0, commit: 0 };
    const as = asRaw ? decodeApplyState(asRaw) : { appliedIndex: 0, truncatedIndex: 0, truncatedTerm: 0 };
    const s = new PeerStorage(regionId, peerId, hs, as, region, () => undefined);
    const [, lt] = raftLogRange(regionId);
    s.objectsFrom = Math.max(as.truncatedIndex, as.appliedIndex) + 1;
    for await (const [, v] of engine.scan({ gte: raftLogKey(regionId, as.truncatedIndex + 1), lt })) {
      const e = decodeEntry(v);
      // Entries must be contiguous from truncatedIndex+1; anything else is corruption.
      if (e.index !== s.encoded.end) throw new Error(`region ${regionId}: raft log gap at ${e.index}`);
      s.encoded.append(e.index, e.term, v);
      if (e.index >= s.objectsFrom) s.ents.push(e);
    }
    // The loop applies an entry once it is committed and in the local log,
    // and the apply write may land before the hard state that carries the new
    // commit index (a crash between the two). Only committed entries are ever
    // applied, so the commit index is at least the applied one (TiKV does the
    // same at start-up).
    const lastIndex = s.lastIndex();
    if (as.appliedIndex > lastIndex) throw new Error(`region ${regionId}: applied ${as.appliedIndex} beyond the last log entry ${lastIndex}`);
    if (hs.commit < as.appliedIndex) s.hardState.commit = as.appliedIndex;
    if (s.hardState.commit < as.truncatedIndex) throw new Error(`region ${regionId}: commit ${hs.commit} behind truncated ${as.truncatedIndex}`);
    return s;
  }

  /**
   * A peer that will learn everything from its leader (added replica): empty
   * log, no voters. Persisted with its first write (see regionStateUnsaved).
   */
  static empty(regionId: number, region: pb.Region.$Properties, peerId: number): PeerStorage {
    const s = new PeerStorage(regionId, peerId, { term: 0, vote: 0, commit: 0 }, { appliedIndex: 0, truncatedIndex: 0, truncatedTerm: 0 }, region, () => undefined);
    s.regionStateUnsaved = true;
    return s;
  }

  /** Writes the state every replica of a newly bootstrapped region starts from. */
  static bootstrap(batch: WriteBatch, region: pb.Region.$Properties, peerId = 0): void {
    const id = Number(region.id);
    batch.put(hardStateKey(id), Buffer.from(encodeHardState({ term: RAFT_INIT_TERM, vote: 0, commit: RAFT_INIT_INDEX })));
    batch.put(
      applyStateKey(id),
      Buffer.from(encodeApplyState({ appliedIndex: RAFT_INIT_INDEX, truncatedIndex: RAFT_INIT_INDEX, truncatedTerm: RAFT_INIT_TERM })),
    );
    batch.put(regionStateKey(id), Buffer.from(encodeRegionState(region, pb.PeerState.NORMAL, peerId)));
  }

  /**
   * What `load` would read back once `bootstrap`'s batch is on disk, made in
   * memory: thousands of initial replicas start without a read each.
   */
  static bootstrapped(region: pb.Region.$Properties, peerId: number): PeerStorage {
    return new PeerStorage(
      Number(region.id),
      peerId,
      { term: RAFT_INIT_TERM, vote: 0, commit: RAFT_INIT_INDEX },
      { appliedIndex: RAFT_INIT_INDEX, truncatedIndex: RAFT_INIT_INDEX, truncatedTerm: RAFT_INIT_TERM },
      region,
      () => undefined,
    );
  }

  setSnapshotSource(source: SnapshotSource): void {
    this.snapshotSource = source;
  }

  // ---- raft.Storage -----------------------------------------------------------

  initialState(): { hardState: HardState; confState: ConfState } {
    return { hardState: { ...this.hardState }, confState: confStateOf(this.region) };
  }

  entries(lo: number, hi: number, maxBytes: number): Entry[] {
    if (lo <= this.applyState.truncatedIndex) throw new ErrCompacted();
    if (hi > this.lastIndex() + 1) throw new ErrUnavailable(`entries hi ${hi} beyond last index ${this.lastIndex()}`);
    if (lo >= this.objectsFrom) return limitSize(this.ents.slice(lo - this.objectsFrom, hi - this.objectsFrom), maxBytes);
    // From an applied entry on (a follower that lags): decoded again, under
    // limitSize's rule, and none past the size limit.
    const out: Entry[] = [];
    let size = 0;
    for (let i = lo; i < hi; i++) {
      const e = i >= this.objectsFrom ? this.ents[i - this.objectsFrom] : decodeEntry(this.encoded.bytes(i));
      size += entrySize(e);
      if (out.length > 0 && size > maxBytes) break;
      out.push(e);
    }
    return out;
  }

  term(i: number): number {
    const t = this.applyState.truncatedIndex;
    if (i === t) return this.applyState.truncatedTerm;
    if (i < t) throw new ErrCompacted();
    if (i > this.lastIndex()) throw new ErrUnavailable();
    return this.encoded.term(i);
  }

  firstIndex(): number {
    return this.applyState.truncatedIndex + 1;
  }

  lastIndex(): number {
    return this.encoded.end - 1;
  }

  snapshot(): Snapshot {
    const snap = this.snapshotSource();
    if (!snap) throw new ErrSnapshotTemporarilyUnavailable();
    return snap;
  }

  // ---- writes (into the round's batch) -----------------------------------------

  /** Appends entries, dropping any conflicting suffix (in memory and on disk). */
  append(entries: Entry[], batch: WriteBatch): void {
    if (entries.length === 0) return;
    this.saveRegionStateWith(batch);
    const first = entries[0].index;
    if (first <= this.applyState.truncatedIndex) throw new Error(`append at ${first} below truncated ${this.applyState.truncatedIndex}`);
    if (first > this.lastIndex() + 1) throw new Error(`append at ${first} leaves a gap after ${this.lastIndex()}`);
    const oldLast = this.lastIndex();
    this.encoded.truncateFrom(first);
    if (first < this.objectsFrom) {
      // Never so for an applied (committed) entry; kept correct regardless.
      this.ents = [];
      this.objectsFrom = first;
    } else {
      this.ents.length = first - this.objectsFrom;
    }
    for (const e of entries) {
      this.ents.push(e);
      // The bytes the MsgApps carry (a leader's) or that arrived (a follower's): encoded at most once.
      const bytes = entryBytes(e);
      this.encoded.append(e.index, e.term, bytes);
      batch.put(raftLogKey(this.regionId, e.index), bytes);
    }
    for (let i = this.lastIndex() + 1; i <= oldLast; i++) batch.del(raftLogKey(this.regionId, i));
  }

  setHardState(hs: HardState, batch: WriteBatch): void {
    this.saveRegionStateWith(batch);
    this.hardState = { ...hs };
    this.commitUnsaved = false;
    batch.put(hardStateKey(this.regionId), Buffer.from(encodeHardState(hs)));
  }

  /** The in-memory commit index is newer than the one on disk (see setCommit). */
  commitUnsaved = false;

  /**
   * A hard state that may differ from the last one only in its commit index.
   * Raft's commit index is volatile (the Raft paper's figure 2): a restarted
   * replica learns it again from its leader, and start-up takes commit =
   * max(stored commit, applied index) (see load). So a round that only moves
   * the commit index (a follower told of a new commit, a leader that heard
   * a quorum) keeps it in memory instead of writing it alone (a RocksDB call);
   * it goes to disk with the next hard state or entries written anyway.
   * Term and vote always go to disk, as does an unsaved replica's first state.
   */
  setCommit(hs: HardState, batch: WriteBatch): void {
    if (this.regionStateUnsaved || hs.term !== this.hardState.term || hs.vote !== this.hardState.vote) {
      this.setHardState(hs, batch);
      return;
    }
    this.hardState = { ...hs };
    this.commitUnsaved = true;
  }

  /** Records the applied index (the caller writes it in the same batch as the applied data). */
  setApplied(index: number, batch: WriteBatch): void {
    this.applyState.appliedIndex = index;
    batch.put(applyStateKey(this.regionId), Buffer.from(encodeApplyState(this.applyState)));
    this.releaseObjectsThrough(index);
  }

  /** Lets go of the Entry objects up to `index` (their bytes stay in `encoded`). */
  private releaseObjectsThrough(index: number): void {
    const n = Math.min(index + 1, this.encoded.end) - this.objectsFrom;
    if (n <= 0) return;
    // A new array of the few unapplied entries left: no hole-filled prefix to keep.
    this.ents = this.ents.slice(n);
    this.objectsFrom += n;
  }

  setRegion(region: pb.Region.$Properties, batch: WriteBatch, state = pb.PeerState.NORMAL): void {
    this.region = region;
    this.regionStateUnsaved = false;
    batch.put(regionStateKey(this.regionId), Buffer.from(encodeRegionState(region, state, this.peerId)));
  }

  private saveRegionStateWith(batch: WriteBatch): void {
    if (this.regionStateUnsaved) this.setRegion(this.region, batch);
  }

  /** Log GC: drops entries up to `index` (≤ applied). */
  compact(index: number, batch: WriteBatch): void {
    if (index <= this.applyState.truncatedIndex) return;
    if (index > this.applyState.appliedIndex) throw new Error(`compact ${index} beyond applied ${this.applyState.appliedIndex}`);
    const term = this.term(index);
    for (let i = this.applyState.truncatedIndex + 1; i <= index; i++) batch.del(raftLogKey(this.regionId, i));
    this.encoded.dropThrough(index);
    this.releaseObjectsThrough(index);
    this.applyState.truncatedIndex = index;
    this.applyState.truncatedTerm = term;
    batch.put(applyStateKey(this.regionId), Buffer.from(encodeApplyState(this.applyState)));
  }

  /** A snapshot replaces the whole log; the caller writes its data in the same batch. */
  applySnapshot(snap: Snapshot, region: pb.Region.$Properties, batch: WriteBatch): void {
    for (let i = this.applyState.truncatedIndex + 1; i <= this.lastIndex(); i++) batch.del(raftLogKey(this.regionId, i));
    this.encoded.reset(snap.meta.index + 1);
    this.ents = [];
    this.objectsFrom = snap.meta.index + 1;
    this.applyState = { appliedIndex: snap.meta.index, truncatedIndex: snap.meta.index, truncatedTerm: snap.meta.term };
    batch.put(applyStateKey(this.regionId), Buffer.from(encodeApplyState(this.applyState)));
    if (this.hardState.commit < snap.meta.index) this.setHardState({ ...this.hardState, commit: snap.meta.index }, batch);
    this.setRegion(region, batch);
  }

  /** Bytes and count of live entries, for log GC decisions and stats. */
  get entryCount(): number {
    return this.encoded.length;
  }
}
