// A store killed again and again under write load always starts again.
// Regression: the peer server listened (and the store registered) before the
// persisted replicas were loaded, so a heartbeat arriving in between created
// an empty replica whose hard state overwrote the persisted one; the store
// then failed every later start with "commit 0 behind truncated N".
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startWriters, waitFor, withCluster } from '../support';

test('a store killed repeatedly under write load always restarts and serves', { timeout: 240_000 }, async (t) => {
  // A small log GC threshold: the truncated index moves on, as in long runs.
  const c = await withCluster(t, { storeArgs: ['--raft-log-gc-threshold', '100'] });
  const w = startWriters(c.stores, 6, 'rl');
  let writersStopped = false;
  t.after(async () => {
    if (!writersStopped) await w.stop();
  });
  for (let round = 0; round < 6; round++) {
    const victim = c.stores[round % c.stores.length];
    const before = w.acks.length;
    await waitFor(() => w.acks.length >= before + 150, { timeoutMs: 30_000, what: `writes before kill #${round + 1}` });
    await victim.kill9();
    // Restart at once: the other stores' leaders are sending it messages already.
    victim.start();
    await victim.ready(30_000);
    await waitFor(async () => String(await victim.call('CLUSTER', 'INFO')).includes('cluster_state:ok'), {
      timeoutMs: 30_000,
      what: `${victim.name} serving after restart #${round + 1}`,
      proc: victim.proc,
    });
  }
  await w.stop();
  writersStopped = true;
  const log = c.stores.map((s) => s.log()).join('\n');
  assert.doesNotMatch(log, /store failed to start/, 'a store failed to start');
  // Every acknowledged write is there, read on every store's own replica.
  for (const s of c.stores) {
    await waitFor(
      async () => {
        await c.expectAcked(s, w.acks, { readonly: true });
        return true;
      },
      { timeoutMs: 30_000, intervalMs: 500, what: `${s.name} to serve every acknowledged write`, proc: s.proc },
    );
  }
  process.stdout.write(`# restart-loop: 6 kills, ${w.acks.length} acknowledged writes all present on every store\n`);
});
