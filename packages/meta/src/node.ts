// One replica of the meta group: its own RocksDB, one Raft group (group id 1,
// static membership from --peers), the cluster map in memory (state.ts), the
// store-facing RPCs on the peer port and the admin RESP port.
//
// Persistence: the Raft log, hard state and apply state live under the
// region-local keys of group 1; the map itself is in memory and recovered at
// start from the last snapshot record (storeKey('meta/snapshot'): a raft
// Snapshot whose data is MetaState) plus a replay of the log after it. A
// snapshot record is written every `snapshotEvery` applied entries, and the
// log is compacted up to the previous record, so the log stays bounded while
// a follower that lags by less than that still catches up from the log.
import { join } from 'node:path';
import {
  NotLeaderError,
  OverlayBatch,
  bindableLocalAddress,
  tcpNetwork,
  PeerStorage,
  RaftLoop,
  ReplyEncoder,
  RespServer,
  RocksEngine,
  WriteBatch,
  serveMetrics,
  hardStateKey,
  decodeMessage,
  encodeMessage,
  pb,
  raft,
  regionStateKey,
  storeKey,
  waitWhile,
} from '@redraft/common';
import type { Engine, LoopGroup, LoopHost, Logger, PeerInfo, PeerListener, PeerNetwork, PeerSender, Protocol, Reply } from '@redraft/common';
import { MetaStateMachine, type ApplyResult } from './state';
import { AdminCommands } from './admin';
import { metaMetrics } from './metrics';
import { Schedulers } from './schedulers';
import { createAndNudge } from './admin-operators';
import type { Server as HttpServer } from 'node:http';

/** The meta group's Raft group id in its own RocksDB. */
export const META_GROUP_ID = 1;
const SNAPSHOT_KEY = storeKey('meta/snapshot');
const PROPOSAL_TIMEOUT_MS = 5000;
const HOUSEKEEPING_MS = 200;
/** On SIGTERM, how long a meta leader may take to hand the group to another replica. */
const HANDOFF_WAIT_MS = 1000;

/** The store RPC that carries one operator step (the nudge); answered empty, or an error with the store's reason. */
export const STORE_INSTRUCTION_RPC = 'store.instruction';

/** Transport message and RPC names (docs/meta.md). */
export const MetaRpc = {
  raft: 'meta.raft',
  register: 'meta.register',
  heartbeat: 'meta.heartbeat',
  allocIds: 'meta.alloc_ids',
  view: 'meta.view',
  admin: 'meta.admin',
} as const;

export interface MetaNodeOptions {
  /** This replica's id: a key of `peers`. */
  id: number;
  /** Every meta replica's id and peer-port address (host:port), this one included. */
  peers: Map<number, string>;
  /** Address to listen on (admin and peer ports). */
  host: string;
  /** Admin RESP port (0: any free port). */
  adminPort: number;
  /** Peer port for Raft traffic between meta replicas and store RPCs (0: any free port). */
  peerPort: number;
  dataDir: string;
  /** Voters per region created at bootstrap, and the stores needed before bootstrapping (default 3). */
  replicas?: number;
  /** Regions the bootstrap cuts [0, 16384) into (default 1). */
  initialRegions?: number;
  /** A store without a heartbeat for this long is marked down (default 10 s). */
  downAfterMs?: number;
  /** Raft tick (default 50 ms; election after 10-20 ticks, heartbeat every 2). */
  tickMs?: number;
  /** Applied entries between two snapshot records (default 1000). */
  snapshotEvery?: number;
  log: Logger;
  /** HTTP port serving Prometheus text on /metrics (0: any free port; absent: none). */
  metricsPort?: number;
  /** Called when the replica had to stop on its own (a failed disk write); the CLI exits. */
  onFatal?: (err: Error) => void;
  /** Peer transport (default TCP); the in-process harness passes an in-memory one. */
  network?: PeerNetwork;
}

/** Instructions beyond bootstrap (operators: the scheduling issue) plug in here. */
export type InstructionSource = (storeId: number, req: pb.StoreHeartbeatRequest) => pb.Instruction.$Properties[];

interface Waiter<T> {
  resolve: (v: T) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

/** What a replica that does not lead answers with, typed over RPC: `NOT_LEADER <leader peer addr>` or `NOT_LEADER`. */
export class MetaNotLeaderError extends NotLeaderError {
  constructor(leaderAddr: string) {
    super(0, leaderAddr);
  }
}

export class MetaNode implements LoopGroup, LoopHost {
  readonly id = META_GROUP_ID;
  readonly sm = new MetaStateMachine();
  node!: raft.RawNode;
  storage!: PeerStorage;
  instructionSource: InstructionSource | undefined;

  private engine!: Engine;
  private loop!: RaftLoop;
  private peerServer!: PeerListener;
  private pool!: PeerSender;
  private admin!: RespServer;
  private metrics: HttpServer | undefined;
  readonly commands: AdminCommands;
  private region!: pb.Region.$Properties;
  private readonly replicas: number;
  private readonly initialRegions: number;
  readonly downAfterMs: number;
  private readonly tickMs: number;
  private readonly snapshotEvery: number;
  private readonly log: Logger;

  private lastSnapshot!: raft.Snapshot;
  private appliedIndex = 0;
  private appliedSinceSnapshot = 0;
  private nextProposalId = Date.now() * 1000;
  private readonly proposals = new Map<number, Waiter<ApplyResult>>();
  private results: Array<[number, ApplyResult]> = [];
  private nextReadId = 1;
  private readonly readRequests = new Map<string, Waiter<void>>();
  private readonly readsWaitingApply: Array<{ index: number; waiter: Waiter<void> }> = [];
  private role: raft.StateRole = raft.StateRole.Follower;
  private leaderId = 0;
  private leaderSince = 0;
  private housekeeping: NodeJS.Timeout | undefined;
  private bootstrapInFlight = false;
  private readonly markingDown = new Set<number>();
  /** Drained stores whose removal is being proposed. */
  private readonly removingStores = new Set<number>();
  private readonly timingOut = new Set<number>();
  private readonly schedulers = new Schedulers({
    sm: this.sm,
    leaderForMs: () => (this.isLeader ? Date.now() - this.leaderSince : 0),
    replicas: () => this.replicas,
    create: (op) => createAndNudge(this, op),
    log: (obj, msg) => this.log.info(obj, msg),
  });
  private houseKeepRounds = 0;
  /** How long a new leader waits before scheduling: the map's leaders come from heartbeats it has not had yet. */
  private static readonly SCHEDULE_AFTER_ELECTION_MS = 3000;
  /** Housekeeping rounds (200 ms) between two scheduler rounds. */
  private static readonly SCHEDULE_EVERY_ROUNDS = 5;
  private stopped = false;
  /** stop() began: it hands the leadership over before `stopped` refuses everything. */
  private stopping = false;
  readonly startedAt = Date.now();
  /** Raft snapshots received from a leader and installed (for tests and INFO). */
  snapshotsInstalled = 0;

  private constructor(readonly opts: MetaNodeOptions) {
    this.replicas = opts.replicas ?? 3;
    this.initialRegions = opts.initialRegions ?? 1;
    this.downAfterMs = opts.downAfterMs ?? 10_000;
    this.tickMs = opts.tickMs ?? 50;
    this.snapshotEvery = opts.snapshotEvery ?? 1000;
    this.log = opts.log.child({ component: 'meta', metaId: opts.id });
    this.commands = new AdminCommands(this);
  }

  static async start(opts: MetaNodeOptions): Promise<MetaNode> {
    validate(opts);
    const m = new MetaNode(opts);
    try {
      await m.open();
    } catch (e) {
      await m.stop().catch(() => undefined);
      throw e;
    }
    return m;
  }

  // ---- facts for the admin commands and tests ----------------------------------------

  get metaId(): number {
    return this.opts.id;
  }

  get isLeader(): boolean {
    return this.role === raft.StateRole.Leader;
  }

  get leader(): number {
    return this.leaderId;
  }

  get roleName(): string {
    return this.role;
  }

  get term(): number {
    return this.node.raft.term;
  }

  get applied(): number {
    return this.appliedIndex;
  }

  get peerAddrs(): Map<number, string> {
    return this.opts.peers;
  }

  /** The leader's peer address, '' when unknown. */
  get leaderAddr(): string {
    return this.leaderId ? (this.opts.peers.get(this.leaderId) ?? '') : '';
  }

  get adminPort(): number {
    return this.admin.address().port;
  }

  get peerPort(): number {
    return this.peerServer.port;
  }

  /** The HTTP port of /metrics, 0 if not served. */
  get metricsPort(): number {
    const a = this.metrics?.address();
    return a && typeof a === 'object' ? a.port : 0;
  }

  loopStats(): { rounds: number; entriesApplied: number; bytesWritten: number } {
    return this.loop.stats;
  }

  /** Clients connected to the admin port. */
  get adminClients(): number {
    return this.admin.connections.size;
  }

  get replicaTarget(): number {
    return this.replicas;
  }

  // ---- start and stop -----------------------------------------------------------------

  private async open(): Promise<void> {
    const { opts } = this;
    this.engine = await RocksEngine.open(join(opts.dataDir, 'db'));
    this.region = {
      id: META_GROUP_ID,
      startSlot: 0,
      endSlot: 0,
      epoch: { version: 1, confVer: 1 },
      peers: [...opts.peers.keys()].sort((a, b) => a - b).map((id) => ({ id, storeId: id, role: pb.PeerRole.VOTER })),
    };
    const existing = await this.engine.get(regionStateKey(META_GROUP_ID));
    if (!existing) {
      const batch = new WriteBatch();
      PeerStorage.bootstrap(batch, this.region);
      await this.engine.write(batch, true);
      this.log.info({ peers: Object.fromEntries(opts.peers) }, 'bootstrapped a new meta replica');
    } else {
      const stored = pb.RegionLocalState.decode(existing).region;
      const had = (stored?.peers ?? []).map((p) => Number(p.id)).sort((a, b) => a - b);
      const want = this.region.peers!.map((p) => Number(p.id));
      if (had.join(',') !== want.join(',')) {
        throw new Error(`data dir ${opts.dataDir} belongs to a meta group with replicas ${had.join(',')}, but --peers names ${want.join(',')}`);
      }
      if (!(await this.engine.get(hardStateKey(META_GROUP_ID)))) throw new Error(`data dir ${opts.dataDir}: meta raft state missing`);
    }
    this.storage = await PeerStorage.load(this.engine, META_GROUP_ID, this.region);
    await this.recover();
    this.storage.setSnapshotSource(() => this.lastSnapshot);

    this.node = new raft.RawNode({
      id: opts.id,
      storage: this.storage,
      electionTick: 10,
      heartbeatTick: 2,
      maxSizePerMsg: 1024 * 1024,
      maxInflightMsgs: 256,
      checkQuorum: true,
      preVote: true,
      readOnlyOption: raft.ReadOnlyOption.LeaseBased,
      disableProposalForwarding: true,
      random: Math.random,
      applied: this.appliedIndex,
      logger: this.log.child({ component: 'raft' }),
    });

    const network = opts.network ?? tcpNetwork;
    this.pool = network.sender({ logger: this.log.child({ component: 'peer-pool' }), storeId: 0, localAddress: bindableLocalAddress(opts.host) });
    this.peerServer = network.listener({
      host: opts.host,
      port: opts.peerPort,
      logger: this.log.child({ component: 'peer-server' }),
      onMessage: (type, body, from) => this.onPeerMessage(type, body, from),
      onRequest: (type, body) => this.onPeerRequest(type, body),
    });
    await this.peerServer.listen();
    this.admin = new RespServer({
      host: opts.host,
      port: opts.adminPort,
      logger: this.log.child({ component: 'admin' }),
      handler: (conn, args) => this.commands.execute(conn, args),
    });
    await this.admin.listen();
    if (opts.metricsPort !== undefined) this.metrics = await serveMetrics(metaMetrics(this), opts.host, opts.metricsPort);

    this.loop = new RaftLoop(this.engine, this);
    this.loop.add(this);
    this.loop.startTicking(this.tickMs);
    if (opts.peers.size === 1) this.node.campaign();
    this.loop.schedule();
    this.housekeeping = setInterval(() => this.houseKeep(), HOUSEKEEPING_MS);
    this.log.info(
      { adminPort: this.adminPort, peerPort: this.peerPort, applied: this.appliedIndex, version: this.sm.version, bootstrapped: this.sm.bootstrapped },
      'meta replica ready',
    );
  }

  /** Rebuilds the map: the last snapshot record, then every applied entry after it. */
  private async recover(): Promise<void> {
    const as = this.storage.applyState;
    const raw = await this.engine.get(SNAPSHOT_KEY);
    let snapIndex = as.truncatedIndex;
    if (raw) {
      const s = pb.Snapshot.decode(raw);
      const snap: raft.Snapshot = {
        meta: { index: Number(s.meta?.index ?? 0), term: Number(s.meta?.term ?? 0), confState: this.confState() },
        data: s.data ?? new Uint8Array(0),
      };
      if (snap.meta.index < as.truncatedIndex) throw new Error(`meta snapshot at ${snap.meta.index} is older than the truncated log (${as.truncatedIndex})`);
      this.sm.restore(pb.MetaState.decode(snap.data));
      this.lastSnapshot = snap;
      snapIndex = snap.meta.index;
    } else {
      this.lastSnapshot = { meta: { index: as.truncatedIndex, term: as.truncatedTerm, confState: this.confState() }, data: this.sm.encodeSnapshot() };
    }
    const applied = as.appliedIndex;
    if (applied > snapIndex) {
      for (const e of this.storage.entries(snapIndex + 1, applied + 1, Number.MAX_SAFE_INTEGER)) this.applyEntry(e);
    }
    this.appliedIndex = Math.max(applied, snapIndex);
    this.appliedSinceSnapshot = this.appliedIndex - snapIndex;
  }

  private confState(): raft.ConfState {
    return { voters: this.region.peers!.map((p) => Number(p.id)), learners: [] };
  }

  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    if (this.housekeeping) clearInterval(this.housekeeping);
    await this.handOffLeadership();
    this.stopped = true;
    if (this.loop) await this.loop.stop();
    this.failAll(new Error('SHUTDOWN the meta replica is stopping'));
    await this.admin?.close();
    if (this.metrics) {
      this.metrics.closeAllConnections();
      await new Promise<void>((r) => this.metrics!.close(() => r()));
    }
    await this.peerServer?.close();
    await this.pool?.close();
    await this.engine?.close();
    this.log.info('meta replica stopped');
  }

  /**
   * A meta leader stopping of its own accord hands the group to its most
   * caught-up replica first (a leader transfer), as a store does with its
   * regions: the stores' heartbeats and operators wait a transfer, not an
   * election timeout. Proposals meanwhile are refused as NOT_LEADER.
   */
  private async handOffLeadership(): Promise<void> {
    if (!this.loop || !this.isLeader) return;
    const to = this.node.raft.handOffTarget();
    if (to === 0) return; // no other replica heard from lately
    this.node.transferLeader(to);
    this.loop.schedule();
    const started = Date.now();
    await waitWhile(() => this.isLeader, HANDOFF_WAIT_MS, 5);
    this.log.info({ to, moved: !this.isLeader, ms: Date.now() - started }, 'meta leadership handed off before stopping');
  }

  // ---- LoopGroup ---------------------------------------------------------------------

  async installSnapshot(snap: raft.Snapshot, batch: OverlayBatch): Promise<void> {
    this.sm.restore(pb.MetaState.decode(snap.data));
    this.storage.applySnapshot(snap, this.region, batch.batch);
    batch.batch.put(SNAPSHOT_KEY, Buffer.from(encodeSnapshot(snap)));
    this.lastSnapshot = { meta: { ...snap.meta, confState: this.confState() }, data: snap.data };
    this.appliedIndex = snap.meta.index;
    this.appliedSinceSnapshot = 0;
    this.snapshotsInstalled++;
    this.log.info({ index: snap.meta.index, term: snap.meta.term, version: this.sm.version }, 'installed a meta snapshot');
  }

  async apply(entries: raft.Entry[], batch: OverlayBatch): Promise<void> {
    if (entries.length === 0) return;
    for (const e of entries) {
      const r = this.applyEntry(e);
      if (r) this.results.push(r);
    }
    const last = entries[entries.length - 1];
    this.appliedIndex = last.index;
    this.appliedSinceSnapshot += entries.length;
    this.storage.setApplied(last.index, batch.batch);
    if (this.appliedSinceSnapshot >= this.snapshotEvery) this.takeSnapshot(last, batch.batch);
  }

  /** Applies one entry to the map; returns the result if this replica proposed it. */
  private applyEntry(e: raft.Entry): [number, ApplyResult] | undefined {
    if (e.type !== raft.EntryType.Normal || e.data.length === 0) return undefined; // the empty entry of a new term; no conf changes (static membership)
    const cmd = pb.MetaCommand.decode(e.data);
    const res = this.sm.apply(cmd);
    if (Number(cmd.proposer) === this.opts.id && cmd.proposalId) return [Number(cmd.proposalId), res];
    return undefined;
  }

  /** A snapshot record at `last`; the log is cut back to the previous record. */
  private takeSnapshot(last: raft.Entry, batch: WriteBatch): void {
    const prev = this.lastSnapshot.meta.index;
    const snap: raft.Snapshot = { meta: { index: last.index, term: last.term, confState: this.confState() }, data: this.sm.encodeSnapshot() };
    batch.put(SNAPSHOT_KEY, Buffer.from(encodeSnapshot(snap)));
    if (prev > this.storage.applyState.truncatedIndex) this.storage.compact(prev, batch);
    this.lastSnapshot = snap;
    this.appliedSinceSnapshot = 0;
    this.log.debug({ index: last.index, compactedTo: prev }, 'meta snapshot taken');
  }

  afterPersist(rd: raft.Ready): void {
    if (rd.softState) this.onSoftState(rd.softState);
    for (const rs of rd.readStates) {
      const key = Buffer.from(rs.context).toString('hex');
      const w = this.readRequests.get(key);
      if (!w) continue;
      this.readRequests.delete(key);
      this.readsWaitingApply.push({ index: rs.index, waiter: w });
    }
    this.serveAppliedReads();
  }

  /** The loop wrote an apply batch with this group's entries: answer their RPCs. */
  afterApply(): void {
    const results = this.results;
    this.results = [];
    for (const [id, res] of results) {
      const w = this.proposals.get(id);
      if (!w) continue;
      this.proposals.delete(id);
      clearTimeout(w.timer);
      w.resolve(res);
    }
    this.serveAppliedReads();
  }

  /** Reads are served once the map has applied their read index. */
  private serveAppliedReads(): void {
    for (let i = this.readsWaitingApply.length - 1; i >= 0; i--) {
      const r = this.readsWaitingApply[i];
      if (r.index <= this.appliedIndex) {
        this.readsWaitingApply.splice(i, 1);
        clearTimeout(r.waiter.timer);
        r.waiter.resolve();
      }
    }
  }

  private onSoftState(ss: raft.SoftState): void {
    const wasLeader = this.isLeader;
    this.role = ss.role;
    this.leaderId = ss.leaderId;
    if (this.isLeader && !wasLeader) {
      this.leaderSince = Date.now();
      this.log.info({ term: this.node.raft.term }, 'became meta leader');
    } else if (wasLeader && !this.isLeader) {
      this.log.info({ term: this.node.raft.term, leader: ss.leaderId }, 'lost meta leadership');
      this.failAll(new MetaNotLeaderError(this.leaderAddr));
    }
  }

  private failAll(err: Error): void {
    for (const w of this.proposals.values()) {
      clearTimeout(w.timer);
      w.reject(err);
    }
    this.proposals.clear();
    for (const w of this.readRequests.values()) {
      clearTimeout(w.timer);
      w.reject(err);
    }
    this.readRequests.clear();
    for (const r of this.readsWaitingApply) {
      clearTimeout(r.waiter.timer);
      r.waiter.reject(err);
    }
    this.readsWaitingApply.length = 0;
  }

  // ---- LoopHost ------------------------------------------------------------------------

  send(messages: Array<{ group: LoopGroup; message: raft.Message }>): void {
    const byTarget = new Map<number, pb.RaftMessage.$Properties[]>();
    const snapTargets = new Set<number>();
    for (const { message } of messages) {
      if (message.type === raft.MessageType.Snap) snapTargets.add(message.to);
      let list = byTarget.get(message.to);
      if (!list) byTarget.set(message.to, (list = []));
      list.push({
        regionId: META_GROUP_ID,
        fromPeer: { id: this.opts.id, storeId: this.opts.id },
        toPeer: { id: message.to, storeId: message.to },
        message: encodeMessage(message),
      });
    }
    const unreachable: number[] = [];
    const snapshots: Array<[number, boolean]> = [];
    for (const [to, list] of byTarget) {
      const addr = this.opts.peers.get(to);
      const ok = addr !== undefined && this.pool.send(addr, MetaRpc.raft, pb.RaftMessageBatch.encode({ messages: list }).finish());
      if (!ok) unreachable.push(to);
      if (snapTargets.has(to)) snapshots.push([to, ok]);
    }
    if (unreachable.length || snapshots.length) {
      // Not inside the round: the core is stepped once the Ready is advanced.
      setImmediate(() => {
        if (this.stopped) return;
        for (const to of unreachable) this.node.reportUnreachable(to);
        for (const [to, ok] of snapshots) this.node.reportSnapshot(to, ok);
        this.loop.schedule();
      });
    }
  }

  fatal(err: Error): void {
    this.log.fatal({ err }, 'meta raft loop failed: the replica stops');
    this.failAll(new Error('SHUTDOWN the meta replica failed'));
    void this.stop().finally(() => this.opts.onFatal?.(err));
  }

  // ---- peer port -----------------------------------------------------------------------

  /** Raft messages from the other replicas. A body that does not decode is refused (the transport closes that connection). */
  private onPeerMessage(type: string, body: Uint8Array, from: PeerInfo): void {
    if (this.stopped) return;
    if (type !== MetaRpc.raft) throw new Error(`unexpected message type ${JSON.stringify(type)}`);
    const batch = pb.RaftMessageBatch.decode(body);
    for (const rm of batch.messages) {
      const fromId = Number(rm.fromPeer?.id ?? 0);
      if (Number(rm.regionId) !== META_GROUP_ID || Number(rm.toPeer?.id ?? 0) !== this.opts.id || !this.opts.peers.has(fromId) || !rm.message?.length) {
        this.log.warn({ from: from.remoteAddress, regionId: Number(rm.regionId), to: Number(rm.toPeer?.id ?? 0) }, 'dropped a raft message not meant for this meta replica');
        continue;
      }
      const m = decodeMessage(rm.message);
      if (m.from !== fromId || m.to !== this.opts.id || raft.isLocalMsg(m.type) || !(m.type in raft.MessageType)) {
        this.log.warn({ from: from.remoteAddress, type: m.type }, 'dropped a malformed raft message');
        continue;
      }
      if (m.snapshot && m.snapshot.data.length > 0) {
        try {
          pb.MetaState.decode(m.snapshot.data);
        } catch {
          this.log.warn({ from: from.remoteAddress }, 'dropped a raft snapshot whose data is not a MetaState');
          continue;
        }
      }
      try {
        this.node.step(m);
      } catch (e) {
        this.log.warn({ err: (e as Error).message, type: m.type }, 'raft refused a message');
      }
    }
    this.loop.schedule();
  }

  private async onPeerRequest(type: string, body: Uint8Array): Promise<Uint8Array> {
    if (this.stopped) throw new Error('SHUTDOWN the meta replica is stopping');
    switch (type) {
      case MetaRpc.register: {
        const req = pb.RegisterStoreRequest.decode(body);
        const res = expect(await this.propose({ registerStore: req }), 'register');
        return pb.RegisterStoreResponse.encode({ storeId: res.storeId }).finish();
      }
      case MetaRpc.heartbeat: {
        const req = pb.StoreHeartbeatRequest.decode(body);
        return pb.StoreHeartbeatResponse.encode(await this.heartbeat(req)).finish();
      }
      case MetaRpc.allocIds: {
        const req = pb.AllocIdsRequest.decode(body);
        const res = expect(await this.propose({ allocIds: { count: req.count || 1 } }), 'alloc');
        return pb.AllocIdsResponse.encode({ first: res.first, count: res.count }).finish();
      }
      case MetaRpc.view: {
        await this.readBarrier();
        return pb.ClusterView.encode(this.sm.view()).finish();
      }
      case MetaRpc.admin: {
        const req = pb.AdminForwardRequest.decode(body);
        if (!this.isLeader) throw new MetaNotLeaderError(this.leaderAddr);
        const protocol: Protocol = req.protocol === 3 ? 3 : 2;
        const reply = await this.commands.runLocal(req.args.map((a) => Buffer.from(a)), protocol);
        return pb.AdminForwardResponse.encode({ reply: encodeReply(reply, protocol) }).finish();
      }
      default:
        throw new Error(`UNKNOWN_RPC ${JSON.stringify(type).slice(0, 64)}`);
    }
  }

  async heartbeat(req: pb.StoreHeartbeatRequest): Promise<pb.StoreHeartbeatResponse.$Properties> {
    const known = Number(req.knownViewVersion ?? 0);
    // The log needs the report, not what the store last saw.
    const logged: pb.StoreHeartbeatRequest.$Properties = { store: req.store, regions: req.regions };
    const res = expect(await this.propose({ storeHeartbeat: logged }), 'heartbeat');
    if (req.regions.some((r) => r.region?.merging)) this.nudgeMergeCommits();
    // Hibernating replicas left out of the report are still hosted there. A
    // report that names fewer replicas than the store holds (the store lists
    // its quiet ones only now and then) cannot tell what it lacks.
    const reported = [...req.regions.map((r) => Number(r.region?.id ?? 0)), ...(req.quietRegionIds ?? []).map(Number)];
    const complete = reported.length >= Number(req.store?.regionCount ?? 0);
    const instructions = complete ? this.sm.createPeerInstructions(res.storeId, reported) : [];
    instructions.push(...this.sm.operatorSteps(res.storeId));
    instructions.push(...this.sm.stalePeerInstructions(res.storeId, req.regions));
    if (this.instructionSource) instructions.push(...this.instructionSource(res.storeId, req));
    const out: pb.StoreHeartbeatResponse.$Properties = { instructions };
    // Any difference, not only a newer map: a meta rebuilt from scratch starts its versions again.
    if (this.sm.version !== known) out.view = this.sm.view();
    return out;
  }

  /** Merges whose commit step was nudged (once each; later the target leader's heartbeats carry it). */
  private readonly commitsNudged = new Set<number>();

  /**
   * A merge whose prepare just finished: its commit goes to the target's
   * leader at once, not with that store's next heartbeat, since the source
   * refuses writes until the commit applies.
   */
  private nudgeMergeCommits(): void {
    for (const op of this.sm.operatorList()) {
      if (op.kind !== pb.OperatorKind.OP_MERGE || op.state !== pb.OperatorState.OP_RUNNING || op.step !== 1 || this.commitsNudged.has(op.id)) continue;
      if (this.commitsNudged.size > 1000) this.commitsNudged.clear();
      this.commitsNudged.add(op.id);
      void this.nudge(op.steps[1]).catch(() => undefined);
    }
  }

  // ---- proposals and reads ---------------------------------------------------------------

  /** Proposes one command (stamped with this leader's clock) and resolves with its result once applied and durable. */
  propose(op: Omit<pb.MetaCommand.$Properties, 'proposedAtMs' | 'proposer' | 'proposalId'>): Promise<ApplyResult> {
    if (this.stopped) return Promise.reject(new Error('SHUTDOWN the meta replica is stopping'));
    if (!this.isLeader) return Promise.reject(new MetaNotLeaderError(this.leaderAddr));
    const proposalId = this.nextProposalId++;
    const cmd: pb.MetaCommand.$Properties = { ...op, proposedAtMs: Date.now(), proposer: this.opts.id, proposalId };
    try {
      this.node.propose(pb.MetaCommand.encode(cmd).finish());
    } catch (e) {
      if (e instanceof raft.ErrProposalDropped) return Promise.reject(new MetaNotLeaderError(this.leaderAddr));
      return Promise.reject(e as Error);
    }
    this.loop.schedule();
    return new Promise<ApplyResult>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.proposals.delete(proposalId);
        reject(new Error('TIMEOUT the meta proposal was not committed in time'));
      }, PROPOSAL_TIMEOUT_MS);
      this.proposals.set(proposalId, { resolve, reject, timer });
    });
  }

  /** Resolves once this replica, as leader, has applied everything committed before the call (lease or ReadIndex). */
  readBarrier(): Promise<void> {
    if (this.stopped) return Promise.reject(new Error('SHUTDOWN the meta replica is stopping'));
    if (!this.isLeader) return Promise.reject(new MetaNotLeaderError(this.leaderAddr));
    const ctx = Buffer.alloc(12);
    ctx.writeUInt32BE(this.opts.id, 0);
    ctx.writeDoubleBE(this.nextReadId++, 4);
    const key = ctx.toString('hex');
    try {
      this.node.readIndex(ctx);
    } catch (e) {
      if (e instanceof raft.ErrProposalDropped) return Promise.reject(new MetaNotLeaderError(this.leaderAddr));
      return Promise.reject(e as Error);
    }
    this.loop.schedule();
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.readRequests.delete(key);
        const i = this.readsWaitingApply.findIndex((r) => r.waiter.timer === timer);
        if (i >= 0) this.readsWaitingApply.splice(i, 1);
        reject(new Error('TIMEOUT the meta read could not be confirmed in time'));
      }, PROPOSAL_TIMEOUT_MS);
      this.readRequests.set(key, { resolve, reject, timer });
    });
  }

  // ---- leader duties ---------------------------------------------------------------------------

  private houseKeep(): void {
    if (this.stopped || !this.isLeader) return;
    const now = Date.now();
    if (!this.sm.bootstrapped && !this.bootstrapInFlight) {
      const up = this.sm.storeList().filter((s) => s.state === pb.StoreState.UP);
      if (up.length >= this.replicas) {
        const storeIds = up.slice(0, this.replicas).map((s) => s.id);
        this.bootstrapInFlight = true;
        this.propose({ bootstrap: { storeIds, initialRegions: this.initialRegions } })
          .then((r) => {
            if (r.kind === 'bootstrap') this.log.info({ storeIds, regions: r.regionIds }, 'bootstrapped the cluster');
          })
          .catch((e) => this.log.warn({ err: (e as Error).message }, 'bootstrap proposal failed'))
          .finally(() => (this.bootstrapInFlight = false));
      }
    }
    for (const op of this.sm.operatorsTimedOut(now)) {
      if (this.timingOut.has(op.id)) continue;
      this.timingOut.add(op.id);
      this.propose({ finishOperator: { operatorId: op.id, state: pb.OperatorState.OP_TIMED_OUT } })
        .then(() => {
          this.log.warn({ operatorId: op.id, regionId: op.regionId }, 'operator timed out');
          // A merge that timed out in its prepare: its frozen source is unfrozen now, not at its next heartbeat.
          for (const step of this.sm.rollbackSteps()) if (Number(step.operatorId) === op.id) void this.nudge(step).catch(() => undefined);
        })
        .catch((e) => this.log.debug({ err: (e as Error).message }, 'operator time-out proposal failed'))
        .finally(() => this.timingOut.delete(op.id));
    }
    if (++this.houseKeepRounds % MetaNode.SCHEDULE_EVERY_ROUNDS === 0 && now - this.leaderSince >= MetaNode.SCHEDULE_AFTER_ELECTION_MS) {
      this.schedulers.run();
      this.finishDrains();
    }
    // Heartbeat ages mean something only after this leader has had time to hear from every store.
    if (now - this.leaderSince < this.downAfterMs) return;
    for (const s of this.sm.storesToMarkDown(now, this.downAfterMs)) {
      if (this.markingDown.has(s.id)) continue;
      this.markingDown.add(s.id);
      this.propose({ markStoreDown: { storeId: s.id, lastHeartbeatMs: s.lastHeartbeatMs } })
        .then((r) => {
          if (r.kind === 'down' && r.marked) this.log.warn({ storeId: s.id, silentMs: now - s.lastHeartbeatMs }, 'store marked down');
        })
        .catch((e) => this.log.debug({ err: (e as Error).message }, 'mark-down proposal failed'))
        .finally(() => this.markingDown.delete(s.id));
    }
  }

  /** A draining store that holds no replica any more (the map says so) is removed for good. */
  private finishDrains(): void {
    for (const s of this.sm.storeList()) {
      if (!s.draining || s.state === pb.StoreState.TOMBSTONE || this.sm.replicaCount(s.id) > 0 || this.removingStores.has(s.id)) continue;
      this.removingStores.add(s.id);
      this.propose({ removeStore: { storeId: s.id, finish: true } })
        .then((r) => r.kind !== 'error' && this.log.warn({ storeId: s.id }, 'store drained and removed'))
        .catch((e) => this.log.debug({ err: (e as Error).message }, 'store removal proposal failed'))
        .finally(() => this.removingStores.delete(s.id));
    }
  }

  /**
   * Hands an operator's current step to the store that leads its region at
   * once (RPC "store.instruction"), so a script does not wait a heartbeat.
   * Rejects with the store's reason when it refuses the step.
   */
  async nudge(step: pb.Instruction.$Properties): Promise<void> {
    const r = this.sm.region(Number(step.regionId));
    const store = r ? this.sm.leaderStore(r) : undefined;
    if (!store || store.state !== pb.StoreState.UP) return; // the heartbeat that names a leader carries it
    await this.pool.request(store.peerAddr, STORE_INSTRUCTION_RPC, pb.Instruction.encode(step).finish(), { timeoutMs: PROPOSAL_TIMEOUT_MS });
  }

  /** Runs an admin command on the leader (over the peer port) and returns its encoded reply. */
  async forwardAdmin(args: Buffer[], protocol: Protocol): Promise<Buffer> {
    const addr = this.leaderAddr;
    if (!addr || this.leaderId === this.opts.id) throw new Error('CLUSTERDOWN the meta group has no leader');
    const body = pb.AdminForwardRequest.encode({ args, protocol }).finish();
    let target = addr;
    for (let attempt = 0; ; attempt++) {
      try {
        const res = pb.AdminForwardResponse.decode(await this.pool.request(target, MetaRpc.admin, body, { timeoutMs: PROPOSAL_TIMEOUT_MS }));
        return Buffer.from(res.reply);
      } catch (e) {
        // Our idea of the leader was stale: follow its hint once.
        const hint = e instanceof NotLeaderError ? e.leaderAddr : undefined;
        if (attempt > 0 || !hint || hint === target || hint === this.opts.peers.get(this.opts.id)) throw e;
        target = hint;
      }
    }
  }
}

function encodeSnapshot(s: raft.Snapshot): Uint8Array {
  return pb.Snapshot.encode({ meta: { index: s.meta.index, term: s.meta.term, confState: s.meta.confState }, data: s.data }).finish();
}

export function encodeReply(reply: Reply, protocol: Protocol): Buffer {
  const enc = new ReplyEncoder();
  enc.encode(reply, protocol);
  return enc.takeBuffer();
}

function expect<K extends ApplyResult['kind']>(r: ApplyResult, kind: K): Extract<ApplyResult, { kind: K }> {
  if (r.kind === 'error') throw r.error;
  if (r.kind !== kind) throw new Error(`INTERNAL expected a ${kind} result, got ${r.kind}`);
  return r as Extract<ApplyResult, { kind: K }>;
}

function validate(o: MetaNodeOptions): void {
  if (!Number.isSafeInteger(o.id) || o.id < 1) throw new Error(`meta id must be a positive integer, got ${o.id}`);
  if (!o.peers.has(o.id)) throw new Error(`--peers must name this replica (id ${o.id})`);
  for (const [id] of o.peers) if (!Number.isSafeInteger(id) || id < 1) throw new Error(`meta replica ids must be positive integers, got ${id}`);
  if (o.replicas !== undefined && (!Number.isSafeInteger(o.replicas) || o.replicas < 1)) throw new Error('replicas must be ≥ 1');
  if (o.initialRegions !== undefined && (!Number.isSafeInteger(o.initialRegions) || o.initialRegions < 1 || o.initialRegions > 16384)) {
    throw new Error('initial regions must be in [1, 16384]');
  }
}
