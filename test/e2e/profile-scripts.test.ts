// The profiling scripts answer a bad command line or an unreadable perf file
// with one clear line and a non-zero exit, never a stack trace.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { repoRoot, tempDir } from '../support';

function flamegraph(args: string[]): { status: number | null; stderr: string } {
  const r = spawnSync(process.execPath, [join(repoRoot(), 'scripts', 'flamegraph.mjs'), ...args], { encoding: 'utf8', timeout: 30_000 });
  return { status: r.status, stderr: r.stderr };
}

test('flamegraph.mjs: a bad command line is a usage line and exit 2', () => {
  for (const args of [[], ['a.data'], ['a.data', 'b.data', '--out', 'x.svg'], ['a.data', '--out', 'x.svg', '--min-pct', 'lots'], ['a.data', '--out', 'x.svg', '--min-pct', '-1'], ['a.data', '--out', 'x.svg', '--bogus'], ['a.data', '--out']]) {
    const r = flamegraph(args);
    assert.equal(r.status, 2, args.join(' '));
    assert.match(r.stderr, /^usage: flamegraph\.mjs PERF_DATA --out FILE\.svg/, args.join(' '));
  }
});

test('flamegraph.mjs: a perf file perf cannot read (or no perf at all) is one line and exit 1, and no SVG', (t) => {
  const dir = tempDir(t);
  const bad = join(dir, 'garbage.data');
  writeFileSync(bad, 'not a perf file\n');
  const out = join(dir, 'out.svg');
  for (const input of [bad, join(dir, 'missing.data')]) {
    const r = flamegraph([input, '--out', out]);
    assert.equal(r.status, 1, input);
    assert.match(r.stderr, /^flamegraph: /, input);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  }
  assert.equal(existsSync(out), false);
});
