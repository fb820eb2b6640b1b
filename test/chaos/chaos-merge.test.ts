// A short fault run with merges (npm test -- chaos-merge): regions are split
// and merged back through the meta while leaders move and stores are killed,
// for 20 s, with 10 clients; the history must be linearizable and no
// acknowledged write lost.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runChaos } from './run';

test('chaos: 20 s of split, merge, transfer and kill keep the history linearizable and every acknowledged write', { timeout: 240_000 }, async (t) => {
  const lines: string[] = [];
  const seed = Number(process.env.CHAOS_SEED ?? Date.now() % 100000);
  const r = await runChaos({ seconds: 20, faults: ['split', 'split', 'merge', 'merge', 'transfer', 'kill'], clients: 10, seed, intervalMs: [1000, 2000], log: (l) => lines.push(l) });
  t.diagnostic(`seed=${seed} (CHAOS_SEED=${seed} repeats the choices)`);
  for (const l of lines.filter((x) => /^(fault #|longest-write-gap|LOST|unexpected|history)/.test(x))) t.diagnostic(l);
  t.diagnostic(r.summary);
  const why = () => lines.join('\n');
  t.diagnostic(`merges: ${lines.filter((l) => /^fault #.* merge: REGION MERGE .*operator \d+/.test(l)).length}`);
  assert.equal(r.linearizable, true, `not linearizable:\n${why()}`);
  assert.equal(r.lost, 0, `acknowledged writes lost:\n${why()}`);
  assert.equal(r.restartsFailed, 0, `restarted processes did not come back:\n${why()}`);
  assert.deepEqual(r.unexpectedExits, [], `processes exited on their own:\n${why()}`);
  assert.ok(r.ok > 100, `only ${r.ok} operations succeeded:\n${why()}`);
});
