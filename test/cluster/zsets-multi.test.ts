// Issue 10: sorted sets and MULTI/EXEC on a real 3-store cluster, through
// every store (the two that do not lead the region forward: a transaction's
// entry goes to the leader as one internal EXEC). After a mixed workload —
// ZRANDMEMBER inside transactions, set operations, pops, expiring keys —
// every replica's region digest is the same. WATCH-based increments from
// clients on different stores lose no update.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import Redis from 'ioredis';
import { withCluster } from '../support';

/** A deterministic pseudo-random sequence for the workload (reproducible runs). */
function lcg(seed: number): () => number {
  let x = seed >>> 0;
  return () => ((x = (Math.imul(x, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

test('sorted sets + MULTI/EXEC through every store: replicas equal, WATCH increments exact', { timeout: 180_000 }, async (t) => {
  const c = await withCluster(t);
  const clients = c.stores.map((s) => new Redis({ port: s.port, host: '127.0.0.1', maxRetriesPerRequest: 2, commandTimeout: 30_000 }));
  t.after(() => clients.forEach((r) => r.disconnect()));
  const rnd = lcg(42);
  const pick = <T>(xs: T[]): T => xs[Math.floor(rnd() * xs.length)];
  const keys = ['z:a{w}', 'z:b{w}', 'z:c{w}', 'z:d{w}'];
  const members = ['m1', 'm2', 'm3', 'm4', 'm5', 'm6'];

  // The workload: each client runs its own sequence of commands and transactions.
  const worker = async (r: Redis, n: number): Promise<void> => {
    for (let i = 0; i < n; i++) {
      const k = pick(keys);
      const op = Math.floor(rnd() * 10);
      if (op === 0) await r.zadd(k, String(Math.floor(rnd() * 100) / 4), pick(members), String(-rnd()), pick(members));
      else if (op === 1) await r.zincrby(k, String(rnd() * 3), pick(members));
      else if (op === 2) await r.zpopmin(k);
      else if (op === 3) await r.zunionstore(pick(keys), 2, pick(keys), pick(keys), 'WEIGHTS', '2', '0.5', 'AGGREGATE', pick(['SUM', 'MIN', 'MAX']));
      else if (op === 4) await r.zrangestore(pick(keys), k, '0', '2');
      else if (op === 5) await r.zremrangebyscore(k, '-inf', String(rnd() * 10));
      else if (op === 6) {
        // Expiring keys inside and outside transactions.
        await r.multi().zadd(`exp:${i % 5}{w}`, '1', 'x').pexpire(`exp:${i % 5}{w}`, 50 + Math.floor(rnd() * 100)).exec();
      } else {
        // A transaction that reads its own writes and makes a random choice in apply.
        const res = await r
          .multi()
          .zadd(k, '1', pick(members))
          .zrandmember(k, '-3')
          .zincrby(k, '2', pick(members))
          .del(pick(keys))
          .zadd(pick(keys), '3', pick(members))
          .zrange(k, '0', '-1', 'WITHSCORES')
          .ping()
          .exec();
        assert.ok(res && res.length === 7, `a 7-reply EXEC, got ${JSON.stringify(res)}`);
        assert.equal(res[6][1], 'PONG');
      }
    }
  };
  await Promise.all(clients.map((r, i) => worker(r, 120 + i)));

  // WATCH/MULTI increments from all three stores: every EXEC that answered
  // (not nil) is counted exactly once.
  await clients[0].set('counter{w}', '0');
  let committed = 0;
  const incrementer = async (r: Redis, n: number): Promise<void> => {
    const conn = r.duplicate();
    try {
      for (let done = 0; done < n; ) {
        await conn.watch('counter{w}');
        const cur = Number(await conn.get('counter{w}'));
        const res = await conn.multi().set('counter{w}', String(cur + 1)).exec();
        if (res) {
          committed++;
          done++;
        }
      }
    } finally {
      conn.disconnect();
    }
  };
  await Promise.all(clients.map((r) => incrementer(r, 15)));
  assert.equal(Number(await clients[1].get('counter{w}')), committed);
  assert.equal(committed, 45);

  const [region] = await c.regionList(c.stores[0]);
  const digests = await c.expectReplicasEqual(region.id);
  process.stdout.write(`# zsets-multi: replicas equal at applied ${digests[0].applied} (${digests[0].sha1.slice(0, 12)})\n`);
});

test('MULTI/EXEC over three regions: one region per transaction, else CROSSSLOT and nothing applied', { timeout: 120_000 }, async (t) => {
  const c = await withCluster(t, { metaArgs: ['--initial-regions', '3'] });
  const clients = c.stores.map((s) => new Redis({ port: s.port, host: '127.0.0.1', maxRetriesPerRequest: 2, commandTimeout: 30_000 }));
  t.after(() => clients.forEach((r) => r.disconnect()));
  assert.ok((await c.slots(c.stores[0])).length >= 3, 'three regions');
  // Slots of 'a', 'b', 'c' (15495, 3300, 7365) fall in the three regions [0,5461), [5461,10922), [10922,16384).
  for (const [i, r] of clients.entries()) {
    // Through every store, whichever leads each region: each transaction runs at its region's leader.
    for (const tag of ['a', 'b', 'c']) {
      const key = `{${tag}}z${i}`;
      const res = await r.multi().zadd(key, '1', 'm').zincrby(key, '1', 'm').zscore(key, 'm').exec();
      assert.deepEqual(res?.map(([err, v]) => err ?? v), [1, '2', '2']);
    }
    await assert.rejects(r.multi().set(`{a}x${i}`, '1').set(`{b}x${i}`, '1').exec(), /CROSSSLOT/);
    assert.equal((await r.exists(`{a}x${i}`)) + (await r.exists(`{b}x${i}`)), 0);
    // A watched key in another region than the transaction's keys: CROSSSLOT too.
    await r.watch('{c}w');
    await assert.rejects(r.multi().set(`{a}y${i}`, '1').exec(), /CROSSSLOT/);
    assert.equal(await r.exists(`{a}y${i}`), 0);
  }
});
