// Self-test of the end-to-end harness (test/support), run against Debian's
// redis-server so that it does not depend on redraft.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import {
  freePort,
  freePorts,
  groupAlive,
  ping,
  redisCli,
  redisCliResult,
  spawnManaged,
  stop,
  tempDir,
  waitFor,
  waitForClosed,
  withServer,
} from './support';

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('harness: ports', () => {
  test('freePort gives a port one can listen on', async () => {
    const port = await freePort();
    const s = createServer();
    await new Promise<void>((resolve, reject) => s.once('error', reject).listen(port, '127.0.0.1', resolve));
    await new Promise((r) => s.close(r));
  });

  test('freePorts(3) gives three consecutive free ports', async () => {
    const base = await freePorts(3);
    const servers = [];
    for (let i = 0; i < 3; i++) {
      const s = createServer();
      await new Promise<void>((resolve, reject) => s.once('error', reject).listen(base + i, '127.0.0.1', resolve));
      servers.push(s);
    }
    await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  });
});

describe('harness: waitFor', () => {
  test('returns the first truthy value', async () => {
    let n = 0;
    assert.equal(await waitFor(() => (++n >= 3 ? n : 0), { intervalMs: 1 }), 3);
  });

  test('times out naming what it waited for and the last error', async () => {
    await assert.rejects(
      waitFor(
        () => {
          throw new Error('nope');
        },
        { timeoutMs: 100, what: 'the moon' },
      ),
      /timed out after 100 ms waiting for the moon \(last error: nope\)/,
    );
  });

  test('fails fast with the log when the watched process dies', (t) => {
    const dir = tempDir(t);
    const p = spawnManaged('sh', ['-c', 'echo boom-from-child; exit 3'], { logFile: join(dir, 'x.log') });
    const start = Date.now();
    return assert
      .rejects(waitFor(() => false, { timeoutMs: 20_000, what: 'nothing', proc: p }), (e: Error) => {
        assert.match(e.message, /exited with code 3/);
        assert.match(e.message, /boom-from-child/);
        return true;
      })
      .then(() => assert.ok(Date.now() - start < 5000));
  });
});

describe('harness: redis-server through withServer', () => {
  test('PING, redis-cli args and stdin, raw and no-raw', async (t) => {
    const s = await withServer(t, { kind: 'redis' });
    assert.ok(await ping(s.port));
    assert.equal(await s.cli(['SET', 'k', 'v']), 'OK\n');
    assert.equal(await s.cli(['INCR', 'n'], { raw: true }), '1\n');
    assert.equal(await s.cli(['INCR', 'n'], { raw: false }), '(integer) 2\n');
    assert.equal(await redisCli(s.port, 'GET k\nGET n\nHSET h f 1\n', { raw: true }), 'v\n2\n1\n');
    // A Redis error reply is output, not a rejection.
    assert.match(await s.cli(['INCR'], { raw: false }), /\(error\) ERR wrong number of arguments for 'incr' command/);
  });

  test('restart after kill -9 keeps fsynced writes (appendfsync always)', async (t) => {
    const s = await withServer(t, { kind: 'redis', args: ['--appendonly', 'yes', '--appendfsync', 'always'] });
    await s.cli(Array.from({ length: 100 }, (_, i) => `SET key:${i} ${i}`).join('\n'));
    const oldPid = s.pid;
    await s.restart({ kill9: true });
    assert.notEqual(s.pid, oldPid);
    assert.equal(pidAlive(oldPid), false);
    assert.equal((await s.cli(['DBSIZE'])).trim(), '100');
    assert.equal((await s.cli(['GET', 'key:99'])).trim(), '99');
  });

  test('stop: SIGTERM, the port closes, no stray processes', async (t) => {
    const s = await withServer(t, { kind: 'redis' });
    const r = await s.stop();
    assert.equal(r.forced, false);
    assert.equal(r.strays, false);
    await waitForClosed(s.port);
    const res = await redisCliResult(s.port, ['PING']);
    assert.notEqual(res.code, 0);
  });

  test('the log file is written and kept in the test dir', async (t) => {
    const s = await withServer(t, { kind: 'redis' });
    await waitFor(() => s.proc.log().includes('Ready to accept connections'), { what: 'redis-server to log readiness' });
    assert.ok(existsSync(s.logFile));
  });
});

describe('harness: process cleanup', () => {
  test('stop() SIGKILLs a process that ignores SIGTERM, and sweeps its group', async (t) => {
    const dir = tempDir(t);
    // The shell ignores TERM and has a child (sleep) in its group.
    const p = spawnManaged('sh', ['-c', "trap '' TERM; sleep 60 & echo sh-is-$((6*7)); wait"], { logFile: join(dir, 'p.log') });
    await waitFor(() => p.log().includes('sh-is-42'), { what: 'the shell to start' });
    const r = await stop(p, { timeoutMs: 300 });
    assert.equal(r.forced, true);
    assert.equal(groupAlive(p), false);
  });

  for (const how of ['exit', 'SIGTERM', 'throw'] as const) {
    test(`children die when the test process ends (${how})`, async (t) => {
      const dir = tempDir(t);
      const port = await freePort();
      // A separate node process uses the harness to start redis-server, then
      // ends in the given way; redis-server must not outlive it.
      const script = join(dir, 'child.js');
      const support = JSON.stringify(join(__dirname, 'support'));
      writeFileSync(
        script,
        `const h = require(${support});
         (async () => {
           const s = await h.startRedisServer({ port: ${port} });
           console.log('PID ' + s.pid);
           ${how === 'exit' ? 'process.exit(0);' : how === 'throw' ? "setTimeout(() => { throw new Error('boom'); }, 10);" : 'setInterval(() => {}, 1000);'}
         })();`,
      );
      const child = spawn(process.execPath, [script], { stdio: ['ignore', 'pipe', 'pipe'] });
      t.after(() => {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      });
      let out = '';
      child.stdout.on('data', (d) => (out += d));
      child.stderr.on('data', (d) => (out += d));
      const pid = Number(
        (await waitFor(() => /PID (\d+)/.exec(out)?.[1], { what: `the child to start redis-server (output: ${out})`, timeoutMs: 20_000 })),
      );
      assert.ok(pidAlive(pid));
      if (how === 'SIGTERM') child.kill('SIGTERM');
      await new Promise((r) => (child.exitCode !== null || child.signalCode !== null ? r(null) : child.once('exit', r)));
      await waitFor(() => !pidAlive(pid), { what: `redis-server pid ${pid} to die`, timeoutMs: 5000 });
      await waitForClosed(port);
    });
  }
});
