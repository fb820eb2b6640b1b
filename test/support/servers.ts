// Servers under test: redraft (`node bin/redraft.js <mode> --port P
// --data-dir D ...`) and, as a reference, Debian's redis-server. Each runs
// as a ManagedProcess with its log in the test's temp dir, answers PING
// before start*() resolves, and is stopped (log printed if the test failed)
// by withServer's cleanup.
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { redisCli, type CliOptions } from './cli';
import { freePort, freePorts } from './ports';
import { kill9, spawnManaged, stop, type ExitInfo, type ManagedProcess, type StopResult } from './proc';
import { removeDir, tempDir, type AfterHook } from './tmp';
import { waitForPing } from './wait';

/** The repository root (the directory holding bin/redraft.js). */
export function repoRoot(): string {
  let dir = __dirname;
  for (;;) {
    if (existsSync(join(dir, 'bin', 'redraft.js')) && existsSync(join(dir, 'package.json'))) return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error(`repoRoot: no bin/redraft.js above ${__dirname}`);
    dir = up;
  }
}

export interface ServerOptions {
  /** First RESP port; default: free ports found by freePorts(ports). */
  port?: number;
  /** How many consecutive RESP ports it serves (3 for a 3-store playground); all must answer PING. Default 1. */
  ports?: number;
  /** Data directory; default `<dir>/data`. Reuse it to restart on the same data. */
  dataDir?: string;
  /** Where the log goes; default a new temp dir. */
  dir?: string;
  /** Extra arguments after the generated ones. */
  args?: string[];
  /** Merged over process.env. */
  env?: NodeJS.ProcessEnv;
  /** How long to wait for PONG on every port (default 30 s). */
  readyTimeoutMs?: number;
  /** Set false to return at once without waiting for PING. */
  waitReady?: boolean;
}

export interface RedraftOptions extends ServerOptions {
  /** `playground` (default), `store` or `meta`. */
  mode?: string;
}

type Launcher = (s: Server) => ManagedProcess;

export class Server {
  readonly host = '127.0.0.1';
  proc: ManagedProcess;
  readonly ports: number[];

  constructor(
    readonly kind: 'redraft' | 'redis',
    readonly port: number,
    nPorts: number,
    readonly dataDir: string,
    readonly dir: string,
    readonly logFile: string,
    private readonly launch: Launcher,
    private readonly readyTimeoutMs: number,
  ) {
    this.ports = Array.from({ length: nPorts }, (_, i) => port + i);
    this.proc = launch(this);
  }

  get pid(): number {
    return this.proc.pid;
  }

  /** Resolves once every port answers PING; fails fast if the process dies. */
  async ready(): Promise<this> {
    await waitForPing(this.ports, { proc: this.proc, timeoutMs: this.readyTimeoutMs });
    return this;
  }

  /** redis-cli against this server's first port (or opts.port). */
  cli(input: string[] | string, opts: CliOptions & { port?: number } = {}): Promise<string> {
    return redisCli(opts.port ?? this.port, input, { host: this.host, ...opts });
  }

  /** SIGTERM, then SIGKILL after timeoutMs. */
  stop(opts: { timeoutMs?: number } = {}): Promise<StopResult> {
    return stop(this.proc, opts);
  }

  /** SIGKILL to the whole process group. */
  kill9(): Promise<ExitInfo> {
    return kill9(this.proc);
  }

  /**
   * Stops it (gracefully, or with kill -9 if opts.kill9) and starts it again
   * on the same ports and data directory; resolves when it answers PING.
   */
  async restart(opts: { kill9?: boolean; waitReady?: boolean } = {}): Promise<this> {
    if (opts.kill9) await this.kill9();
    else await this.stop();
    this.proc = this.launch(this);
    if (opts.waitReady === false) return this;
    return this.ready();
  }
}

async function prepare(opts: ServerOptions): Promise<{ port: number; n: number; dir: string; dataDir: string }> {
  const n = opts.ports ?? 1;
  const port = opts.port ?? (n === 1 ? await freePort() : await freePorts(n));
  const dir = opts.dir ?? tempDir();
  const dataDir = opts.dataDir ?? join(dir, 'data');
  return { port, n, dir, dataDir };
}

/**
 * Starts redraft: `node bin/redraft.js <mode> --port P --data-dir D ...args`
 * (REDRAFT_BIN overrides the script). Resolves once all its ports answer PING.
 */
export async function startRedraft(opts: RedraftOptions = {}): Promise<Server> {
  const { port, n, dir, dataDir } = await prepare(opts);
  const script = process.env.REDRAFT_BIN ?? join(repoRoot(), 'bin', 'redraft.js');
  const logFile = join(dir, `redraft-${port}.log`);
  const launch: Launcher = (s) =>
    spawnManaged(process.execPath, [script, opts.mode ?? 'playground', '--port', String(s.port), '--data-dir', s.dataDir, ...(opts.args ?? [])], {
      logFile,
      cwd: repoRoot(),
      env: opts.env,
      name: `redraft:${s.port}`,
    });
  const s = new Server('redraft', port, n, dataDir, dir, logFile, launch, opts.readyTimeoutMs ?? 30_000);
  if (opts.waitReady === false) return s;
  try {
    return await s.ready();
  } catch (e) {
    await s.stop({ timeoutMs: 2000 });
    throw e;
  }
}

/**
 * Starts Debian's redis-server (REDIS_SERVER overrides the binary) on
 * 127.0.0.1 with its files in dataDir, no RDB snapshots; pass e.g.
 * ['--appendonly', 'yes', '--appendfsync', 'always'] in args.
 */
export async function startRedisServer(opts: ServerOptions = {}): Promise<Server> {
  const { port, dir, dataDir } = await prepare({ ...opts, ports: 1 });
  const bin = process.env.REDIS_SERVER ?? 'redis-server';
  const logFile = join(dir, `redis-${port}.log`);
  mkdirSync(dataDir, { recursive: true });
  const launch: Launcher = (s) =>
    spawnManaged(
      bin,
      ['--port', String(s.port), '--bind', '127.0.0.1', '--dir', s.dataDir, '--save', '', '--daemonize', 'no', '--logfile', '', ...(opts.args ?? [])],
      { logFile, env: opts.env, name: `redis-server:${s.port}` },
    );
  const s = new Server('redis', port, 1, dataDir, dir, logFile, launch, opts.readyTimeoutMs ?? 30_000);
  if (opts.waitReady === false) return s;
  try {
    return await s.ready();
  } catch (e) {
    await s.stop({ timeoutMs: 2000 });
    throw e;
  }
}

/** A node:test TestContext (or suite context) as withServer needs it. */
export interface TestLike extends AfterHook {
  readonly passed?: boolean;
  readonly name?: string;
}

/**
 * Starts a server for the test t and registers its cleanup with t.after:
 * the server is stopped, its log printed to stderr if the test failed, and
 * its temp dir removed. `kind` 'redis' starts Debian's redis-server instead.
 *
 *   test('x', async (t) => {
 *     const s = await withServer(t);
 *     assert.equal((await s.cli(['PING'])).trim(), 'PONG');
 *   });
 */
export async function withServer(t: TestLike, opts: RedraftOptions & { kind?: 'redraft' | 'redis' } = {}): Promise<Server> {
  const dir = opts.dir ?? tempDir();
  let s: Server | undefined;
  t.after(async () => {
    if (s) {
      const r = await s.stop();
      if (t.passed === false || r.forced || r.strays) {
        process.stderr.write(
          `\n--- ${s.kind} log for failed test ${t.name ?? ''} (${s.logFile})${r.forced ? ' [needed SIGKILL]' : ''}${r.strays ? ' [left stray processes]' : ''} ---\n${s.proc.logTail(200)}\n--- end of log ---\n`,
        );
      }
    }
    if (opts.dir === undefined) removeDir(dir);
  });
  // On failure start*() has stopped the process; its log tail is in the error.
  s = opts.kind === 'redis' ? await startRedisServer({ ...opts, dir }) : await startRedraft({ ...opts, dir });
  return s;
}
