// The bench's own tools (scripts/node-floor.mjs, scripts/rocks-rows.mjs,
// scripts/bench-mixed.sh) answer what redis-benchmark sends, print what the
// bench reads, and refuse a bad command line with a usage line and exit 2.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { freePort, repoRoot, respMany, RespError, spawnManaged, stop, tempDir, waitForPing } from '../support';

const script = (name: string): string => join(repoRoot(), 'scripts', name);

test('node-floor.mjs answers the benchmark commands, pipelined, and refuses others', async (t) => {
  const port = await freePort();
  const p = spawnManaged(process.execPath, [script('node-floor.mjs'), '--port', String(port)], { logFile: join(tempDir(t), 'floor.log'), name: 'node-floor' });
  t.after(() => stop(p));
  await waitForPing(port);
  const replies = await respMany(port, [
    ['SET', 'k', 'v'],
    ['GET', 'k'],
    ['GET', 'missing'],
    ['INCR', 'n'],
    ['INCR', 'n'],
    ['HSET', 'h', 'f', '1', 'g', '2'],
    ['HSET', 'h', 'f', '3'],
    ['CONFIG', 'GET', 'save'],
    ['LPUSH', 'l', 'x'],
  ]);
  assert.deepEqual(replies.slice(0, 8), ['OK', 'v', null, 1, 2, 2, 0, []]);
  assert.ok(replies[8] instanceof RespError && /unknown command 'lpush'/.test(replies[8].message), String(replies[8]));
});

test('node-floor.mjs: a bad --port is a usage line and exit 2', () => {
  for (const args of [[], ['--port'], ['--port', 'x'], ['--port', '70000']]) {
    const r = spawnSync(process.execPath, [script('node-floor.mjs'), ...args], { encoding: 'utf8', timeout: 30_000 });
    assert.equal(r.status, 2, args.join(' '));
    assert.match(r.stderr, /^usage: node-floor\.mjs --port N/, args.join(' '));
  }
});

test('rocks-rows.mjs prints one CSV line per batch size, and refuses a bad command line', () => {
  const r = spawnSync(process.execPath, [script('rocks-rows.mjs'), '--csv', '--writes', '2000', '--batch', '10', '--batch', '50'], { encoding: 'utf8', timeout: 120_000 });
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  assert.equal(lines.length, 2, r.stdout);
  lines.forEach((line, i) => {
    const [batch, perWrite, perPut] = line.split(',').map(Number);
    assert.equal(batch, [10, 50][i]);
    assert.ok(perWrite > 0 && perPut > 0, line);
  });
  for (const args of [['--bogus'], ['--writes', '10'], ['--batch', '0'], ['--writes', 'many']]) {
    const b = spawnSync(process.execPath, [script('rocks-rows.mjs'), ...args], { encoding: 'utf8', timeout: 30_000 });
    assert.equal(b.status, 2, args.join(' '));
    assert.match(b.stderr, /^rocks-rows: /, args.join(' '));
  }
});

test('bench-mixed.sh prints a row for redis and for redraft and their ratio, and refuses a bad BENCH_N', { timeout: 180_000 }, () => {
  const env = { ...process.env, BENCH_N: '3000', BENCH_WARMUP: '500' };
  const r = spawnSync('bash', [script('bench-mixed.sh')], { encoding: 'utf8', timeout: 170_000, env });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /^redis +\d+ +[\d.]+ +[\d.]+ +\d+ +[\d.]+ +[\d.]+$/m, r.stdout);
  assert.match(r.stdout, /^redraft +\d+ +[\d.]+ +[\d.]+ +\d+ +[\d.]+ +[\d.]+$/m, r.stdout);
  assert.match(r.stdout, /^redraft\/redis: GET \d+\.\d\d, SET \d+\.\d\d$/m, r.stdout);
  const bad = spawnSync('bash', [script('bench-mixed.sh')], { encoding: 'utf8', timeout: 30_000, env: { ...process.env, BENCH_N: 'x' } });
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /^usage: BENCH_N=N/);
});
