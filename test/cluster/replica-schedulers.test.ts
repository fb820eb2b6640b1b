// The meta heals and grows the cluster by itself, with real processes and
// ioredis clients writing throughout (every acknowledged write read back):
//  - replica checker: a store stopped for longer than store-down-seconds has
//    its replica re-created on another store (three healthy replicas again);
//    when it comes back, it destroys the replica it no longer owns;
//  - region balance: a 4th store that joins gets replicas until the counts
//    are even; `redraft ctl drain-store` then empties it and it is removed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startWriters, waitFor, withCluster, type Cluster, type Node, ctl } from '../support';

/** `k=v` fields of each line of a meta text reply. */
async function lines(c: Cluster, ...args: string[]): Promise<Array<Record<string, string>>> {
  return (await c.admin(c.metas[0], ...args))
    .split('\n')
    .filter(Boolean)
    .map((l) => Object.fromEntries(l.split(' ').map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)])));
}

/** Store id of each store node, by its client port. */
async function storeIdOf(c: Cluster, n: Node): Promise<number> {
  return waitFor(async () => Number((await lines(c, 'STORE', 'LIST')).find((s) => s.client_addr?.endsWith(`:${n.port}`))?.id ?? 0) || undefined, {
    timeoutMs: 30_000,
    what: `${n.name} registered`,
  });
}

/** Replicas per store id in the meta's map. */
async function replicaCounts(c: Cluster): Promise<Map<number, number>> {
  const out = new Map<number, number>();
  for (const r of await lines(c, 'REGION', 'LIST')) for (const p of r.peers.split(',')) {
    const s = Number(p.replace(/\(learner\)$/, '').split('@')[1]);
    out.set(s, (out.get(s) ?? 0) + 1);
  }
  return out;
}

test('replica checker: a dead store\'s replica is re-created elsewhere; the store cleans up when it comes back', { timeout: 300_000 }, async (t) => {
  const c = await withCluster(t, { stores: 4, laterStores: 1 });
  const writers = startWriters(c.stores.slice(0, 3), 3, 'rc');
  t.after(() => writers.stop());
  c.stores[3].start();
  await c.stores[3].ready();
  const spare = await storeIdOf(c, c.stores[3]);
  assert.equal(await c.admin(c.metas[0], 'CONFIG', 'SET', 'store-down-seconds', '3'), 'OK');

  // A follower's store dies.
  const leader = await c.leaderStore();
  const victim = c.stores.slice(0, 3).find((s) => s !== leader)!;
  const victimId = await storeIdOf(c, victim);
  await waitFor(async () => writers.acks.length >= 100, { timeoutMs: 30_000, what: '100 writes before the kill' });
  await victim.kill9();
  const region = await waitFor(
    async () => {
      const [r] = await lines(c, 'REGION', 'LIST');
      const peers = r.peers.split(',');
      return peers.length === 3 && peers.some((p) => p.endsWith(`@${spare}`)) && !peers.some((p) => p.includes('learner')) && r.under_replicated === 'no' ? r : undefined;
    },
    { timeoutMs: 90_000, what: `the replica on dead store ${victimId} re-created on store ${spare}` },
  );
  assert.match(await c.admin(c.metas[0], 'OPERATOR', 'LIST'), /kind=move-region creator=scheduler state=done/);
  const before = writers.acks.length;
  await waitFor(async () => writers.acks.length >= before + 100, { timeoutMs: 30_000, what: '100 more writes after the repair' });
  await c.expectReplicasEqual(Number(region.id));

  // It comes back: the meta tells it its replica was replaced; it destroys it.
  victim.start();
  await victim.ready();
  await waitFor(async () => !(await c.regionList(victim)).some((r) => r.id === Number(region.id)), { timeoutMs: 30_000, what: `${victim.name} to destroy its stale replica` });
  await writers.stop();
  await c.expectAcked(victim, writers.acks);
});

test('region balance fills a joining store; drain-store empties it and removes it', { timeout: 300_000 }, async (t) => {
  const c = await withCluster(t, { stores: 4, laterStores: 1, metaArgs: ['--initial-regions', '4'] });
  const writers = startWriters(c.stores.slice(0, 3), 3, 'rb', { cluster: true });
  t.after(() => writers.stop());
  const joined = c.stores[3];
  joined.start();
  await joined.ready();
  const joinedId = await storeIdOf(c, joined);

  // 4 regions × 3 replicas over 4 stores: 3 each.
  await waitFor(
    async () => {
      const counts = await replicaCounts(c);
      return counts.size === 4 && [...counts.values()].every((n) => n === 3) && !/state=running/.test(await c.admin(c.metas[0], 'OPERATOR', 'LIST'));
    },
    { timeoutMs: 120_000, what: 'replica counts even over 4 stores' },
  );

  const drain = await ctl(c.metas[0].port, 'drain-store', String(joinedId));
  assert.equal(drain.code, 0, drain.stderr + drain.stdout);
  assert.match(drain.stdout, new RegExp(`drain store ${joinedId}: draining, \\d+ replicas left`));
  assert.match(drain.stdout, new RegExp(`done: store ${joinedId} drained and removed`));
  const counts = await replicaCounts(c);
  assert.equal(counts.get(joinedId), undefined);
  assert.ok([...counts.values()].every((n) => n === 4), JSON.stringify([...counts]));
  assert.equal((await lines(c, 'STORE', 'LIST')).find((s) => s.id === String(joinedId))?.state, 'removed');
  const status = await ctl(c.metas[0].port, 'cluster-status');
  assert.match(status.stdout, /every region fully replicated/);
  t.diagnostic('\n' + status.stdout);
  await waitFor(async () => (await c.regionList(joined)).length === 0, { timeoutMs: 30_000, what: 'the drained store to hold no replica' });
  // It is refused if it comes back with its old data dir: it exits with the reason.
  await joined.stop();
  joined.start();
  await waitFor(async () => !joined.running, { timeoutMs: 30_000, what: 'the removed store to exit when it comes back' });
  assert.match(joined.log(), /the meta refuses this store: STORE_TOMBSTONE/);

  await writers.stop();
  assert.ok(writers.acks.length > 0);
  await c.expectAcked(c.stores[0], writers.acks);
});
