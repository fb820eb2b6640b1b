// The in-process harness: a meta group and several stores in ONE Node
// process, talking over an InMemoryNetwork (common/transport/memory.ts)
// whose filters partition nodes and drop messages. Each node is the real
// one (MetaNode, StoreNode), on its own RocksDB in a temp dir; clients reach
// the stores' RESP ports over TCP as usual. Only the peer traffic (Raft
// messages, heartbeats, forwarded commands, snapshots, operator nudges)
// goes through the in-memory network.
import { join } from 'node:path';
import pino from 'pino';
import { ErrorReply, InMemoryNetwork, pb } from '@redraft/common';
import type { Logger, Reply } from '@redraft/common';
import { MetaNode, type RegionRec } from '@redraft/meta';
import { StoreNode } from '@redraft/store';
import { freePorts } from '../ports';
import { tempDir } from '../tmp';
import { waitFor } from '../wait';
import { respMany, type SimpleReply } from '../simple-resp';

type OperatorRec = NonNullable<ReturnType<MetaNode['sm']['operator']>>;

export interface InprocOptions {
  /** Stores (default 3); the first three hold the bootstrap region. */
  stores?: number;
  /** Meta replicas (default 1). */
  metas?: number;
  /** Applied entries a replica keeps before compacting its log (default 10000; low values make a healed follower catch up by snapshot). */
  raftLogGcThreshold?: number;
  /** Store → meta heartbeat interval (default 300 ms: the map follows quickly). */
  heartbeatMs?: number;
  /** Regions the bootstrap splits the slots into (default 1). */
  initialRegions?: number;
}

/** What a test context offers: cleanup and reporting. */
export interface HarnessContext {
  after(fn: () => unknown): unknown;
  diagnostic(message: string): void;
}

/** Peer ports are names in the in-memory network, never bound: any numbers do. */
const META_PEER_PORT = 17_100;
const STORE_PEER_PORT = 17_200;

export class InprocStore {
  constructor(
    /** Its name in network filters: store1, store2, ... (by start order, not store id). */
    readonly name: string,
    readonly port: number,
    readonly node: StoreNode,
  ) {}

  /** The id the meta gave it. */
  get id(): number {
    return this.node.raft!.storeId;
  }

  /** Is this store's replica of the region its leader? */
  leads(regionId: number): boolean {
    return !!this.node.raft!.peers.get(regionId)?.isLeader;
  }

  hasReplica(regionId: number): boolean {
    return this.node.raft!.peers.has(regionId);
  }
}

export class InprocCluster {
  readonly net = new InMemoryNetwork();
  readonly metas: MetaNode[] = [];
  readonly stores: InprocStore[] = [];
  readonly dir: string;
  private readonly log: Logger;

  private constructor(
    private readonly t: HarnessContext,
    private readonly opts: InprocOptions,
  ) {
    this.dir = tempDir(t, 'redraft-inproc-');
    // One log file for every node of the run (a node's records carry its component and ids).
    this.log = pino({ level: process.env.REDRAFT_LOG_LEVEL ?? 'info' }, pino.destination({ dest: join(this.dir, 'nodes.log'), sync: false, mkdir: true }));
  }

  /** Starts the metas and stores, waits for the bootstrap region to have a leader, and turns off the automatic schedulers. */
  static async start(t: HarnessContext, opts: InprocOptions = {}): Promise<InprocCluster> {
    const c = new InprocCluster(t, opts);
    t.after(() => c.stop());
    await c.open();
    return c;
  }

  private async open(): Promise<void> {
    const metaCount = this.opts.metas ?? 1;
    const storeCount = this.opts.stores ?? 3;
    const peers = new Map<number, string>();
    for (let i = 1; i <= metaCount; i++) peers.set(i, `127.0.0.1:${META_PEER_PORT + i}`);
    const metas = await Promise.all(
      [...peers.keys()].map((id) =>
        MetaNode.start({
          id,
          peers,
          host: '127.0.0.1',
          adminPort: 0,
          peerPort: META_PEER_PORT + id,
          dataDir: join(this.dir, `meta${id}`),
          log: this.log.child({ node: `meta${id}` }),
          network: this.net.endpoint(`meta${id}`),
          initialRegions: this.opts.initialRegions,
          onFatal: (err) => this.t.diagnostic(`meta${id} stopped: ${err.message}`),
        }),
      ),
    );
    this.metas.push(...metas);
    const base = await freePorts(storeCount);
    const stores = await Promise.all(
      Array.from({ length: storeCount }, async (_, i) => {
        const port = base + i;
        const name = `store${i + 1}`;
        const node = await StoreNode.start({
          host: '127.0.0.1',
          port,
          dataDir: join(this.dir, name),
          maxBulkLen: 512 * 1024 * 1024,
          maxMultibulkLen: 1024 * 1024,
          log: this.log.child({ node: name }),
          metaAddrs: [...peers.values()],
          peerPort: STORE_PEER_PORT + i + 1,
          redirect: 'forward',
          tickMs: 20,
          heartbeatMs: this.opts.heartbeatMs ?? 300,
          raftLogGcThreshold: this.opts.raftLogGcThreshold ?? 10_000,
          splitCheckMs: 0,
          network: this.net.endpoint(name),
        });
        return new InprocStore(name, port, node);
      }),
    );
    this.stores.push(...stores);
    await waitFor(() => this.regions().length > 0 && this.regions().every((r) => this.leaderOf(r.region.id)), {
      timeoutMs: 30_000,
      what: 'the bootstrap region to have a leader',
    });
    // Operators come from the tests only: no balance, repair or automatic split moves behind their back.
    for (const s of ['region-balance', 'replica-checker', 'split-checker', 'leader-balance', 'load-split']) await this.admin('SCHEDULER', 'DISABLE', s);
  }

  // ---- the meta ----------------------------------------------------------------------

  /** The meta replica that leads (waits for one). */
  async metaLeader(): Promise<MetaNode> {
    return waitFor(() => this.metas.find((m) => m.isLeader), { timeoutMs: 20_000, what: 'a meta leader' });
  }

  /** An admin command run on the meta leader; an error reply throws. */
  async admin(...args: (string | number)[]): Promise<Reply> {
    const m = await this.metaLeader();
    const r = await m.commands.runLocal(args.map((a) => Buffer.from(String(a))), 2);
    if (r instanceof ErrorReply) throw new Error(`${args.join(' ')}: ${r.message}`);
    return r;
  }

  /** The meta leader's map (as its applied state has it; may trail the stores by a heartbeat). */
  regions(): RegionRec[] {
    const m = this.metas.find((x) => x.isLeader);
    return m ? m.sm.regionList() : [];
  }

  operator(id: number): OperatorRec | undefined {
    return this.metas.find((x) => x.isLeader)?.sm.operator(id);
  }

  /** Waits until the operator leaves the running state; returns it (done, timed out or cancelled). */
  async operatorEnd(id: number, timeoutMs = 60_000): Promise<OperatorRec> {
    return waitFor(
      () => {
        const o = this.operator(id);
        return o && o.state !== pb.OperatorState.OP_RUNNING ? o : undefined;
      },
      { timeoutMs, intervalMs: 50, what: `operator ${id} to finish` },
    );
  }

  /** Runs an operator command (REGION SPLIT / TRANSFER-LEADER / MOVE) and waits for its operator to be done; throws if it failed. */
  async operate(timeoutMs: number, ...args: (string | number)[]): Promise<OperatorRec> {
    const id = Number(await this.admin(...args));
    const o = await this.operatorEnd(id, timeoutMs);
    if (o.state !== pb.OperatorState.OP_DONE) throw new Error(`${args.join(' ')}: operator ${id} ended ${pb.OperatorState[o.state]} (${o.reason})`);
    return o;
  }

  async waitNoRunningOperators(timeoutMs = 60_000): Promise<void> {
    await waitFor(() => this.metas.find((x) => x.isLeader)?.sm.operatorList().every((o) => o.state !== pb.OperatorState.OP_RUNNING), {
      timeoutMs,
      intervalMs: 100,
      what: 'every operator to finish',
    });
  }

  // ---- stores -------------------------------------------------------------------------

  store(name: string): InprocStore {
    const s = this.stores.find((x) => x.name === name);
    if (!s) throw new Error(`no store ${name}`);
    return s;
  }

  storeById(id: number): InprocStore {
    const s = this.stores.find((x) => x.id === id);
    if (!s) throw new Error(`no store with id ${id}`);
    return s;
  }

  /** The store whose replica leads the region now (its own view), if any. */
  leaderOf(regionId: number): InprocStore | undefined {
    return this.stores.find((s) => s.leads(regionId));
  }

  async waitLeader(regionId: number, timeoutMs = 20_000): Promise<InprocStore> {
    return waitFor(() => this.leaderOf(regionId), { timeoutMs, what: `a leader of region ${regionId}` });
  }

  /** Stores holding a replica of the region in the meta's map. */
  replicaStores(regionId: number): InprocStore[] {
    const r = this.regions().find((x) => x.region.id === regionId);
    return (r?.region.peers ?? []).map((p) => this.storeById(p.storeId));
  }

  /**
   * Waits until every store the meta's map names for the region (and no
   * other) holds a replica at one applied index with the same data (REGION
   * DIGEST), then returns the digest. Call after the clients stopped.
   */
  async expectReplicasEqual(regionId: number, timeoutMs = 30_000): Promise<string> {
    let last = '';
    const d = await waitFor(
      async () => {
        const members = this.replicaStores(regionId);
        const strays = this.stores.filter((s) => s.hasReplica(regionId) && !members.includes(s));
        const digests = await Promise.all(members.map(async (s) => ({ name: s.name, v: (await respMany(s.port, [['REGION', 'DIGEST', regionId]], { timeoutMs: 5000 }))[0] })));
        last = `${JSON.stringify(digests)} strays=${strays.map((s) => s.name)}`;
        if (strays.length || digests.length === 0) return undefined;
        if (!digests.every((x) => Array.isArray(x.v) && x.v.length >= 2)) return undefined;
        const [applied, sha] = digests[0].v as SimpleReply[];
        if (!digests.every((x) => (x.v as SimpleReply[])[0] === applied)) return undefined;
        return digests.every((x) => (x.v as SimpleReply[])[1] === sha) ? String(sha) : `DIFFER ${last}`;
      },
      { timeoutMs, intervalMs: 200, what: `the replicas of region ${regionId} to converge` },
    ).catch((e: Error) => {
      throw new Error(`${e.message}; last seen ${last}`);
    });
    if (d.startsWith('DIFFER')) throw new Error(`replicas of region ${regionId} differ at one applied index: ${d}`);
    return d;
  }

  /** Every region's replicas equal (see expectReplicasEqual). */
  async expectAllReplicasEqual(timeoutMs = 30_000): Promise<void> {
    for (const r of this.regions()) await this.expectReplicasEqual(r.region.id, timeoutMs);
  }

  /** GET of every key through the stores in turn (each forwards to the leader); values in order. */
  async readAll(keys: string[]): Promise<SimpleReply[]> {
    const out: SimpleReply[] = [];
    for (let i = 0; i < keys.length; i += 500) {
      const s = this.stores[(i / 500) % this.stores.length];
      out.push(...(await respMany(s.port, keys.slice(i, i + 500).map((k) => ['GET', k]), { timeoutMs: 15_000 })));
    }
    return out;
  }

  private stopping: Promise<void> | undefined;

  async stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.net.clearFilters();
      await Promise.all(this.stores.map((s) => s.node.stop().catch(() => undefined)));
      await Promise.all(this.metas.map((m) => m.stop().catch(() => undefined)));
      await new Promise<void>((r) => (this.log as unknown as { flush?: (cb: () => void) => void }).flush?.(() => r()) ?? r());
    })();
    return this.stopping;
  }
}
