// Blocked BLPOPs across a kill -9 of the store that leads their list's
// region. Four consumers wait through the two other stores (their BLPOPs
// are forwarded to the leader and block there) while a producer keeps
// pushing, before, during and after the kill. Counted: elements pushed and
// acknowledged, pushes whose outcome is unknown, elements popped, elements
// still queued at the end. Every acknowledged element is popped exactly once
// or still queued; a consumer that gets an error gets a clean one it may
// retry (TRYAGAIN / CLUSTERDOWN: nothing was popped for it), never a
// dropped connection after an element was taken for it.
//
// Also: BZPOPMIN/BZMPOP forwarded to the leader block there like BLPOP.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { respMany, waitFor, withCluster, blockedClients, ioredisClients } from '../support';

const client = ioredisClients();

test('blocked BLPOPs across a kill -9 of the leader store: each element popped once or still queued, clean errors only', { timeout: 180_000 }, async (t) => {
  const c = await withCluster(t);
  const leader = await c.leaderStore();
  const others = c.stores.filter((s) => s !== leader);
  const consumers = [0, 1, 2, 3].map((i) => client(others[i % 2].port));
  const producer = client(others[1].port);
  await waitFor(() => [...consumers, producer].every((r) => r.status === 'ready'), { timeoutMs: 10_000, what: 'clients ready' });

  const counters = { pushed: 0, pushUnknown: 0, popped: 0, cleanErrors: 0 };
  const acked = new Set<string>();
  const unknownPush = new Set<string>();
  const popped: string[] = [];
  const otherErrors: string[] = [];
  let consuming = true;
  const loops = consumers.map(async (r) => {
    while (consuming) {
      try {
        const got = await r.blpop('{bq}work', 1);
        if (got) {
          popped.push(got[1]);
          counters.popped++;
        }
      } catch (e) {
        const msg = (e as Error).message;
        if (/^(TRYAGAIN|CLUSTERDOWN)/.test(msg)) counters.cleanErrors++;
        else otherErrors.push(msg);
        await new Promise((res) => setTimeout(res, 50));
      }
    }
  });
  let next = 0;
  const push = async (): Promise<void> => {
    const v = `item-${next++}`;
    for (;;) {
      try {
        await producer.rpush('{bq}work', v);
        acked.add(v);
        counters.pushed++;
        return;
      } catch (e) {
        if (/^(TRYAGAIN|CLUSTERDOWN)/.test((e as Error).message)) continue; // not applied: push it again
        unknownPush.add(v);
        counters.pushUnknown++;
        return;
      }
    }
  };

  for (let i = 0; i < 100; i++) await push();
  await waitFor(() => popped.length >= 100, { timeoutMs: 30_000, what: '100 elements popped before the kill' });
  // All four wait at the leader's store when it dies.
  await waitFor(async () => (await blockedClients(leader)) === 4, { timeoutMs: 10_000, what: 'the four consumers blocked at the leader' });
  const killer = leader.kill9();
  // Pushes go on while the region elects a new leader.
  for (let i = 0; i < 100; i++) await push();
  await killer;
  for (let i = 0; i < 100; i++) await push();
  await waitFor(() => popped.length >= acked.size, { timeoutMs: 60_000, what: 'every acknowledged element popped' }).catch(() => undefined);
  consuming = false;
  await Promise.all(loops);
  const left = (await producer.lrange('{bq}work', 0, -1)) as string[];
  process.stdout.write(`# blpop failover: pushed=${counters.pushed} pushUnknown=${counters.pushUnknown} popped=${counters.popped} left=${left.length} cleanErrors=${counters.cleanErrors} otherErrors=${JSON.stringify(otherErrors.slice(0, 5))}\n`);

  assert.equal(new Set(popped).size, popped.length, 'an element was popped twice');
  const seen = [...popped, ...left];
  assert.equal(new Set(seen).size, seen.length, 'an element was both popped and still queued');
  const lost = [...acked].filter((v) => !seen.includes(v));
  assert.deepEqual(lost, [], 'acknowledged elements neither popped nor queued (lost)');
  assert.deepEqual(seen.filter((v) => !acked.has(v) && !unknownPush.has(v)), [], 'elements nobody pushed');
  assert.equal(counters.popped + left.length, counters.pushed + seen.filter((v) => unknownPush.has(v)).length, 'popped + queued = pushed (+ pushes of unknown outcome that landed)');
  // A consumer's connection was never dropped under it (that could lose an element taken for it).
  assert.deepEqual(otherErrors, [], 'consumer errors other than a clean TRYAGAIN/CLUSTERDOWN');
  assert.ok(counters.pushed >= 300 - counters.pushUnknown, 'the producer kept pushing across the kill');
});

test('BZPOPMIN and BZMPOP through a store that does not lead block at the leader and get a ZADD made through another store', { timeout: 120_000 }, async (t) => {
  const c = await withCluster(t);
  const leader = await c.leaderStore();
  const [via, other] = c.stores.filter((s) => s !== leader);
  const consumer = client(via.port);
  const consumer2 = client(via.port);
  await waitFor(() => consumer.status === 'ready' && consumer2.status === 'ready', { timeoutMs: 10_000, what: 'clients ready' });
  const popped = consumer.bzpopmin('{z}q', 0);
  await waitFor(async () => (await blockedClients(leader)) === 1, { timeoutMs: 10_000, what: 'the BZPOPMIN blocked at the leader' });
  // A list push in the same slot does not serve it; the ZADD does.
  assert.deepEqual(await respMany(other.port, [['RPUSH', '{z}other', 'x'], ['ZADD', '{z}q', 2, 'b', 1, 'a']]), [1, 2]);
  assert.deepEqual(await popped, ['{z}q', 'a', '1']);
  const mpop = consumer2.call('BZMPOP', 0, 1, '{z}m', 'MAX', 'COUNT', 2) as Promise<unknown>;
  await waitFor(async () => (await blockedClients(leader)) === 1, { timeoutMs: 10_000, what: 'the BZMPOP blocked at the leader' });
  await respMany(other.port, [['ZADD', '{z}m', 1, 'x', 2, 'y', 3, 'z']]);
  assert.deepEqual(await mpop, ['{z}m', [['z', '3'], ['y', '2']]]);
  assert.deepEqual(await respMany(leader.port, [['ZRANGE', '{z}m', 0, -1], ['ZRANGE', '{z}q', 0, -1]]), [['x'], ['b']]);
});
