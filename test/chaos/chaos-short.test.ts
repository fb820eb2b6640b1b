// A short fault run (npm test -- chaos-short): a real cluster of 1 meta and
// 3 stores, 10 clients, kill -9 / SIGSTOP / SIGTERM of random processes for
// 20 s; the history must be linearizable, no acknowledged write lost, every
// restarted process back. Partitions are left to `npm run chaos`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runChaos } from './run';

test('chaos: 20 s of kill, pause and restart keep the history linearizable and every acknowledged write', { timeout: 240_000 }, async (t) => {
  const lines: string[] = [];
  const seed = Number(process.env.CHAOS_SEED ?? Date.now() % 100000);
  const r = await runChaos({ seconds: 20, faults: ['kill', 'pause', 'restart'], clients: 10, seed, log: (l) => lines.push(l) });
  t.diagnostic(`seed=${seed} (CHAOS_SEED=${seed} repeats the choices)`);
  for (const l of lines.filter((x) => /^(fault #|longest-write-gap|LOST|unexpected|history)/.test(x))) t.diagnostic(l);
  t.diagnostic(r.summary);
  const why = () => lines.join('\n');
  assert.equal(r.linearizable, true, `not linearizable:\n${why()}`);
  assert.equal(r.lost, 0, `acknowledged writes lost:\n${why()}`);
  assert.equal(r.restartsFailed, 0, `restarted processes did not come back:\n${why()}`);
  assert.deepEqual(r.unexpectedExits, [], `processes exited on their own:\n${why()}`);
  assert.ok(r.ok > 100, `only ${r.ok} operations succeeded:\n${why()}`);
  assert.ok(r.clientsIdleAtEnd < 10, `no client had an answer in the run's last 15 s:\n${why()}`);
});
