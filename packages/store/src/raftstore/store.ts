// The replicated store: every region replica this store hosts, driven by one
// RaftLoop over the store's one RocksDB; Raft traffic with other stores over
// the peer transport (one frame per target store per round); registration
// and batched heartbeats with the meta group; routing of keys to leaders.
import {
  OverlayBatch,
  bindableLocalAddress,
  tcpNetwork,
  PeerStorage,
  RaftLoop,
  allRegionsLocalRange,
  isRegionStateKey,
  decodeMessage,
  encodeMessage,
  encodeRaftMessage,
  pb,
  raft,
  regionIdOfLocalKey,
  storeKey,
  encodeReply,
  dataRange,
  u64,
  readU64,
  WriteBatch,
  groupBySize,
  RAFT_FRAME_BYTES,
  RAFT_MAX_SIZE_PER_MSG,
  RAFT_INIT_TERM,
  SlotMap,
  epochOf,
  compareEpoch,
  BOOTSTRAP_EPOCH,
  isEpochStale,
  NotLeaderError,
  EpochNotMatchError,
  RegionNotFoundError,
  waitWhile,
  trace,
  traceEvent,
} from '@redraft/common';
import type { Engine, Epoch, LoopGroup, LoopHost, Logger, PeerInfo, PeerListener, PeerNetwork, PeerSender } from '@redraft/common';
import { RegionPeer, type PeerHost } from './peer';
import { ClientSessions } from './sessions';
import { RetryLaterError } from '../dispatch';
import { StaleEpochError } from './peer';
import { CommandError } from '../data/errors';
import { Snapshots } from './snapshot';
import { SplitChecker } from './split-check';
import { MessageStash, writeSplitChild, type SplitChild, type SplitContext } from './split';
import { OperatorSteps } from './operator-steps';
import { transferLeaderStep } from './transfer-leader';
import { destroyReplicaData } from './destroy';
import { localSourceReady, mergingOf } from './merge';


/** The meta's RPC carrying one operator step (its nudge); the meta names it the same. */
export const STORE_INSTRUCTION_RPC = 'store.instruction';
/** The store-to-store liveness message (StoreAlive). */
const STORE_ALIVE = 'store.alive';
/** Alive rounds between two walks over every replica for the stores to send StoreAlive to (besides every change in the number of replicas). */
const ALIVE_TARGETS_EVERY = 10;
/** Per StoreAlive received, how much of a store's longest recent gap is kept (silentAfter). */
const ALIVE_GAP_FADE = 0.99;
/** The shortest and longest wait, in election timeouts, before a silent store's followers wake (silentAfter). */
const ALIVE_SILENT_MIN = 4;
const ALIVE_SILENT_MAX = 8;

export interface RaftStoreOptions {
  engine: Engine;
  log: Logger;
  /** host:port other stores and the meta reach this store's peer transport at. */
  peerAddr: string;
  peerHost: string;
  peerPort: number;
  /** host:port clients reach this store's RESP front end at. */
  clientAddr: string;
  /** Peer-transport addresses of the meta replicas. */
  metaAddrs: string[];
  tickMs: number;
  heartbeatMs: number;
  /** Entries kept after the applied index when the log is compacted. */
  logGcThreshold: number;
  /** How often led regions are measured for the meta's split checker (0: never; default 10 s). */
  splitCheckMs?: number;
  /** How this store reaches other stores and the meta: TCP by default, in memory in the in-process harness. */
  network?: PeerNetwork;
  /** Idle regions stop ticking and heartbeating (default true; docs/decisions.md, "Hibernate idle regions"). */
  hibernate?: boolean;
}

/**
 * With the default 20 ms tick: elections after 500-1000 ms without a leader,
 * heartbeats every 100 ms. The randomized timeout is drawn in whole ticks;
 * two followers that draw the same tick campaign together and split the
 * vote (a second round: the failover then takes twice as long). At 50 ms
 * ticks that was one failover in ten; at 20 ms, one in twenty-five.
 */
export const RAFT_TIMING = {
  electionTick: 25,
  heartbeatTick: 5,
};

const META_RPC_TIMEOUT = 3000;
/** Newly bootstrapped replicas that start their election in one tick (campaignInWaves). */
const CAMPAIGN_WAVE = 500;
/**
 * A hibernating replica whose report did not change is sent to the meta in
 * full every this many heartbeats, and every one of them after a heartbeat
 * gap of REPORT_ALL_AFTER_MS (the meta may have marked this store down and
 * forgotten the leaders here meanwhile).
 */
const QUIET_REPORT_EVERY = 60;
const REPORT_ALL_AFTER_MS = 5000;
/** RocksDB size estimates asked for at once by a heartbeat. */
const FILE_SIZES_AT_ONCE = 256;
/** Heartbeats between two that name every quiet replica (the meta creates no initial replica from a report that does not). */
const QUIET_IDS_EVERY = 10;
/** On SIGTERM, how long writes already proposed may take to commit and answer. */
const SHUTDOWN_GRACE_MS = 2000;
/** On SIGTERM, how long the regions this store leads may take to move to another store. */
const HANDOFF_WAIT_MS = 1000;

/** Where a slot's region lives, for routing and CLUSTER SLOTS. */
export interface Route {
  regionId: number;
  startSlot: number;
  endSlot: number;
  /** The local replica, if this store has one. */
  peer?: RegionPeer;
  leaderStoreId: number;
  peers: pb.Peer.$Properties[];
}

export class RaftStore implements LoopHost, PeerHost {
  storeId = 0;
  readonly loop: RaftLoop;
  readonly peers = new Map<number, RegionPeer>();
  private server!: PeerListener;
  readonly pool: PeerSender;
  private view: pb.ClusterView | undefined;
  private readonly stores = new Map<number, pb.StoreInfo.$Properties>();
  private metaLeader = 0;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private readTimeoutTimer: NodeJS.Timeout | undefined;
  private splitCheckTimer: NodeJS.Timeout | undefined;
  private aliveTimer: NodeJS.Timeout | undefined;
  /** Sizes of the regions this store leads, for the meta's split checker. */
  readonly splitChecker: SplitChecker;
  /** Snapshots made for followers and received from leaders (snapshot.ts). */
  readonly snapshots: Snapshots;
  private stopped = false;
  private heartbeatInFlight = false;
  /** Every region this store has a persisted replica record of (tombstones too), with its replica id. */
  private readonly localStates = new Map<number, { peerId: number; tombstone: boolean }>();
  /** Regions whose replica is being bootstrapped (written, then loaded): messages for them wait. */
  private readonly creating = new Set<number>();
  /** Peers seen as senders of Raft messages: id → {id, storeId}. */
  private readonly knownPeers = new Map<number, pb.Peer.$Properties>();
  readonly startedAt = Date.now();

  constructor(readonly opts: RaftStoreOptions) {
    this.loop = new RaftLoop(opts.engine, this);
    this.splitChecker = new SplitChecker(opts.engine);
    this.pool = (opts.network ?? tcpNetwork).sender({ logger: opts.log.child({ component: 'transport' }), localAddress: bindableLocalAddress(opts.peerHost) });
    this.snapshots = new Snapshots({
      engine: opts.engine,
      log: opts.log.child({ component: 'snapshot' }),
      atQuietPoint: (task) => this.loop.atQuietPoint(task),
      request: (storeId, type, body, timeoutMs) => {
        const addr = this.stores.get(storeId)?.peerAddr;
        if (!addr) return Promise.reject(new Error(`store ${storeId} has no known address`));
        return this.pool.request(addr, type, body, { timeoutMs });
      },
      deliver: (m) => {
        this.onRaftMessage(m);
        this.loop.schedule();
      },
      peer: (regionId) => this.peers.get(regionId),
      schedule: () => this.loop.schedule(),
    });
  }

  get engine(): Engine {
    return this.opts.engine;
  }

  get logGcThreshold(): number {
    return this.opts.logGcThreshold;
  }

  /**
   * Runs `task` at the next quiet point of the apply pipeline (RaftLoop.atQuietPoint):
   * the disk then holds exactly every region's applied state, so a RocksDB
   * iterator made by the task sees the state at every region's applied index.
   */
  atQuietMoment<T>(task: () => T): Promise<T> {
    return new Promise((resolve, reject) => {
      this.loop.atQuietPoint(() => {
        try {
          resolve(task());
        } catch (e) {
          reject(e);
        }
      });
    });
  }

  private get log(): Logger {
    return this.opts.log;
  }

  // ---- start / stop -----------------------------------------------------------------

  async start(): Promise<void> {
    await this.snapshots.clearStaging();
    // Every persisted replica is loaded before any peer traffic is accepted:
    // a message that found no replica would otherwise create an empty one
    // whose hard state overwrites the persisted one (the store then never
    // starts again: commit behind truncated).
    const identRaw = await this.engine.get(storeKey('ident'));
    const known = identRaw ? readU64(identRaw, 0) : 0;
    this.storeId = known;
    await this.loadPeers();
    this.server = (this.opts.network ?? tcpNetwork).listener({
      host: this.opts.peerHost,
      port: this.opts.peerPort,
      logger: this.log.child({ component: 'peer-server' }),
      onMessage: (type, body, from) => this.onPeerMessage(type, body, from),
      onRequest: (type, body, from) => this.onPeerRequest(type, body, from),
    });
    await this.server.listen();
    this.storeId = await this.register(known);
    if (known && this.storeId !== known) throw new Error(`the meta gave store id ${this.storeId} to a store that has id ${known}`);
    if (!known) {
      const b = new WriteBatch().put(storeKey('ident'), u64(this.storeId));
      await this.engine.write(b, true);
    }
    this.loop.startTicking(this.opts.tickMs);
    // Store liveness, for hibernating followers: one message per peer store per Raft heartbeat interval.
    this.aliveTimer = setInterval(() => this.aliveRound(), this.opts.tickMs * RAFT_TIMING.heartbeatTick);
    this.heartbeatTimer = setInterval(() => void this.heartbeat(), this.opts.heartbeatMs);
    // Reads waiting for a ReadIndex answer that will never come time out here.
    this.readTimeoutTimer = setInterval(() => {
      for (const p of this.peers.values()) p.onTick();
    }, 100);
    const splitCheckMs = this.opts.splitCheckMs ?? 10_000;
    if (splitCheckMs > 0) {
      this.splitCheckTimer = setInterval(() => {
        if (!this.stopped) this.splitChecker.run(this.peers.values()).catch((e) => this.log.warn({ err: (e as Error).message }, 'split check failed'));
      }, splitCheckMs);
    }
    void this.heartbeat();
    this.log.info({ storeId: this.storeId, regions: this.peers.size }, 'raft store started');
  }

  /**
   * Stops the store. Writes already proposed get a little time to commit and
   * answer; what is still pending then has an unknown outcome (its clients'
   * connections close; a forwarding store resends in its session), never an
   * error reply, since it may still commit under another leader.
   */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    if (this.splitCheckTimer) clearInterval(this.splitCheckTimer);
    if (this.aliveTimer) clearInterval(this.aliveTimer);
    await this.handOffLeadership();
    await waitWhile(() => [...this.peers.values()].some((p) => p.pendingWriteCount > 0), SHUTDOWN_GRACE_MS, 10);
    if (this.readTimeoutTimer) clearInterval(this.readTimeoutTimer);
    this.snapshots.stop();
    await this.loop.stop();
    for (const p of this.peers.values()) p.failAll('the store is shutting down');
    await this.server.close();
    await this.pool.close();
  }

  /**
   * A graceful stop first hands every awake region this store leads to its
   * most caught-up voter (a transfer: a round trip or two), and waits until
   * they moved or HANDOFF_WAIT_MS passed. Without it, their followers would
   * notice the silence only after an election timeout, a second or more
   * with no writes: the cost of every store of a rolling restart. Writes
   * already proposed still commit (the transferee catches up first) and are
   * answered in the grace that follows. A sleeping region keeps its leader
   * here: it has no clients to keep waiting, and waking thousands of them
   * at once to move would cost more than their election later.
   */
  private async handOffLeadership(): Promise<void> {
    const handed: RegionPeer[] = [];
    for (const p of this.peers.values()) {
      if (!p.isLeader || p.node.hibernating) continue;
      const to = p.node.raft.handOffTarget();
      if (to === 0) continue; // no other voter heard from lately
      try {
        transferLeaderStep(p, to);
        handed.push(p);
      } catch (e) {
        // Too far behind to take over now: this region's followers elect as they would have.
        this.log.debug({ regionId: p.id, err: (e as Error).message }, 'leadership not handed off');
      }
    }
    if (handed.length === 0) return;
    this.loop.schedule();
    const started = Date.now();
    await waitWhile(() => handed.some((p) => p.isLeader), HANDOFF_WAIT_MS, 5);
    const moved = handed.filter((p) => !p.isLeader).length;
    this.log.info({ regions: handed.length, moved, ms: Date.now() - started }, 'leadership handed off before stopping');
  }

  /** Registers with the meta (retrying until one answers); returns this store's id. */
  private async register(known: number): Promise<number> {
    for (let attempt = 0; ; attempt++) {
      try {
        const body = pb.RegisterStoreRequest.encode({ storeId: known, peerAddr: this.opts.peerAddr, clientAddr: this.opts.clientAddr }).finish();
        const res = pb.RegisterStoreResponse.decode(await this.metaRequest('meta.register', body));
        return Number(res.storeId);
      } catch (e) {
        if (this.stopped) throw e;
        // Drained and removed (STORE REMOVE): this data dir never rejoins.
        if (/STORE_TOMBSTONE/.test((e as Error).message)) throw new Error(`the meta refuses this store: ${(e as Error).message} (removed by STORE REMOVE; start it with an empty data dir to join as a new store)`);
        if (attempt % 10 === 0) this.log.warn({ err: (e as Error).message }, 'waiting for the meta group');
        await new Promise((r) => setTimeout(r, Math.min(1000, 100 * (attempt + 1))));
      }
    }
  }

  /** A meta RPC to its leader, following NOT_LEADER hints and trying every address. */
  async metaRequest(type: string, body: Uint8Array): Promise<Uint8Array> {
    const addrs = this.opts.metaAddrs;
    let last: Error | undefined;
    let target = addrs[this.metaLeader % addrs.length];
    for (let i = 0; i < addrs.length + 2; i++) {
      try {
        const res = await this.pool.request(target, type, body, { timeoutMs: META_RPC_TIMEOUT });
        this.metaLeader = Math.max(0, addrs.indexOf(target));
        return res;
      } catch (e) {
        last = e as Error;
        const hint = last instanceof NotLeaderError ? last.leaderAddr : '';
        target = hint && addrs.includes(hint) ? hint : addrs[(addrs.indexOf(target) + 1) % addrs.length];
      }
    }
    throw last ?? new Error('no meta address');
  }

  /**
   * Loads every replica persisted on this store, initialized or not (a
   * replica created by a message keeps its vote across restarts), and
   * remembers the tombstones so that stale messages create nothing.
   */
  private async loadPeers(): Promise<void> {
    const [gte, lt] = allRegionsLocalRange();
    const states: Array<[number, pb.RegionLocalState]> = [];
    for await (const [k, v] of this.engine.scan({ gte, lt })) {
      if (isRegionStateKey(k)) states.push([regionIdOfLocalKey(k), pb.RegionLocalState.decode(v)]);
    }
    for (const [id, st] of states) {
      const mine = Number(st.peerId) || Number((st.region?.peers ?? []).find((p) => Number(p.storeId) === this.storeId)?.id ?? 0);
      this.localStates.set(id, { peerId: mine, tombstone: st.state === pb.PeerState.TOMBSTONE });
      if (st.state === pb.PeerState.TOMBSTONE || !st.region || !mine) continue;
      const storage = await PeerStorage.load(this.engine, id, st.region, mine);
      const peer = this.addPeer(mine, storage, await ClientSessions.load(this.engine, id));
      // Its removal applied, then the store stopped before the replica was destroyed: finish that now.
      const peers = st.region.peers ?? [];
      if (peers.length && !peers.some((p) => Number(p.id) === mine)) this.destroyPeer(peer, 'its region no longer lists it (removed before a restart)');
    }
    for (const p of this.peers.values()) this.retireMergedSources(p);
  }

  private raftConfig(): Omit<raft.Config, 'id' | 'storage' | 'applied'> {
    return {
      electionTick: RAFT_TIMING.electionTick,
      heartbeatTick: RAFT_TIMING.heartbeatTick,
      maxSizePerMsg: RAFT_MAX_SIZE_PER_MSG,
      maxInflightMsgs: 256,
      checkQuorum: true,
      preVote: true,
      readOnlyOption: raft.ReadOnlyOption.Safe,
      disableProposalForwarding: true,
      random: Math.random,
      // A replica still at its initial term never heard from a leader: no lease to respect after a start.
      initialTerm: RAFT_INIT_TERM,
      // Quiet for one election timeout, a leader asks its followers to hibernate.
      hibernateTicks: this.opts.hibernate === false ? 0 : RAFT_TIMING.electionTick,
      // Followers learn a commit from the next MsgApp or tick: clients are answered from the leader's apply.
      deferCommit: true,
    };
  }

  private addPeer(peerId: number, storage: PeerStorage, sessions?: ClientSessions): RegionPeer {
    const peer = new RegionPeer(peerId, storage, this, this.log.child({ regionId: storage.regionId, peerId }), this.raftConfig(), sessions);
    this.peers.set(storage.regionId, peer);
    this.slotIndex = null;
    this.completeReportDue = true;
    this.loop.add(peer);
    return peer;
  }

  // ---- LoopHost ---------------------------------------------------------------------

  send(messages: Array<{ group: LoopGroup; message: raft.Message }>): void {
    const perStore = new Map<number, Array<{ bytes: Uint8Array; peer: RegionPeer; to: number }>>();
    for (const { group, message } of messages) {
      if (trace.on) traceMessage('send', message);
      const peer = group as RegionPeer;
      const region = peer.region;
      // A replica that has not learned its region yet (created empty by a
      // message) knows its peers only from the messages they sent it.
      const to = (region.peers ?? []).find((p) => Number(p.id) === message.to) ?? this.knownPeers.get(message.to);
      if (!to) continue;
      const storeId = Number(to.storeId);
      const from = (region.peers ?? []).find((p) => Number(p.id) === peer.peerId) ?? { id: peer.peerId, storeId: this.storeId };
      const wire: pb.RaftMessage.$Properties = {
        regionId: peer.id,
        fromPeer: from,
        toPeer: to,
        epoch: region.epoch,
        startSlot: region.startSlot,
        endSlot: region.endSlot,
        sentAtMs: message.type === raft.MessageType.ReadIndexResp ? Date.now() : 0,
      };
      // A snapshot streams its data first and carries its message itself (snapshot.ts).
      if (message.type === raft.MessageType.Snap && message.snapshot) {
        this.snapshots.send(peer, storeId, { ...wire, message: encodeMessage(message) }, message.snapshot);
        continue;
      }
      let list = perStore.get(storeId);
      if (!list) perStore.set(storeId, (list = []));
      // Entries go in as the bytes made for their log row (codec.ts entryBytes), not encoded again per target.
      list.push({ bytes: encodeRaftMessage(wire, message), peer, to: message.to });
    }
    for (const [storeId, list] of perStore) {
      const addr = this.stores.get(storeId)?.peerAddr;
      // Frames of bounded size: a large entry rides alone, never holding up other regions' messages.
      for (const group of groupBySize(list, (m) => m.bytes.length, RAFT_FRAME_BYTES)) {
        const sent = !!addr && this.pool.send(addr, 'raft', encodeRaftBatch(group.map((m) => m.bytes)));
        // A dropped frame: the core makes those followers probe again.
        if (!sent) for (const m of group) m.peer.node.reportUnreachable(m.to);
      }
    }
  }

  fatal(err: Error): void {
    this.log.fatal({ err }, 'a write to the store failed; stopping to protect the data');
    process.exit(70);
  }

  // ---- PeerHost -------------------------------------------------------------------------

  schedule(): void {
    this.loop.schedule();
  }

  catchUpTicks(): void {
    this.loop.catchUpTicks();
  }

  regionChanged(peer: RegionPeer): void {
    this.slotIndex = null; // routing follows at once
    this.heartbeatSoon(); // the meta learns a membership change or split without waiting an interval
    this.retireMergedSources(peer);
  }

  peerRemoved(peer: RegionPeer): void {
    this.destroyPeer(peer, 'its removal from the region applied');
  }

  /**
   * Destroys a replica that is no longer a member of its region: its data
   * and Raft state go, its local state is tombstoned (destroy.ts). Messages
   * for the region that waited meanwhile then reach a newer replica of it.
   */
  private destroyPeer(peer: RegionPeer, why: string): void {
    this.takeOut(peer, {
      what: 'destroying the replica',
      why,
      fail: () => peer.failAll('the replica was removed from its region'),
      cleanUp: async () => {
        const others = [...this.peers.values()].map((p) => [p.startSlot, p.endSlot] as [number, number]);
        const keys = await destroyReplicaData(this.engine, peer, others);
        this.log.info({ regionId: peer.id, peerId: peer.peerId, keys }, 'replica destroyed: data deleted, state tombstoned');
      },
      stashed: 'deliver',
    });
  }

  /**
   * Takes a replica off this store, for good: out of the loop and the
   * routing at once, its waiting requests failed (`fail`), its local state a
   * tombstone; then, at a quiet point of the apply pipeline (no write of it
   * still in flight), `cleanUp` writes its one synced batch. Until that batch
   * is on disk, messages for the region wait (`creating`); then they are
   * delivered (a newer replica of the region on this store starts only
   * now) or dropped.
   */
  private takeOut(peer: RegionPeer, how: { what: string; why: string; fail: () => void; cleanUp: () => Promise<void>; stashed: 'deliver' | 'drop' }): void {
    if (this.peers.get(peer.id) !== peer) return;
    this.log.info({ regionId: peer.id, peerId: peer.peerId, why: how.why }, how.what);
    this.quietReports.delete(peer.id);
    this.loop.remove(peer.id);
    this.peers.delete(peer.id);
    this.slotIndex = null;
    this.creating.add(peer.id);
    this.localStates.set(peer.id, { peerId: peer.peerId, tombstone: true });
    how.fail();
    this.loop.atQuietPoint(() => {
      how
        .cleanUp()
        .catch((e) => this.fatal(e as Error))
        .finally(() => {
          this.creating.delete(peer.id);
          const waited = this.stash.take(peer.id);
          if (how.stashed === 'deliver') {
            for (const m of waited) this.onRaftMessage(m);
            this.loop.schedule();
          }
          this.heartbeatSoon();
        });
    });
  }

  // ---- merge (raftstore/merge.ts holds the rules; these are the store's hooks) -----------------

  /** Source replicas retired by a merge commit in the apply batch being built. */
  private retiring: RegionPeer[] = [];

  /**
   * In the target's apply batch: this store's source replica, if it has
   * applied the prepare, is tombstoned (its data stays: the target owns it
   * now) and its client sessions join the target's. False when it is not
   * ready (missing, or behind its prepare): the target holds the entry.
   */
  mergeCommitted(target: RegionPeer, source: pb.Region.$Properties, batch: OverlayBatch): boolean {
    const local = this.peers.get(Number(source.id));
    if (!local || local.retired || !localSourceReady(local.region, source)) return false;
    local.retired = true;
    local.storage.setRegion(local.region, batch.batch, pb.PeerState.TOMBSTONE);
    target.sessions.absorb(local.sessions, batch);
    this.retiring.push(local);
    return true;
  }

  mergeDurable(_target: RegionPeer): void {
    const retired = this.retiring;
    this.retiring = [];
    for (const p of retired) this.retireMerged(p, 'merged into its neighbour');
  }

  reapply(peer: RegionPeer): void {
    this.loop.reapply(peer);
  }

  /**
   * A frozen source replica whose target here already covers its slots at a
   * newer version (the target caught up by a snapshot past the commit, or a
   * restart came between): retired like one the commit retired.
   */
  private retireMergedSources(target: RegionPeer): void {
    for (const p of this.peers.values()) {
      const m = mergingOf(p.region);
      if (!m || p === target || m.targetRegionId !== target.id || p.retired) continue;
      if (target.startSlot <= p.startSlot && p.endSlot <= target.endSlot && target.epoch.version > p.epoch.version) {
        p.retired = true;
        this.retireMerged(p, 'its merge target here covers its slots');
      }
    }
  }

  /**
   * A merged source replica: its Raft state goes and its local state is
   * (again) a tombstone. Its data is never deleted here: the target region
   * owns those keys now.
   */
  private retireMerged(peer: RegionPeer, why: string): void {
    this.takeOut(peer, {
      what: 'retiring the merged source replica',
      why,
      fail: () => peer.failAllRetired(`region ${peer.id} merged into its neighbour; try again`),
      cleanUp: async () => {
        await destroyReplicaData(this.engine, peer, [], { keepData: true });
        this.log.info({ regionId: peer.id, peerId: peer.peerId }, 'merged source replica retired: Raft state deleted, data kept');
      },
      stashed: 'drop',
    });
  }

  // ---- split (admin/split.ts holds the rules; these are the store's hooks) -----------------

  /**
   * In apply, in the parent's batch: the new region's replica on this store
   * (its region state, Raft state at RAFT_INIT_INDEX/TERM, a copy of the
   * parent's client sessions). Its data is already in place: a region's data
   * is its slot range. The replica starts once the batch is on disk.
   */
  splitApplied(parent: RegionPeer, child: pb.Region.$Properties, batch: OverlayBatch): void {
    const pending = writeSplitChild(this.splitContext(), parent, child, batch);
    if (pending) this.splitChildren.push(pending);
  }

  /** The parent's split batch is on disk: load and start the new replicas. */
  splitDurable(_parent: RegionPeer): void {
    const children = this.splitChildren;
    this.splitChildren = [];
    for (const c of children) void this.startSplitChild(c);
  }

  private splitChildren: SplitChild[] = [];

  private splitContext(): SplitContext {
    return { storeId: this.storeId, localStates: this.localStates, creating: this.creating, log: this.log };
  }

  private async startSplitChild(c: SplitChild): Promise<void> {
    try {
      const storage = await PeerStorage.load(this.engine, c.regionId, c.region, c.peerId);
      const peer = this.addPeer(c.peerId, storage, await ClientSessions.load(this.engine, c.regionId));
      // The parent's leader starts the new region's election at once (as TiKV
      // does), so the new half has a leader within a round trip.
      if (c.campaign) peer.node.campaign();
      this.log.info({ regionId: c.regionId, slots: [c.region.startSlot, c.region.endSlot], campaign: c.campaign }, 'new region from a split started');
    } catch (e) {
      this.fatal(e as Error);
      return;
    } finally {
      this.creating.delete(c.regionId);
    }
    for (const m of this.stash.take(c.regionId)) this.onRaftMessage(m);
    this.loop.schedule();
    this.heartbeatSoon();
  }

  /** Messages for a region this store will create shortly (a split not yet applied here). */
  private readonly stash = new MessageStash();

  /** The meta's operator steps (operator-steps.ts). */
  private readonly steps = new OperatorSteps({
    peer: (regionId) => this.peers.get(regionId),
    bootstrapPeer: (region) => this.bootstrapPeer(region),
    destroyPeer: (peer, why) => this.destroyPeer(peer, why),
    schedule: () => this.loop.schedule(),
    log: () => this.log,
  });

  /** A heartbeat now (or right after the one in flight): the meta learns a split without waiting an interval. */
  private heartbeatSoon(): void {
    if (this.stopped) return;
    if (this.heartbeatInFlight) this.heartbeatAgain = true;
    else void this.heartbeat();
  }

  private heartbeatAgain = false;
  private heartbeatNo = 0;
  /** Hibernating replicas: what their last full report said, and at which heartbeat. */
  private readonly quietReports = new Map<number, QuietReport>();
  /** Replicas here at the last heartbeat, and whether the next report must name them all (one was added, or one is missing). */
  private reportedReplicas = -1;
  private completeReportDue = false;
  /** Load per region between heartbeats: each replica's `served` count at the last one. */
  private readonly servedAtHeartbeat = new Map<number, number>();
  private lastHeartbeatAt = Date.now();
  /** When the meta last answered a heartbeat. */
  private lastHeartbeatAnswered = Date.now();

  // ---- incoming peer traffic --------------------------------------------------------------

  private onPeerMessage(type: string, body: Uint8Array, _from: PeerInfo): void {
    if (type === STORE_ALIVE) {
      this.onStoreAlive(pb.StoreAlive.decode(body));
    } else if (type === 'raft') {
      // Every message is decoded before any is handled: garbage refuses the whole frame.
      const batch = (pb.RaftMessageBatch.decode(body).messages as pb.RaftMessage[]).map((wire) => ({ wire, msg: decodeMessage(wire.message) }));
      for (const { wire, msg } of batch) {
        // A MsgSnap is only taken after its data, from the last chunk of its stream.
        if (msg.type === raft.MessageType.Snap) continue;
        this.onRaftMessage(wire, msg);
      }
      this.loop.schedule();
    } else {
      throw new Error(`unknown message type ${type}`);
    }
  }

  /** `msg` is `m.message` decoded (a stashed message or a snapshot's is decoded here). */
  private onRaftMessage(m: pb.RaftMessage, msg = decodeMessage(m.message)): void {
    const regionId = Number(m.regionId);
    const toPeer = Number(m.toPeer?.id ?? 0);
    if (Number(m.toPeer?.storeId ?? 0) !== this.storeId || !m.message?.length) return;
    if (m.fromPeer?.id) this.knownPeers.set(Number(m.fromPeer.id), m.fromPeer);
    if (this.creating.has(regionId)) {
      // Being created (bootstrap, or a split's new half loading): kept for it, or the sender retries.
      this.stash.put(regionId, m);
      return;
    }
    let peer = this.peers.get(regionId);
    if (peer && peer.peerId !== toPeer) {
      // A message for another incarnation of this region's replica on this store.
      if (toPeer < peer.peerId) return;
      // A newer one: a region has one replica per store, so ours was removed
      // (it missed its removal). Destroyed first; the message waits for it.
      if (!peer.isLeader) {
        this.destroyPeer(peer, `a message for its newer replica ${toPeer} on this store`);
        this.stash.put(regionId, m);
      }
      return;
    }
    if (peer && staleSender(peer.region, m)) return;
    if (!peer) {
      // A replica removed from here never comes back from a stale message.
      const known = this.localStates.get(regionId);
      if (known && (known.tombstone ? toPeer <= known.peerId : true)) return;
      // A region of the meta's bootstrap that this store has not created yet:
      // the meta's answer to the next heartbeat creates it, initialized, and
      // hands it these messages. An empty replica made now would wait for a
      // snapshot (at 10,000 regions, minutes of them).
      if (compareEpoch(epochOf(m.epoch), BOOTSTRAP_EPOCH) === 0) {
        this.stash.put(regionId, m);
        this.completeReportDue = true;
        this.heartbeatSoon();
        return;
      }
      // The new half of a split that this store's replica of the parent has
      // not applied yet: it will create the replica itself, with the data in
      // place. An empty replica made now would wait for a snapshot instead.
      if (this.overlapsLocalRegion(regionId, Number(m.startSlot), Number(m.endSlot))) {
        this.stash.put(regionId, m);
        return;
      }
      const msgType = msg.type;
      if (msgType !== raft.MessageType.App && msgType !== raft.MessageType.Heartbeat && msgType !== raft.MessageType.Snap) return;
      // A replica added to a region: it starts empty and learns by snapshot.
      // Created and added in this one synchronous step; its region state is
      // persisted with its first hard state (PeerStorage.empty).
      const region: pb.Region.$Properties = {
        id: regionId,
        startSlot: m.startSlot,
        endSlot: m.endSlot,
        epoch: { version: 0, confVer: 0 },
        peers: [],
      };
      peer = this.addPeer(toPeer, PeerStorage.empty(regionId, region, toPeer));
      this.localStates.set(regionId, { peerId: toPeer, tombstone: false });
      this.log.info({ regionId, peerId: toPeer }, 'created an empty replica on a message from its leader');
    }
    if (msg.type === raft.MessageType.ReadIndexResp && msg.entries.length) peer.noteReadIndexTime(msg.entries[0].data, Number(m.sentAtMs ?? 0));
    if (trace.on) traceMessage('recv', msg);
    try {
      peer.node.step(msg);
    } catch (e) {
      this.log.warn({ err: (e as Error).message, regionId }, 'raft message refused');
    }
  }

  /** An initialized local replica of another region holds some of these slots. */
  private overlapsLocalRegion(regionId: number, startSlot: number, endSlot: number): boolean {
    for (const p of this.peers.values()) {
      if (p.id === regionId || !p.region.peers?.length) continue;
      if (p.startSlot < endSlot && startSlot < p.endSlot) return true;
    }
    return false;
  }

  /** Requests from other stores; forwarded client commands are answered by the node. */
  onForward?: (req: pb.ForwardRequest) => Promise<Uint8Array>;
  /** A batch of forwarded commands (an encoded ForwardBatchRequest; store/src/forward-batch.ts). */
  onForwardBatch?: (body: Uint8Array) => Promise<Uint8Array>;
  /** CLIENT UNBLOCK of a blocked command forwarded here (blocking.ts). */
  onUnblock?: (req: pb.UnblockRequest) => Promise<boolean>;
  /** PUBLISH/SPUBLISH and PUBSUB questions from another store (pubsub.ts): answered from this store's subscribers. */
  onPublish?: (req: pb.PublishRequest) => number;
  onPubsubQuery?: (req: pb.PubsubQueryRequest) => pb.PubsubQueryResponse.$Properties;
  /** A page of keys for KEYS/SCAN/DBSIZE on another store (keys-fanout.ts). */
  onRegionKeys?: (body: Uint8Array) => Promise<Uint8Array>;

  private async onPeerRequest(type: string, body: Uint8Array, _from: PeerInfo): Promise<Uint8Array> {
    if (type === 'store.forwardBatch' && this.onForwardBatch) return this.onForwardBatch(body);
    if (type === 'store.forward' && this.onForward) {
      const res = await this.onForward(pb.ForwardRequest.decode(body));
      return pb.ForwardResponse.encode({ reply: res }).finish();
    }
    if (type === STORE_INSTRUCTION_RPC) {
      // An operator step nudged by the meta: carried out now, or refused with the reason.
      await this.steps.execute(pb.Instruction.decode(body), true);
      return new Uint8Array(0);
    }
    if (type === 'raft.snapshot_chunk') {
      await this.snapshots.onChunk(pb.SnapshotChunk.decode(body), body);
      return new Uint8Array(0);
    }
    if (type === 'store.publish' && this.onPublish) {
      return pb.PublishResponse.encode({ receivers: this.onPublish(pb.PublishRequest.decode(body)) }).finish();
    }
    if (type === 'store.pubsub_query' && this.onPubsubQuery) {
      return pb.PubsubQueryResponse.encode(this.onPubsubQuery(pb.PubsubQueryRequest.decode(body))).finish();
    }
    if (type === 'store.regionKeys' && this.onRegionKeys) return this.onRegionKeys(body);
    if (type === 'store.unblock' && this.onUnblock) {
      return pb.UnblockResponse.encode({ unblocked: await this.onUnblock(pb.UnblockRequest.decode(body)) }).finish();
    }
    if (type === 'store.propose') {
      // One operation for one region this store is believed to lead.
      const req = pb.ProposeRequest.decode(body);
      const regionId = Number(req.regionId);
      const peer = this.peers.get(regionId);
      if (!req.write) throw new Error(`store.propose for region ${regionId} without a write`);
      if (!peer) throw new RegionNotFoundError(regionId);
      if (!peer.isLeader) throw this.notLeader(peer);
      try {
        const reply = await peer.propose(req.write, req.session?.id ? req.session : undefined);
        return pb.ForwardResponse.encode({ reply: encodeReply(reply, 2) }).finish();
      } catch (e) {
        // Not proposed, or refused in apply: the sender routes again. An
        // OutcomeUnknownError travels typed: the sender resends in its session.
        if (e instanceof StaleEpochError) throw new EpochNotMatchError(regionId, [peer.region], e.message);
        if (e instanceof RetryLaterError) throw this.notLeader(peer, e.message);
        throw e;
      }
    }
    throw new Error(`unknown request type ${type}`);
  }

  // ---- store liveness (hibernation) -------------------------------------------------------
  //
  // A hibernating follower hears nothing from its leader. Instead, every
  // store sends each store it shares a region with one small StoreAlive per
  // Raft heartbeat interval; a hibernating follower whose leader's store has
  // been silent longer than an election timeout (or restarted) wakes, and
  // elects a new leader the usual way if the old one is gone.

  /** Peer stores: when each was last heard from (on aliveClock) and its start time. */
  private readonly storeHeard = new Map<number, { at: number; startedAt: number; worstGap: number }>();
  /**
   * Milliseconds for judging silence: real time, but at most two intervals
   * per alive round. After a stall of this store, timers run before the
   * frames waiting in its sockets are read, so the others only look silent;
   * like the election clocks (loop.ts, catchUpTicks), this one runs slow then.
   */
  private aliveClock = 0;
  private lastAliveRoundAt = 0;
  /**
   * The stores sharing a region with this one: a walk over every replica,
   * redone every ALIVE_TARGETS_EVERY rounds and whenever the number of
   * replicas here changed (a store that starts sending late looks silent to
   * the others and wakes their followers).
   */
  private aliveTargets: number[] = [];
  private aliveTargetsFor = -1;
  private aliveRounds = 0;

  private aliveRound(): void {
    if (this.stopped) return;
    if (this.aliveRounds++ % ALIVE_TARGETS_EVERY === 0 || this.peers.size !== this.aliveTargetsFor) {
      this.aliveTargetsFor = this.peers.size;
      const targets = new Set<number>();
      for (const p of this.peers.values()) {
        for (const x of p.region.peers ?? []) {
          const s = Number(x.storeId);
          if (s !== this.storeId) targets.add(s);
        }
      }
      this.aliveTargets = [...targets];
    }
    const body = pb.StoreAlive.encode({ storeId: this.storeId, startedAtMs: this.startedAt }).finish();
    for (const s of this.aliveTargets) {
      const addr = this.stores.get(s)?.peerAddr;
      if (addr) this.pool.send(addr, STORE_ALIVE, body);
    }
    const now = performance.now();
    const interval = this.opts.tickMs * RAFT_TIMING.heartbeatTick;
    if (this.lastAliveRoundAt > 0) this.aliveClock += Math.min(now - this.lastAliveRoundAt, 2 * interval);
    this.lastAliveRoundAt = now;
    const electionMs = this.opts.tickMs * RAFT_TIMING.electionTick;
    const silent = new Set<number>();
    for (const s of this.aliveTargets) {
      const heard = this.storeHeard.get(s);
      if (this.aliveClock - (heard?.at ?? 0) > silentAfter(heard?.worstGap ?? 0, electionMs)) silent.add(s);
    }
    if (silent.size) this.wakeFollowersOf(silent, 'its leader\'s store is silent');
  }

  private onStoreAlive(m: pb.StoreAlive): void {
    const storeId = Number(m.storeId);
    const startedAt = Number(m.startedAtMs);
    const prev = this.storeHeard.get(storeId);
    // The longest recent gap between its messages, fading by half in about 7 s (70 messages).
    const worstGap = prev ? Math.max(this.aliveClock - prev.at, prev.worstGap * ALIVE_GAP_FADE) : 0;
    this.storeHeard.set(storeId, { at: this.aliveClock, startedAt, worstGap });
    // Restarted: the leaders it had are gone, even if it was silent for less than an election timeout.
    if (prev && prev.startedAt !== startedAt) this.wakeFollowersOf(new Set([storeId]), 'its leader\'s store restarted');
  }

  /** Wakes every hibernating follower whose leader is on one of these stores. */
  private wakeFollowersOf(stores: Set<number>, why: string): void {
    let woken = 0;
    for (const p of this.peers.values()) {
      if (!p.node.hibernating || p.isLeader) continue;
      const lead = (p.region.peers ?? []).find((x) => Number(x.id) === p.leaderPeerId);
      if (lead && !stores.has(Number(lead.storeId))) continue;
      p.node.wake();
      woken++;
    }
    if (!woken) return;
    this.log.info({ stores: [...stores], woken, why }, 'woke hibernating followers');
    this.loop.schedule();
  }

  /** Replicas that are not ticking (Prometheus, INFO). */
  hibernatingCount(): number {
    let n = 0;
    for (const p of this.peers.values()) if (p.node.hibernating) n++;
    return n;
  }

  // ---- heartbeats and the cluster view ----------------------------------------------------

  private async heartbeat(): Promise<void> {
    if (this.heartbeatInFlight || this.stopped) return;
    this.heartbeatInFlight = true;
    try {
      const regions: pb.RegionStats.$Properties[] = [];
      const quietRegionIds: number[] = [];
      const leaderStats: Array<[RegionPeer, pb.RegionStats.$Properties]> = [];
      let leaders = 0;
      const now = Date.now();
      const secs = Math.max(0.001, (now - this.lastHeartbeatAt) / 1000);
      this.lastHeartbeatAt = now;
      const beat = ++this.heartbeatNo;
      // The ids of the quiet replicas go only in a complete report (every
      // QUIET_IDS_EVERY heartbeats, and whenever the set of replicas here
      // changed): 10,000 ids a second were most of an idle store's bytes.
      const complete = beat % QUIET_IDS_EVERY === 1 || this.peers.size !== this.reportedReplicas || this.completeReportDue;
      if (now - this.lastHeartbeatAnswered > REPORT_ALL_AFTER_MS) this.quietReports.clear();
      this.reportedReplicas = this.peers.size;
      this.completeReportDue = false;
      for (const p of this.peers.values()) {
        if (p.isLeader) leaders++;
        // A hibernating replica whose report has not changed goes in full only every QUIET_REPORT_EVERY heartbeats.
        if (p.node.hibernating) {
          const last = this.quietReports.get(p.id);
          if (last && beat - last.beat < QUIET_REPORT_EVERY && sameQuietReport(last, p)) {
            if (complete) quietRegionIds.push(p.id);
            continue;
          }
          this.quietReports.set(p.id, quietReportOf(p, beat));
        } else {
          this.quietReports.delete(p.id);
        }
        const size = p.isLeader ? this.splitChecker.sizeOf(p) : undefined;
        const stats: pb.RegionStats.$Properties = {
          region: p.region,
          leaderPeerId: p.leaderPeerId,
          term: p.node.raft.term,
          appliedIndex: p.applied,
          isLeader: p.isLeader,
          approximateBytes: size?.bytes ?? 0,
          approximateKeys: size?.keys ?? 0,
          splitSlotHint: size?.splitSlot ?? 0,
          qps: Math.round((p.served - (this.servedAtHeartbeat.get(p.id) ?? p.served)) / secs),
          peerId: p.peerId,
        };
        regions.push(stats);
        this.servedAtHeartbeat.set(p.id, p.served);
        if (p.isLeader) leaderStats.push([p, stats]);
      }
      await this.addFileSizes(leaderStats);
      const req: pb.StoreHeartbeatRequest.$Properties = {
        store: {
          id: this.storeId,
          peerAddr: this.opts.peerAddr,
          clientAddr: this.opts.clientAddr,
          regionCount: this.peers.size,
          leaderCount: leaders,
          startedAtMs: this.startedAt,
        },
        regions,
        quietRegionIds,
        knownViewVersion: this.view ? Number(this.view.version) : 0,
      } as pb.StoreHeartbeatRequest.$Properties;
      const res = pb.StoreHeartbeatResponse.decode(await this.metaRequest('meta.heartbeat', pb.StoreHeartbeatRequest.encode(req).finish()));
      this.lastHeartbeatAnswered = Date.now();
      if (res.view) this.setView(res.view as pb.ClusterView);
      const creates = res.instructions.filter((ins) => ins.createPeer).map((ins) => ins.createPeer as pb.Region.$Properties);
      if (creates.length) await this.bootstrapPeers(creates).catch((e) => this.log.warn({ err: (e as Error).message, regions: creates.length }, 'bootstrapping replicas failed'));
      for (const ins of res.instructions) {
        if (ins.createPeer) continue;
        await this.steps.execute(ins as pb.Instruction, false).catch((e) => this.log.info({ err: (e as Error).message, regionId: Number(ins.regionId) }, 'operator step refused'));
      }
    } catch (e) {
      if (!this.stopped) this.log.debug({ err: (e as Error).message }, 'heartbeat failed');
    } finally {
      this.heartbeatInFlight = false;
      if (this.heartbeatAgain) {
        this.heartbeatAgain = false;
        this.heartbeatSoon();
      }
    }
  }

  /** RocksDB's estimate of each led region's file bytes, as of an applied index. */
  private readonly fileSizes = new Map<number, { applied: number; bytes: number }>();

  /**
   * Sizes matter to the meta only from leaders (state.ts, applyRegionReport):
   * the split check's measure, or RocksDB's estimate from its files if more.
   * The estimate is taken again only for a region that applied something
   * since, and all of them at once: thousands of them one after another
   * held a heartbeat past the meta's down-after time at start-up.
   */
  private async addFileSizes(leaders: Array<[RegionPeer, pb.RegionStats.$Properties]>): Promise<void> {
    const todo = leaders.filter(([p]) => this.fileSizes.get(p.id)?.applied !== p.applied);
    for (let i = 0; i < todo.length; i += FILE_SIZES_AT_ONCE) {
      await Promise.all(
        todo.slice(i, i + FILE_SIZES_AT_ONCE).map(async ([p]) => {
          const applied = p.applied;
          const [gte, lt] = dataRange(p.startSlot, p.endSlot);
          const bytes = await this.engine.approximateSize(gte, lt).catch(() => 0);
          this.fileSizes.set(p.id, { applied, bytes });
        }),
      );
    }
    for (const [p, stats] of leaders) stats.approximateBytes = Math.max(Number(stats.approximateBytes ?? 0), this.fileSizes.get(p.id)?.bytes ?? 0);
    if (this.fileSizes.size > 2 * this.peers.size + 1000) for (const id of this.fileSizes.keys()) if (!this.peers.has(id)) this.fileSizes.delete(id);
  }

  private setView(view: pb.ClusterView): void {
    this.view = view;
    this.stores.clear();
    for (const s of view.stores) this.stores.set(Number(s.id), s);
  }

  /**
   * Creates the first replica of a new region (the meta's bootstrap). No
   * message can create a second one meanwhile (`creating`), and a region this
   * store has any record of (live or tombstone) is never bootstrapped again.
   */
  private bootstrapPeer(region: pb.Region.$Properties): Promise<void> {
    return this.bootstrapPeers([region]);
  }

  /**
   * Creates the first replicas of many new regions with one synced write
   * (a heartbeat's answer names every initial region at once: with
   * thousands, a write each took minutes and held the heartbeats back).
   */
  private async bootstrapPeers(regions: pb.Region.$Properties[]): Promise<void> {
    const todo: Array<{ region: pb.Region.$Properties; regionId: number; peerId: number }> = [];
    for (const region of regions) {
      const regionId = Number(region.id);
      if (this.peers.has(regionId) || this.creating.has(regionId) || this.localStates.has(regionId)) continue;
      const mine = (region.peers ?? []).find((p) => Number(p.storeId) === this.storeId);
      if (!mine) continue;
      this.creating.add(regionId);
      todo.push({ region, regionId, peerId: Number(mine.id) });
    }
    if (todo.length === 0) return;
    try {
      const batch = new WriteBatch();
      for (const t of todo) PeerStorage.bootstrap(batch, t.region, t.peerId);
      await this.engine.write(batch, true);
      // Their state is what the batch wrote: made in memory, not read back
      // (10,000 reads one after another held the heartbeat for minutes, and
      // the meta marked the store down meanwhile).
      const campaigners: RegionPeer[] = [];
      for (const { region, regionId, peerId } of todo) {
        this.localStates.set(regionId, { peerId, tombstone: false });
        const peer = this.addPeer(peerId, PeerStorage.bootstrapped(region, peerId));
        // One replica campaigns at once so a new cluster serves quickly; which
        // one rotates with the region id, so first leaders spread over stores.
        const peers = region.peers ?? [];
        if (peers.length && Number(peers[regionId % peers.length].id) === peer.peerId) campaigners.push(peer);
        this.creating.delete(regionId);
        for (const m of this.stash.take(regionId)) this.onRaftMessage(m);
      }
      this.campaignInWaves(campaigners);
      this.loop.schedule();
      if (todo.length === 1) this.log.info({ regionId: todo[0].regionId, slots: [todo[0].region.startSlot, todo[0].region.endSlot] }, 'bootstrapped a replica');
      else this.log.info({ regions: todo.length, first: todo[0].regionId, last: todo[todo.length - 1].regionId }, 'bootstrapped replicas');
    } finally {
      for (const t of todo) this.creating.delete(t.regionId);
    }
  }

  /**
   * Starts the elections of newly bootstrapped replicas CAMPAIGN_WAVE at a
   * time, one wave per tick: thousands at once made rounds of thousands of
   * Readys whose answers came back after the election timeout.
   */
  private campaignInWaves(peers: RegionPeer[]): void {
    const wave = peers.splice(0, CAMPAIGN_WAVE);
    for (const p of wave) if (this.peers.get(p.id) === p && !p.isLeader && p.leaderPeerId === 0) p.node.campaign();
    if (wave.length) this.loop.schedule();
    if (peers.length && !this.stopped) setTimeout(() => this.campaignInWaves(peers), this.opts.tickMs);
  }

  /** Refused: this replica does not lead; the hint names the store it believes does. */
  private notLeader(peer: RegionPeer, detail?: string): NotLeaderError {
    const leader = (peer.region.peers ?? []).find((x) => Number(x.id) === peer.leaderPeerId);
    const storeId = Number(leader?.storeId ?? 0);
    const addr = storeId ? String(this.stores.get(storeId)?.peerAddr ?? '') : '';
    return new NotLeaderError(peer.id, addr, storeId, detail ?? `NOT_LEADER region ${peer.id}`);
  }

  /** Leader transfer asked by an operator: TimeoutNow to the region's replica on `toStoreId`. */
  transferLeader(regionId: number, toStoreId: number): void {
    const peer = this.peers.get(regionId);
    if (!peer) throw new CommandError(`ERR no replica of region ${regionId} on this store`);
    if (!peer.isLeader) throw new CommandError(`ERR this store does not lead region ${regionId}`);
    const target = (peer.region.peers ?? []).find((p) => Number(p.storeId) === toStoreId);
    if (!target) throw new CommandError(`ERR region ${regionId} has no replica on store ${toStoreId}`);
    if (toStoreId === this.storeId) return;
    if (target.role === pb.PeerRole.LEARNER) throw new CommandError(`ERR the replica of region ${regionId} on store ${toStoreId} is a learner`);
    peer.node.transferLeader(Number(target.id));
    this.loop.schedule();
  }

  // ---- routing ------------------------------------------------------------------------------

  storeInfo(id: number): pb.StoreInfo.$Properties | undefined {
    return this.stores.get(id);
  }

  allStores(): pb.StoreInfo.$Properties[] {
    return [...this.stores.values()];
  }

  /**
   * Every region this store knows of: its own replicas first, the meta's view
   * for the rest. Where two overlap (a split applied here but not yet heard
   * of by the meta, or the other way round), the newer epoch wins, so CLUSTER
   * SLOTS never shows a slot twice.
   */
  routes(): Route[] {
    const candidates: Array<{ route: Route; epoch: Epoch }> = [];
    const local = new Map<number, { route: Route; epoch: Epoch }>();
    for (const p of this.peers.values()) {
      if (Number(p.region.endSlot) <= Number(p.region.startSlot)) continue;
      const c = { route: this.localRoute(p), epoch: p.epoch };
      local.set(p.id, c);
      candidates.push(c);
    }
    for (const r of this.view?.regions ?? []) {
      if (!r.region) continue;
      const epoch = epochOf(r.region.epoch);
      const mine = local.get(Number(r.region.id));
      if (mine) {
        // The meta saw a later split of a replica that has not applied it yet: its slots as the meta has them.
        if (isEpochStale(mine.epoch, epoch, 'range')) {
          mine.route.startSlot = Number(r.region.startSlot);
          mine.route.endSlot = Number(r.region.endSlot);
          mine.epoch = epoch;
        }
        continue;
      }
      candidates.push({
        route: {
          regionId: Number(r.region.id),
          startSlot: Number(r.region.startSlot),
          endSlot: Number(r.region.endSlot),
          leaderStoreId: Number(r.leaderStoreId),
          peers: r.region.peers ?? [],
        },
        epoch,
      });
    }
    // Local replicas come first, so at equal versions they win over the meta's view.
    return SlotMap.newestWins(candidates, (c) => c.route, (c) => c.epoch.version)
      .list()
      .map((c) => c.route);
  }

  /** The route of a local replica, from what it knows of its region and leader. */
  private localRoute(p: RegionPeer): Route {
    const leaderPeer = (p.region.peers ?? []).find((x) => Number(x.id) === p.leaderPeerId);
    return {
      regionId: p.id,
      startSlot: p.startSlot,
      endSlot: p.endSlot,
      peer: p,
      leaderStoreId: p.isLeader ? this.storeId : Number(leaderPeer?.storeId ?? 0),
      peers: p.region.peers ?? [],
    };
  }

  /** On every keyed command: a local initialized replica answers without building every route. */
  routeOf(slot: number): Route | undefined {
    const p = this.localPeerOf(slot);
    if (p) return this.localRoute(p);
    return new SlotMap(this.routes(), (r) => r).find(slot);
  }

  /** Initialized local replicas by slot (rebuilt after any region change): routing is a binary search. */
  private slotIndex: SlotMap<RegionPeer> | null = null;

  /** The initialized local replica holding a slot, if any. */
  localPeerOf(slot: number): RegionPeer | undefined {
    this.slotIndex ??= new SlotMap(
      [...this.peers.values()].filter((p) => p.region.peers?.length && p.endSlot > p.startSlot),
      (p) => p,
    );
    return this.slotIndex.find(slot);
  }

  get bootstrapped(): boolean {
    return !!this.view?.bootstrapped || this.peers.size > 0;
  }
}

/**
 * A message from a replica that is no longer in the region (removed by a
 * membership change this replica has applied): its epoch is older and the
 * region does not name it. Dropped at intake, so a removed replica cannot
 * disturb the group. A sender the region names is never dropped: a leader
 * may be behind its followers in applying a split.
 */
export function staleSender(region: pb.Region.$Properties, m: pb.RaftMessage.$Properties): boolean {
  const peers = region.peers ?? [];
  if (!peers.length || !m.epoch || !m.fromPeer) return false;
  if (peers.some((p) => Number(p.id) === Number(m.fromPeer!.id))) return false;
  return isEpochStale(epochOf(m.epoch), epochOf(region.epoch), 'conf');
}

/** What a hibernating replica's last full report to the meta said. */
interface QuietReport {
  beat: number;
  term: number;
  applied: number;
  leader: number;
  isLeader: boolean;
  version: number;
  confVer: number;
}

function quietReportOf(p: RegionPeer, beat: number): QuietReport {
  return { beat, term: p.node.raft.term, applied: p.applied, leader: p.leaderPeerId, isLeader: p.isLeader, version: p.epoch.version, confVer: p.epoch.confVer };
}

function sameQuietReport(r: QuietReport, p: RegionPeer): boolean {
  return r.term === p.node.raft.term && r.applied === p.applied && r.leader === p.leaderPeerId && r.isLeader === p.isLeader && r.version === p.epoch.version && r.confVer === p.epoch.confVer;
}

/**
 * How long a store may stay silent before the followers of its hibernating
 * leaders wake: ALIVE_SILENT_MIN election timeouts, or three of its longest
 * recent gaps if longer (at most ALIVE_SILENT_MAX election timeouts). With
 * one election timeout, a store that did not run for half a second (GC, a
 * round over thousands of regions, a machine loaded by other work) looked
 * dead: thousands of followers woke and campaigned, which made the next
 * stall longer (10,000 regions never settled, and 3,000 woke now and then
 * while idle). Only sleeping regions wait longer for a new leader; awake
 * ones elect after an election timeout as always.
 */
export function silentAfter(worstGapMs: number, electionMs: number): number {
  return Math.min(ALIVE_SILENT_MAX * electionMs, Math.max(ALIVE_SILENT_MIN * electionMs, 3 * worstGapMs));
}

/** A RaftMessageBatch from messages encoded one by one (field 1, repeated): the bytes protobufjs would write. */
function encodeRaftBatch(messages: Uint8Array[]): Uint8Array {
  const w = pb.RaftMessageBatch.encode({ messages: [] });
  for (const m of messages) w.uint32((1 << 3) | 2).bytes(m);
  return w.finish();
}

/** Trace events (util/trace.ts) for the messages of a write's path: appends with entries and their answers. */
function traceMessage(way: 'send' | 'recv', m: raft.Message): void {
  if (m.type === raft.MessageType.App && m.entries.length) traceEvent(`${way}-append entries=${m.entries.length} to=${m.to}`);
  else if (m.type === raft.MessageType.AppResp) traceEvent(`${way}-append-resp to=${m.to}`);
}
