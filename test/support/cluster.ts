// A replicated cluster for end-to-end tests, every process started by hand
// (not through the playground) so that a test can kill -9, stop and restart
// any one of them: `redraft meta` replicas and `redraft store`s, each a
// ManagedProcess in its own process group, on explicit free ports, with its
// own data dir and log file in one temp dir.
//
//   const c = await withCluster(t, { stores: 3, metas: 1 });
//   const leader = await c.leaderStore();          // from CLUSTER SLOTS
//   await leader.kill9();
//   await leader.start(); await leader.ready();
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { freePorts } from './ports';
import { groupAlive, kill9, spawnManaged, stop, type ExitInfo, type ManagedProcess, type StopResult } from './proc';
import { resp, respMany, RespError, type SimpleReply } from './simple-resp';
import { removeDir, tempDir } from './tmp';
import { repoRoot, type TestLike } from './servers';
import { waitFor, waitForPing } from './wait';

export interface ClusterOptions {
  /** Store processes (default 3). */
  stores?: number;
  /** Meta replicas (default 1). */
  metas?: number;
  /** Extra arguments for every store (e.g. ['--raft-log-gc-threshold', '200']). */
  storeArgs?: string[];
  /** Extra arguments for store i only (index 0 = store-1), after storeArgs. */
  perStoreArgs?: string[][];
  /** Extra arguments for every meta replica. */
  metaArgs?: string[];
  /** Where data and logs go; default a temp dir removed after the test. */
  dir?: string;
  /** Wait until every process answers PING and CLUSTER INFO says ok (default true). */
  waitReady?: boolean;
  /** Default 60 s. */
  readyTimeoutMs?: number;
  /** Fresh starts after a bootstrap whose replica stays uninitialized (default 0: fail at once). */
  bootstrapRetries?: number;
  /** The last this-many stores are not started: the test starts them later (a store that joins). */
  laterStores?: number;
}

/** A store's replica never got initialized at bootstrap (a known server bug). */
export class StuckBootstrap extends Error {}

/** One process of the cluster: a meta replica or a store. */
export class Node {
  proc: ManagedProcess | undefined;
  /** Extra args for the next start() only (e.g. ['--redirect', 'moved']). */
  nextArgs: string[] = [];

  constructor(
    readonly kind: 'meta' | 'store',
    readonly name: string,
    /** RESP port (a store's client port, a meta's admin port). */
    readonly port: number,
    /** Peer transport port (a meta's Raft/RPC port). */
    readonly peerPort: number,
    readonly dataDir: string,
    readonly logFile: string,
    private readonly argv: () => string[],
  ) {}

  get pid(): number {
    if (!this.proc) throw new Error(`${this.name} was never started`);
    return this.proc.pid;
  }

  get running(): boolean {
    return this.proc !== undefined && this.proc.running;
  }

  /** Spawns the process (on the same ports and data dir as before). */
  start(extraArgs: string[] = []): this {
    if (this.running) throw new Error(`${this.name} is already running (pid ${this.pid})`);
    const script = process.env.REDRAFT_BIN ?? join(repoRoot(), 'bin', 'redraft.js');
    this.proc = spawnManaged(process.execPath, [script, ...this.argv(), ...extraArgs], {
      logFile: this.logFile,
      cwd: repoRoot(),
      name: this.name,
    });
    return this;
  }

  /** Resolves once the RESP port answers PING; fails at once if the process exits. */
  async ready(timeoutMs = 60_000): Promise<this> {
    await waitForPing(this.port, { proc: this.proc, timeoutMs });
    return this;
  }

  /** kill -9 of this process (its process group: itself alone). */
  async kill9(): Promise<ExitInfo | undefined> {
    if (!this.proc || !this.running) return this.proc?.exitInfo;
    return kill9(this.proc);
  }

  /** SIGTERM, SIGKILL after timeoutMs. */
  async stop(opts: { timeoutMs?: number } = {}): Promise<StopResult | undefined> {
    if (!this.proc) return undefined;
    return stop(this.proc, opts);
  }

  /** True if the pid is alive (signal 0). */
  alive(): boolean {
    if (!this.proc) return false;
    return this.proc.running && groupAlive(this.proc);
  }

  /** The whole log (every start appends to it). */
  log(): string {
    return existsSync(this.logFile) ? readFileSync(this.logFile, 'utf8') : '';
  }

  logTail(lines = 80): string {
    const all = this.log().split('\n');
    return all.slice(Math.max(0, all.length - lines - 1)).join('\n');
  }

  /** The first log record (pino writes a JSON line each) whose line contains `text`; fails with the log's tail when there is none. */
  logRecord<T>(text: string): T {
    const line = this.log()
      .split('\n')
      .find((l) => l.includes(text));
    assert.ok(line, `${this.name} logged no '${text}':\n${this.logTail(30)}`);
    return JSON.parse(line) as T;
  }

  /** One command on this node's RESP port. */
  call(...args: (string | number)[]): Promise<SimpleReply> {
    return resp(this.port, ...args);
  }
}

export interface SlotRange {
  start: number;
  end: number;
  master: { host: string; port: number; id: string };
  replicas: { host: string; port: number; id: string }[];
}

export class Cluster {
  readonly metas: Node[] = [];
  readonly stores: Node[] = [];

  constructor(
    readonly dir: string,
    readonly basePort: number,
    opts: Required<Pick<ClusterOptions, 'stores' | 'metas' | 'storeArgs' | 'metaArgs' | 'perStoreArgs'>>,
  ) {
    // Port block: metas' admin, metas' peer, stores' RESP, stores' peer.
    let p = basePort;
    const metaAdmin = Array.from({ length: opts.metas }, () => p++);
    const metaPeer = Array.from({ length: opts.metas }, () => p++);
    const storePort = Array.from({ length: opts.stores }, () => p++);
    const storePeer = Array.from({ length: opts.stores }, () => p++);
    const peers = metaPeer.map((port, i) => `${i + 1}=127.0.0.1:${port}`).join(',');
    const metaAddrs = metaPeer.map((port) => `127.0.0.1:${port}`).join(',');
    mkdirSync(join(dir, 'logs'), { recursive: true });
    for (let i = 0; i < opts.metas; i++) {
      const dataDir = join(dir, `meta-${i + 1}`);
      const node: Node = new Node('meta', `meta-${i + 1}`, metaAdmin[i], metaPeer[i], dataDir, join(dir, 'logs', `meta-${i + 1}.log`), () => {
        const extra = node.nextArgs;
        node.nextArgs = [];
        return [
          'meta', '--id', String(i + 1), '--peers', peers, '--port', String(metaAdmin[i]), '--peer-port', String(metaPeer[i]),
          '--data-dir', dataDir, '--replicas', String(Math.min(3, opts.stores)), ...opts.metaArgs, ...extra,
        ];
      });
      this.metas.push(node);
    }
    for (let i = 0; i < opts.stores; i++) {
      const dataDir = join(dir, `store-${i + 1}`);
      const node: Node = new Node('store', `store-${i + 1}`, storePort[i], storePeer[i], dataDir, join(dir, 'logs', `store-${i + 1}.log`), () => {
        const extra = node.nextArgs;
        node.nextArgs = [];
        return ['store', '--port', String(storePort[i]), '--peer-port', String(storePeer[i]), '--data-dir', dataDir, '--meta', metaAddrs, ...opts.storeArgs, ...(opts.perStoreArgs[i] ?? []), ...extra];
      });
      this.stores.push(node);
    }
  }

  get nodes(): Node[] {
    return [...this.metas, ...this.stores];
  }

  /** The store serving RESP on port. */
  storeAt(port: number): Node {
    const s = this.stores.find((n) => n.port === port);
    if (!s) throw new Error(`no store on port ${port} (stores: ${this.stores.map((n) => n.port).join(', ')})`);
    return s;
  }

  /** Stores the test starts itself (ClusterOptions.laterStores): startAll leaves them alone. */
  readonly later = new Set<Node>();

  startAll(): void {
    for (const n of this.nodes) if (!n.running && !this.later.has(n)) n.start();
  }

  /**
   * Every running process answers PING, then CLUSTER INFO on every running
   * store says ok. With detectStuck, throws StuckBootstrap as soon as a store
   * has held an uninitialized replica (epoch 0/0) for 8 s.
   */
  async ready(timeoutMs = 60_000, detectStuck = false): Promise<this> {
    const deadline = Date.now() + timeoutMs;
    for (const n of this.nodes) if (n.running) await n.ready(Math.max(1000, deadline - Date.now()));
    const stuckSince = new Map<Node, number>();
    for (const s of this.stores) {
      if (!s.running) continue;
      await waitFor(
        async () => {
          if (String(await s.call('CLUSTER', 'INFO')).includes('cluster_state:ok')) return true;
          if (detectStuck) {
            const empty = (await this.regionList(s).catch(() => [])).find((r) => /epoch=0\/0/.test(r.line));
            if (!empty) stuckSince.delete(s);
            else if (!stuckSince.has(s)) stuckSince.set(s, Date.now());
            else if (Date.now() - stuckSince.get(s)! > 8000) throw new StuckBootstrap(`${s.name}'s replica stayed uninitialized at bootstrap: ${empty.line}`);
          }
          return false;
        },
        { timeoutMs: Math.max(1000, deadline - Date.now()), intervalMs: 100, what: `${s.name} (port ${s.port}) to report cluster_state:ok`, proc: s.proc, rethrow: (e) => e instanceof StuckBootstrap },
      );
    }
    return this;
  }

  /** Waits until `CLUSTER INFO` on store s says cluster_state:ok. */
  async waitClusterOk(s: Node, timeoutMs = 30_000): Promise<void> {
    await waitFor(async () => String(await s.call('CLUSTER', 'INFO')).includes('cluster_state:ok'), {
      timeoutMs,
      intervalMs: 100,
      what: `${s.name} (port ${s.port}) to report cluster_state:ok`,
      proc: s.proc,
    });
  }

  /** CLUSTER SLOTS as a store answers it. */
  async slots(s: Node = this.stores.find((n) => n.running)!): Promise<SlotRange[]> {
    const v = await s.call('CLUSTER', 'SLOTS');
    if (!Array.isArray(v)) throw new Error(`CLUSTER SLOTS on ${s.name}: ${String(v)}`);
    const node = (x: SimpleReply) => {
      const a = x as SimpleReply[];
      return { host: String(a[0]), port: Number(a[1]), id: String(a[2]) };
    };
    return v.map((e) => {
      const a = e as SimpleReply[];
      return { start: Number(a[0]), end: Number(a[1]), master: node(a[2]), replicas: a.slice(3).map(node) };
    });
  }

  /**
   * The store that CLUSTER SLOTS (asked on `via`) names master of `slot`
   * (default 0), waiting until one running store is named.
   */
  async leaderStore(opts: { via?: Node; slot?: number; timeoutMs?: number } = {}): Promise<Node> {
    const slot = opts.slot ?? 0;
    return waitFor(
      async () => {
        const via = opts.via ?? this.stores.find((n) => n.running)!;
        const r = (await this.slots(via)).find((x) => x.start <= slot && slot <= x.end);
        if (!r) return undefined;
        const s = this.stores.find((n) => n.port === r.master.port);
        return s && s.running ? s : undefined;
      },
      { timeoutMs: opts.timeoutMs ?? 20_000, intervalMs: 100, what: `a running store named master of slot ${slot}` },
    );
  }

  /** Parses a store's `REGION LIST`: `id slots role applied leader` per line. */
  async regionList(s: Node): Promise<{ id: number; slots: string; role: string; applied: number; leader: string; line: string }[]> {
    const v = await s.call('REGION', 'LIST');
    if (v instanceof RespError) throw new Error(`REGION LIST on ${s.name}: ${v.message}`);
    const lines = (Array.isArray(v) ? v.map(String) : String(v).split('\n')).map((l) => l.trim()).filter(Boolean);
    return lines.map((line) => {
      const f: Record<string, string> = {};
      for (const kv of line.split(/\s+/)) {
        const i = kv.indexOf('=');
        if (i > 0) f[kv.slice(0, i)] = kv.slice(i + 1);
      }
      const words = line.split(/\s+/);
      return {
        id: Number(f.id ?? words[0]),
        slots: f.slots ?? words[1],
        role: f.role ?? words[2],
        applied: Number(f.applied ?? words[3]),
        leader: f.leader ?? words[4],
        line,
      };
    });
  }

  /** `REGION DIGEST id` on store s: [appliedIndex, sha1-hex]. */
  async digest(s: Node, regionId: number): Promise<{ applied: number; sha1: string }> {
    const v = await s.call('REGION', 'DIGEST', regionId);
    if (!Array.isArray(v) || v.length < 2) throw new Error(`REGION DIGEST ${regionId} on ${s.name}: ${String(v)}`);
    return { applied: Number(v[0]), sha1: String(v[1]) };
  }

  /**
   * Waits until every running store reports the same applied index for the
   * region in REGION DIGEST, then returns the digests (compare their sha1).
   */
  async convergedDigests(regionId: number, timeoutMs = 30_000): Promise<{ name: string; applied: number; sha1: string }[]> {
    return waitFor(
      async () => {
        const d = await Promise.all(this.stores.filter((s) => s.running).map(async (s) => ({ name: s.name, ...(await this.digest(s, regionId)) })));
        return d.every((x) => x.applied === d[0].applied) ? d : undefined;
      },
      { timeoutMs, intervalMs: 200, what: `every replica of region ${regionId} at the same applied index (REGION DIGEST)` },
    );
  }

  /** Asserts (throws) that every running replica of the region has the same data, at one applied index. */
  async expectReplicasEqual(regionId: number, timeoutMs = 30_000): Promise<{ name: string; applied: number; sha1: string }[]> {
    const d = await this.convergedDigests(regionId, timeoutMs);
    if (d.some((x) => x.sha1 !== d[0].sha1)) throw new Error(`replicas of region ${regionId} differ at applied index ${d[0].applied}: ${JSON.stringify(d)}`);
    return d;
  }

  /** The meta's text admin reply (STORE LIST, REGION LIST, CLUSTER INFO), asked on meta m. */
  async admin(m: Node, ...args: string[]): Promise<string> {
    const v = await m.call(...args);
    if (v instanceof RespError) throw new Error(`${args.join(' ')} on ${m.name}: ${v.message}`);
    return Array.isArray(v) ? v.map(String).join('\n') : String(v);
  }

  /** Reads keys through store s (optionally READONLY first); values in order. */
  async readAll(s: Node, keys: string[], opts: { readonly?: boolean; chunk?: number } = {}): Promise<SimpleReply[]> {
    const out: SimpleReply[] = [];
    const chunk = opts.chunk ?? 500;
    for (let i = 0; i < keys.length; i += chunk) {
      const cmds: (string | number)[][] = keys.slice(i, i + chunk).map((k) => ['GET', k]);
      if (opts.readonly) cmds.unshift(['READONLY']);
      const r = await respMany(s.port, cmds, { timeoutMs: 15_000 });
      out.push(...(opts.readonly ? r.slice(1) : r));
    }
    return out;
  }

  /** Asserts that every acknowledged write reads back, value for value, through store s (optionally READONLY: its own replica). */
  async expectAcked(s: Node, acks: ReadonlyArray<{ key: string; value: string }>, opts: { readonly?: boolean } = {}): Promise<void> {
    const got = await this.readAll(s, acks.map((a) => a.key), opts);
    const missing = acks.filter((a, i) => got[i] !== a.value);
    assert.equal(missing.length, 0, `${s.name}: ${missing.length} of ${acks.length} acknowledged writes missing or wrong, e.g. ${JSON.stringify(missing.slice(0, 5))}`);
  }

  /** SIGTERM every running process: stores first, then metas. */
  async stopAll(): Promise<{ node: Node; result: StopResult | undefined }[]> {
    const results: { node: Node; result: StopResult | undefined }[] = [];
    await Promise.all(this.stores.map(async (n) => results.push({ node: n, result: await n.stop() })));
    await Promise.all(this.metas.map(async (n) => results.push({ node: n, result: await n.stop() })));
    return results;
  }

  /** What every running process says about the cluster (CLUSTER INFO/SLOTS, the meta's lists), for failure messages. */
  async diagnose(): Promise<string> {
    const out: string[] = [];
    const q = async (n: Node, ...args: string[]) => {
      try {
        out.push(`${n.name} ${args.join(' ')}: ${JSON.stringify(await n.call(...args))}`);
      } catch (e) {
        out.push(`${n.name} ${args.join(' ')}: ${(e as Error).message}`);
      }
    };
    for (const s of this.stores.filter((n) => n.running)) {
      await q(s, 'CLUSTER', 'INFO');
      await q(s, 'CLUSTER', 'SLOTS');
      await q(s, 'REGION', 'LIST');
    }
    for (const m of this.metas.filter((n) => n.running)) {
      await q(m, 'REGION', 'LIST');
      await q(m, 'STORE', 'LIST');
    }
    return out.join('\n');
  }

  /** Every log's tail, for a failure report. */
  logs(lines = 60): string {
    return this.nodes.map((n) => `--- ${n.name} (${n.logFile}) ---\n${n.logTail(lines)}`).join('\n');
  }
}

/**
 * Starts a cluster for test t (metas first, then stores) and registers its
 * cleanup: every process stopped by pid, the logs printed if the test failed
 * (or a process needed SIGKILL), the temp dir removed.
 */
export async function withCluster(t: TestLike, opts: ClusterOptions = {}): Promise<Cluster> {
  const stores = opts.stores ?? 3;
  const metas = opts.metas ?? 1;
  const dir = opts.dir ?? tempDir(undefined, 'redraft-cluster-');
  const base = await freePorts(2 * stores + 2 * metas);
  const c = new Cluster(dir, base, { stores, metas, storeArgs: opts.storeArgs ?? [], metaArgs: opts.metaArgs ?? [], perStoreArgs: opts.perStoreArgs ?? [] });
  for (const s of c.stores.slice(stores - (opts.laterStores ?? 0))) c.later.add(s);
  t.after(async () => {
    const results = await c.stopAll();
    const forced = results.filter((r) => r.result?.forced || r.result?.strays).map((r) => r.node.name);
    if (t.passed === false || forced.length > 0 || process.env.REDRAFT_CLUSTER_LOGS === '1') {
      process.stderr.write(`\n=== cluster logs for ${t.passed === false ? 'failed ' : ''}test ${t.name ?? ''}${forced.length ? ` [needed SIGKILL: ${forced.join(', ')}]` : ''} ===\n${c.logs(120)}\n=== end of cluster logs ===\n`);
    }
    if (opts.dir === undefined) removeDir(dir);
  });
  // A replica that stays uninitialized (epoch 0/0) at bootstrap was a server bug (fixed in 931fcd3,
  // test/cluster/late-heartbeat.test.ts): ready() fails fast on it with a clear message;
  // bootstrapRetries > 0 starts again from scratch instead.
  const retries = opts.bootstrapRetries ?? 0;
  for (let attempt = 0; ; attempt++) {
    // The metas first: a store that registers late is the likeliest to hit that bug.
    for (const m of c.metas) m.start();
    await Promise.all(c.metas.map((m) => m.ready(opts.readyTimeoutMs ?? 60_000)));
    c.startAll();
    if (opts.waitReady === false) break;
    try {
      await c.ready(opts.readyTimeoutMs ?? 60_000, true);
      break;
    } catch (e) {
      if (e instanceof StuckBootstrap && attempt < retries) {
        process.stdout.write(`# withCluster: ${e.message}; starting again from scratch\n`);
        await Promise.all(c.nodes.map((n) => n.kill9()));
        for (const n of c.nodes) rmSync(n.dataDir, { recursive: true, force: true });
        continue;
      }
      throw new Error(`${(e as Error).message}\n${await c.diagnose()}`);
    }
  }
  return c;
}
