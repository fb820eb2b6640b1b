// The playground: the whole cluster as child processes on 127.0.0.1 with its
// data under one directory; Ctrl-C stops them all, the next start resumes.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, openSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { waitForPing } from '@redraft/common';
import type { Logger } from '@redraft/common';

export interface PlaygroundOptions {
  port: number;
  dataDir: string;
  stores: number;
  log: Logger;
  /** Extra flags passed to every store (e.g. --max-bulk-len). */
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
  mkdirSync(join(dataDir, 'logs'), { recursive: true });
  const children: Child[] = [];
  let stopping = false;

  const stopAll = async (code: number): Promise<void> => {
    if (stopping) return;
    stopping = true;
    log.info('stopping the playground');
    await Promise.all(children.map((c) => stopChild(c)));
    log.info('playground stopped');
    process.exit(code);
  };
  process.on('SIGINT', () => void stopAll(0));
  process.on('SIGTERM', () => void stopAll(0));

  for (let i = 0; i < opts.stores; i++) {
    const name = `store-${i + 1}`;
    const port = opts.port + i;
    const out = openSync(join(dataDir, 'logs', `${name}.log`), 'a');
    const proc = spawn(
      process.execPath,
      [ENTRY, 'store', '--port', String(port), '--data-dir', join(dataDir, name), ...opts.storeArgs],
      { stdio: ['ignore', out, out] },
    );
    const child: Child = { name, proc, port, exited: false };
    proc.on('exit', (code, signal) => {
      child.exited = true;
      if (!stopping) {
        log.error({ name, code, signal }, `${name} exited unexpectedly; see ${join(dataDir, 'logs', `${name}.log`)}`);
        void stopAll(1);
      }
    });
    children.push(child);
  }
  try {
    await Promise.all(children.map((c) => waitForPing(c.port, '127.0.0.1', 60000, () => !c.exited)));
  } catch (e) {
    log.error({ err: e }, 'the playground did not start');
    await stopAll(1);
    return;
  }
  const ports = children.map((c) => c.port).join(', ');
  log.info(`redraft playground ready: ${children.length} store(s) on 127.0.0.1 port(s) ${ports}, data in ${dataDir}`);
  log.info(`connect with: redis-cli -p ${opts.port}    (Ctrl-C stops everything; the next start resumes)`);
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
