// The fault suite must be able to fail: stores started with the test-only
// REDRAFT_UNSAFE_READS=follower answer READONLY reads from their local state
// without ReadIndex, so a follower cut off by a partition (or merely lagging)
// serves stale values while the others move on. The checker must see it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runChaos } from './run';
import { Firewall } from './firewall';

test('chaos: the checker catches stale follower reads (REDRAFT_UNSAFE_READS=follower)', { timeout: 240_000 }, async (t) => {
  const lines: string[] = [];
  const noFirewall = Firewall.unavailable();
  if (noFirewall) t.diagnostic(`no partitions (${noFirewall}): relying on follower lag alone`);
  const r = await runChaos({
    seconds: 15,
    faults: noFirewall ? [] : ['partition'],
    clients: 10,
    seed: 1,
    unsafeReads: 'follower',
    opTimeoutMs: 1000,
    intervalMs: [1000, 2000],
    holdMs: [2000, 4000],
    saveHistory: 'never',
    log: (l) => lines.push(l),
  });
  t.diagnostic(r.summary);
  assert.equal(r.linearizable, false, `unsafe follower reads went unnoticed:\n${lines.join('\n')}`);
  // The violation is a read: writes alone stay linearizable.
  const bad = r.check.keys.filter((k) => !k.linearizable);
  const staleRead = (k: (typeof bad)[number]) => k.counterexample?.stuck.some((op) => op.kind === 'read') || k.problems?.some((p) => /LRANGE|SMEMBERS/.test(p));
  assert.ok(bad.some(staleRead), 'a stale read is among the ops that fit no order');
});
