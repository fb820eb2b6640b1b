// A store node: one RocksDB, the regions it hosts, the RESP front end.
//  - standalone (no --meta): one single-replica region over all slots, no
//    Raft — the store of issue 2, still useful on its own;
//  - replicated (--meta): region replicas driven by Raft (raftstore/), the
//    meta group's map for routing, commands forwarded to leaders.
import { createHash, randomBytes, randomInt } from 'node:crypto';
import { join } from 'node:path';
import { ENTRY_TOO_LARGE, EntryTooLargeError, ErrorReply, NullArray, isPointReadRow, isRefused, RawReply, RespServer, RocksEngine, SLOT_COUNT, SimpleString, counterOf, dataRange, encodeReply, gaugeOf, newRegistry, parseAddress, pb, serveMetrics } from '@redraft/common';
import type { Server } from 'node:http';
import type { Connection, Engine, KvReader, Logger, PeerNetwork, Registry, Reply } from '@redraft/common';
import {
  Dispatcher,
  FORWARD_OUTCOME_BOUND_MS,
  OutcomeUnknownError,
  RedirectError,
  RetryLaterError,
  neverSent,
  retryPause,
  type ForwardedClient,
  type Intent,
  type Redirect,
} from './dispatch';
import { storeCommandTable } from './commands/table';
import type { ClientState, NodeInfo, ServerFacade } from './commands/context';
import type { ClusterFacade, ClusterNode, ClusterShard, LocalReplica } from './commands/cluster';
import { Keyspace } from './data/keyspace';
import { CommandError } from './data/errors';
import { LocalRegion } from './region/local';
import type { RegionHandle } from './region/region';
import { RaftStore } from './raftstore/store';
import type { RegionPeer } from './raftstore/peer';
import { ExpiryCycle, registerExpiryMetrics } from './raftstore/expiry';
import { BlockingRegistry, UNBLOCKED_ERROR } from './blocking';
import { blockingTimeoutOf } from './commands/lists';
import { PubSubHub, remoteOverPeers, servePeers } from './pubsub';
import { KeyspaceNotifier } from './notify';
import { KeysFanout } from './keys-fanout';
import { KeyCounts } from './commands/key-counts';
import { ForwardBatcher, asBuffer, serveForwardBatch } from './forward-batch';

export interface StoreOptions {
  host: string;
  port: number;
  dataDir: string;
  maxBulkLen: number;
  maxMultibulkLen: number;
  log: Logger;
  /** Replicated mode: the meta replicas' peer addresses. Empty: standalone. */
  metaAddrs: string[];
  peerPort: number;
  /** The host other processes reach this store at (default: --host). */
  advertiseHost?: string;
  redirect: 'forward' | 'moved';
  tickMs: number;
  heartbeatMs: number;
  /** Applied entries a replica keeps in its Raft log before compacting it. */
  raftLogGcThreshold: number;
  /** Serve Prometheus text on http://host:metricsPort/metrics (undefined: not served). */
  metricsPort?: number;
  /** How often led regions are measured for the meta's split checker (0: never). */
  splitCheckMs?: number;
  /** Peer transport (default TCP); the in-process harness passes an in-memory one. */
  network?: PeerNetwork;
  /** Idle regions hibernate (default true). */
  hibernateRegions?: boolean;
}

/** Memory for hot metadata and member rows (RocksEngine's row cache). */
const ROW_CACHE_BYTES = 32 * 1024 * 1024;
/** A forward that gets no answer within this long counts as an answer lost (a write is then resent in its session). */
const FORWARD_RPC_TIMEOUT_MS = 10_000;
/** How often a forward in flight checks whether its slot's leader moved. */
const LEADER_WATCH_MS = 100;

/** A stable 40-hex node id for Redis Cluster views. */
export function nodeIdOf(storeId: number): string {
  return createHash('sha1').update(`redraft-store-${storeId}`).digest('hex');
}

export class StoreNode {
  readonly startedAt = Date.now();
  private server!: RespServer;
  private boundPort = 0;
  /** The last key count, for INFO keyspace (commands/key-counts.ts). */
  private readonly keyCounts = new KeyCounts((err) => this.opts.log.debug({ err }, 'a key count for INFO failed'));
  private local: LocalRegion | undefined;
  raft: RaftStore | undefined;
  private engine!: Engine;
  private dispatcher!: Dispatcher;
  private metrics: Server | undefined;
  /** Active expiry and the stale-member sweep on the regions this store leads (raftstore/expiry.ts). */
  private expiry: ExpiryCycle | undefined;
  /** Clients blocked in BLPOP & co. here. */
  readonly blocking = new BlockingRegistry();
  /** Pub/Sub subscribers here; messages reach the other stores over the peer transport. */
  readonly pubsub = new PubSubHub();
  /** Keyspace notifications, published through the hub (notify.ts); its flags are CONFIG SET notify-keyspace-events. */
  readonly notifier = new KeyspaceNotifier(this.pubsub);
  private stopPubsubPeers: (() => void) | undefined;

  constructor(readonly opts: StoreOptions) {}

  static async start(opts: StoreOptions): Promise<StoreNode> {
    const node = new StoreNode(opts);
    await node.open();
    return node;
  }

  /**
   * The RESP port, as bound (known once listening). Kept rather than asked
   * of the server each time: a command still running while the store stops
   * (CLUSTER NODES, INFO) needs it after the listener is closed.
   */
  get port(): number {
    return this.boundPort;
  }

  get replicated(): boolean {
    return this.opts.metaAddrs.length > 0;
  }

  private get advertiseHost(): string {
    return this.opts.advertiseHost ?? this.opts.host;
  }

  private async open(): Promise<void> {
    const { log } = this.opts;
    // Hot key metadata rows (a string's value is inline there) and member
    // rows in memory: a GET of a hot key, or the field that apply of an HSET
    // reads on every replica, needs no trip to RocksDB's thread pool (row-cache.ts).
    this.engine = await RocksEngine.open(join(this.opts.dataDir, 'db'), { rowCache: { cacheable: isPointReadRow, maxBytes: ROW_CACHE_BYTES } });
    const table = storeCommandTable();
    this.dispatcher = new Dispatcher(table, this.router(), this.facade(table), log.child({ component: 'dispatch' }), {
      redirect: this.opts.redirect,
      forward: (addr, args, protocol, readonlyClient, session, slot, client) => this.forward(addr, args, protocol, readonlyClient, session, slot, client),
      newSession: (args) => this.sessions.next(args),
      sessionDone: (session) => this.sessions.done(session),
    });
    if (this.replicated) {
      this.raft = new RaftStore({
        engine: this.engine,
        log: log.child({ component: 'raftstore' }),
        peerHost: this.opts.host,
        peerPort: this.opts.peerPort,
        peerAddr: `${this.advertiseHost}:${this.opts.peerPort}`,
        clientAddr: `${this.advertiseHost}:${this.opts.port}`,
        metaAddrs: this.opts.metaAddrs,
        tickMs: this.opts.tickMs,
        heartbeatMs: this.opts.heartbeatMs,
        logGcThreshold: this.opts.raftLogGcThreshold,
        splitCheckMs: this.opts.splitCheckMs,
        network: this.opts.network,
        hibernate: this.opts.hibernateRegions,
      });
      this.raft.onForward = async (req) => this.serveForwarded(req);
      this.raft.onForwardBatch = (body) => serveForwardBatch(body, (req) => this.serveForwarded(req));
      const raft = this.raft;
      this.forwards = new ForwardBatcher({
        send: (addr, body, timeoutMs) => raft.pool.request(addr, 'store.forwardBatch', body, { timeoutMs, writeNow: true }),
        timeoutMs: FORWARD_RPC_TIMEOUT_MS,
        leaderOf: (slot) => {
          const route = raft.routeOf(slot);
          if (!route?.leaderStoreId) return undefined;
          return route.leaderStoreId === raft.storeId ? raft.opts.peerAddr : raft.storeInfo(route.leaderStoreId)?.peerAddr ?? undefined;
        },
        watchMs: LEADER_WATCH_MS,
      });
      this.keysFanout = new KeysFanout(this.raft, this.engine);
      this.raft.onRegionKeys = (body) => this.keysFanout!.serve(body);
      this.raft.onUnblock = (req) => this.blocking.unblockSession(req.session ?? {}, req.error ? UNBLOCKED_ERROR : NullArray.instance);
      this.blocking.remoteUnblock = async (to, session, error) => {
        const body = pb.UnblockRequest.encode({ session, error }).finish();
        return pb.UnblockResponse.decode(await this.raft!.pool.request(to, 'store.unblock', body, { timeoutMs: 10000 })).unblocked;
      };
      this.stopPubsubPeers = servePeers(this.pubsub, this.raft);
      this.pubsub.remote = remoteOverPeers(this.raft, (slot, client, write) => void this.regionFor([slot], { write, client }), this.opts.redirect);
      await this.raft.start();
    } else {
      this.local = await LocalRegion.open(this.engine, log);
    }
    this.server = new RespServer({
      host: this.opts.host,
      port: this.opts.port,
      maxBulkLen: this.opts.maxBulkLen,
      maxMultibulkLen: this.opts.maxMultibulkLen,
      logger: log.child({ component: 'resp' }),
      handler: (conn, args) => this.dispatcher.dispatch(conn, args),
    });
    await this.server.listen();
    this.boundPort = this.server.address().port;
    this.expiry = this.startExpiry();
    if (this.opts.metricsPort !== undefined) this.metrics = await serveMetrics(this.registry(), this.opts.host, this.opts.metricsPort);
    log.info({ port: this.port, dataDir: this.opts.dataDir, mode: this.replicated ? 'replicated' : 'standalone' }, 'store ready');
  }

  // ---- routing ------------------------------------------------------------------------

  private router() {
    return {
      regionFor: (slots: number[], intent: Intent): RegionHandle => this.regionFor(slots, intent),
      onlyRegion: (): RegionHandle | undefined => this.local,
      engineReader: (): KvReader => this.engine,
      redirectFor: this.replicated ? (slots: number[], intent: Intent): Redirect | undefined => this.redirectFor(slots, intent) : undefined,
    };
  }

  /**
   * The leader's store when these slots' region is led by another one, as
   * regionFor would throw it; undefined in every other case (served here,
   * no route, CROSSSLOT, electing), which regionFor then answers. Lets the
   * dispatcher forward a command without running its handler.
   */
  private redirectFor(slots: number[], intent: Intent): Redirect | undefined {
    // Led here (the common case with --cluster clients): no route to build.
    if (this.raft!.localPeerOf(slots[0])?.isLeader) return undefined;
    const r = this.route(slots, intent);
    return r instanceof Error || !('peerAddr' in r) ? undefined : r;
  }

  /** This store's replica serves the command: it leads, or a READONLY client reads at a follower (through ReadIndex: still linearizable). */
  private servesHere(peer: RegionPeer | undefined, intent: Intent): boolean {
    return !!peer && (peer.isLeader || (!intent.write && intent.client.readonly && !!peer.region.peers?.length));
  }

  private regionFor(slots: number[], intent: Intent): RegionHandle {
    if (this.local) return this.local;
    const r = this.route(slots, intent);
    if (r instanceof Error) throw r;
    if ('peerAddr' in r) throw new RedirectError(r.slot, r.clientAddr, r.peerAddr);
    return r;
  }

  /**
   * Where a command on these slots runs: this store's replica, the store
   * leading them, or why neither (the error regionFor throws). One decision
   * for regionFor and redirectFor, so that forwarding before the handler and
   * the handler's own routing never disagree.
   */
  private route(slots: number[], intent: Intent): RegionPeer | Redirect | RetryLaterError | CommandError {
    const raft = this.raft!;
    const route = raft.routeOf(slots[0]);
    if (!route) return new RetryLaterError('CLUSTERDOWN Hash slot not served');
    for (const s of slots) {
      if (s < route.startSlot || s >= route.endSlot) return new CommandError("CROSSSLOT Keys in request don't hash to the same slot");
    }
    const peer = route.peer;
    if (peer && this.servesHere(peer, intent)) return peer;
    const leader = route.leaderStoreId ? raft.storeInfo(route.leaderStoreId) : undefined;
    if (!leader || route.leaderStoreId === raft.storeId) return new RetryLaterError('TRYAGAIN the region is electing a leader');
    return { slot: slots[0], clientAddr: String(leader.clientAddr), peerAddr: String(leader.peerAddr) };
  }

  private readonly sessions = new ForwardingSessions();
  /** Forwarded commands, one frame per target store and turn (forward-batch.ts). */
  private forwards: ForwardBatcher | undefined;
  /** Commands sent on to the store leading their slot, and commands run here for another store (the metrics). */
  private readonly forwardStats = { sent: 0, served: 0 };
  /** KEYS, SCAN, DBSIZE, RANDOMKEY across regions led by other stores. */
  private keysFanout: KeysFanout | undefined;

  /**
   * Sends a command to the store believed to lead its slot, in the batch of
   * this turn's commands for that store (forward-batch.ts). If this store
   * learns of another leader meanwhile (the old one died or stalled), the
   * forward is given up at once, as an answer lost: a read is simply routed
   * again, a write resent in its session, so failover costs an election,
   * not the RPC timeout. A blocking command goes alone and may wait its own
   * timeout there (0: forever); its waiter follows a leader move on the
   * leader's side.
   */
  private forward(
    peerAddr: string,
    args: Buffer[],
    protocol: 2 | 3,
    readonlyClient: boolean,
    session: pb.ForwardSession.$Properties | undefined,
    slot: number,
    client?: ClientState,
  ): Promise<Buffer> {
    const req: pb.ForwardRequest.$Properties = { args, readonlyClient, protocol, session };
    this.forwardStats.sent++;
    const block = blockingTimeoutOf(args);
    if (block !== undefined) return this.forwardBlocking(peerAddr, req, block, client);
    // Only writes carry a session (dispatch.ts): they batch apart from reads.
    return this.forwards!.forward(peerAddr, req, slot, session !== undefined);
  }

  private async forwardBlocking(peerAddr: string, req: pb.ForwardRequest.$Properties, block: number, client?: ClientState): Promise<Buffer> {
    const body = pb.ForwardRequest.encode(req).finish();
    const timeoutMs = block === 0 ? 2 ** 31 - 1 : Math.min(2 ** 31 - 1, block + FORWARD_RPC_TIMEOUT_MS);
    const request = this.raft!.pool.request(peerAddr, 'store.forward', body, { timeoutMs });
    return Buffer.from(pb.ForwardResponse.decode(await this.blocking.whileForwarded(request, client, peerAddr, req.session ?? undefined)).reply);
  }

  /**
   * A command another store forwarded: run here, never forwarded again. Its
   * reply encoded, at once when it is ready at once.
   */
  private serveForwarded(req: pb.ForwardRequest): Uint8Array | Promise<Uint8Array> {
    this.forwardStats.served++;
    const client = new ForwardedCommandClient(req);
    // An OutcomeUnknownError travels typed: the forwarder resends in its session (exactly once) rather than answer its client.
    const reply = this.dispatcher.dispatch(client, argsOf(req));
    return reply instanceof Promise ? reply.then((r) => encodeReply(r, client.protocol)) : encodeReply(reply, client.protocol);
  }

  // ---- the facade the server commands read ----------------------------------------------

  private regionsList(): Array<{ id: number; startSlot: number; endSlot: number }> {
    if (this.local) return [{ id: this.local.id, startSlot: this.local.startSlot, endSlot: this.local.endSlot }];
    return this.raft!.routes().map((r) => ({ id: r.regionId, startSlot: r.startSlot, endSlot: r.endSlot }));
  }

  private regionById(id: number, write: boolean): RegionHandle {
    if (this.local) return this.local;
    const route = this.raft!.routes().find((r) => r.regionId === id);
    if (!route) throw new RetryLaterError(`TRYAGAIN region ${id} is not known here`);
    const fakeClient = { readonly: !write } as ClientState;
    return this.regionFor([route.startSlot], { write, client: fakeClient });
  }

  /**
   * One operation for one region, wherever its leader is: proposed here, or
   * sent to the leader's store ('store.propose'); retried while the region
   * elects (FLUSHALL over regions led by different stores).
   */
  private async writeRegion(id: number, op: Omit<pb.WriteCommand.$Properties, 'proposedAtMs'>): Promise<Reply> {
    const started = Date.now();
    let session: pb.ForwardSession.$Properties | undefined;
    let maybeApplied = false;
    try {
      for (let attempt = 0; ; attempt++) {
        const write = { ...op, proposedAtMs: Date.now() }; // stamped again by the leader as it appends it (region/clock.ts)
        try {
          return await this.regionById(id, true).propose(write, session);
        } catch (e) {
          if (e instanceof RedirectError && this.raft) {
            session ??= this.sessions.next();
            const body = pb.ProposeRequest.encode({ regionId: id, write, session }).finish();
            try {
              const res = pb.ForwardResponse.decode(await this.raft.pool.request(e.peerAddr, 'store.propose', body, { timeoutMs: 10000 }));
              return replyFromResp2(Buffer.from(res.reply));
            } catch (err) {
              // Refused before anything was proposed: route again. Otherwise
              // the answer was lost: resend in the session (exactly once).
              if (err instanceof EntryTooLargeError) return new ErrorReply(ENTRY_TOO_LARGE);
              if (!isRefused(err) && !neverSent(err)) maybeApplied = true;
            }
          } else if (!(e instanceof RetryLaterError)) {
            throw e;
          }
          if (maybeApplied ? Date.now() - started >= FORWARD_OUTCOME_BOUND_MS : Date.now() - started >= 5000) {
            if (maybeApplied) throw new OutcomeUnknownError(`no answer for region ${id}'s write within the bound`);
            return new ErrorReply(`TRYAGAIN region ${id} has no reachable leader; try again`);
          }
          await retryPause(attempt);
        }
      }
    } finally {
      if (session) this.sessions.done(session);
    }
  }

  private facade(table: ReturnType<typeof storeCommandTable>): ServerFacade {
    return {
      commands: table,
      regions: () => this.regionsList(),
      clients: () => [...this.server.connections.values()],
      node: () => this.nodeInfo(),
      keyCounts: this.keyCounts,
      config: () => this.config,
      readRegion: async (id: number) => {
        const at = await this.regionById(id, false).readBarrier();
        return new Keyspace(this.engine, at);
      },
      writeRegion: (id: number, op: Omit<pb.WriteCommand.$Properties, 'proposedAtMs'>): Promise<Reply> => this.writeRegion(id, op),
      keysPage: this.raft ? (req) => this.keysFanout!.page(req) : undefined,
      cluster: this.clusterFacade(),
      blocking: this.blocking,
      pubsub: this.pubsub,
      notifier: this.notifier,
    };
  }

  private clusterFacade(): ClusterFacade {
    const selfNode = (): ClusterNode => ({
      id: nodeIdOf(this.raft?.storeId ?? 1),
      host: this.advertiseHost,
      port: this.port,
      busPort: this.opts.peerPort || this.port + 10000,
      connected: true,
      myself: true,
    });
    const storeNode = (id: number): ClusterNode | undefined => {
      if (this.raft && id === this.raft.storeId) return selfNode();
      const s = this.raft?.storeInfo(id);
      if (!s?.clientAddr) return undefined;
      const { host, port } = parseAddress(String(s.clientAddr));
      const bus = s.peerAddr ? parseAddress(String(s.peerAddr)).port : port + 10000;
      return { id: nodeIdOf(id), host, port, busPort: bus, connected: s.state !== pb.StoreState.DOWN, myself: false };
    };
    return {
      myself: selfNode,
      replicas: () => this.localReplicas(),
      digest: (id: number) => this.digest(id),
      transferLeader: (id: number, toStoreId: number) => {
        if (!this.raft) throw new CommandError('ERR a standalone store has no region leaders to transfer');
        this.raft.transferLeader(id, toStoreId);
      },
      nodes: () => {
        if (!this.raft) return [selfNode()];
        const out = this.raft.allStores().map((s) => storeNode(Number(s.id))).filter((n): n is ClusterNode => !!n);
        if (!out.some((n) => n.myself)) out.unshift(selfNode());
        return out;
      },
      shards: (): ClusterShard[] => {
        if (!this.raft) return [{ startSlot: 0, endSlot: SLOT_COUNT, leader: selfNode(), replicas: [] }];
        // Each store described once per call, not once per shard (10,000 shards made CLUSTER INFO take 0.1 s).
        const described = new Map<number, ClusterNode | undefined>();
        const nodeOf = (id: number): ClusterNode | undefined => {
          if (!described.has(id)) described.set(id, storeNode(id));
          return described.get(id);
        };
        return this.raft.routes().map((r) => ({
          startSlot: r.startSlot,
          endSlot: r.endSlot,
          leader: r.leaderStoreId ? nodeOf(r.leaderStoreId) : undefined,
          replicas: r.peers
            .filter((p) => Number(p.storeId) !== r.leaderStoreId)
            .map((p) => nodeOf(Number(p.storeId)))
            .filter((n): n is ClusterNode => !!n),
        }));
      },
    };
  }

  private readonly runId = randomBytes(20).toString('hex');

  private nodeInfo(): NodeInfo {
    const st = this.server.stats;
    return {
      mode: this.replicated ? 'cluster' : 'standalone',
      runId: this.runId,
      startedAtMs: this.startedAt,
      tcpPort: this.port,
      executable: process.argv[1] ?? '',
      configFile: '',
      totalConnectionsReceived: st.connectionsReceived,
      totalCommandsProcessed: st.commandsProcessed,
      rejectedConnections: st.rejectedConnections,
      totalNetInputBytes: st.netInputBytes,
      totalNetOutputBytes: st.netOutputBytes,
      expiredKeys: this.expiry?.expiredKeys ?? 0,
      totalErrorReplies: st.handlerErrors,
      regions: this.raft
        ? { hosted: this.raft.peers.size, leading: [...this.raft.peers.values()].filter((p) => p.isLeader).length, hibernating: this.raft.hibernatingCount() }
        : undefined,
    };
  }

  /** Live settings (CONFIG GET/SET read and write this map). */
  private _config: Map<string, string> | undefined;
  get config(): Map<string, string> {
    return (this._config ??= this.configMap());
  }

  private localReplicas(): LocalReplica[] {
    if (this.local) {
      const l = this.local;
      return [{ id: l.id, startSlot: l.startSlot, endSlot: l.endSlot, role: 'standalone', applied: l.applied, term: 0, leaderPeer: 0, peers: '', epoch: '0/0', progress: '' }];
    }
    return [...this.raft!.peers.values()].map((p) => ({
      id: p.id,
      startSlot: p.startSlot,
      endSlot: p.endSlot,
      role: String(p.node.raft.state),
      applied: p.applied,
      term: p.node.raft.term,
      leaderPeer: p.leaderPeerId,
      peers: (p.region.peers ?? []).map((x) => `${x.id}@${x.storeId}${x.role === pb.PeerRole.LEARNER ? 'L' : ''}`).join(','),
      epoch: `${p.epoch.version}/${p.epoch.confVer}`,
      progress: p.isLeader
        ? [...p.node.raft.progressStatus()].map(([id, pr]) => `${id}:${pr.state}/${pr.match}/${pr.next}${pr.paused ? '/paused' : ''}`).join(',')
        : '',
    }));
  }

  /** A digest of one replica's data range and its applied index, from one consistent view. */
  private async digest(regionId: number): Promise<[number, string]> {
    let applied = 0;
    let iter: AsyncIterator<[Buffer, Buffer]> | undefined;
    const open = (a: number, startSlot: number, endSlot: number): Promise<IteratorResult<[Buffer, Buffer]>> => {
      applied = a;
      const [gte, lt] = dataRange(startSlot, endSlot);
      iter = this.engine.scan({ gte, lt })[Symbol.asyncIterator]();
      return iter.next(); // creates the RocksDB iterator, and its snapshot, now
    };
    let first: Promise<IteratorResult<[Buffer, Buffer]>>;
    if (this.local) {
      if (regionId !== this.local.id) throw new CommandError(`ERR no replica of region ${regionId} on this store`);
      // Standalone: once no apply write is in flight, the disk matches `applied`.
      await this.local.quiet();
      first = open(this.local.applied, this.local.startSlot, this.local.endSlot);
    } else {
      const started = await this.raft!.atQuietMoment(() => {
        const p = this.raft!.peers.get(regionId);
        if (!p) throw new CommandError(`ERR no replica of region ${regionId} on this store`);
        return { next: open(p.applied, p.startSlot, p.endSlot) };
      });
      first = started.next;
    }
    const h = createHash('sha1');
    for (let r = await first; !r.done; r = await iter!.next()) {
      const [k, v] = r.value;
      const len = Buffer.alloc(8);
      len.writeUInt32BE(k.length, 0);
      len.writeUInt32BE(v.length, 4);
      h.update(len).update(k).update(v);
    }
    return [applied, h.digest('hex')];
  }

  private configMap(): Map<string, string> {
    return new Map([
      ['bind', this.opts.host],
      ['port', String(this.port)],
      ['dir', this.opts.dataDir],
      ['proto-max-bulk-len', String(this.opts.maxBulkLen)],
      ['databases', '1'],
      ['maxmemory', '0'],
      ['save', ''],
      ['appendonly', 'yes'],
      ['appendfsync', 'always'],
      ['cluster-enabled', this.replicated ? 'yes' : 'no'],
    ]);
  }

  /** The store's metrics, read when scraped. */
  private registry(): Registry {
    const r = newRegistry('redraft_store_');
    const st = () => this.server.stats;
    gaugeOf(r, 'redraft_store_connected_clients', 'RESP clients connected.', () => this.server.connections.size);
    counterOf(r, 'redraft_store_commands_total', 'RESP commands processed.', () => st().commandsProcessed);
    counterOf(r, 'redraft_store_connections_total', 'RESP connections accepted.', () => st().connectionsReceived);
    counterOf(r, 'redraft_store_protocol_errors_total', 'Connections closed for a protocol error.', () => st().protocolErrors);
    counterOf(r, 'redraft_store_net_input_bytes_total', 'Bytes read from clients.', () => st().netInputBytes);
    counterOf(r, 'redraft_store_net_output_bytes_total', 'Bytes written to clients.', () => st().netOutputBytes);
    gaugeOf(r, 'redraft_store_applied_index', 'Applied index of each local region replica.', () =>
      this.localReplicas().map((x) => [{ region: String(x.id), role: x.role }, x.applied] as [Record<string, string>, number]),
      ['region', 'role'], // a store that starts with no replica yet has no sample to learn them from
    );
    registerExpiryMetrics(r, () => this.expiry);
    const cache = this.engine instanceof RocksEngine ? this.engine.cache : undefined;
    if (cache) {
      counterOf(r, 'redraft_store_row_cache_hits_total', 'Point reads of metadata and member rows answered by the row cache.', () => cache.stats.hits);
      counterOf(r, 'redraft_store_row_cache_misses_total', 'Point reads of metadata and member rows the row cache sent to RocksDB.', () => cache.stats.misses);
      gaugeOf(r, 'redraft_store_row_cache_rows', 'Rows in the row cache.', () => cache.size);
    }
    const raft = this.raft;
    if (raft) {
      gaugeOf(r, 'redraft_store_regions', 'Region replicas hosted here.', () => raft.peers.size);
      gaugeOf(r, 'redraft_store_leaders', 'Region replicas here that lead their region.', () => [...raft.peers.values()].filter((p) => p.isLeader).length);
      gaugeOf(r, 'redraft_store_hibernating_regions', 'Region replicas here that hibernate (idle: no ticks, no heartbeats).', () => raft.hibernatingCount());
      counterOf(r, 'redraft_store_raft_group_ticks_total', 'Raft ticks delivered to region replicas (hibernating ones take none).', () => raft.loop.stats.groupTicks);
      counterOf(r, 'redraft_store_raft_rounds_total', 'Rounds of the multi-raft loop (rounds gathered during a write share the next one).', () => raft.loop.stats.rounds);
      counterOf(r, 'redraft_store_raft_writes_total', 'RocksDB writes issued by the loop (round writes, lone apply writes, snapshot installs).', () => raft.loop.stats.writes);
      counterOf(r, 'redraft_store_raft_apply_rides_total', 'Apply batches that rode in a round\'s write instead of a write of their own.', () => raft.loop.stats.applyRides);
      counterOf(r, 'redraft_store_raft_entries_persisted_total', 'Raft entries written to the log.', () => raft.loop.stats.entriesPersisted);
      counterOf(r, 'redraft_store_raft_entries_applied_total', 'Raft entries applied.', () => raft.loop.stats.entriesApplied);
      counterOf(r, 'redraft_store_raft_bytes_written_total', 'Bytes written by the loop (log and apply).', () => raft.loop.stats.bytesWritten);
      counterOf(r, 'redraft_store_raft_late_readies_total', 'Readys found only by the loop\'s periodic walk over every region (a missed activity hook; should stay 0).', () => raft.loop.stats.lateReadies);
      counterOf(r, 'redraft_store_raft_messages_sent_total', 'Raft messages sent to other replicas.', () => raft.loop.stats.messagesSent);
      counterOf(r, 'redraft_store_raft_empty_appends_sent_total', 'MsgApps sent without entries (commit index only, or a probe).', () => raft.loop.stats.emptyAppendsSent);
      counterOf(r, 'redraft_store_peer_frames_sent_total', 'Frames sent to other stores and the meta.', () => raft.pool.stats().framesOut);
      counterOf(r, 'redraft_store_peer_bytes_sent_total', 'Bytes sent to other stores and the meta (frame headers included): heartbeats, entries, forwards.', () => raft.pool.stats().bytesOut);
      counterOf(r, 'redraft_store_peer_frames_dropped_total', 'Frames dropped while a peer was unreachable.', () => raft.pool.stats().dropped);
      // Clients talking to a store that does not lead their keys: each command costs a hop there and back.
      counterOf(r, 'redraft_store_forwarded_commands_total', 'Commands sent on to the store leading their slot (their clients talk to a store that does not lead their keys).', () => this.forwardStats.sent);
      counterOf(r, 'redraft_store_forward_batches_total', 'Frames that carried those commands (one per target store and turn).', () => this.forwards?.stats.batches ?? 0);
      counterOf(r, 'redraft_store_forwarded_commands_served_total', 'Commands other stores forwarded here, run as their leader.', () => this.forwardStats.served);
    }
    return r;
  }

  private startExpiry(): ExpiryCycle {
    const { raft, local } = this;
    const cycle = new ExpiryCycle({
      engine: this.engine,
      log: this.opts.log.child({ component: 'expiry' }),
      regions: () =>
        raft
          ? raft.peers.values()
          : [{ id: local!.id, startSlot: local!.startSlot, endSlot: local!.endSlot, isLeader: true, applied: local!.applied, propose: (c) => local!.propose(c) }],
      onExpired: (key) => this.notifier.notifyExpired(key),
      atQuietMoment: (task) => (raft ? raft.atQuietMoment(task) : local!.quiet().then(task)),
    });
    cycle.start();
    return cycle;
  }

  async stop(): Promise<void> {
    this.expiry?.stop();
    this.metrics?.close();
    this.blocking.close();
    this.stopPubsubPeers?.();
    await this.server.close();
    await this.raft?.stop();
    await this.engine.close();
    this.opts.log.info('store stopped');
  }
}

/**
 * A forwarded command's arguments as Buffers. Decoded from a Buffer, they
 * already are (views into the batch frame, which nothing reuses): copies
 * of them cost a serving leader about 5 % of its CPU under forwarded GETs.
 */
function argsOf(req: pb.ForwardRequest): Buffer[] {
  const args = req.args;
  for (const a of args) if (!Buffer.isBuffer(a)) return args.map(asBuffer);
  return args as Buffer[];
}

/**
 * The client of one command another store forwarded here (dispatch.ts
 * never forwards it again). A class, not an object literal with its own
 * closures: one is made per forwarded command.
 */
class ForwardedCommandClient implements ForwardedClient {
  readonly forwarded = true;
  readonly session: pb.ForwardSession.$Properties | undefined;
  readonly id = 0;
  name = '';
  protocol: 2 | 3;
  db = 0;
  libName = '';
  libVer = '';
  readonly: boolean;
  /** No connection of its own (it is never listed by CLIENT LIST): no clock read per forwarded command. */
  readonly createdAt = 0;
  lastCommand = '';
  readonly remoteAddress = 'forwarded';
  readonly localAddress = 'forwarded';

  constructor(req: pb.ForwardRequest) {
    this.session = req.session?.id ? req.session : undefined;
    this.protocol = (req as unknown as { protocol?: number }).protocol === 3 ? 3 : 2;
    this.readonly = !!req.readonlyClient;
  }

  closeAfterReply(): void {}
  kill(): void {}
}

/**
 * This process's forwarding session: a random id (a restarted store starts a
 * new session), a sequence number per forwarded write, and the lowest one
 * still waiting for its answer (the regions forget replies below it).
 */
export class ForwardingSession {
  readonly id = randomInt(1, 2 ** 48);
  private nextSeq = 1;
  /** Seqs not answered yet, in the order they were handed out (a Set iterates in insertion order). */
  private readonly waiting = new Set<number>();

  /** Whether this session handed out `session`. */
  owns(session: pb.ForwardSession.$Properties): boolean {
    return Number(session.id) === this.id;
  }

  next(): pb.ForwardSession.$Properties {
    const seq = this.nextSeq++;
    this.waiting.add(seq);
    // The oldest seq still waiting is the first one: O(1), not a walk over
    // every write in flight (800 of them at -c 50 -P 16) per forwarded write.
    const ackedBelow = this.waiting.values().next().value as number;
    return { id: this.id, seq, ackedBelow };
  }

  done(session: pb.ForwardSession.$Properties): void {
    this.waiting.delete(Number(session.seq));
  }
}

/**
 * The forwarding sessions of this process: one for the blocking commands
 * (BLPOP, BZPOPMIN...) and one for every other write. A blocked command's
 * seq waits for its answer as long as it blocks, forever with timeout 0; in
 * the session of the other writes it would hold their ackedBelow back, and
 * every region would keep the reply of every write this store forwarded
 * meanwhile.
 */
export class ForwardingSessions {
  private readonly writes = new ForwardingSession();
  private readonly blocking: ForwardingSession;

  constructor() {
    let b = new ForwardingSession();
    while (b.id === this.writes.id) b = new ForwardingSession();
    this.blocking = b;
  }

  /** A (session, seq) for a write about to be forwarded; `args`: the command, when known (a blocking one takes the blocking session). */
  next(args?: Buffer[]): pb.ForwardSession.$Properties {
    return (args && blockingTimeoutOf(args) !== undefined ? this.blocking : this.writes).next();
  }

  done(session: pb.ForwardSession.$Properties): void {
    (this.blocking.owns(session) ? this.blocking : this.writes).done(session);
  }
}

/** The few replies a region operation answers (OK, an integer, an error), from their RESP2 bytes. */
function replyFromResp2(b: Buffer): Reply {
  const line = b.toString('utf8').replace(/\r\n$/, '');
  if (line.startsWith('-')) return new ErrorReply(line.slice(1));
  if (line.startsWith('+')) return new SimpleString(line.slice(1));
  if (line.startsWith(':')) return Number(line.slice(1));
  return new RawReply(b);
}

export type { Connection };
