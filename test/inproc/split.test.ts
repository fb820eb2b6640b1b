// In process: a region splits (then one half again) while clients write,
// with one follower cut off from everyone for the splits and healed later.
// The leaders' logs are compacted far past the follower meanwhile (a log GC
// threshold of 20 entries, 150 writes while it is cut off), so the healed
// follower catches up by snapshots: of the parent (now narrower) and of the
// new regions, whose replicas it creates empty. Every replica of every
// region must converge and every acknowledged write read back.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InprocCluster, harnessSeed } from '../support/inproc';
import { startWriters, waitFor, type Node } from '../support';
import { between, pick } from '../chaos/random';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits until the writers have had n more writes acknowledged. */
async function moreWrites(writers: { acks: unknown[] }, n: number): Promise<void> {
  const want = writers.acks.length + n;
  await waitFor(() => writers.acks.length >= want, { timeoutMs: 60_000, what: `${n} more acknowledged writes` });
}

test('inproc split: split twice while writing, a follower partitioned through both and healed', { timeout: 120_000 }, async (t) => {
  const { rnd } = harnessSeed(t, 'inproc/split');
  // A short log: the follower, behind by far more than this, catches up by snapshot.
  const c = await InprocCluster.start(t, { stores: 3, raftLogGcThreshold: 20 });
  const writers = startWriters(c.stores as unknown as Node[], 4, 'split');
  t.after(() => writers.stop());

  const [first] = c.regions();
  const leader = await c.waitLeader(first.region.id);
  const follower = pick(rnd, c.stores.filter((s) => s !== leader));
  await sleep(between(rnd, 200, 800));
  const heal = c.net.isolate(follower.name);
  t.diagnostic(`isolated ${follower.name} (store ${follower.id})`);

  const slot = between(rnd, 2000, 14000);
  await c.operate(60_000, 'REGION', 'SPLIT', first.region.id, slot);
  const halves = c.regions().sort((a, b) => a.region.startSlot - b.region.startSlot);
  assert.equal(halves.length, 2);
  assert.equal(halves[1].region.startSlot, slot);
  // One half again, at a slot of its own.
  const half = pick(rnd, halves);
  const { startSlot, endSlot } = half.region;
  await c.operate(60_000, 'REGION', 'SPLIT', half.region.id, between(rnd, startSlot + 1, endSlot - 1));
  assert.equal(c.regions().length, 3);

  // Writes land in the new regions while the follower is still cut off, and again after it healed
  // (counted, not timed: a loaded machine writes slowly).
  await sleep(between(rnd, 500, 1500));
  await moreWrites(writers, 150);
  heal();
  t.diagnostic(`healed ${follower.name}`);
  await moreWrites(writers, 30);
  await writers.stop();
  await c.expectAllReplicasEqual();
  for (const r of c.regions()) assert.ok(follower.hasReplica(r.region.id), `${follower.name} has no replica of region ${r.region.id}`);
  const values = await c.readAll(writers.acks.map((a) => a.key));
  const missing = writers.acks.filter((a, i) => values[i] !== a.value);
  assert.deepEqual(missing.slice(0, 5), [], `${missing.length} acknowledged writes not read back`);
  t.diagnostic(`${writers.acks.length} writes acknowledged and read back; regions ${c.regions().map((r) => `${r.region.id}[${r.region.startSlot},${r.region.endSlot})`).join(' ')}`);
});
