// The short fault runs of `npm test` (chaos-short, -split, -move, -merge):
// one 20 s run each, with 10 clients, that must be linearizable, lose no
// acknowledged write and bring every restarted process back. A failure's
// message starts with the verdict (seed, summary, the checker's
// counterexample, lost writes), since CI shows only a message's first lines;
// the whole log follows it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { explain } from './checker';
import { runChaos, type ChaosResult } from './run';
import type { Fault } from './nemesis';

export interface ShortRun {
  /** The test's name. */
  name: string;
  faults: Fault[];
  /** A fault every this many ms (default: the nemesis's 2-4 s). */
  intervalMs?: [number, number];
  /** Counts the faults of one kind in the diagnostics, e.g. { label: 'splits', line: /split: REGION SPLIT/ }. */
  count?: { label: string; line: RegExp };
  /** Fails the run when every client was idle at its end. */
  someClientWorking?: boolean;
}

export function shortChaosTest(run: ShortRun): void {
  test(run.name, { timeout: 240_000 }, async (t) => {
    const lines: string[] = [];
    const seed = Number(process.env.CHAOS_SEED ?? Date.now() % 100000);
    const r = await runChaos({ seconds: 20, faults: run.faults, clients: 10, seed, intervalMs: run.intervalMs, log: (l) => lines.push(l) });
    t.diagnostic(`seed=${seed} (CHAOS_SEED=${seed} repeats the choices)`);
    for (const l of lines.filter((x) => /^(fault #|longest-write-gap|LOST|unexpected|history)/.test(x))) t.diagnostic(l);
    t.diagnostic(r.summary);
    if (run.count) t.diagnostic(`${run.count.label}: ${lines.filter((l) => /^fault #/.test(l) && run.count!.line.test(l)).length}`);
    const why = (what: string) => failureReport(what, seed, r, lines);
    assert.equal(r.linearizable, true, why('not linearizable'));
    assert.equal(r.lost, 0, why('acknowledged writes lost'));
    assert.equal(r.restartsFailed, 0, why('restarted processes did not come back'));
    assert.deepEqual(r.unexpectedExits, [], why('processes exited on their own'));
    assert.ok(r.ok > 100, why(`only ${r.ok} operations succeeded`));
    if (run.someClientWorking) assert.ok(r.clientsIdleAtEnd < 10, why("no client had an answer in the run's last 15 s"));
  });
}

/** The verdict first, then the run's whole log. */
export function failureReport(what: string, seed: number, r: ChaosResult, lines: readonly string[]): string {
  const head = [`${what}: seed=${seed} (CHAOS_SEED=${seed} repeats the choices); ${r.summary}`];
  if (!r.linearizable) head.push(explain(r.check));
  for (const l of r.lostWrites) head.push(`LOST: ${l.reason}`);
  if (r.unexpectedExits.length) head.push(`unexpected exits: ${r.unexpectedExits.join('; ')}`);
  if (r.historyFile) head.push(`history: ${r.historyFile}`);
  return [...head, '--- the whole log:', ...lines].join('\n');
}
