// The core (everything under src/raft except sim/) does no I/O, reads no
// clock, draws no global randomness and awaits nothing.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';

// Compiled to dist/test/raft: the sources are three levels up.
const root = join(__dirname, '..', '..', '..', 'src', 'raft');

function sources(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) {
      if (name !== 'sim') sources(p, out);
    } else if (name.endsWith('.ts')) out.push(p);
  }
  return out;
}

const FORBIDDEN: [RegExp, string][] = [
  [/from\s+['"]node:/, 'a node: import'],
  [/require\(/, 'require()'],
  [/from\s+['"](fs|net|os|path|child_process|crypto|timers|events|http|worker_threads|util|stream)['"]/, 'a Node module import'],
  [/\bDate\b/, 'Date'],
  [/Math\.random/, 'Math.random'],
  [/\basync\b/, 'async'],
  [/\bawait\b/, 'await'],
  [/\b(setTimeout|setInterval|setImmediate|queueMicrotask)\b/, 'a timer'],
  [/\bprocess\./, 'process'],
  [/\bperformance\b/, 'performance'],
  [/\bPromise\b/, 'Promise'],
];

test('the Raft core is pure: no Node imports, clocks, global randomness, async or timers', () => {
  const files = sources(root);
  assert.ok(files.length >= 8, `found ${files.length} core sources under ${root}`);
  const found: string[] = [];
  for (const f of files) {
    const text = readFileSync(f, 'utf8')
      .split('\n')
      .filter((l) => !l.trim().startsWith('//') && !l.trim().startsWith('*'))
      .join('\n');
    for (const [re, what] of FORBIDDEN) if (re.test(text)) found.push(`${f}: ${what}`);
  }
  assert.deepEqual(found, []);
});
