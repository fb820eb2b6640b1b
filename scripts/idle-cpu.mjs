// Idle CPU of the stores: starts a playground with many regions, waits until
// every region has a leader (CLUSTER SLOTS on every store shows a master for
// each), lets it settle, then reads each store's CPU time from
// /proc/PID/stat over a window. Prints one line per store: % of one core.
//
//   node scripts/idle-cpu.mjs [--regions 1000] [--seconds 20] [--settle 5]
//        [--hibernate true|false] [--bin bin/redraft.js] [--port 26379]
//
// --bin runs another build (say, a checkout of main) the same way.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import Redis from 'ioredis';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { values: o } = parseArgs({
  options: {
    regions: { type: 'string', default: '1000' },
    seconds: { type: 'string', default: '20' },
    settle: { type: 'string', default: '5' },
    hibernate: { type: 'string' },
    bin: { type: 'string', default: join(root, 'bin/redraft.js') },
    port: { type: 'string', default: '26379' },
  },
});
const regions = Number(o.regions);
const port = Number(o.port);
const dir = mkdtempSync(join(tmpdir(), 'redraft-idle-'));
const args = [o.bin, 'playground', '--initial-regions', String(regions), '--data-dir', dir, '--port', String(port),
  '--meta-port', String(port + 621), '--meta-peer-port', String(port + 721), '--peer-port', String(port + 821), '--log-level', 'warn'];
if (o.hibernate !== undefined) args.push('--hibernate-regions', o.hibernate);
const pg = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, CI: '1' } });
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const ticks = (pid) => {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const rest = f.slice(f.lastIndexOf(')') + 2).split(' ');
  return Number(rest[11]) + Number(rest[12]); // utime + stime, in clock ticks (100 per second)
};
const children = (pid) =>
  readdirSync('/proc').filter((d) => /^\d+$/.test(d)).filter((d) => {
    try {
      return readFileSync(`/proc/${d}/stat`, 'utf8').split(') ')[1].split(' ')[1] === String(pid);
    } catch {
      return false;
    }
  }).map(Number);

async function allLed() {
  for (let i = 0; i < 3; i++) {
    const c = new Redis({ port: port + i, lazyConnect: true, maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => null });
    c.on('error', () => {});
    try {
      await c.connect();
      const slots = await c.call('CLUSTER', 'SLOTS');
      if (slots.length !== regions || !slots.every((s) => s[2] && Number(s[2][1]) > 0)) return false;
    } catch {
      return false;
    } finally {
      c.disconnect();
    }
  }
  return true;
}

try {
  const started = Date.now();
  while (!(await allLed())) {
    if (Date.now() - started > 600_000) throw new Error('regions without a leader after 10 minutes');
    await sleep(1000);
  }
  console.log(`every region has a leader after ${((Date.now() - started) / 1000).toFixed(1)} s; settling ${o.settle} s`);
  await sleep(Number(o.settle) * 1000);
  const stores = children(pg.pid).filter((p) => readFileSync(`/proc/${p}/cmdline`, 'utf8').includes('\0store\0'));
  const before = stores.map(ticks);
  const t0 = performance.now();
  await sleep(Number(o.seconds) * 1000);
  const secs = (performance.now() - t0) / 1000;
  // Hibernating replicas per store, where the build reports them (INFO cluster regions_hibernating).
  const asleep = [];
  for (let i = 0; i < 3; i++) {
    const c = new Redis({ port: port + i, maxRetriesPerRequest: 0, retryStrategy: () => null });
    c.on('error', () => {});
    asleep.push((/regions_hibernating:(\d+)/.exec(await c.info('cluster').catch(() => '')) ?? [])[1] ?? '-');
    c.disconnect();
  }
  const pct = stores.map((p, i) => ((ticks(p) - before[i]) / 100 / secs) * 100);
  const load = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  console.log(`regions=${regions} hibernate=${o.hibernate ?? 'default'} window=${secs.toFixed(1)} s load=${load}`);
  pct.forEach((v, i) => console.log(`store ${i + 1}: ${v.toFixed(1)} % of one core (hibernating replicas: ${asleep[i]})`));
  console.log(`mean: ${(pct.reduce((a, b) => a + b, 0) / pct.length).toFixed(1)} %`);
} finally {
  pg.kill('SIGINT');
  await new Promise((r) => pg.once('exit', r));
  rmSync(dir, { recursive: true, force: true });
}
