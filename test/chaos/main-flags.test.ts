// `npm run chaos` refuses a bad flag with a clear message and a non-zero
// exit, before it starts any process.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const MAIN = join(__dirname, 'main.js');

const cases: Array<[string[], RegExp]> = [
  [['--metas', '2'], /--metas: expected 1 or 3/],
  [['--metas', '0'], /expected a positive integer/],
  [['--seconds', '-5'], /expected a positive integer/],
  [['--faults', 'kill,explode'], /unknown fault "explode" \(known: /],
  [['--read-share', '1.5'], /--read-share: expected a number in \[0, 1\]/],
  [['--unsafe-reads', 'always'], /--unsafe-reads: expected 'lease' or 'follower'/],
  [['--seed', 'abc'], /--seed: expected an integer/],
  [['--no-such-flag'], /unknown option '--no-such-flag'/],
];

for (const [args, message] of cases) {
  test(`chaos main: ${args.join(' ')} is refused`, () => {
    const r = spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8', timeout: 30_000 });
    assert.notEqual(r.status, 0, `exit code ${r.status}; stdout: ${r.stdout}`);
    assert.match(r.stderr, message);
    assert.doesNotMatch(r.stdout, /^cluster:/m, 'no cluster was started');
  });
}
