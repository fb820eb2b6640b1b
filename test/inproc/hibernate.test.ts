// In process: idle regions hibernate (no ticks at all), a write wakes one
// region and succeeds; then the store leading many sleeping regions is cut
// off. Their followers must notice its silence (store liveness, not Raft
// heartbeats), elect new leaders within a bound, and take writes; the old
// leader, woken by reads, must never answer one from its stale data; once
// healed, every replica converges and the new values read back.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { keySlot } from '@redraft/common';
import { InprocCluster, harnessSeed, type InprocStore } from '../support/inproc';
import { respMany, waitFor, type SimpleReply } from '../support';
import { between, pick } from '../chaos/random';

const REGIONS = 24;
/** From the cut to a new leader for every region it led (detection 0.5 s, election 0.5-1 s, a loaded machine). */
const FAILOVER_BOUND_MS = 15_000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const asleep = (s: InprocStore) => [...s.node.raft!.peers.values()].filter((p) => p.node.hibernating).length;
const ticks = (s: InprocStore) => s.node.raft!.loop.stats.groupTicks;

/** A key whose slot falls into the region (searched by name: key0, key1, ...). */
function keyIn(c: InprocCluster, regionId: number, tag: string): string {
  const r = c.regions().find((x) => x.region.id === regionId)!.region;
  for (let i = 0; ; i++) {
    const k = `${tag}:${i}`;
    const slot = keySlot(Buffer.from(k));
    if (slot >= r.startSlot && slot < r.endSlot) return k;
  }
}

async function waitAllAsleep(c: InprocCluster, what: string): Promise<void> {
  await waitFor(() => c.stores.every((s) => asleep(s) === s.node.raft!.peers.size), {
    timeoutMs: 30_000,
    intervalMs: 100,
    what: `every replica to hibernate (${what}); now ${c.stores.map((s) => `${s.name}:${asleep(s)}/${s.node.raft!.peers.size}`).join(' ')}`,
  });
}

test('inproc hibernate: idle regions stop ticking; a write wakes one; a cut-off sleeping leader is replaced and serves no stale read', { timeout: 180_000 }, async (t) => {
  const { rnd } = harnessSeed(t, 'inproc/hibernate');
  const c = await InprocCluster.start(t, { stores: 3, initialRegions: REGIONS });
  await waitFor(() => c.regions().length === REGIONS && c.regions().every((r) => c.leaderOf(r.region.id)), { timeoutMs: 30_000, what: 'every region to have a leader' });

  // 1. Idle: every replica hibernates, and no group takes a tick any more.
  await waitAllAsleep(c, 'idle');
  const before = c.stores.map(ticks);
  await sleep(1000); // a window in which, awake, 72 replicas would take 3,600 ticks
  assert.deepEqual(c.stores.map(ticks), before, 'no tick while every region sleeps');

  // 2. A write wakes its region (only that one) and succeeds.
  const one = pick(rnd, c.regions()).region.id;
  const k0 = keyIn(c, one, 'wake');
  const via = pick(rnd, c.stores);
  assert.deepEqual(await respMany(via.port, [['SET', k0, 'v0'], ['GET', k0]]), ['OK', 'v0']);
  const leader0 = c.leaderOf(one)!;
  assert.ok(asleep(leader0) >= leader0.node.raft!.peers.size - 2, 'other regions stay asleep');
  await waitAllAsleep(c, 'after the write');

  // 3. Cut off the store that leads the most regions, all asleep, each holding a key.
  const victim = [...c.stores].sort((a, b) => c.regions().filter((r) => b.leads(r.region.id)).length - c.regions().filter((r) => a.leads(r.region.id)).length)[0];
  const led = c.regions().filter((r) => victim.leads(r.region.id)).map((r) => r.region.id);
  assert.ok(led.length > 0);
  const keys = led.map((id) => keyIn(c, id, `r${id}`));
  const others = c.stores.filter((s) => s !== victim);
  assert.deepEqual(await respMany(victim.port, keys.map((k) => ['SET', k, 'old'])), keys.map(() => 'OK'));
  await waitAllAsleep(c, 'before the cut');
  await sleep(between(rnd, 0, 300));
  const cutAt = Date.now();
  const heal = c.net.isolate(victim.name);
  t.diagnostic(`isolated ${victim.name} (store ${victim.id}), leader of ${led.length} sleeping regions`);

  // Reads at the old leader while it is cut off: it may answer none of them
  // ('old' would come from a lease it cannot hold: no quorum heard it since
  // it woke; the others write 'new' meanwhile). An error or no answer is fine.
  const staleReads: string[] = [];
  const reads: Promise<void>[] = [];
  let reading = true;
  const reader = (async () => {
    while (reading) {
      const k = pick(rnd, keys);
      reads.push(
        respMany(victim.port, [['GET', k]], { timeoutMs: 2000 }).then(
          ([r]: SimpleReply[]) => void (r === 'old' && staleReads.push(`${k} at ${Date.now() - cutAt} ms`)),
          () => undefined,
        ),
      );
      await sleep(between(rnd, 20, 80));
    }
  })();

  // Followers on the other stores elect new leaders for every region the victim led.
  await waitFor(() => led.every((id) => others.some((s) => s.leads(id))), { timeoutMs: FAILOVER_BOUND_MS, intervalMs: 50, what: 'new leaders for the regions of the cut-off store' });
  const failoverMs = Date.now() - cutAt;
  t.diagnostic(`every region of ${victim.name} has a new leader ${failoverMs} ms after the cut`);
  assert.ok(failoverMs < FAILOVER_BOUND_MS);

  // Writes through the new leaders succeed and read back there.
  const writeVia = pick(rnd, others);
  assert.deepEqual(await respMany(writeVia.port, keys.map((k) => ['SET', k, 'new']), { timeoutMs: 15_000 }), keys.map(() => 'OK'));
  assert.deepEqual(await respMany(writeVia.port, keys.map((k) => ['GET', k]), { timeoutMs: 15_000 }), keys.map(() => 'new'));
  await sleep(1500); // more reads at the old leader, now that 'new' is committed elsewhere
  reading = false;
  await reader;
  await Promise.all(reads);
  t.diagnostic(`${reads.length} reads sent to the cut-off old leader`);
  assert.deepEqual(staleReads, [], 'the cut-off old leader answered reads');
  for (const id of led) {
    const p = victim.node.raft!.peers.get(id)!;
    assert.equal(p.isLeader && p.node.leaseValid(), false, `region ${id}: the cut-off old leader holds no lease`);
  }

  // 4. Healed: replicas converge, the new values everywhere.
  heal();
  await c.expectAllReplicasEqual();
  assert.deepEqual(await respMany(victim.port, keys.map((k) => ['GET', k]), { timeoutMs: 15_000 }), keys.map(() => 'new'));
  await waitAllAsleep(c, 'after healing');
});
