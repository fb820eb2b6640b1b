// Hibernation with real processes: 50 regions on three stores go quiet (the
// Prometheus gauge of hibernating regions climbs to every replica); then
// kill -9 of the store leading the most of them. Its sleeping followers hear
// no StoreAlive from it any more, wake, and elect: every region has a leader
// on a running store again within a bound, and ioredis writes to every
// region succeed and read back.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { keySlot } from '@redraft/common';
import { freePorts, ioredisClients, metric, waitFor, withCluster, type Node, type SlotRange } from '../support';

const REGIONS = 50;
/** kill -9 → a leader on a running store for every region (detection 2 s + election 0.5-1 s, on a loaded machine). */
const FAILOVER_BOUND_MS = 15_000;

/** One key per region, found by slot. */
function keysPerRegion(slots: SlotRange[], tag: string): string[] {
  return slots.map((r) => {
    for (let i = 0; ; i++) {
      const k = `${tag}:${i}`;
      const s = keySlot(Buffer.from(k));
      if (s >= r.start && s <= r.end) return k;
    }
  });
}

test('50 idle regions hibernate; kill -9 of the store leading most of them: every region leads again and writes succeed', { timeout: 240_000 }, async (t) => {
  const base = await freePorts(3);
  const metrics = [base, base + 1, base + 2];
  const c = await withCluster(t, { metaArgs: ['--initial-regions', String(REGIONS)], perStoreArgs: metrics.map((p) => ['--metrics-port', String(p)]) });
  const running = (): Node[] => c.stores.filter((s) => s.running);
  const allLed = async (via: Node) => {
    const slots = await c.slots(via);
    return slots.length === REGIONS && slots.every((r) => running().some((s) => s.port === r.master.port)) ? slots : undefined;
  };
  await waitFor(() => allLed(c.stores[0]), { timeoutMs: 60_000, intervalMs: 200, what: `${REGIONS} regions with leaders` });

  // Idle: every replica on every store hibernates.
  await waitFor(async () => (await Promise.all(metrics.map((p) => metric(p, 'redraft_store_hibernating_regions')))).every((n) => n === REGIONS), {
    timeoutMs: 60_000,
    intervalMs: 250,
    what: `redraft_store_hibernating_regions to reach ${REGIONS} on every store`,
  });
  const ticksBefore = await Promise.all(metrics.map((p) => metric(p, 'redraft_store_raft_group_ticks_total')));

  // Some data in every region before the kill (wakes them; they sleep again).
  const make = ioredisClients();
  const client = async (port: number) => {
    const r = make(port);
    if (r.status !== 'ready') await new Promise((res) => r.once('ready', res));
    return r;
  };
  const slots = (await allLed(c.stores[0]))!;
  const before = keysPerRegion(slots, 'before');
  const r0 = await client(c.stores[0].port);
  for (const k of before) assert.equal(await r0.set(k, 'b'), 'OK');
  await waitFor(async () => (await Promise.all(metrics.map((p) => metric(p, 'redraft_store_hibernating_regions')))).every((n) => n === REGIONS), {
    timeoutMs: 60_000,
    intervalMs: 250,
    what: 'every region to hibernate again after the writes',
  });
  const ticksAfter = await Promise.all(metrics.map((p) => metric(p, 'redraft_store_raft_group_ticks_total')));
  t.diagnostic(`group ticks while writing ${REGIONS} keys and going back to sleep: ${ticksAfter.map((v, i) => v - ticksBefore[i]).join(', ')}`);

  // kill -9 the store that leads the most regions.
  const leads = (s: Node) => slots.filter((r) => r.master.port === s.port).length;
  const victim = [...c.stores].sort((a, b) => leads(b) - leads(a))[0];
  const led = leads(victim);
  const killAt = Date.now();
  await victim.kill9();
  const survivor = running()[0];
  await waitFor(() => allLed(survivor), { timeoutMs: FAILOVER_BOUND_MS, intervalMs: 50, what: `a leader on a running store for every region (${victim.name} led ${led})` });
  const failoverMs = Date.now() - killAt;
  process.stdout.write(`# hibernate: killed ${victim.name} (led ${led} of ${REGIONS} sleeping regions); every region led again after ${failoverMs} ms\n`);
  assert.ok(failoverMs < FAILOVER_BOUND_MS);
  for (const s of running()) await waitFor(() => allLed(s), { timeoutMs: 10_000, intervalMs: 100, what: `${s.name} to route every region to a running store` });

  // ioredis writes to every region, through each survivor, and the data from before the kill.
  for (const s of running()) {
    const r = await client(s.port);
    const keys = keysPerRegion(slots, `after-${s.name}`);
    for (const k of keys) assert.equal(await r.set(k, s.name), 'OK', `SET ${k} through ${s.name}`);
    assert.deepEqual(await r.mget(...keys.slice(0, 1)), [s.name]);
    for (const k of keys) assert.equal(await r.get(k), s.name);
    for (const k of before) assert.equal(await r.get(k), 'b', `GET ${k} through ${s.name}`);
  }
});
