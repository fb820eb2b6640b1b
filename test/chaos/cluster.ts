// The cluster a fault run starts: 1 or 3 metas and N stores, each on its own
// loopback address (127.a.b.x, a and b random per run so two runs on one
// machine never share an address) so that a firewall rule between two
// addresses cuts exactly that link. Every process listens on its address
// and dials its peers from it; clients connect from 127.0.0.1, which no rule
// names. Processes are ManagedProcesses: killed by pid, whatever happens.
import { join } from 'node:path';
import { mkdirSync } from 'node:fs';
import { freePorts } from '../support/ports';
import { kill9, spawnManaged, stop, signalGroup, type ManagedProcess } from '../support/proc';
import { repoRoot } from '../support/servers';
import { RespError, respMany, type SimpleReply } from '../support/simple-resp';
import { ping, waitFor } from '../support/wait';

export class ChaosNode {
  proc: ManagedProcess | undefined;
  /** Stopped by the nemesis (SIGSTOP) and not yet continued. */
  paused = false;
  /** The nemesis stopped it on purpose (kill / restart) and will start it again. */
  down = false;

  constructor(
    readonly kind: 'meta' | 'store',
    readonly name: string,
    readonly host: string,
    readonly port: number,
    readonly peerPort: number,
    readonly dataDir: string,
    readonly logFile: string,
    private readonly argv: string[],
    private readonly env: NodeJS.ProcessEnv,
  ) {}

  get running(): boolean {
    return this.proc !== undefined && this.proc.running;
  }

  get pid(): number | undefined {
    return this.proc?.pid;
  }

  start(): void {
    if (this.running) return;
    this.proc = spawnManaged(process.execPath, [join(repoRoot(), 'bin', 'redraft.js'), ...this.argv], { logFile: this.logFile, cwd: repoRoot(), name: this.name, env: this.env });
    this.down = false;
  }

  /** Answers PING on its address. */
  ping(): Promise<boolean> {
    return ping(this.port, this.host);
  }

  /** Waits until it answers PING (fails at once if the process exits). */
  async ready(timeoutMs: number): Promise<void> {
    await waitFor(() => this.ping(), { timeoutMs, intervalMs: 100, what: `${this.name} (${this.host}:${this.port}) to answer PING`, proc: this.proc });
  }

  async kill9(): Promise<void> {
    if (this.proc && this.running) {
      if (this.paused) this.cont();
      await kill9(this.proc);
    }
  }

  async stop(timeoutMs = 10_000): Promise<void> {
    if (this.proc && this.running) {
      if (this.paused) this.cont();
      await stop(this.proc, { timeoutMs });
    }
  }

  pause(): void {
    if (this.proc && this.running) {
      signalGroup(this.proc, 'SIGSTOP');
      this.paused = true;
    }
  }

  cont(): void {
    if (this.proc && this.running && this.paused) signalGroup(this.proc, 'SIGCONT');
    this.paused = false;
  }

  call(...args: (string | number)[]): Promise<SimpleReply> {
    return respMany(this.port, [args], { host: this.host, timeoutMs: 3000 }).then((r) => r[0]);
  }
}

export interface ChaosClusterOptions {
  dir: string;
  stores?: number;
  /** Meta replicas (default 1; 3 for a meta group that can lose its leader). */
  metas?: number;
  /** Environment of the store processes (e.g. REDRAFT_UNSAFE_READS). */
  storeEnv?: NodeJS.ProcessEnv;
  storeArgs?: string[];
}

export class ChaosCluster {
  readonly metas: ChaosNode[] = [];
  readonly stores: ChaosNode[] = [];
  /** The /16 (127.a.b) every address of this run shares. */
  readonly net: string;

  private constructor(opts: ChaosClusterOptions, base: number) {
    const n = opts.stores ?? 3;
    const m = opts.metas ?? 1;
    this.net = `127.${10 + Math.floor(Math.random() * 240)}.${1 + Math.floor(Math.random() * 250)}`;
    mkdirSync(join(opts.dir, 'logs'), { recursive: true });
    // meta-1 at .1, the others at .201 on; stores from .2.
    const metaAt = Array.from({ length: m }, (_, i) => ({ host: `${this.net}.${i === 0 ? 1 : 200 + i}`, port: base + 2 * i, peer: base + 2 * i + 1 }));
    const peers = metaAt.map((a, i) => `${i + 1}=${a.host}:${a.peer}`).join(',');
    metaAt.forEach(({ host, port, peer }, i) => {
      const dataDir = join(opts.dir, `meta-${i + 1}`);
      this.metas.push(
        new ChaosNode('meta', `meta-${i + 1}`, host, port, peer, dataDir, join(opts.dir, 'logs', `meta-${i + 1}.log`), [
          'meta', '--id', String(i + 1), '--host', host, '--peers', peers, '--port', String(port), '--peer-port', String(peer),
          '--data-dir', dataDir, '--replicas', String(Math.min(3, n)), '--log-level', 'info',
        ], {}),
      );
    });
    const metaAddrs = metaAt.map((a) => `${a.host}:${a.peer}`).join(',');
    for (let i = 0; i < n; i++) {
      const host = `${this.net}.${i + 2}`;
      const port = base + 2 * m + 2 * i;
      const peer = port + 1;
      const dataDir = join(opts.dir, `store-${i + 1}`);
      this.stores.push(
        new ChaosNode('store', `store-${i + 1}`, host, port, peer, dataDir, join(opts.dir, 'logs', `store-${i + 1}.log`), [
          'store', '--host', host, '--advertise-host', host, '--port', String(port), '--peer-port', String(peer), '--data-dir', dataDir,
          '--meta', metaAddrs, ...(opts.storeArgs ?? []),
        ], opts.storeEnv ?? {}),
      );
    }
  }

  /** Starts the metas, then the stores; resolves when every store says cluster_state:ok. */
  static async start(opts: ChaosClusterOptions, timeoutMs = 60_000): Promise<ChaosCluster> {
    const n = opts.stores ?? 3;
    const c = new ChaosCluster(opts, await freePorts(2 * (opts.metas ?? 1) + 2 * n));
    for (const m of c.metas) m.start();
    for (const m of c.metas) await m.ready(timeoutMs);
    for (const s of c.stores) s.start();
    await c.serving(timeoutMs);
    return c;
  }

  get nodes(): ChaosNode[] {
    return [...this.metas, ...this.stores];
  }

  /**
   * An admin command on the meta group's leader: each running meta in turn,
   * until one answers other than NOT_LEADER. Rejects when none does.
   */
  async metaCall(...args: (string | number)[]): Promise<SimpleReply> {
    let last = 'no meta running';
    for (const m of this.metas) {
      if (!m.running || m.paused) continue;
      try {
        const r = await m.call(...args);
        if (r instanceof RespError && r.message.startsWith('NOT_LEADER')) {
          last = `${m.name}: ${r.message}`;
          continue;
        }
        return r;
      } catch (e) {
        last = `${m.name}: ${(e as Error).message}`;
      }
    }
    throw new Error(`no meta leader answered ${args.join(' ')} (${last})`);
  }

  /** Waits until every running store answers PING and CLUSTER INFO says ok. */
  async serving(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (const s of this.stores) {
      if (!s.running) continue;
      await s.ready(Math.max(1000, deadline - Date.now()));
      await waitFor(async () => String(await s.call('CLUSTER', 'INFO')).includes('cluster_state:ok'), {
        timeoutMs: Math.max(1000, deadline - Date.now()),
        intervalMs: 200,
        what: `${s.name} (${s.host}:${s.port}) to report cluster_state:ok`,
        proc: s.proc,
      });
    }
  }

  /** The store CLUSTER SLOTS names master of slot 0, if any answers. */
  async leaderOfSlot(slot = 0): Promise<ChaosNode | undefined> {
    for (const s of this.stores) {
      if (!s.running || s.paused) continue;
      try {
        const v = await s.call('CLUSTER', 'SLOTS');
        if (!Array.isArray(v)) continue;
        for (const e of v) {
          const a = e as SimpleReply[];
          if (Number(a[0]) <= slot && slot <= Number(a[1])) {
            const m = a[2] as SimpleReply[];
            return this.stores.find((x) => x.host === String(m[0]) && x.port === Number(m[1]));
          }
        }
      } catch {
        /* try the next store */
      }
    }
    return undefined;
  }

  /** Kills every process it started (SIGCONT first for a paused one). */
  async stopAll(): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.stop(5000)));
  }
}
