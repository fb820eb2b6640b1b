// Three regions (--initial-regions 3) whose leaders sit on different stores:
// keys of every region are written and read through any store, DBSIZE and
// KEYS see every region, and FLUSHALL through any store — also one that
// leads none of them — empties every region (each region's flush goes to its
// leader's store).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { redisCli, waitFor, withCluster } from '../support';

test('FLUSHALL, DBSIZE and KEYS cover every region whichever store answers', { timeout: 120_000 }, async (t) => {
  const c = await withCluster(t, { metaArgs: ['--initial-regions', '3'] });
  const cli = async (port: number, ...args: string[]): Promise<string> => (await redisCli(port, args, { raw: true })).trim();
  // Three regions, each with a leader.
  await waitFor(async () => (await cli(c.stores[0].port, 'CLUSTER', 'SLOTS')).split('\n').filter((l) => l === '127.0.0.1').length >= 3, {
    what: 'three regions with leaders',
    timeoutMs: 30_000,
  });
  for (let round = 0; round < c.stores.length; round++) {
    const keys = Array.from({ length: 30 }, (_, i) => `k${round}:${i}`); // spread over all slots
    for (const k of keys) assert.equal(await cli(c.stores[round % 3].port, 'SET', k, 'v'), 'OK');
    for (const s of c.stores) {
      assert.equal(await cli(s.port, 'DBSIZE'), '30', `DBSIZE through ${s.name}`);
      assert.equal((await cli(s.port, 'KEYS', '*')).split('\n').length, 30, `KEYS through ${s.name}`);
    }
    assert.equal(await cli(c.stores[round].port, 'FLUSHALL'), 'OK', `FLUSHALL through ${c.stores[round].name}`);
    for (const s of c.stores) assert.equal(await cli(s.port, 'DBSIZE'), '0', `DBSIZE through ${s.name} after FLUSHALL`);
  }
});
