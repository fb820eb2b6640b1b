// A graceful stop (SIGTERM, as in a rolling restart) of the store leading
// the region hands the leadership to a caught-up replica before it goes, so
// the writers through the other stores wait a transfer rather than an
// election timeout; no acknowledged write is lost.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startWriters, waitFor, withCluster } from '../support';

test('SIGTERM of the leading store hands its regions to another store first', { timeout: 150_000 }, async (t) => {
  const c = await withCluster(t);
  const leader = await c.leaderStore();
  const others = c.stores.filter((s) => s !== leader);
  const w = startWriters(others, 10, 'gs');
  let writing = true;
  t.after(async () => {
    if (writing) await w.stop();
  });

  await waitFor(() => w.acks.length >= 300, { timeoutMs: 30_000, what: '300 acknowledged writes before the stop' });
  const stopAt = Date.now();
  const result = await leader.stop();
  const stoppedAt = Date.now();
  assert.ok(!result?.forced, `${leader.name} needed SIGKILL to stop`);
  await waitFor(() => w.acks.filter((a) => a.sentAt > stoppedAt).length >= 300, { timeoutMs: 30_000, what: 'writes to go on after the stop' });
  await w.stop();
  writing = false;

  const handOff = leader.logRecord<{ regions: number; moved: number; ms: number }>('leadership handed off before stopping');
  const line = JSON.stringify(handOff);
  assert.ok(handOff.regions >= 1, line);
  assert.equal(handOff.moved, handOff.regions, `every region it led moved before it stopped: ${line}`);

  // The longest time with no write acknowledged, from the last ack before the SIGTERM on.
  const ackTimes = w.acks.map((a) => a.ackAt).sort((a, b) => a - b);
  let gap = 0;
  for (let i = 1; i < ackTimes.length; i++) if (ackTimes[i] > stopAt) gap = Math.max(gap, ackTimes[i] - ackTimes[i - 1]);
  const newLeader = await c.leaderStore({ via: others[0] });
  assert.notEqual(newLeader, leader);
  t.diagnostic(`hand-off of ${handOff.regions} region(s) took ${handOff.ms} ms; SIGTERM to exit ${stoppedAt - stopAt} ms; longest time with no write acknowledged ${gap} ms; ${w.errors.length} errors`);

  // Every acknowledged write is readable through both stores left.
  for (const s of others) await c.expectAcked(s, w.acks);
});
