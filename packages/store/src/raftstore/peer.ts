// One replica of one region: a Raft group member in the store's loop, and
// the RegionHandle the command layer proposes to and reads through.
import {
  ENTRY_TOO_LARGE,
  ErrorReply,
  MAX_ENTRY_BYTES,
  OverlayBatch,
  epochOf,
  isEpochStale,
  pb,
  raft,
  trace,
  traceEvent,
} from '@redraft/common';
import type { Engine, Epoch, LoopGroup, Logger, PeerStorage, Reply } from '@redraft/common';
import { randomInt } from 'node:crypto';
import { applyCommand } from '../apply/apply';
import { prefetchReads } from '../apply/prefetch';
import { NOTHING_POPPED } from '../blocking';
import type { RegionHandle } from '../region/region';
import { RegionClock } from '../region/clock';
import { OutcomeUnknownError, RetryLaterError } from '../dispatch';
import { CommandError } from '../data/errors';
import { ClientSessions } from './sessions';
import { forgetExpiryHints } from '../data/expiry-hints';
import type { Snapshots } from './snapshot';
import { applyConfChange } from './conf-change';
import { decideCommitMerge, decidePrepareMerge, decideRollbackMerge, mergingOf } from './merge';

const { EntryType, StateRole } = raft;

/** How the peer asks its store for things outside the region (snapshots, scheduling). */
export interface PeerHost {
  /** The engine, for consistent snapshot iterators. */
  readonly engine: Engine;
  /** Snapshots for followers and from leaders (snapshot.ts). */
  readonly snapshots: Snapshots;
  /** Applied entries kept in the log before it is compacted. */
  readonly logGcThreshold: number;
  schedule(): void;
  /** Delivers every tick that real time owes (before a lease is trusted). */
  catchUpTicks(): void;
  /** The region descriptor changed (conf change, split): routing must follow. */
  regionChanged(peer: RegionPeer): void;
  /** This peer was removed from its region: destroy it after the round. */
  peerRemoved(peer: RegionPeer): void;
  /** A split was applied: write the new region's replica on this store into the same batch. */
  splitApplied?(parent: RegionPeer, child: pb.Region.$Properties, batch: OverlayBatch): void;
  /** The batch with a split is on disk: start the new region's replicas. */
  splitDurable?(parent: RegionPeer): void;
  /**
   * A merge commit applies in `target` (merge.ts): retire this store's
   * replica of `source` into the same batch; false (nothing written) when
   * that replica has not applied the prepare yet, so its data is incomplete.
   */
  mergeCommitted?(target: RegionPeer, source: pb.Region.$Properties, batch: OverlayBatch): boolean;
  /** The batch with a merge commit is on disk: the retired source replica leaves the store. */
  mergeDurable?(target: RegionPeer): void;
  /** Runs this peer's apply again soon (held entries, see `held`). */
  reapply?(peer: RegionPeer): void;
}

interface PendingWrite {
  resolve(r: Reply): void;
  reject(e: Error): void;
  index: number;
  term: number;
  session?: pb.ForwardSession.$Properties;
  /** Past this, the outcome counts as unknown (a partitioned replica may never learn it). */
  deadline: number;
}

/** A read waiting for its barrier. */
interface ReadWaiter {
  resolve(atMs: number): void;
  reject(e: Error): void;
}

/** Reads that wait for one read index: one ReadIndex request, or one lease read's applied index. */
interface PendingRead {
  waiters: ReadWaiter[];
  /** Set once the read index is known. */
  index?: number;
  /** When the read began (a follower's capped by the leader's ReadIndex answer); it is served at clock.readAt(atMs). */
  atMs: number;
  deadline: number;
  /** The region's epoch when the read began: a split meanwhile may have moved its keys away. */
  epoch: Epoch;
}

/** A pending write that waits this long for its entry to apply has an unknown outcome. */
const WRITE_OUTCOME_BOUND_MS = 30_000;

/** Errors the command layer turns into TRYAGAIN, a forward or MOVED. */
export class NotLeaderHereError extends RetryLaterError {
  constructor(readonly regionId: number, readonly leaderPeerId: number) {
    super(`TRYAGAIN region ${regionId} has no leader here; try again`);
  }
}

/** A command refused in apply: proposed with an older epoch than the region's (a split came first). Never applied. */
export class StaleEpochError extends RetryLaterError {}

/**
 * A read whose ReadIndex got no answer within this long (its leader may have
 * died) is retried by the dispatcher with a fresh request, until its deadline.
 */
const READ_INDEX_TIMEOUT_MS = 1000;

/** Log GC leaves this many entries fewer than its threshold (see maybeCompactLog). */
const LOG_GC_STEP = 256;
/** test-only: lets the fault suite prove its checker catches stale reads ('lease' | 'follower'; unset = safe). */
const UNSAFE_READS = process.env.REDRAFT_UNSAFE_READS;

export class RegionPeer implements LoopGroup, RegionHandle {
  readonly node: raft.RawNode;
  /**
   * Proposal ids start at a random point per process: an entry of an earlier
   * run is never matched to a waiting client of this one (matching also
   * checks the entry's index and term).
   */
  private nextProposalId = randomInt(1, 2 ** 20) * 2 ** 32;
  private readonly pendingWrites = new Map<number, PendingWrite>();
  private readonly pendingReads = new Map<number, PendingRead>();
  /**
   * Reads of this turn that need a ReadIndex (no lease): they share one
   * request, sent once the turn's reads have all arrived (requestReadIndex).
   */
  private unindexedReads: ReadWaiter[] = [];
  /** The epoch when the first of unindexedReads began: a split meanwhile may have moved its keys away. */
  private unindexedEpoch: Epoch | undefined;
  /** A read was served since the last hibernation check: a region being read is not idle. */
  private readSeen = false;
  private nextReadId = 1;
  /** Apply results of the round (proposal id, reply or refusal, entry index), answered in afterApply. */
  private results: Array<[number, Reply | RetryLaterError, number]> = [];
  /** A split was applied in the batch being built: its new region starts once the batch is on disk. */
  private splitInBatch = false;
  /** Commands this replica took as leader (writes proposed, reads served): the region's load, for load-based split. */
  served = 0;
  /** The applied index that is on disk: reads are released against it, never against one still being written. */
  private durableApplied: number;
  /** The time entries are stamped with and reads served at (region/clock.ts). */
  private readonly clock = new RegionClock();
  /** Forwarding sessions of this region (replicated state; see sessions.ts). */
  sessions: ClientSessions;
  /** Leader clock of ReadIndex answers, by read id (from the message envelope). */
  private readonly leaderTimes = new Map<number, number>();
  private removed = false;
  /** A merge commit was applied in the batch being built: the retired source leaves once it is on disk. */
  private mergeInBatch = false;
  /**
   * Committed entries held back from a merge commit on: this store's source
   * replica has not applied its PrepareMerge yet (it lags, or a crash lost
   * its unsynced apply), so its data is not complete. Applied once it has.
   */
  private held: raft.Entry[] = [];
  /** Retired by a merge into another region: applies nothing more (the store removes it after the round). */
  retired = false;

  constructor(
    readonly peerId: number,
    readonly storage: PeerStorage,
    private readonly host: PeerHost,
    readonly log: Logger,
    raftConfig: Omit<raft.Config, 'id' | 'storage' | 'applied'>,
    sessions?: ClientSessions,
  ) {
    this.node = new raft.RawNode({
      ...raftConfig,
      id: peerId,
      storage,
      applied: storage.applyState.appliedIndex,
      canHibernate: raftConfig.hibernateTicks ? () => this.mayHibernate() : undefined,
    });
    storage.setSnapshotSource(() => host.snapshots.forFollower(this));
    this.durableApplied = storage.applyState.appliedIndex;
    this.sessions = sessions ?? new ClientSessions(storage.regionId);
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
  get epoch(): Epoch {
    return epochOf(this.region.epoch);
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
  /** Frozen for a merge (merge.ts): no proposal or read until the merge commits or rolls back. */
  get frozen(): boolean {
    return mergingOf(this.region) !== undefined;
  }
  private frozenError(): RetryLaterError {
    return new RetryLaterError(`TRYAGAIN region ${this.id} is merging; try again`);
  }

  // ---- RegionHandle --------------------------------------------------------------

  propose(cmd: pb.WriteCommand.$Properties, session?: pb.ForwardSession.$Properties): Promise<Reply> {
    if (!this.isLeader) return Promise.reject(new NotLeaderHereError(this.id, this.leaderPeerId));
    if (this.frozen) return Promise.reject(this.frozenError());
    if (trace.on) traceEvent(`propose region=${this.id}`);
    // Stamped as it is appended, not when the command arrived (region/clock.ts).
    cmd.proposedAtMs = this.clock.now();
    const proposalId = this.nextProposalId++;
    const data = pb.RaftCommand.encode({
      header: { regionId: this.id, epoch: this.region.epoch, proposerPeer: this.peerId, proposalId, session },
      write: cmd,
    }).finish();
    if (data.length > MAX_ENTRY_BYTES) return Promise.reject(new CommandError(ENTRY_TOO_LARGE)); // never proposed
    try {
      this.node.propose(data);
    } catch (e) {
      return Promise.reject(new RetryLaterError(`TRYAGAIN ${(e as Error).message}`));
    }
    const term = this.node.raft.term;
    const index = this.node.raft.log.lastIndex();
    this.served++;
    this.host.schedule();
    return new Promise((resolve, reject) =>
      this.pendingWrites.set(proposalId, { resolve, reject, index, term, session, deadline: Date.now() + WRITE_OUTCOME_BOUND_MS }),
    );
  }

  /**
   * Linearizable read point: lease on a leader that has committed in its
   * term, else ReadIndex. Resolves, once the read index is applied AND on
   * disk, with the leader's time for expiry.
   */
  readBarrier(): Promise<number> {
    // After a stalled event loop, the ticks real time owes are counted
    // first: a lease must never be trusted on a stale tick count.
    this.host.catchUpTicks();
    // Frozen: once the target commits the merge it serves these slots, so a
    // lease here could answer with a value the target has since overwritten.
    if (this.frozen) return Promise.reject(this.frozenError());
    if (UNSAFE_READS === 'lease' && this.isLeader) return Promise.resolve(Date.now()); // test-only, see UNSAFE_READS
    if (UNSAFE_READS === 'follower' && !this.isLeader) return Promise.resolve(Date.now()); // test-only, see UNSAFE_READS
    const now = this.clock.now();
    this.readSeen = true;
    if (this.isLeader) this.served++;
    if (this.leaseReadable()) {
      // Every entry appended so far, committed or not: each carries a time before now (region/clock.ts).
      const target = this.node.raft.log.lastIndex();
      if (this.durableApplied >= target) return Promise.resolve(now);
      return this.waitApplied(target, now);
    }
    // One ReadIndex request for every read of this turn (a quorum round
    // each was a heartbeat broadcast per read). It is sent after they all
    // arrived, so its index covers every write acknowledged before any of them.
    if (this.unindexedReads.length === 0) {
      this.unindexedEpoch = this.epoch;
      setImmediate(() => this.requestReadIndex());
    }
    return new Promise((resolve, reject) => this.unindexedReads.push({ resolve, reject }));
  }

  /**
   * readBarrier's lease case when it needs no wait: the leader's time if the
   * lease is valid and its last entry is applied and on disk. Anything else
   * (ReadIndex, a wait for apply, frozen, the test-only unsafe modes) is
   * readBarrier's, and this counts nothing then: the caller goes there.
   */
  readNow(): number | undefined {
    if (UNSAFE_READS) return undefined;
    this.host.catchUpTicks(); // as in readBarrier: never a lease on a stale tick count
    if (this.frozen || !this.leaseReadable() || this.durableApplied < this.node.raft.log.lastIndex()) return undefined;
    this.readSeen = true;
    this.served++;
    return this.clock.now();
  }

  /** A lease read is safe here: the leader's lease is valid and it has committed an entry of its term. */
  private leaseReadable(): boolean {
    const r = this.node.raft;
    return this.isLeader && this.node.leaseValid() && r.log.term(r.log.committed) === r.term;
  }

  /** Sends the ReadIndex request the reads of this turn wait on. */
  private requestReadIndex(): void {
    const waiters = this.unindexedReads;
    const epoch = this.unindexedEpoch ?? this.epoch;
    this.unindexedReads = [];
    this.unindexedEpoch = undefined;
    if (waiters.length === 0) return;
    if (isEpochStale(epoch, this.epoch, 'range')) return rejectAll(waiters, new RetryLaterError('TRYAGAIN the region split while the read waited; try again'));
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
      return rejectAll(waiters, new RetryLaterError(`TRYAGAIN ${(e as Error).message}`));
    }
    this.host.schedule();
    const now = this.clock.now();
    this.pendingReads.set(id, { waiters, atMs: now, deadline: now + READ_INDEX_TIMEOUT_MS, epoch });
  }

  private waitApplied(index: number, atMs: number): Promise<number> {
    const id = this.nextReadId++;
    const epoch = this.epoch;
    return new Promise((resolve, reject) => this.pendingReads.set(id, { waiters: [{ resolve, reject }], index, atMs, deadline: Date.now() + READ_INDEX_TIMEOUT_MS, epoch }));
  }

  /**
   * Proposes a split (an operator step from the meta). Fire and forget: the
   * meta learns the outcome from heartbeats, and a duplicate is harmless
   * (it carries the old epoch, which apply refuses once the first applied).
   */
  proposeSplit(split: pb.SplitRequest.$Properties): boolean {
    if (this.frozen) return false;
    return this.proposeAdmin({ split });
  }

  /** Proposes a merge step (merge.ts); like a split, fire and forget, a duplicate is refused in apply. */
  proposeMerge(admin: pb.AdminCommand.$Properties): boolean {
    // A frozen source takes a rollback only; a frozen target takes nothing.
    if (this.frozen !== !!admin.rollbackMerge) return false;
    return this.proposeAdmin(admin);
  }

  private proposeAdmin(admin: pb.AdminCommand.$Properties): boolean {
    if (!this.isLeader) return false;
    const data = pb.RaftCommand.encode({
      header: { regionId: this.id, epoch: this.region.epoch, proposerPeer: this.peerId, proposalId: 0 },
      admin,
    }).finish();
    try {
      this.node.propose(data);
    } catch {
      return false;
    }
    this.host.schedule();
    return true;
  }

  /** The leader's clock on a ReadIndex answer for this replica (read from the message envelope). */
  noteReadIndexTime(context: Uint8Array, leaderMs: number): void {
    if (context.length !== 8 || !leaderMs) return;
    const ctx = Buffer.from(context);
    if (ctx.readUInt32BE(0) !== this.peerId >>> 0) return;
    const id = ctx.readUInt32BE(4);
    if (this.pendingReads.has(id)) this.leaderTimes.set(id, leaderMs);
  }

  // ---- LoopGroup -----------------------------------------------------------------

  async apply(entries: raft.Entry[], batch: OverlayBatch): Promise<void> {
    const all = this.held.length ? [...this.held, ...entries] : entries;
    this.held = [];
    // Decoded once; the point reads of all their writes are made together first.
    const cmds = all.map((e) => (e.index > this.applied && e.type !== EntryType.ConfChange && e.data.length > 0 ? pb.RaftCommand.decode(e.data) : undefined));
    await prefetchReads(cmds.flatMap((c) => (c?.write ? [c.write as pb.WriteCommand] : [])), batch);
    for (let i = 0; i < all.length; i++) {
      const e = all[i];
      if (e.index <= this.applied || this.retired) continue;
      const cmd = cmds[i];
      if (e.type === EntryType.ConfChange) this.applyConfChange(e, batch);
      else if (cmd && (await this.applyNormal(e, cmd, batch)) === 'wait') {
        this.held = all.slice(i);
        this.log.info({ index: e.index }, 'merge commit waits for the local source replica to apply its prepare');
        break;
      }
      this.storage.applyState.appliedIndex = e.index;
    }
    this.sessions.writeRecords(batch);
    this.storage.setApplied(this.applied, batch.batch);
    this.maybeCompactLog(batch);
  }

  /**
   * Log GC, local to this replica: past the threshold, drop the oldest
   * entries until LOG_GC_STEP fewer than the threshold are left. A follower
   * that needs dropped entries gets a snapshot. Small steps, not half the
   * log at once: each dropped entry is a delete in the round's batch, and
   * thousands of them made at once outlived a young-generation GC and were
   * promoted.
   */
  private maybeCompactLog(batch: OverlayBatch): void {
    const threshold = this.host.logGcThreshold;
    const truncated = this.storage.applyState.truncatedIndex;
    if (this.applied - truncated <= threshold) return;
    this.storage.compact(this.applied - threshold + Math.min(LOG_GC_STEP, Math.floor(threshold / 2)), batch.batch);
  }

  private async applyNormal(e: raft.Entry, cmd: pb.RaftCommand, batch: OverlayBatch): Promise<'applied' | 'wait'> {
    const header = cmd.header;
    const mine = Number(header?.proposerPeer) === this.peerId ? Number(header?.proposalId) : 0;
    // A command proposed before a split of this region may target keys it
    // no longer owns: refused, never applied, so the dispatcher routes it
    // again (to the new region) — a brief internal retry, not an error.
    if (isEpochStale(epochOf(header?.epoch), this.epoch, 'range')) {
      if (mine) this.results.push([mine, new StaleEpochError('TRYAGAIN the region split or merged while the command was in flight; it was not applied'), e.index]);
      return 'applied';
    }
    if (cmd.write) {
      this.clock.applyEntry(Number(cmd.write.proposedAtMs ?? 0));
      const session = header?.session?.id ? header.session : undefined;
      if (session) {
        // A resent forwarded write: the kept reply, and nothing applied again.
        const seen = this.sessions.check(session);
        if (seen.kind !== 'new') {
          if (mine) this.results.push([mine, seen.kind === 'duplicate' ? seen.reply : new ErrorReply('ERR duplicate of a write already answered'), e.index]);
          return 'applied';
        }
      }
      const reply = await applyCommand(cmd.write as pb.WriteCommand, e.index, batch);
      // A blocking pop that found nothing applied nothing: its next attempt must run again.
      if (session && reply !== NOTHING_POPPED) this.sessions.record(session, reply, Number(cmd.write.proposedAtMs ?? 0), batch);
      if (mine) this.results.push([mine, reply, e.index]);
    } else if (cmd.admin?.split) {
      if (this.frozen) this.log.warn('split refused in apply: the region is frozen for a merge');
      else this.applySplit(cmd.admin.split as pb.SplitRequest, batch);
      if (mine) this.results.push([mine, 'OK', e.index]);
    } else if (cmd.admin?.prepareMerge || cmd.admin?.commitMerge || cmd.admin?.rollbackMerge) {
      return this.applyMerge(cmd.admin, e.index, batch);
    }
    return 'applied';
  }

  /** A merge step (merge.ts): decided from the entry and the region, the same on every replica. */
  private applyMerge(admin: pb.AdminCommand, index: number, batch: OverlayBatch): 'applied' | 'wait' {
    const region = plainRegion(this.region);
    const step = admin.prepareMerge ? 'prepare' : admin.commitMerge ? 'commit' : 'rollback';
    const d = admin.prepareMerge
      ? decidePrepareMerge(region, admin.prepareMerge, index)
      : admin.commitMerge
        ? decideCommitMerge(region, admin.commitMerge)
        : decideRollbackMerge(region, admin.rollbackMerge!);
    if ('refused' in d) {
      this.log.warn({ step, index, why: d.refused }, 'merge step refused in apply');
      return 'applied';
    }
    if (admin.commitMerge) {
      // Retires the local source replica into this batch (its sessions carried
      // over), or says it is not ready: then nothing is written, and the
      // entry waits (held) until the source replica has applied its prepare.
      if (!this.host.mergeCommitted?.(this, plainRegion(admin.commitMerge.source!), batch)) return 'wait';
      this.mergeInBatch = true;
    }
    this.storage.setRegion(d.region, batch.batch);
    this.host.regionChanged(this);
    this.log.info({ step, index, slots: [d.region.startSlot, d.region.endSlot], version: Number(d.region.epoch?.version) }, `merge ${step} applied`);
    return 'applied';
  }

  private applySplit(split: pb.SplitRequest, batch: OverlayBatch): void {
    const at = Number(split.splitSlot);
    const peers = this.region.peers ?? [];
    // Stale, out of range, or made for another membership: nothing to do (every replica decides the same).
    if (at <= this.startSlot || at >= this.endSlot || (split.newPeerIds ?? []).length !== peers.length || !Number(split.newRegionId)) {
      this.log.warn({ splitSlot: at, newRegionId: Number(split.newRegionId) }, 'split refused in apply: out of range or peers changed');
      return;
    }
    const version = this.epoch.version + 1;
    const child: pb.Region.$Properties = {
      id: split.newRegionId,
      startSlot: at,
      endSlot: this.endSlot,
      epoch: { version, confVer: this.epoch.confVer },
      peers: peers.map((p, i) => ({ id: split.newPeerIds[i], storeId: p.storeId, role: p.role })),
    };
    this.storage.setRegion({ ...plainRegion(this.region), endSlot: at, epoch: { version, confVer: this.epoch.confVer } }, batch.batch);
    this.host.splitApplied?.(this, child, batch);
    this.splitInBatch = true;
    this.host.regionChanged(this);
    this.log.info({ splitSlot: at, newRegionId: Number(split.newRegionId), version }, 'split applied');
  }

  /** A membership change (conf-change.ts): the new region is in the batch; a removed replica is destroyed after it. */
  private applyConfChange(e: raft.Entry, batch: OverlayBatch): void {
    if (this.frozen) {
      // Refused on every replica alike (the frozen state is in the log); the Raft core is not told.
      this.log.warn({ index: e.index }, 'membership change refused in apply: the region is frozen for a merge');
      return;
    }
    const done = applyConfChange(this, e, batch, plainRegion);
    if (!done.changed) return;
    this.host.regionChanged(this);
    if (done.removedSelf) this.removed = true;
  }

  async installSnapshot(snap: raft.Snapshot, batch: OverlayBatch): Promise<void> {
    // The region's data and sessions are replaced by the snapshot's, atomically with its apply state.
    const sessionPairs = await this.host.snapshots.install(this, snap, batch);
    this.held = this.held.filter((e) => e.index > snap.meta.index);
    this.sessions = ClientSessions.fromPairs(this.id, sessionPairs);
    forgetExpiryHints(this.startSlot, this.endSlot); // new data: the expiry cycle looks at every slot again
    this.settleSkippedWrites(snap.meta.index);
    this.host.regionChanged(this);
  }

  /**
   * Writes whose entries the snapshot carried past this replica: their
   * outcome is in the snapshot's sessions for a forwarded write, and
   * unknown otherwise (never "not applied": it may have been).
   */
  private settleSkippedWrites(index: number): void {
    for (const [id, w] of this.pendingWrites) {
      if (w.index > index) continue;
      this.pendingWrites.delete(id);
      const seen = w.session ? this.sessions.check(w.session) : undefined;
      if (seen?.kind === 'duplicate') this.snapshotSettled.push(() => w.resolve(seen.reply));
      else this.snapshotSettled.push(() => w.reject(new OutcomeUnknownError('a snapshot carried the write past this replica; its outcome is unknown here')));
    }
  }

  /** Answers decided by an installed snapshot, given once its batch is durable. */
  private snapshotSettled: Array<() => void> = [];

  afterPersist(rd: raft.Ready): void {
    if (rd.snapshot && rd.snapshot.meta.index > 0) this.durableApplied = this.applied;
    const settled = this.snapshotSettled;
    this.snapshotSettled = [];
    for (const f of settled) f();
    for (const rs of rd.readStates) {
      if (rs.context.length !== 8) continue;
      const ctx = Buffer.from(rs.context);
      if (ctx.readUInt32BE(0) !== this.peerId >>> 0) continue;
      const id = ctx.readUInt32BE(4);
      const r = this.pendingReads.get(id);
      if (!r) continue;
      r.index = rs.index;
      // Served at this replica's start, no later than the leader's answer
      // (a clock ahead of the leader's is held back; region/clock.ts).
      const leaderMs = this.leaderTimes.get(id);
      if (leaderMs) r.atMs = Math.min(r.atMs, leaderMs);
      this.leaderTimes.delete(id);
    }
    this.settleReads();
    if (rd.softState) {
      // Proposals still pending after losing leadership may yet commit under
      // the new leader; their clients get an answer when they apply here.
      this.log.info({ role: rd.softState.role, leader: rd.softState.leaderId, term: this.node.raft.term }, 'role changed');
    }
  }

  /**
   * The entries are applied into the apply batch, not yet written: every
   * answered write is committed (on disk on a majority) and its reply is
   * what any replay of the log computes, so writers are answered now, one
   * engine write earlier. Reads still wait for afterApply (durableApplied).
   */
  appliedInBatch(): void {
    for (const [id, reply, index] of this.results) {
      const w = this.pendingWrites.get(id);
      if (w && w.index === index) {
        this.pendingWrites.delete(id);
        if (reply instanceof RetryLaterError) w.reject(reply);
        else w.resolve(reply);
      }
    }
    this.results = [];
    // A proposal whose index now holds another entry (another term's, or
    // another proposer's) was lost to a leader change: it was not applied.
    const lastApplied = this.applied;
    for (const [id, w] of this.pendingWrites) {
      if (w.index <= lastApplied) {
        this.pendingWrites.delete(id);
        w.reject(new RetryLaterError('TRYAGAIN the write was superseded by a new leader; it was not applied'));
      }
    }
  }

  afterApply(): void {
    // The apply batch with these entries is on disk now.
    this.durableApplied = this.applied;
    this.clock.persisted();
    if (this.splitInBatch) {
      this.splitInBatch = false;
      this.host.splitDurable?.(this);
    }
    if (this.mergeInBatch) {
      this.mergeInBatch = false;
      this.host.mergeDurable?.(this);
    }
    this.settleReads();
    if (this.removed) this.host.peerRemoved(this);
  }

  private settleReads(): void {
    const now = Date.now();
    const epoch = this.epoch;
    for (const [id, r] of this.pendingReads) {
      if (isEpochStale(r.epoch, epoch, 'range')) {
        // The region split while the read waited: its keys may belong to the new region now.
        this.pendingReads.delete(id);
        this.leaderTimes.delete(id);
        rejectAll(r.waiters, new RetryLaterError('TRYAGAIN the region split while the read waited; try again'));
      } else if (r.index !== undefined && this.durableApplied >= r.index) {
        this.pendingReads.delete(id);
        const at = this.clock.readAt(r.atMs);
        for (const w of r.waiters) w.resolve(at);
      } else if (now > r.deadline) {
        this.pendingReads.delete(id);
        this.leaderTimes.delete(id);
        rejectAll(r.waiters, new RetryLaterError('TRYAGAIN the read found no leader to confirm it; try again'));
      }
    }
  }

  /** Called on every tick by the store: time out what waits too long. */
  onTick(): void {
    if (this.held.length) this.host.reapply?.(this);
    if (this.pendingReads.size) this.settleReads();
    if (this.pendingWrites.size) {
      const now = Date.now();
      for (const [id, w] of this.pendingWrites) {
        if (now <= w.deadline) continue;
        this.pendingWrites.delete(id);
        w.reject(new OutcomeUnknownError(`the write's entry (index ${w.index}) did not apply within ${WRITE_OUTCOME_BOUND_MS} ms`));
      }
    }
  }

  /**
   * Fails every waiting client (peer destroyed or store stopping). A pending
   * write may still commit elsewhere: its outcome is unknown, never "not applied".
   */
  /**
   * A source replica retired by a merge: every write still waiting has its
   * entry after the PrepareMerge (earlier ones are applied and answered),
   * which apply refuses by its epoch: never applied, so retried elsewhere.
   */
  failAllRetired(why: string): void {
    for (const w of this.pendingWrites.values()) w.reject(new RetryLaterError(`TRYAGAIN ${why}`));
    this.pendingWrites.clear();
    this.failAll(why);
  }

  failAll(why: string): void {
    for (const w of this.pendingWrites.values()) w.reject(new OutcomeUnknownError(why));
    const err = new RetryLaterError(`TRYAGAIN ${why}`);
    for (const r of this.pendingReads.values()) rejectAll(r.waiters, err);
    rejectAll(this.unindexedReads, err);
    this.unindexedReads = [];
    this.pendingWrites.clear();
    this.pendingReads.clear();
    this.leaderTimes.clear();
  }

  /**
   * The region's say on hibernation, beside the Raft core's own checks: not
   * while frozen for a merge, while clients wait, while entries are held, or
   * while it serves reads.
   */
  private mayHibernate(): boolean {
    // Lease reads leave nothing pending: without this a region under reads
    // alone fell asleep, lost its lease and sent its reads through ReadIndex.
    const reading = this.readSeen || this.unindexedReads.length > 0;
    this.readSeen = false;
    return !reading && !this.frozen && !this.removed && !this.retired && this.held.length === 0 && this.pendingWrites.size === 0 && this.pendingReads.size === 0;
  }

  /** Writes still waiting for their entries to apply. */
  get pendingWriteCount(): number {
    return this.pendingWrites.size;
  }
}

function rejectAll(waiters: ReadWaiter[], err: Error): void {
  for (const w of waiters) w.reject(err);
}

/**
 * A region descriptor as a plain object. A decoded protobuf message keeps its
 * default fields (start_slot 0) on its prototype, where a spread would lose them.
 */
export function plainRegion(r: pb.Region.$Properties): pb.Region.$Properties {
  return {
    id: Number(r.id ?? 0),
    startSlot: Number(r.startSlot ?? 0),
    endSlot: Number(r.endSlot ?? 0),
    epoch: epochOf(r.epoch),
    peers: (r.peers ?? []).map((p) => ({ id: Number(p.id ?? 0), storeId: Number(p.storeId ?? 0), role: p.role ?? pb.PeerRole.VOTER })),
    // Only while frozen for a merge (merge.ts).
    ...(r.merging && Number(r.merging.targetRegionId) ? { merging: { targetRegionId: Number(r.merging.targetRegionId), prepareIndex: Number(r.merging.prepareIndex ?? 0) } } : {}),
  };
}
