// The playground: the whole cluster as child processes on 127.0.0.1 with its
// data under one directory — `metas` meta replicas (admin RESP on
// metaPort+i, Raft/RPC on metaPeerPort+i) and `stores` stores (RESP on
// port+i, peer transport on peerPort+i). With one store it runs that store
// standalone (no Raft, no meta). Ctrl-C stops them all; the next start resumes.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, openSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { clusterOkOnce, waitForPing } from '@redraft/common';
import type { Logger } from '@redraft/common';

export interface PlaygroundOptions {
  port: number;
  metaPort: number;
  metaPeerPort: number;
  peerPort: number;
  dataDir: string;
  stores: number;
  metas: number;
  initialRegions: number;
  log: Logger;
  /** Extra flags passed to every store (e.g. --max-bulk-len, --redirect). */
  storeArgs: string[];
}

interface Child {
  name: string;
  proc: ChildProcess;
  port: number;
  exited: boolean;
}

const ENTRY = resolve(__dirname, '../../../../bin/redraft.js');

export async function runPlayground(opts: PlaygroundOptions): Promise<void> {
  const { log } = opts;
  const dataDir = resolve(opts.dataDir);
  const logDir = join(dataDir, 'logs');
  mkdirSync(logDir, { recursive: true });
  const children: Child[] = [];
  let stopping = false;

  const stopAll = async (code: number): Promise<void> => {
    if (stopping) return;
    stopping = true;
    log.info('stopping the playground');
    // Stores first (they finish their writes), then the meta group.
    await Promise.all(children.filter((c) => c.name.startsWith('store')).map((c) => stopChild(c)));
    await Promise.all(children.map((c) => stopChild(c)));
    log.info('playground stopped');
    process.exit(code);
  };
  process.on('SIGINT', () => void stopAll(0));
  process.on('SIGTERM', () => void stopAll(0));

  const start = (name: string, port: number, args: string[]): void => {
    const out = openSync(join(logDir, `${name}.log`), 'a');
    const proc = spawn(process.execPath, [ENTRY, ...args], { stdio: ['ignore', out, out] });
    const child: Child = { name, proc, port, exited: false };
    proc.on('exit', (code, signal) => {
      child.exited = true;
      if (!stopping) {
        log.error({ name, code, signal }, `${name} exited unexpectedly; see ${join(logDir, `${name}.log`)}`);
        void stopAll(1);
      }
    });
    children.push(child);
  };

  const replicated = opts.stores > 1;
  const metaPeers = Array.from({ length: opts.metas }, (_, i) => `${i + 1}=127.0.0.1:${opts.metaPeerPort + i}`).join(',');
  const metaAddrs = Array.from({ length: opts.metas }, (_, i) => `127.0.0.1:${opts.metaPeerPort + i}`).join(',');
  if (replicated) {
    for (let i = 0; i < opts.metas; i++) {
      start(`meta-${i + 1}`, opts.metaPort + i, [
        'meta',
        '--id', String(i + 1),
        '--peers', metaPeers,
        '--port', String(opts.metaPort + i),
        '--data-dir', join(dataDir, `meta-${i + 1}`),
        '--replicas', String(Math.min(3, opts.stores)),
        '--initial-regions', String(opts.initialRegions),
      ]);
    }
  }
  for (let i = 0; i < opts.stores; i++) {
    const args = ['store', '--port', String(opts.port + i), '--data-dir', join(dataDir, `store-${i + 1}`), ...opts.storeArgs];
    if (replicated) args.push('--meta', metaAddrs, '--peer-port', String(opts.peerPort + i));
    start(`store-${i + 1}`, opts.port + i, args);
  }
  try {
    await Promise.all(children.map((c) => waitForPing(c.port, '127.0.0.1', 120000, () => !c.exited)));
    if (replicated) await waitForClusterOk(opts.port, () => stopping);
  } catch (e) {
    log.error({ err: e }, 'the playground did not start');
    await stopAll(1);
    return;
  }
  const storePorts = children.filter((c) => c.name.startsWith('store')).map((c) => c.port);
  log.info(
    replicated
      ? `redraft playground ready: ${opts.stores} stores on 127.0.0.1:${storePorts.join(', ')}; meta admin on ${children.filter((c) => c.name.startsWith('meta')).map((c) => c.port).join(', ')}; data in ${dataDir}`
      : `redraft playground ready: one standalone store on 127.0.0.1:${storePorts[0]}; data in ${dataDir}`,
  );
  log.info(`connect with: redis-cli -p ${opts.port}${replicated ? `   (cluster-aware: redis-cli -c -p ${opts.port}; map: redis-cli -p ${opts.metaPort} region list)` : ''}   Ctrl-C stops everything; the next start resumes`);
}

/** Waits until the first store reports every slot served by a region with a leader. */
async function waitForClusterOk(port: number, cancelled: () => boolean): Promise<void> {
  const deadline = Date.now() + 120000;
  while (Date.now() < deadline && !cancelled()) {
    if (await clusterOkOnce(port)) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error('the cluster did not become ready (cluster_state:ok) in time');
}

function stopChild(c: Child): Promise<void> {
  if (c.exited) return Promise.resolve();
  return new Promise((res) => {
    const killer = setTimeout(() => c.proc.kill('SIGKILL'), 10000);
    c.proc.once('exit', () => {
      clearTimeout(killer);
      res();
    });
    c.proc.kill('SIGTERM');
  });
}
