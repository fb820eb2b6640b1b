// The playground's supervisor with tiny child scripts instead of stores: the
// restart backoff doubles up to its cap and starts over after a long run, the
// logged log tail is only the dead run's, --no-restart leaves a child down,
// and nothing restarts once stopping.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Logger } from '@redraft/common';
import { Supervisor, summarize } from '../src/supervisor';

/** A logger that keeps the messages ("warn: ...") for the test to read. */
function recordingLogger(): { log: Logger; lines: string[] } {
  const lines: string[] = [];
  const at = (level: string) => (a: unknown, b?: unknown) => lines.push(`${level}: ${typeof a === 'string' ? a : String(b)}`);
  const log = { info: at('info'), warn: at('warn'), error: at('error'), debug: at('debug') } as unknown as Logger;
  return { log, lines };
}

async function until(cond: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

function setup(t: { after(fn: () => void): void }, script: string): { dir: string; entry: string; logFile: string } {
  const dir = mkdtempSync(join(tmpdir(), 'redraft-supervisor-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const entry = join(dir, 'child.js');
  writeFileSync(entry, script);
  return { dir, entry, logFile: join(dir, 'child.log') };
}

// Port 1: nothing answers PING there, so no run is ever "back".
const NO_PORT = 1;

test('the restart delay doubles up to its cap, and starts over after a run that lasted', async (t) => {
  // Runs 1, 2, 4, 5 die at once; run 3 lasts longer than stableAfterMs. Each prints its number.
  const { entry, logFile } = setup(
    t,
    `const fs = require('fs'); const f = require('path').join(__dirname, 'runs');
     const n = (fs.existsSync(f) ? Number(fs.readFileSync(f, 'utf8')) : 0) + 1; fs.writeFileSync(f, String(n));
     console.log('run ' + n);
     if (n === 3) setTimeout(() => process.exit(1), 3000); else process.exit(1);`,
  );
  const { log, lines } = recordingLogger();
  const sup = new Supervisor({ entry, log, restart: true, initialBackoffMs: 50, maxBackoffMs: 100, stableAfterMs: 2500 });
  t.after(() => sup.stopAll([sup.children]));
  sup.add({ name: 'c', port: NO_PORT, args: [], logFile });
  const restarts = () => lines.filter((l) => l.startsWith('warn: c exited'));
  await until(() => restarts().length >= 5, 'five deaths');
  await sup.stopAll([sup.children]);
  const delays = restarts().slice(0, 5).map((l) => /restarting in ([\d.]+) s/.exec(l)?.[1]);
  // 0.05, 0.1, then capped at 0.1; run 3 lasted: back to 0.05, then 0.1.
  assert.deepEqual(delays, ['0.05', '0.1', '0.05', '0.1', '0.1']);
  // Each death quotes its own run's output only.
  restarts()
    .slice(0, 5)
    .forEach((l, i) => {
      assert.match(l, new RegExp(`exited \\(code 1\\).*\\n    run ${i + 1}$`));
    });
});

test('restart off: a dead child stays down, logged with its exit and log', async (t) => {
  const { entry, logFile } = setup(t, `console.error('boom: no disk'); process.exit(3);`);
  const { log, lines } = recordingLogger();
  const sup = new Supervisor({ entry, log, restart: false });
  t.after(() => sup.stopAll([sup.children]));
  const child = sup.add({ name: 'c', port: NO_PORT, args: [], logFile });
  await until(() => lines.some((l) => l.startsWith('error: c exited')), 'the death to be logged');
  const death = lines.find((l) => l.startsWith('error: c exited'))!;
  assert.match(death, /c exited \(code 3\); not restarting it \(--no-restart\); it was pid \d+; its log .*child\.log ends with:\n {4}boom: no disk/);
  assert.equal(child.running, false);
  assert.equal(lines.filter((l) => l.startsWith('info: c started')).length, 1);
});

test('stopAll: children get SIGTERM and nothing restarts afterwards', async (t) => {
  const { entry, logFile } = setup(t, `process.on('SIGTERM', () => { console.log('bye'); process.exit(0); }); setInterval(() => {}, 1000); console.log('up');`);
  const { log, lines } = recordingLogger();
  const sup = new Supervisor({ entry, log, restart: true, initialBackoffMs: 10 });
  const children = [sup.add({ name: 'a', port: NO_PORT, args: [], logFile }), sup.add({ name: 'b', port: NO_PORT, args: [], logFile: `${logFile}.b` })];
  await until(() => readFileSync(logFile, 'utf8').includes('up') && readFileSync(`${logFile}.b`, 'utf8').includes('up'), 'both children to run');
  await sup.stopAll([[children[0]!], [children[1]!]]);
  assert.ok(children.every((c) => !c.running));
  assert.match(readFileSync(logFile, 'utf8'), /bye/);
  assert.equal(lines.filter((l) => l.includes('exited')).length, 0, lines.join('\n'));
});

test('summarize: a pino line as LEVEL msg: error; other lines as they are', () => {
  assert.equal(summarize('{"level":60,"msg":"store failed to start","err":{"message":"ENOTDIR: x"}}'), 'FATAL store failed to start: ENOTDIR: x');
  assert.equal(summarize('{"level":30,"msg":"store ready"}'), 'INFO store ready');
  assert.equal(summarize('Segmentation fault'), 'Segmentation fault');
  assert.equal(summarize('x'.repeat(400)).length, 301);
});
