// A short fault run with replica moves (npm test -- chaos-move): 1 meta and
// 4 stores; the slot-0 region's replicas move between stores through the
// meta (often away from the leader) while leaders move and processes are
// killed, for 20 s, with 10 clients; the history must be linearizable and no
// acknowledged write lost.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runChaos } from './run';

test('chaos: 20 s of move, transfer and kill keep the history linearizable and every acknowledged write', { timeout: 240_000 }, async (t) => {
  const lines: string[] = [];
  const seed = Number(process.env.CHAOS_SEED ?? Date.now() % 100000);
  const r = await runChaos({ seconds: 20, faults: ['move', 'move', 'move', 'transfer', 'kill'], clients: 10, seed, intervalMs: [1000, 2000], log: (l) => lines.push(l) });
  t.diagnostic(`seed=${seed} (CHAOS_SEED=${seed} repeats the choices)`);
  for (const l of lines.filter((x) => /^(fault #|longest-write-gap|LOST|unexpected|history)/.test(x))) t.diagnostic(l);
  t.diagnostic(r.summary);
  const why = () => lines.join('\n');
  t.diagnostic(`moves: ${lines.filter((l) => /^fault #.* move: REGION MOVE/.test(l)).length}`);
  assert.equal(r.linearizable, true, `not linearizable:\n${why()}`);
  assert.equal(r.lost, 0, `acknowledged writes lost:\n${why()}`);
  assert.equal(r.restartsFailed, 0, `restarted processes did not come back:\n${why()}`);
  assert.deepEqual(r.unexpectedExits, [], `processes exited on their own:\n${why()}`);
  assert.ok(r.ok > 100, `only ${r.ok} operations succeeded:\n${why()}`);
});
