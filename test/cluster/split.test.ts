// Region split driven by the meta (REGION SPLIT on its admin port), with
// clients writing throughout: the only region is split, then one half again;
// CLUSTER SLOTS shows three shards on every store, every acknowledged write
// reads back, and the replicas of each region hold the same data.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RespError, startWriters, waitFor, withCluster, type Cluster } from '../support';

async function splitAndWait(c: Cluster, regionId: number, slot?: number): Promise<number> {
  const meta = c.metas[0];
  const args = ['REGION', 'SPLIT', String(regionId), ...(slot === undefined ? [] : [String(slot)])];
  const id = await meta.call(...args);
  assert.equal(typeof id, 'number', `${args.join(' ')}: ${String(id)}`);
  await waitFor(
    async () => {
      const show = (await meta.call('OPERATOR', 'SHOW', String(id))) as unknown[];
      const f = new Map<string, unknown>();
      for (let i = 0; i + 1 < show.length; i += 2) f.set(String(show[i]), show[i + 1]);
      const state = String(f.get('state'));
      if (state !== 'running' && state !== 'done') throw new Error(`operator ${String(id)} ended ${state}: ${String(f.get('reason'))}`);
      return state === 'done';
    },
    { timeoutMs: 30_000, intervalMs: 100, what: `operator ${String(id)} (split of region ${regionId}) done` },
  );
  return id as number;
}

async function metaRegions(c: Cluster): Promise<{ id: number; start: number; end: number }[]> {
  const text = await c.admin(c.metas[0], 'REGION', 'LIST');
  return text
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      const id = Number(/id=(\d+)/.exec(l)![1]);
      const [, a, b] = /slots=(\d+)-(\d+)/.exec(l)!;
      return { id, start: Number(a), end: Number(b) };
    });
}

test('split the only region, then one half again, while clients write and read', { timeout: 180_000 }, async (t) => {
  const c = await withCluster(t);
  const plain = startWriters(c.stores, 3, 'plain');
  const cluster = startWriters(c.stores, 2, 'cluster', { cluster: true });
  await waitFor(() => plain.acks.length > 50 && cluster.acks.length > 20, { timeoutMs: 30_000, what: 'writes before the split' });

  const [only] = await metaRegions(c);
  assert.equal(only.start, 0);
  assert.equal(only.end, 16383);
  await splitAndWait(c, only.id); // at 8192
  await waitFor(() => plain.acks.length > 300, { timeoutMs: 30_000, what: 'writes after the first split' });
  const second = (await metaRegions(c)).find((r) => r.start === 8192)!;
  assert.ok(second, 'the new region [8192, 16384)');
  await splitAndWait(c, second.id, 12000);
  const before = plain.acks.length + cluster.acks.length;
  await waitFor(() => plain.acks.length + cluster.acks.length > before + 300, { timeoutMs: 30_000, what: 'writes after the second split' });
  await plain.stop();
  await cluster.stop();

  // Three shards everywhere.
  for (const s of c.stores) {
    await waitFor(async () => (await c.slots(s)).length === 3, { timeoutMs: 15_000, what: `three shards in CLUSTER SLOTS on ${s.name}` });
    const ranges = (await c.slots(s)).map((r) => `${r.start}-${r.end}`).sort((a, b) => Number(a.split('-')[0]) - Number(b.split('-')[0]));
    assert.deepEqual(ranges, ['0-8191', '8192-11999', '12000-16383'], `CLUSTER SLOTS on ${s.name}`);
  }
  const regions = await metaRegions(c);
  assert.equal(regions.length, 3, JSON.stringify(regions));

  // Every acknowledged write reads back, through every store.
  const acks = [...plain.acks, ...cluster.acks];
  assert.ok(acks.length > 600, `acknowledged writes: ${acks.length}`);
  for (const s of c.stores) await c.expectAcked(s, acks);
  // Errors the clients saw: only while nothing was applied (TRYAGAIN), never a wrong answer.
  const errors = [...plain.errors, ...cluster.errors];
  t.diagnostic(`acks=${acks.length} errors=${errors.length} ${JSON.stringify(errors.slice(0, 5))}`);

  // The replicas of each region agree.
  for (const r of regions) await c.expectReplicasEqual(r.id);

  // Bad arguments get clear errors.
  const bad = await c.metas[0].call('REGION', 'SPLIT', 'x');
  assert.ok(bad instanceof RespError && /region id must be a positive integer/.test(bad.message), String(bad));
  const outside = await c.metas[0].call('REGION', 'SPLIT', String(regions[0].id), '9000');
  assert.ok(outside instanceof RespError && /not inside region/.test(outside.message), String(outside));
  const none = await c.metas[0].call('REGION', 'SPLIT', '999999');
  assert.ok(none instanceof RespError && /NO_REGION/.test(none.message), String(none));
});
