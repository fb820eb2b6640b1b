// KEYS, SCAN, DBSIZE, RANDOMKEY and FLUSHALL cover the whole cluster from
// any store, also one that hosts none of the regions: four stores, four
// regions whose three replicas sit on the three stores the bootstrap picked
// (leaders spread over them), so the fourth store, joining later, has to read
// every page at another store's leader.
// A SCAN started before a split of the region it is walking finishes after
// it and has still returned every key.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RespError, waitFor, withCluster, type Cluster, type SimpleReply } from '../support';

type StoreNode = Cluster['stores'][number];

function ok(v: SimpleReply, what: string): SimpleReply {
  if (v instanceof RespError) throw new Error(`${what}: ${v.message}`);
  return v;
}

/** A whole SCAN iteration through `s`; `between` runs after each page. */
async function scanAll(s: StoreNode, args: string[] = [], between?: (page: number) => Promise<void>): Promise<string[]> {
  const seen: string[] = [];
  let cursor = '0';
  let page = 0;
  do {
    const r = ok(await s.call('SCAN', cursor, ...args), `SCAN ${cursor} on ${s.name}`) as SimpleReply[];
    cursor = String(r[0]);
    for (const k of r[1] as SimpleReply[]) seen.push(String(k));
    await between?.(++page);
  } while (cursor !== '0');
  return seen;
}

async function splitRegion(c: Cluster, regionId: number): Promise<void> {
  const meta = c.metas[0];
  const id = await meta.call('REGION', 'SPLIT', String(regionId));
  assert.equal(typeof id, 'number', `REGION SPLIT ${regionId}: ${String(id)}`);
  await waitFor(
    async () => {
      const show = (await meta.call('OPERATOR', 'SHOW', String(id))) as unknown[];
      const state = String(show[show.indexOf('state') + 1]);
      if (state !== 'running' && state !== 'done') throw new Error(`split of region ${regionId} ended ${state}`);
      return state === 'done';
    },
    { timeoutMs: 30_000, intervalMs: 100, what: `split of region ${regionId}` },
  );
}

test('KEYS, SCAN, DBSIZE, RANDOMKEY and FLUSHALL see every region from every store, across a split', { timeout: 180_000 }, async (t) => {
  // The fourth store joins after the region-balance scheduler is off, so it
  // stays empty (the scheduler would otherwise move replicas onto it).
  const c = await withCluster(t, { stores: 4, laterStores: 1, metaArgs: ['--initial-regions', '4'] });
  assert.equal(await c.metas[0].call('SCHEDULER', 'DISABLE', 'region-balance'), 'OK');
  c.stores[3].start();
  await c.stores[3].ready();
  const hosted = async (s: StoreNode): Promise<number> => (await c.regionList(s)).length;
  let host = c.stores[0];
  await waitFor(
    async () => {
      for (const s of c.stores) if ((await c.regionList(s)).filter((r) => /leader_peer=[1-9]/.test(r.line)).length >= 4) host = s;
      return (await hosted(host)) >= 4;
    },
    { what: 'four regions with leaders', timeoutMs: 30_000 },
  );
  const regions = await c.regionList(host);
  // The bootstrap put every region on three of the four stores.
  let empty: StoreNode | undefined;
  for (const s of c.stores) if ((await hosted(s)) === 0) empty = s;
  assert.ok(empty, 'a store that hosts no region');
  const none = empty;
  t.diagnostic(`leaders (peer ids): ${regions.map((r) => `${r.id}@${/leader_peer=(\d+)/.exec(r.line)?.[1]}`).join(' ')}; ${none.name} hosts no region`);

  // Keys of every type, written through every store.
  const expected = new Map<string, string>();
  const types = ['string', 'list', 'set', 'zset', 'hash'];
  for (let i = 0; i < 250; i++) {
    const key = `fan:${i}`;
    const type = types[i % types.length];
    const via = c.stores[i % 4];
    const cmd = { string: ['SET', key, 'v'], list: ['RPUSH', key, 'a', 'b'], set: ['SADD', key, 'm'], zset: ['ZADD', key, '1', 'm'], hash: ['HSET', key, 'f', 'v'] }[type]!;
    ok(await via.call(...cmd), `${cmd.join(' ')} via ${via.name}`);
    expected.set(key, type);
  }
  const all = [...expected.keys()].sort();

  for (const s of c.stores) {
    assert.equal(await s.call('DBSIZE'), 250, `DBSIZE through ${s.name}`);
    assert.deepEqual((ok(await s.call('KEYS', '*'), 'KEYS') as string[]).map(String).sort(), all, `KEYS * through ${s.name}`);
    const ones = all.filter((k) => /^fan:1\d*$/.test(k));
    assert.deepEqual((ok(await s.call('KEYS', 'fan:1*'), 'KEYS') as string[]).map(String).sort(), ones, `KEYS fan:1* through ${s.name}`);
    assert.deepEqual([...new Set(await scanAll(s, ['COUNT', '7']))].sort(), all, `SCAN through ${s.name}`);
    const zsets = all.filter((k) => expected.get(k) === 'zset');
    assert.deepEqual([...new Set(await scanAll(s, ['TYPE', 'zset', 'COUNT', '40']))].sort(), zsets, `SCAN TYPE zset through ${s.name}`);
    const rk = String(ok(await s.call('RANDOMKEY'), 'RANDOMKEY'));
    assert.ok(expected.has(rk), `RANDOMKEY through ${s.name} answered ${rk}`);
  }

  // A SCAN through the store that hosts nothing, which sees the region it walks split under it.
  const firstSlot = (r: { slots: string }): number => Number(r.slots.split('-')[0]);
  const target = [...regions].sort((a, b) => firstSlot(a) - firstSlot(b))[1]; // the second region in slot order
  let split = false;
  const seen = await scanAll(none, ['COUNT', '10'], async (page) => {
    if (page === 8 && !split) {
      split = true;
      await splitRegion(c, target.id);
    }
  });
  assert.ok(split, 'the split happened while the SCAN was under way');
  assert.deepEqual([...new Set(seen)].sort(), all, 'SCAN across a split returned every key');
  await waitFor(async () => (await hosted(host)) >= 5, { what: `five regions on ${host.name}`, timeoutMs: 30_000 });
  assert.equal(await hosted(none), 0, `${none.name} still hosts no region`);

  // FLUSHALL through the store that hosts nothing empties every region.
  assert.equal(await none.call('FLUSHALL'), 'OK');
  for (const s of c.stores) assert.equal(await s.call('DBSIZE'), 0, `DBSIZE through ${s.name} after FLUSHALL`);
});
