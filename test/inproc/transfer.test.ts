// In process: leader transfers of one region while a share of every Raft
// message between stores is dropped (a seeded coin per message) and clients
// write. Every transfer must finish with the leader on its target; then the
// replicas converge and every acknowledged write reads back.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InprocCluster, harnessSeed } from '../support/inproc';
import { startWriters, waitFor, type Node } from '../support';
import { between, pick } from '../chaos/random';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('inproc transfer-leader: four transfers under dropped Raft messages', { timeout: 180_000 }, async (t) => {
  const { rnd, stream } = harnessSeed(t, 'inproc/transfer');
  const c = await InprocCluster.start(t, { stores: 3 });
  const [{ region }] = c.regions();
  const writers = startWriters(c.stores as unknown as Node[], 4, 'xfer');
  t.after(() => writers.stop());

  // Only store-to-store Raft traffic: the meta still hears every heartbeat.
  const share = between(rnd, 10, 25) / 100;
  c.net.dropMessages(share, stream(1), (e) => e.type === 'raft');
  t.diagnostic(`dropping ${share * 100}% of Raft messages between stores`);

  for (let i = 0; i < 4; i++) {
    await sleep(between(rnd, 100, 600));
    const from = await c.waitLeader(region.id);
    const to = pick(rnd, c.stores.filter((s) => s !== from));
    // A target behind by dropped appends is refused (NOT_CAUGHT_UP, the operator cancelled): asked again once it caught up.
    const op = await waitFor(
      () =>
        c.operate(60_000, 'REGION', 'TRANSFER-LEADER', region.id, to.id).catch((e: Error) => {
          if (/NOT_CAUGHT_UP/.test(e.message)) return undefined;
          throw e;
        }),
      { timeoutMs: 60_000, intervalMs: 200, what: `leader transfer to ${to.name}` },
    );
    // Done in the meta's map means a heartbeat showed the target leading; it may since have lost it to an election (dropped heartbeats).
    t.diagnostic(`transfer ${i + 1}: ${from.name} → ${to.name} done in ${op.endMs - op.startMs} ms`);
  }
  c.net.clearFilters();
  // Some writes after the faults too (counted, not timed: a loaded machine writes slowly).
  const want = writers.acks.length + 30;
  await waitFor(() => writers.acks.length >= want, { timeoutMs: 60_000, what: '30 more acknowledged writes' });
  await writers.stop();

  await c.expectAllReplicasEqual();
  const values = await c.readAll(writers.acks.map((a) => a.key));
  const missing = writers.acks.filter((a, i) => values[i] !== a.value);
  assert.deepEqual(missing.slice(0, 5), [], `${missing.length} acknowledged writes not read back`);
  t.diagnostic(`${writers.acks.length} writes acknowledged and read back; ${c.net.counters.dropped} frames dropped`);
});
