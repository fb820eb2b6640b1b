// The playground supervises its children (the README's failure model):
// kill -9 of one store leaves the other two serving every key, and the
// playground starts the store again by itself (or, with --no-restart, leaves
// it down); Ctrl-C stops everything, and a playground killed with SIGKILL
// takes no child with it... nor leaves one behind.
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { keySlot } from '@redraft/common';
import {
  freePorts,
  groupMembers,
  killPid,
  ping,
  respMany,
  signalGroup,
  startRedraft,
  tempDir,
  waitExit,
  waitFor,
  type Server,
} from '../support';
import { redraftOnly } from './target';

/**
 * Starts a playground of 1 meta and 3 stores (3 regions), every port on a
 * free block from `base`, stopped when t ends; does not wait for it.
 */
async function launchPlayground(t: { after(fn: () => unknown): void }, extra: string[] = [], dir?: string): Promise<Server> {
  // 3 RESP, meta admin, meta peer, 3 store peers.
  const base = await freePorts(8);
  const args = ['--meta-port', String(base + 3), '--meta-peer-port', String(base + 4), '--peer-port', String(base + 5), '--initial-regions', '3', ...extra];
  const s = await startRedraft({ mode: 'playground', port: base, ports: 3, args, readyTimeoutMs: 60_000, waitReady: false, dir });
  t.after(async () => {
    const r = await s.stop({ timeoutMs: 15_000 });
    if (r.forced || r.strays) process.stderr.write(`\n--- playground log ---\n${s.proc.logTail(80)}\n`);
  });
  return s;
}

/** Waits until every store answers PING and the first reports cluster_state:ok. */
async function untilClusterOk(s: Server): Promise<void> {
  await s.ready();
  await waitFor(async () => String(await command(s.ports[0]!, 'CLUSTER', 'INFO')).includes('cluster_state:ok'), {
    timeoutMs: 30_000,
    what: 'cluster_state:ok',
    proc: s.proc,
  });
}

/** A started playground (launchPlayground, then untilClusterOk). */
async function startPlayground(t: { after(fn: () => unknown): void }, extra: string[] = []): Promise<Server> {
  const s = await launchPlayground(t, extra);
  await untilClusterOk(s);
  return s;
}

/** One command on a fresh connection, bounded so a wait loop never hangs on it. */
async function command(port: number, ...args: string[]): Promise<unknown> {
  return (await respMany(port, [args], { timeoutMs: 3000 }))[0];
}

/** The pid of the playground's child serving RESP on `port` (from /proc), if one runs. */
function childOnPort(s: Server, port: number): number | undefined {
  for (const pid of groupMembers(s.proc)) {
    if (pid === s.pid) continue;
    let argv: string[];
    try {
      argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    } catch {
      continue; // exited meanwhile
    }
    const i = argv.indexOf('--port');
    if (argv.includes('store') && i >= 0 && argv[i + 1] === String(port)) return pid;
  }
  return undefined;
}

/** The playground's own log without pino-pretty's colours. */
function playgroundLog(s: Server): string {
  return s.proc.log().replace(/\x1b\[[0-9;]*m/g, '');
}

/** Keys in each third of the slot space, so that (with 3 regions) every region holds one. */
function keysAcrossRegions(prefix: string): string[] {
  const keys: string[] = [];
  for (let third = 0; third < 3; third++) {
    for (let i = 0; keys.length === third; i++) {
      const k = `${prefix}:${i}`;
      if (Math.floor((keySlot(Buffer.from(k)) * 3) / 16384) === third) keys.push(k);
    }
  }
  return keys;
}

/** Waits until store `port` answers a write and a read of every key (the cluster may be electing a new leader). */
async function expectServes(s: Server, port: number, keys: string[], tag: string): Promise<void> {
  for (const k of keys) {
    const v = `${tag}:${k}`;
    await waitFor(async () => (await command(port, 'SET', k, v)) === 'OK', { timeoutMs: 20_000, what: `SET ${k} through port ${port}`, proc: s.proc });
    await waitFor(async () => (await command(port, 'GET', k)) === v, { timeoutMs: 20_000, what: `GET ${k} through port ${port}`, proc: s.proc });
  }
}

test('kill -9 of one store: the other two keep serving every key and the playground restarts it; SIGKILL of the playground ends every child', { ...redraftOnly, timeout: 90_000 }, async (t) => {
  const s = await startPlayground(t);
  const keys = keysAcrossRegions('sv');
  await expectServes(s, s.ports[0]!, keys, 'before');

  const port = s.ports[1]!;
  const victim = childOnPort(s, port);
  assert.ok(victim, `no child of the playground serves port ${port}`);
  killPid(victim, 'SIGKILL');

  await expectServes(s, s.ports[0]!, keys, 'during');
  await expectServes(s, s.ports[2]!, keys, 'during2');
  // Back by itself: a new process answers PING on its port and serves the data.
  const reborn = await waitFor(
    async () => {
      const pid = childOnPort(s, port);
      return pid !== undefined && pid !== victim && (await ping(port)) ? pid : undefined;
    },
    { timeoutMs: 30_000, what: `a new store-2 process answering PING on ${port}`, proc: s.proc },
  );
  assert.notEqual(reborn, victim);
  await waitFor(async () => (await command(port, 'GET', keys[0]!)) === `during2:${keys[0]}`, { timeoutMs: 20_000, what: 'the restarted store to serve the data', proc: s.proc });
  await waitFor(() => playgroundLog(s).includes('store-2 is back'), { timeoutMs: 10_000, what: '"store-2 is back" in the playground log', proc: s.proc });
  assert.match(playgroundLog(s), /store-2 exited \(signal SIGKILL\); restarting in 0\.5 s/);

  // The playground itself killed with SIGKILL: its children notice (their IPC channel closes) and stop.
  const children = groupMembers(s.proc).filter((pid) => pid !== s.pid);
  assert.equal(children.length, 4, `expected 1 meta and 3 stores, found pids ${children.join(', ')}`);
  killPid(s.pid, 'SIGKILL');
  await s.proc.exited;
  await waitFor(() => groupMembers(s.proc).length === 0, { timeoutMs: 20_000, what: `the orphaned children (${children.join(', ')}) to exit by themselves` });
});

test('--no-restart: a store killed with kill -9 stays down, the others serve every key; Ctrl-C stops everything', { ...redraftOnly, timeout: 90_000 }, async (t) => {
  const s = await startPlayground(t, ['--no-restart']);
  const keys = keysAcrossRegions('nr');
  await expectServes(s, s.ports[0]!, keys, 'before');

  const port = s.ports[2]!;
  const victim = childOnPort(s, port);
  assert.ok(victim, `no child of the playground serves port ${port}`);
  killPid(victim, 'SIGKILL');
  await waitFor(() => /store-3 exited \(signal SIGKILL\); not restarting it/.test(playgroundLog(s)), { timeoutMs: 10_000, what: 'the playground to log the death of store-3', proc: s.proc });

  await expectServes(s, s.ports[0]!, keys, 'during');
  await expectServes(s, s.ports[1]!, keys, 'during2');
  assert.equal(childOnPort(s, port), undefined, 'store-3 was started again despite --no-restart');
  assert.equal(await ping(port), false, 'store-3 answers PING despite --no-restart');
  assert.equal(groupMembers(s.proc).length, 4, 'the playground and its other 3 children should still run');

  // Ctrl-C in a terminal: SIGINT to the whole foreground process group.
  signalGroup(s.proc, 'SIGINT');
  const exit = await waitExit(s.proc, 20_000);
  assert.ok(exit, 'the playground did not exit within 20 s of Ctrl-C');
  assert.equal(exit.code, 0);
  await waitFor(() => groupMembers(s.proc).length === 0, { timeoutMs: 5000, what: 'every child to be gone after Ctrl-C' });
  assert.doesNotMatch(playgroundLog(s), /restarting in/);
});

test('a store that fails at start-up is retried with backoff until it starts; the start-up wait goes on meanwhile', { ...redraftOnly, timeout: 90_000 }, async (t) => {
  // A file where store-2's data directory goes: store-2 exits at every start until it is removed.
  const dir = tempDir();
  mkdirSync(join(dir, 'data'));
  const blocker = join(dir, 'data', 'store-2');
  writeFileSync(blocker, 'not a directory');
  const s = await launchPlayground(t, [], dir);
  await waitFor(
    () => /store-2 exited \(code 1\); restarting in 0\.5 s/.test(playgroundLog(s)) && /store-2 exited \(code 1\); restarting in 1 s/.test(playgroundLog(s)),
    { timeoutMs: 30_000, what: 'two logged start-up failures of store-2, with growing backoff', proc: s.proc },
  );
  rmSync(blocker);
  await untilClusterOk(s);
  await waitFor(() => playgroundLog(s).includes('redraft playground ready'), { timeoutMs: 30_000, what: 'the playground to report ready', proc: s.proc });
  await waitFor(() => playgroundLog(s).includes('store-2 is back'), { timeoutMs: 10_000, what: '"store-2 is back"', proc: s.proc });
  await expectServes(s, s.ports[1]!, keysAcrossRegions('su'), 'up');
});

test('a port already in use: the playground exits at once, naming it', redraftOnly, async () => {
  const base = await freePorts(8);
  const squatter = createServer((c) => c.destroy());
  await new Promise<void>((res) => squatter.listen(base + 1, '127.0.0.1', res));
  try {
    const args = ['--meta-port', String(base + 3), '--meta-peer-port', String(base + 4), '--peer-port', String(base + 5)];
    const s = await startRedraft({ mode: 'playground', port: base, ports: 3, args, waitReady: false });
    const exit = await waitExit(s.proc, 20_000);
    assert.ok(exit, 'the playground kept running although store-2\'s port is taken');
    assert.equal(exit.code, 1);
    assert.match(playgroundLog(s), new RegExp(`port ${base + 1} \\(store-2 RESP\\)[^\\n]*already in use`));
    assert.equal(groupMembers(s.proc).length, 0, 'it left a child behind');
  } finally {
    squatter.close();
  }
});
