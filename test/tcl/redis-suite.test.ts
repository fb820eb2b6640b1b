// The Redis 7.0.15 Tcl suite (units listed in scripts/redis-tcl.sh) against
// redraft, through scripts/redis-tcl.sh, which starts and stops the server
// itself. Must end with 0 failed. Skipped only outside CI when the suite's
// source is not cached (fetch it with `bash scripts/fetch-redis-tests.sh`,
// which needs root for apt); in CI (.ci/run fetches it) it always runs.
//
// REDIS_TCL_SERVER_CMD, REDIS_TCL_UNITS pass through to the runner.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { openSync, closeSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { repoRoot, tempDir } from '../support';

const root = repoRoot();
const cached = spawnSync('bash', [join(root, 'scripts/fetch-redis-tests.sh'), '--check'], { stdio: 'ignore' }).status === 0;
const inCI = !!process.env.CI;
const skip =
  !inCI && !cached
    ? 'Redis Tcl suite source not cached: run `sudo bash scripts/fetch-redis-tests.sh` (or .ci/run) once, then `npm run test:tcl`'
    : false;

test('Redis Tcl suite (string, incr, hash, list, set, zset, keyspace, expire, multi, info-command, protocol, scan, pubsub) against redraft: 0 failed', { skip, timeout: 30 * 60_000 }, async (t) => {
  const dir = tempDir(t);
  const logFile = join(dir, 'redis-tcl.log');
  const fd = openSync(logFile, 'w');
  const started = Date.now();
  const code = await new Promise<number | null>((resolve, reject) => {
    // Its own process group, so a timeout or interruption can take it whole;
    // the runner itself stops the server and runtest it started.
    const child = spawn('bash', [join(root, 'scripts/redis-tcl.sh'), '--quiet'], { cwd: root, stdio: ['ignore', fd, fd], detached: true });
    const killGroup = () => {
      try {
        process.kill(-child.pid!, 'SIGTERM');
      } catch {
        /* gone */
      }
    };
    process.once('exit', killGroup);
    t.signal.addEventListener('abort', killGroup);
    child.once('error', reject);
    child.once('exit', (c) => {
      process.off('exit', killGroup);
      resolve(c);
    });
  });
  closeSync(fd);
  const out = readFileSync(logFile, 'utf8');
  const lines = out.trimEnd().split('\n');
  const last = lines[lines.length - 1] ?? '';
  const counts = /^(\d+) passed, (\d+) failed$/.exec(last);
  const failedNames = lines.filter((l) => l.startsWith('FAILED: '));
  const secs = Math.round((Date.now() - started) / 1000);
  t.diagnostic(`redis tcl suite: ${counts ? `${counts[1]} passing, ${counts[2]} failing` : 'no count line'}, runner exit ${code}, ${secs} s`);
  // (The runner's own count line is left out: it is in the diagnostic.)
  const tail = lines.slice(-80).filter((l) => !/^\d+ passed, \d+ failed$/.test(l));
  const detail = () => `\n${failedNames.join('\n')}\n--- last lines of scripts/redis-tcl.sh output ---\n${tail.join('\n')}`;
  assert.ok(counts, `the runner did not end with "N passed, M failed"${detail()}`);
  assert.equal(Number(counts[2]), 0, `${counts[2]} Tcl tests failed${detail()}`);
  assert.ok(Number(counts[1]) > 0, `no Tcl test passed${detail()}`);
  assert.equal(code, 0, `runner exited with ${code}${detail()}`);
});
