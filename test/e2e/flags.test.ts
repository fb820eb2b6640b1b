// Command-line mistakes end the process at once with a non-zero exit and a
// message that names the flag; a port that is taken or a data directory held
// by another store is reported, never waited on.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { freePort, kill9, removeDir, repoRoot, spawnManaged, startRedraft, stop, tempDir, waitExit, waitFor } from '../support';
import { redraftOnly } from './target';

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  out: string;
}

/**
 * Runs `node bin/redraft.js ...args` in its own process group (a playground's
 * store goes with it); if it has not exited within timeoutMs, the whole group
 * is killed and the run is reported with code null.
 */
async function redraft(args: string[], timeoutMs = 20_000): Promise<Run> {
  const dir = tempDir();
  const p = spawnManaged(process.execPath, [join(repoRoot(), 'bin', 'redraft.js'), ...args], { logFile: join(dir, 'out.log'), cwd: repoRoot(), name: 'redraft' });
  // Done when it exits, or as soon as it says it is serving (which a bad command line must never reach).
  await waitFor(() => !p.running || /\bready\b/.test(p.log()), { timeoutMs, what: `redraft ${args.join(' ')} to exit` }).catch(() => undefined);
  const e = p.exitInfo ?? (await waitExit(p, 200));
  if (!e) {
    await kill9(p);
    const out = p.log();
    removeDir(dir);
    return { code: null, signal: null, out: `[still running, killed]\n${out}` };
  }
  // The playground's children, if any, go too.
  await stop(p, { timeoutMs: 1000 });
  const out = p.log().replace(/^=== .* start: .*\n/, '');
  removeDir(dir);
  return { code: e.code, signal: e.signal, out };
}

test('bad flags exit non-zero with a message naming the flag', redraftOnly, async (t) => {
  const dir = tempDir(t);
  const data = join(dir, 'never-created');
  const cases: Array<[string[], RegExp]> = [
    [['store', '--port', '99999'], /--port\b.*99999/],
    [['store', '--port', 'abc'], /--port\b.*abc/],
    [['store', '--port', '-1'], /--port\b/],
    [['store', '--max-bulk-len', 'lots'], /--max-bulk-len\b.*lots/],
    [['store', '--max-bulk-len', '-5'], /--max-bulk-len\b/],
    [['store', '--max-multibulk-len', 'many'], /--max-multibulk-len\b.*many/],
    [['store', '--no-such-flag'], /no-such-flag/],
    [['playground', '--port', '99999'], /--port\b.*99999/],
    [['playground', '--max-bulk-len', 'lots'], /--max-bulk-len\b.*lots/],
    [['store', '--hibernate-regions', 'maybe'], /--hibernate-regions\b.*maybe/],
    [['store', '--metrics-port', '70000'], /--metrics-port\b.*70000/],
    [['playground', '--hibernate-regions', 'maybe'], /--hibernate-regions\b.*maybe/],
    [['playground', '--metrics-port', 'abc'], /--metrics-port\b.*abc/],
    [['playground', '--initial-regions', '20000'], /--initial-regions\b.*20000/],
    [['playground', '--initial-regions', '0'], /--initial-regions\b/],
  ];
  const wrong: string[] = [];
  const runs = await Promise.all(cases.map(([args]) => redraft([...args, '--data-dir', data])));
  cases.forEach(([args, re], i) => {
    const r = runs[i]!;
    const line = `redraft ${args.join(' ')}`;
    if (r.code === 0 || r.code === null) wrong.push(`${line}: exit ${r.code} (signal ${r.signal}): ${JSON.stringify(r.out.trim().slice(0, 300))}`);
    if (!re.test(r.out)) wrong.push(`${line}: message ${JSON.stringify(r.out.trim().slice(0, 300))} does not match ${re}`);
    if (/\n\s+at .+:\d+:\d+\)?\n/.test(r.out)) wrong.push(`${line}: prints a stack trace instead of a message: ${JSON.stringify(r.out.slice(0, 300))}`);
  });
  assert.deepEqual(wrong, []);
  assert.equal(existsSync(data), false, 'a rejected command line created the data directory');
});

test('an unknown mode exits non-zero, naming it', redraftOnly, async (t) => {
  // A port of its own: were it to start a playground anyway, not on 6379.
  const r = await redraft(['no-such-mode', '--port', String(await freePort()), '--data-dir', join(tempDir(t), 'd')]);
  assert.ok(r.code !== 0 && r.code !== null, `exit ${r.code}: ${r.out.slice(0, 400)}`);
  assert.match(r.out, /no-such-mode/);
});

test('--help exits 0 and lists the flags', redraftOnly, async () => {
  const modes = ['store', 'playground'];
  const runs = await Promise.all(modes.map((mode) => redraft([mode, '--help'])));
  for (const [i, mode] of modes.entries()) {
    const r = runs[i]!;
    assert.equal(r.code, 0, r.out);
    for (const flag of ['--port', '--data-dir', '--max-bulk-len']) assert.ok(r.out.includes(flag), `${mode} --help does not mention ${flag}:\n${r.out}`);
  }
});

test('a RESP port that is already taken: exit non-zero, naming the port', redraftOnly, async (t) => {
  const port = await freePort();
  const blocker = createServer();
  await new Promise<void>((r) => blocker.listen(port, '127.0.0.1', () => r()));
  t.after(() => blocker.close());
  const r = await redraft(['store', '--port', String(port), '--data-dir', join(tempDir(t), 'd')]);
  assert.notEqual(r.code, 0, `exit ${r.code}: ${r.out}`);
  assert.notEqual(r.code, null, `killed by ${r.signal}`);
  assert.match(r.out, new RegExp(`EADDRINUSE|in use|${port}`));
});

test('a data directory held by a running store: the second one exits non-zero, the first keeps serving', redraftOnly, async (t) => {
  const first = await startRedraft({ mode: 'store' });
  t.after(() => first.stop());
  assert.equal((await first.cli(['SET', 'lock:k', 'v'])).trim(), 'OK');
  const r = await redraft(['store', '--port', String(await freePort()), '--data-dir', first.dataDir]);
  assert.notEqual(r.code, 0, `exit ${r.code}: ${r.out}`);
  assert.notEqual(r.code, null, `killed by ${r.signal}`);
  assert.match(r.out, /lock|LOCK|in use|already/i);
  assert.equal((await first.cli(['GET', 'lock:k'])).trim(), 'v');
});
