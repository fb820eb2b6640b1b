// The playground: the whole cluster as child processes on 127.0.0.1 with its
// data under one directory — `metas` meta replicas (admin RESP on
// metaPort+i, Raft/RPC on metaPeerPort+i) and `stores` stores (RESP on
// port+i, peer transport on peerPort+i). With one store it runs that store
// standalone (no Raft, no meta). A child that dies is restarted with backoff
// (supervisor.ts) while the others keep serving; Ctrl-C stops them all; the
// next start resumes.
import { mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { clusterOkOnce, pingOnce } from '@redraft/common';
import type { Logger } from '@redraft/common';
import { Supervisor, type Child } from './supervisor';

export interface PlaygroundOptions {
  port: number;
  metaPort: number;
  metaPeerPort: number;
  peerPort: number;
  dataDir: string;
  stores: number;
  metas: number;
  initialRegions: number;
  /** Store i serves Prometheus metrics on metricsPort+i (none if unset). */
  metricsPort?: number;
  log: Logger;
  /** Extra flags passed to every store (e.g. --max-bulk-len, --redirect). */
  storeArgs: string[];
  /** Start a child that died again (default true); false leaves it down. */
  restart?: boolean;
  /** Bound on the start-up wait (every port answers PING, cluster_state:ok); default 120 s, or 0.3 s per initial region if longer. */
  startTimeoutMs?: number;
}

const ENTRY = resolve(__dirname, '../../../../bin/redraft.js');

export async function runPlayground(opts: PlaygroundOptions): Promise<void> {
  const { log } = opts;
  const dataDir = resolve(opts.dataDir);
  const logDir = join(dataDir, 'logs');
  mkdirSync(logDir, { recursive: true });
  // A port already taken (another playground, a redis-server on 6379) would
  // make its child fail at every restart: say so at once instead.
  const planned = plannedPorts(opts);
  const twice = planned.find((p, i) => planned.findIndex((q) => q.port === p.port) !== i);
  if (twice) {
    log.error(`the playground cannot start: port ${twice.port} would serve both ${planned.find((p) => p.port === twice.port)!.use} and ${twice.use}; choose ranges that do not overlap`);
    process.exit(1);
  }
  const taken = await takenPorts(planned);
  if (taken.length > 0) {
    log.error(`the playground cannot start: ${taken.map((p) => `port ${p.port} (${p.use})`).join(', ')} already in use — another playground or redis-server running? Choose other ports with --port, --meta-port, --meta-peer-port, --peer-port`);
    process.exit(1);
  }
  const supervisor = new Supervisor({ entry: ENTRY, log, restart: opts.restart ?? true });
  const stores: Child[] = [];
  const metas: Child[] = [];

  const stopAll = async (code: number): Promise<void> => {
    if (supervisor.isStopping) return;
    log.info('stopping the playground');
    // Stores first (they finish their writes), then the meta group.
    await supervisor.stopAll([stores, metas]);
    log.info('playground stopped');
    process.exit(code);
  };
  process.on('SIGINT', () => void stopAll(0));
  process.on('SIGTERM', () => void stopAll(0));

  const start = (name: string, port: number, args: string[]): Child =>
    supervisor.add({ name, port, args, logFile: join(logDir, `${name}.log`) });

  const replicated = opts.stores > 1;
  const metaPeers = Array.from({ length: opts.metas }, (_, i) => `${i + 1}=127.0.0.1:${opts.metaPeerPort + i}`).join(',');
  const metaAddrs = Array.from({ length: opts.metas }, (_, i) => `127.0.0.1:${opts.metaPeerPort + i}`).join(',');
  if (replicated) {
    for (let i = 0; i < opts.metas; i++) {
      metas.push(start(`meta-${i + 1}`, opts.metaPort + i, [
        'meta',
        '--id', String(i + 1),
        '--peers', metaPeers,
        '--port', String(opts.metaPort + i),
        '--data-dir', join(dataDir, `meta-${i + 1}`),
        '--replicas', String(Math.min(3, opts.stores)),
        '--initial-regions', String(opts.initialRegions),
      ]));
    }
  }
  for (let i = 0; i < opts.stores; i++) {
    const args = ['store', '--port', String(opts.port + i), '--data-dir', join(dataDir, `store-${i + 1}`), ...opts.storeArgs];
    if (replicated) args.push('--meta', metaAddrs, '--peer-port', String(opts.peerPort + i));
    if (opts.metricsPort !== undefined) args.push('--metrics-port', String(opts.metricsPort + i));
    stores.push(start(`store-${i + 1}`, opts.port + i, args));
  }
  // A child that dies meanwhile is restarted and the wait goes on, up to the bound.
  // Thousands of initial regions take minutes to elect on a busy machine.
  const deadline = Date.now() + (opts.startTimeoutMs ?? Math.max(120_000, opts.initialRegions * 300));
  try {
    await Promise.all([...metas, ...stores].map((c) => waitUntilServing(c, deadline, () => supervisor.isStopping)));
    // CLUSTER INFO walks every region: with thousands, asked once a second rather than five times.
    if (replicated) await waitForClusterOk(opts.port, deadline, () => supervisor.isStopping, opts.initialRegions > 1000 ? 1000 : 200);
  } catch (e) {
    log.error(`the playground did not start: ${(e as Error).message}`);
    await stopAll(1);
    return;
  }
  if (supervisor.isStopping) return;
  const storePorts = stores.map((c) => c.spec.port);
  log.info(
    replicated
      ? `redraft playground ready: ${opts.stores} stores on 127.0.0.1:${storePorts.join(', ')}; meta admin on ${metas.map((c) => c.spec.port).join(', ')}; data in ${dataDir}`
      : `redraft playground ready: one standalone store on 127.0.0.1:${storePorts[0]}; data in ${dataDir}`,
  );
  log.info(`connect with: redis-cli -p ${opts.port}${replicated ? `   (cluster-aware: redis-cli -c -p ${opts.port}; map: redis-cli -p ${opts.metaPort} region list)` : ''}   Ctrl-C stops everything; the next start resumes`);
}

/** Every port the playground's children will listen on, with what for. */
function plannedPorts(opts: PlaygroundOptions): { port: number; use: string }[] {
  const out: { port: number; use: string }[] = [];
  for (let i = 0; i < opts.stores; i++) {
    out.push({ port: opts.port + i, use: `store-${i + 1} RESP` });
    if (opts.stores > 1) out.push({ port: opts.peerPort + i, use: `store-${i + 1} peer` });
    if (opts.metricsPort !== undefined) out.push({ port: opts.metricsPort + i, use: `store-${i + 1} metrics` });
  }
  if (opts.stores > 1) {
    for (let i = 0; i < opts.metas; i++) {
      out.push({ port: opts.metaPort + i, use: `meta-${i + 1} admin` });
      out.push({ port: opts.metaPeerPort + i, use: `meta-${i + 1} peer` });
    }
  }
  return out;
}

/** Those of the ports that cannot be listened on at 127.0.0.1 now. */
async function takenPorts(ports: { port: number; use: string }[]): Promise<{ port: number; use: string }[]> {
  const free = await Promise.all(
    ports.map(
      ({ port }) =>
        new Promise<boolean>((res) => {
          const srv = createServer();
          srv.once('error', () => res(false));
          srv.listen(port, '127.0.0.1', () => srv.close(() => res(true)));
        }),
    ),
  );
  return ports.filter((_, i) => !free[i]);
}

/** Waits until c answers PING (whichever run of it); throws at the deadline, saying what became of it. */
async function waitUntilServing(c: Child, deadline: number, cancelled: () => boolean): Promise<void> {
  let delay = 20;
  while (!cancelled()) {
    if (await pingOnce(c.spec.port)) return;
    if (Date.now() >= deadline) {
      const history = c.deaths > 0 ? `it died ${c.deaths} time(s), last: ${c.lastExit}` : 'it is running';
      throw new Error(`${c.name} did not answer PING on 127.0.0.1:${c.spec.port} in time (${history}); see ${c.spec.logFile}`);
    }
    await new Promise((r) => setTimeout(r, delay));
    delay = Math.min(delay * 2, 250);
  }
}

/** Waits until the first store reports every slot served by a region with a leader. */
async function waitForClusterOk(port: number, deadline: number, cancelled: () => boolean, everyMs: number): Promise<void> {
  while (!cancelled()) {
    if (await clusterOkOnce(port)) return;
    if (Date.now() >= deadline) throw new Error('the cluster did not become ready (cluster_state:ok) in time');
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
