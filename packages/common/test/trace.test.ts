// util/trace.ts: the opt-in event timeline of scripts/trace-write.sh. It
// reads its directory from the environment when loaded, so each case runs a
// child process.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const TRACE_MODULE = join(__dirname, '../src/util/trace.js');

/** Runs `body` (JavaScript, with `trace` and `traceEvent` in scope) in a child whose REDRAFT_TRACE_DIR is `dir`. */
function runChild(dir: string | undefined, body: string): { status: number | null; stderr: string } {
  const script = `const { trace, traceEvent } = require(${JSON.stringify(TRACE_MODULE)});\n${body}`;
  const env = { ...process.env };
  delete env.REDRAFT_TRACE_DIR;
  if (dir !== undefined) env.REDRAFT_TRACE_DIR = dir;
  const r = spawnSync(process.execPath, ['-e', script], { env, encoding: 'utf8', timeout: 30_000 });
  return { status: r.status, stderr: r.stderr };
}

// The child waits (as the script does) until the flag file turns recording on, records, and exits.
const RECORD_WHEN_ON = `
const deadline = Date.now() + 20000;
const poll = setInterval(() => {
  if (trace.on) {
    clearInterval(poll);
    traceEvent('first x=1');
    traceEvent('second');
  } else if (Date.now() > deadline) {
    clearInterval(poll);
    process.exitCode = 3;
  }
}, 5);`;

test('with REDRAFT_TRACE_DIR set and its flag file present, events reach <pid>.txt as "<µs> <event>" lines', () => {
  const dir = mkdtempSync(join(tmpdir(), 'redraft-trace-'));
  try {
    writeFileSync(join(dir, 'on'), '');
    const r = runChild(dir, RECORD_WHEN_ON);
    assert.equal(r.status, 0, r.stderr);
    const files = readdirSync(dir).filter((f) => /^\d+\.txt$/.test(f));
    assert.equal(files.length, 1);
    const lines = readFileSync(join(dir, files[0]), 'utf8').trim().split('\n');
    assert.equal(lines.length, 2);
    const [t1, ...rest1] = lines[0].split(' ');
    const [t2, ...rest2] = lines[1].split(' ');
    assert.match(t1, /^\d+$/);
    assert.ok(Number(t2) >= Number(t1), 'monotonic time');
    assert.equal(rest1.join(' '), 'first x=1');
    assert.equal(rest2.join(' '), 'second');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('without the flag file nothing is recorded; without the variable tracing stays off', () => {
  const dir = mkdtempSync(join(tmpdir(), 'redraft-trace-'));
  try {
    // Four polls of the flag file go by with no flag: still off.
    const r = runChild(dir, `setTimeout(() => { if (trace.on) process.exitCode = 4; }, 250);`);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(readdirSync(dir), []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const off = runChild(undefined, `setTimeout(() => { if (trace.on) process.exitCode = 4; }, 120);`);
  assert.equal(off.status, 0, off.stderr);
});

test('a directory it cannot write to stops tracing with a warning, and the process goes on', () => {
  const dir = mkdtempSync(join(tmpdir(), 'redraft-trace-'));
  try {
    // The flag is there, but <pid>.txt cannot be created: its "directory" is a file.
    const notADir = join(dir, 'file');
    writeFileSync(notADir, '');
    const r = runChild(notADir, `traceEvent('lost'); setTimeout(() => { if (trace.on) process.exitCode = 4; }, 250);`);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /REDRAFT_TRACE_DIR: cannot write .*tracing stopped/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
