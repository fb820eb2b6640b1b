// One replica of one region: a Raft group member in the store's loop, and
// the RegionHandle the command layer proposes to and reads through.
import {
  ErrorReply,
  OverlayBatch,
  confStateOf,
  dataRange,
  pb,
  raft,
} from '@redraft/common';
import type { Engine, LoopGroup, Logger, PeerStorage, Reply } from '@redraft/common';
import { applyCommand } from '../apply/apply';
import { CommandError } from '../data/errors';
import type { RegionHandle } from '../region/region';
import { RetryLaterError } from '../dispatch';

const { EntryType, StateRole, ConfChangeType } = raft;

/** How the peer asks its store for things outside the region (snapshots, scheduling). */
export interface PeerHost {
  /** The engine, for consistent snapshot iterators. */
  readonly engine: Engine;
  /** Applied entries kept in the log before it is compacted. */
  readonly logGcThreshold: number;
  schedule(): void;
  /** The region descriptor changed (conf change, split): routing must follow. */
  regionChanged(peer: RegionPeer): void;
  /** This peer was removed from its region: destroy it after the round. */
  peerRemoved(peer: RegionPeer): void;
  /** A split was applied: create the new region's peer on this store (in the same batch). */
  splitApplied?(parent: RegionPeer, child: pb.Region.$Properties, batch: OverlayBatch): void;
}

interface PendingWrite {
  resolve(r: Reply): void;
  reject(e: Error): void;
  index: number;
  term: number;
}

interface PendingRead {
  resolve(): void;
  reject(e: Error): void;
  /** Set once the read index is known. */
  index?: number;
  deadline: number;
}

/** Errors the command layer turns into TRYAGAIN, a forward or MOVED. */
export class NotLeaderError extends RetryLaterError {
  constructor(readonly regionId: number, readonly leaderPeerId: number) {
    super(`TRYAGAIN region ${regionId} has no leader here; try again`);
  }
}

/**
 * A read whose ReadIndex got no answer within this long (its leader may have
 * died) is retried by the dispatcher with a fresh request, until its deadline.
 */
const READ_INDEX_TIMEOUT_MS = 1000;
/** test-only: lets the fault suite prove its checker catches stale reads ('lease' | 'follower'; unset = safe). */
const UNSAFE_READS = process.env.REDRAFT_UNSAFE_READS;

export class RegionPeer implements LoopGroup, RegionHandle {
  readonly node: raft.RawNode;
  private nextProposalId = 1;
  private readonly pendingWrites = new Map<number, PendingWrite>();
  private readonly pendingReads = new Map<number, PendingRead>();
  private nextReadId = 1;
  /** Apply results of the round, answered in afterPersist. */
  private results: Array<[number, Reply]> = [];
  private removed = false;
  /** Snapshot made for followers: metadata and the region's key/value pairs. */
  snapshot: { snap: raft.Snapshot; kvs: Array<[Buffer, Buffer]>; id: number } | undefined;
  private snapshotWanted = false;

  /** A follower needs a snapshot that is not being built yet. */
  get wantsSnapshot(): boolean {
    return this.snapshotWanted && !this.snapshotBuilding;
  }
  private snapshotBuilding = false;

  constructor(
    readonly peerId: number,
    readonly storage: PeerStorage,
    private readonly host: PeerHost,
    readonly log: Logger,
    raftConfig: Omit<raft.Config, 'id' | 'storage' | 'applied'>,
  ) {
    this.node = new raft.RawNode({ ...raftConfig, id: peerId, storage, applied: storage.applyState.appliedIndex });
    storage.setSnapshotSource(() => this.snapshotForFollower());
  }

  get id(): number {
    return Number(this.storage.region.id);
  }
  get region(): pb.Region.$Properties {
    return this.storage.region;
  }
  get startSlot(): number {
    return Number(this.region.startSlot);
  }
  get endSlot(): number {
    return Number(this.region.endSlot);
  }
  get epoch(): { version: number; confVer: number } {
    return { version: Number(this.region.epoch?.version ?? 0), confVer: Number(this.region.epoch?.confVer ?? 0) };
  }
  get isLeader(): boolean {
    return this.node.raft.state === StateRole.Leader;
  }
  get leaderPeerId(): number {
    return this.node.raft.lead;
  }
  get applied(): number {
    return this.storage.applyState.appliedIndex;
  }

  // ---- RegionHandle --------------------------------------------------------------

  propose(cmd: pb.WriteCommand.$Properties): Promise<Reply> {
    if (!this.isLeader) return Promise.reject(new NotLeaderError(this.id, this.leaderPeerId));
    const proposalId = this.nextProposalId++;
    const data = pb.RaftCommand.encode({
      header: { regionId: this.id, epoch: this.region.epoch, proposerPeer: this.peerId, proposalId },
      write: cmd,
    }).finish();
    try {
      this.node.propose(data);
    } catch (e) {
      return Promise.reject(new RetryLaterError(`TRYAGAIN ${(e as Error).message}`));
    }
    const term = this.node.raft.term;
    const index = this.node.raft.log.lastIndex();
    this.host.schedule();
    return new Promise((resolve, reject) => this.pendingWrites.set(proposalId, { resolve, reject, index, term }));
  }

  /** Linearizable read point: lease on a leader that has committed in its term, else ReadIndex. */
  readBarrier(): Promise<void> {
    if (UNSAFE_READS === 'lease' && this.isLeader) return Promise.resolve(); // test-only, see UNSAFE_READS
    if (UNSAFE_READS === 'follower' && !this.isLeader) return Promise.resolve(); // test-only, see UNSAFE_READS
    const r = this.node.raft;
    if (this.isLeader && this.node.leaseValid() && r.log.term(r.log.committed) === r.term) {
      const target = r.log.committed;
      if (this.applied >= target) return Promise.resolve();
      return this.waitApplied(target);
    }
    const id = this.nextReadId++;
    const ctx = Buffer.alloc(8);
    // The leader keys pending reads by context: make it unique in the group
    // (this replica's peer id, then its own counter), or two followers' reads collide.
    ctx.writeUInt32BE(this.peerId >>> 0, 0);
    ctx.writeUInt32BE(id >>> 0, 4);
    try {
      this.node.readIndex(ctx);
    } catch (e) {
      // No leader known yet (an election is under way): the dispatcher retries.
      return Promise.reject(new RetryLaterError(`TRYAGAIN ${(e as Error).message}`));
    }
    this.host.schedule();
    return new Promise((resolve, reject) => this.pendingReads.set(id, { resolve, reject, deadline: Date.now() + READ_INDEX_TIMEOUT_MS }));
  }

  private waitApplied(index: number): Promise<void> {
    const id = this.nextReadId++;
    return new Promise((resolve, reject) => this.pendingReads.set(id, { resolve, reject, index, deadline: Date.now() + READ_INDEX_TIMEOUT_MS }));
  }

  // ---- LoopGroup -----------------------------------------------------------------

  async apply(entries: raft.Entry[], batch: OverlayBatch): Promise<void> {
    for (const e of entries) {
      if (e.index <= this.applied) continue;
      if (e.type === EntryType.ConfChange) this.applyConfChange(e, batch);
      else if (e.data.length > 0) await this.applyNormal(e, batch);
      this.storage.applyState.appliedIndex = e.index;
    }
    this.storage.setApplied(this.applied, batch.batch);
    this.maybeCompactLog(batch);
  }

  /**
   * Log GC, local to this replica: past the threshold, drop all but the
   * newest half of it. A follower that needs dropped entries gets a snapshot.
   */
  private maybeCompactLog(batch: OverlayBatch): void {
    const threshold = this.host.logGcThreshold;
    const truncated = this.storage.applyState.truncatedIndex;
    if (this.applied - truncated <= threshold) return;
    this.storage.compact(this.applied - Math.floor(threshold / 2), batch.batch);
  }

  private async applyNormal(e: raft.Entry, batch: OverlayBatch): Promise<void> {
    const cmd = pb.RaftCommand.decode(e.data);
    const header = cmd.header;
    const mine = Number(header?.proposerPeer) === this.peerId ? Number(header?.proposalId) : 0;
    // A command proposed before a split of this region may target keys it no longer owns.
    if (Number(header?.epoch?.version ?? 0) < this.epoch.version) {
      if (mine) this.results.push([mine, new ErrorReply('TRYAGAIN the region changed (split) while the command was in flight')]);
      return;
    }
    if (cmd.write) {
      const reply = await applyCommand(cmd.write as pb.WriteCommand, e.index, batch);
      if (mine) this.results.push([mine, reply]);
    } else if (cmd.admin?.split) {
      this.applySplit(cmd.admin.split as pb.SplitRequest, batch);
      if (mine) this.results.push([mine, 'OK']);
    }
  }

  private applySplit(split: pb.SplitRequest, batch: OverlayBatch): void {
    const at = Number(split.splitSlot);
    if (at <= this.startSlot || at >= this.endSlot) return; // stale or out of range: nothing to do
    const peers = this.region.peers ?? [];
    const version = this.epoch.version + 1;
    const child: pb.Region.$Properties = {
      id: split.newRegionId,
      startSlot: at,
      endSlot: this.endSlot,
      epoch: { version, confVer: this.epoch.confVer },
      peers: peers.map((p, i) => ({ id: split.newPeerIds[i], storeId: p.storeId, role: p.role })),
    };
    this.storage.setRegion({ ...this.region, endSlot: at, epoch: { version, confVer: this.epoch.confVer } }, batch.batch);
    this.host.splitApplied?.(this, child, batch);
    this.host.regionChanged(this);
  }

  private applyConfChange(e: raft.Entry, batch: OverlayBatch): void {
    const cc = pb.ConfChange.decode(e.data);
    const change: raft.ConfChange = { type: cc.type, nodeId: Number(cc.nodeId), context: cc.context };
    this.node.applyConfChange(change);
    const storeId = cc.context && cc.context.length === 8 ? Buffer.from(cc.context).readUInt32BE(4) : 0;
    let peers = [...(this.region.peers ?? [])].filter((p) => Number(p.id) !== change.nodeId);
    if (change.type === ConfChangeType.AddNode) peers.push({ id: change.nodeId, storeId, role: pb.PeerRole.VOTER });
    else if (change.type === ConfChangeType.AddLearner) peers.push({ id: change.nodeId, storeId, role: pb.PeerRole.LEARNER });
    if (change.type !== ConfChangeType.RemoveNode && storeId === 0) {
      // Promotion of a learner: keep its store.
      const old = (this.region.peers ?? []).find((p) => Number(p.id) === change.nodeId);
      peers = peers.map((p) => (Number(p.id) === change.nodeId ? { ...p, storeId: old?.storeId ?? 0 } : p));
    }
    const epoch = { version: this.epoch.version, confVer: this.epoch.confVer + 1 };
    this.storage.setRegion({ ...this.region, peers, epoch }, batch.batch);
    this.host.regionChanged(this);
    if (change.type === ConfChangeType.RemoveNode && change.nodeId === this.peerId) this.removed = true;
  }

  async installSnapshot(snap: raft.Snapshot, batch: OverlayBatch): Promise<void> {
    const data = pb.SnapshotData.decode(snap.data);
    const region = data.region!;
    const kvs = this.receivedSnapshotKvs ?? [];
    this.receivedSnapshotKvs = undefined;
    // Replace the range's data with the snapshot's, atomically with its apply state.
    const [gte, lt] = dataRange(Number(region.startSlot), Number(region.endSlot));
    for await (const [k] of batch.scan({ gte, lt, keysOnly: true })) batch.del(k);
    for (const [k, v] of kvs) batch.put(k, v);
    this.storage.applySnapshot(snap, region, batch.batch);
    this.host.regionChanged(this);
    this.log.info({ index: snap.meta.index, keys: kvs.length }, 'snapshot installed');
  }

  /** Key/value pairs of the snapshot about to be stepped in (set by the store from the chunks). */
  receivedSnapshotKvs: Array<[Buffer, Buffer]> | undefined;

  afterPersist(rd: raft.Ready): void {
    for (const rs of rd.readStates) {
      if (rs.context.length !== 8) continue;
      const ctx = Buffer.from(rs.context);
      if (ctx.readUInt32BE(0) !== this.peerId >>> 0) continue;
      const id = ctx.readUInt32BE(4);
      const r = this.pendingReads.get(id);
      if (r) r.index = rs.index;
    }
    this.settleReads();
    if (rd.softState) {
      // Proposals still pending after losing leadership may yet commit under
      // the new leader; their clients get an answer when they apply here.
      this.log.info({ role: rd.softState.role, leader: rd.softState.leaderId, term: this.node.raft.term }, 'role changed');
    }
  }

  afterApply(): void {
    for (const [id, reply] of this.results) {
      const w = this.pendingWrites.get(id);
      if (w) {
        this.pendingWrites.delete(id);
        w.resolve(reply);
      }
    }
    this.results = [];
    // A proposal whose index now holds another term's entry was lost to a leader change.
    const lastApplied = this.applied;
    for (const [id, w] of this.pendingWrites) {
      if (w.index <= lastApplied) {
        this.pendingWrites.delete(id);
        w.reject(new RetryLaterError('TRYAGAIN the write was superseded by a new leader; it was not applied'));
      }
    }
    this.settleReads();
    if (this.removed) this.host.peerRemoved(this);
  }

  private settleReads(): void {
    const now = Date.now();
    for (const [id, r] of this.pendingReads) {
      if (r.index !== undefined && this.applied >= r.index) {
        this.pendingReads.delete(id);
        r.resolve();
      } else if (now > r.deadline) {
        this.pendingReads.delete(id);
        r.reject(new RetryLaterError('TRYAGAIN the read found no leader to confirm it; try again'));
      }
    }
  }

  /** Called on every tick by the store: time out what waits too long. */
  onTick(): void {
    if (this.pendingReads.size) this.settleReads();
  }

  /** Fails every waiting client (peer destroyed or store stopping). */
  failAll(message: string): void {
    for (const w of this.pendingWrites.values()) w.reject(new CommandError(message));
    for (const r of this.pendingReads.values()) r.reject(new CommandError(message));
    this.pendingWrites.clear();
    this.pendingReads.clear();
  }

  // ---- snapshots for followers ---------------------------------------------------

  private snapshotForFollower(): raft.Snapshot | undefined {
    const s = this.snapshot;
    if (s && s.snap.meta.index >= this.storage.applyState.truncatedIndex) return s.snap;
    this.snapshotWanted = true;
    this.host.schedule();
    return undefined;
  }

  /**
   * Called by the store at a quiet moment — no round write and no apply
   * write in flight, so what is on disk is exactly the state at the applied
   * index —: the iterator made now sees that state.
   */
  maybeBuildSnapshot(nextId: () => number): void {
    if (!this.snapshotWanted || this.snapshotBuilding) return;
    this.snapshotWanted = false;
    this.snapshotBuilding = true;
    const index = this.applied;
    const meta = { index, term: this.storage.term(index), confState: confStateOf(this.region) };
    const id = nextId();
    const data = pb.SnapshotData.encode({ region: this.region, snapshotId: id }).finish();
    const [gte, lt] = dataRange(this.startSlot, this.endSlot);
    const iter = this.host.engine.scan({ gte, lt })[Symbol.asyncIterator]();
    // The first next() creates the RocksDB iterator (and its snapshot) synchronously.
    const first = iter.next();
    void (async () => {
      const kvs: Array<[Buffer, Buffer]> = [];
      try {
        for (let r = await first; !r.done; r = await iter.next()) kvs.push(r.value);
        this.snapshot = { snap: { meta, data }, kvs, id };
        this.log.info({ index, keys: kvs.length }, 'snapshot built');
      } catch (e) {
        this.log.error({ err: e }, 'snapshot build failed');
      } finally {
        this.snapshotBuilding = false;
        this.host.schedule();
      }
    })();
  }
}
