// Lists and sets on a 3-store cluster (issue 10):
//  - a mixed list/set workload with SPOP/SRANDMEMBER through every store
//    leaves every replica byte for byte the same (REGION DIGEST);
//  - a BLPOP sent to a store that does not lead the key's region blocks at
//    the leader (forwarded) and gets the element pushed through another store;
//  - a consumer blocked in BLPOP while the leader's store is killed gets
//    every element once: nothing pushed and acknowledged is lost or popped twice.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { respMany, RespError, waitFor, withCluster, type Node, blockedClients, ioredisClients } from '../support';

async function pipeline(s: Node, cmds: (string | number)[][], chunk = 200): Promise<void> {
  for (let i = 0; i < cmds.length; i += chunk) {
    const part = cmds.slice(i, i + chunk);
    const replies = await respMany(s.port, part, { timeoutMs: 30_000 });
    const bad = replies.findIndex((r) => r instanceof RespError && !/^WRONGTYPE|^ERR no such key|^ERR index out of range/.test(r.message));
    assert.equal(bad, -1, `${JSON.stringify(part[bad])} through ${s.name}: ${String(replies[bad])}`);
  }
}

const client = ioredisClients();

test('lists and sets: replicas equal after a mixed workload with SPOP/SRANDMEMBER; a forwarded BLPOP is served', { timeout: 150_000 }, async (t) => {
  const c = await withCluster(t);
  const leader = await c.leaderStore();
  const [region] = await c.regionList(leader);
  const cmds: (string | number)[][] = [];
  for (let i = 0; i < 600; i++) {
    const l = `{l}${i % 7}`;
    const s = `{s}${i % 5}`;
    cmds.push(['RPUSH', l, `e${i}`, `f${i}`], ['LPUSH', l, `g${i}`], ['SADD', s, `m${i % 40}`, `n${i}`]);
    if (i % 3 === 0) cmds.push(['LPOP', l], ['RPOP', l, 2], ['SPOP', s], ['SRANDMEMBER', s, -3]);
    if (i % 5 === 0) cmds.push(['LINSERT', l, 'BEFORE', `f${i}`, `ins${i}`], ['LREM', l, 1, `g${i - 5}`], ['LSET', l, 1, `set${i}`], ['SPOP', s, 3]);
    if (i % 11 === 0) cmds.push(['LMOVE', l, `{l}${(i + 1) % 7}`, 'LEFT', 'RIGHT'], ['SMOVE', s, `{s}${(i + 1) % 5}`, `n${i}`], ['LTRIM', l, 0, 30]);
    if (i % 17 === 0) cmds.push(['SINTERSTORE', '{s}inter', '{s}1', '{s}2'], ['SUNIONSTORE', '{s}union', '{s}3', '{s}4'], ['SDIFFSTORE', '{s}diff', '{s}0', '{s}1'], ['BLPOP', l, '{l}none', 0.01]);
    if (i % 50 === 0) cmds.push(['EXPIRE', l, 100_000], ['COPY', l, `{l}copy${i}`], ['DEL', `{s}${(i + 2) % 5}`]);
  }
  // A third through each store: most writes are forwarded to the leader.
  const third = Math.ceil(cmds.length / 3);
  await Promise.all(c.stores.map((s, i) => pipeline(s, cmds.slice(i * third, (i + 1) * third))));
  const digests = await c.expectReplicasEqual(region.id);
  process.stdout.write(`# lists/sets digests of region ${region.id}: ${JSON.stringify(digests)}\n`);

  // A BLPOP through a store that does not lead: it blocks at the leader.
  const [follower, other] = c.stores.filter((s) => s !== leader);
  const consumer = client(follower.port);
  t.after(() => consumer.disconnect());
  await waitFor(() => consumer.status === 'ready', { timeoutMs: 10_000, what: 'consumer ready' });
  const popped = consumer.blpop('{q}fwd', 0);
  await waitFor(async () => (await blockedClients(leader)) === 1, { timeoutMs: 10_000, what: 'the forwarded BLPOP blocked at the leader' });
  await respMany(other.port, [['RPUSH', '{q}fwd', 'hello']]);
  assert.deepEqual(await popped, ['{q}fwd', 'hello']);

  // CLIENT UNBLOCK on the store the client is connected to reaches the command waiting at the leader.
  const id = Number(await consumer.client('ID'));
  const unblocked = consumer.brpoplpush('{q}none', '{q}dst', 0);
  // Handled now: the error may arrive before assert.rejects below is reached (an unhandled rejection fails the file).
  unblocked.catch(() => undefined);
  await waitFor(async () => (await blockedClients(leader)) === 1, { timeoutMs: 10_000, what: 'the forwarded BRPOPLPUSH blocked at the leader' });
  const [n] = await respMany(follower.port, [['CLIENT', 'UNBLOCK', id, 'ERROR']]);
  assert.equal(n, 1);
  await assert.rejects(unblocked, /UNBLOCKED client unblocked via CLIENT UNBLOCK/);

  // A client that disconnects while its forwarded BLPOP waits has nothing popped for it.
  const leaving = client(follower.port);
  await waitFor(() => leaving.status === 'ready', { timeoutMs: 10_000, what: 'client ready' });
  leaving.blpop('{q}gone', 0).catch(() => undefined);
  await waitFor(async () => (await blockedClients(leader)) === 1, { timeoutMs: 10_000, what: 'the BLPOP blocked at the leader' });
  leaving.disconnect();
  await waitFor(async () => (await blockedClients(leader)) === 0, { timeoutMs: 10_000, what: 'the leader to drop the waiter of the gone client' });
  await respMany(other.port, [['RPUSH', '{q}gone', 'kept']]);
  assert.deepEqual(await respMany(leader.port, [['LRANGE', '{q}gone', 0, -1]]), [['kept']]);
  await c.expectReplicasEqual(region.id);
});

test('a BLPOP consumer across the death of the leader store: every acknowledged element popped once or still queued', { timeout: 180_000 }, async (t) => {
  const c = await withCluster(t);
  const leader = await c.leaderStore();
  const [consumerStore, producerStore] = c.stores.filter((s) => s !== leader);
  const consumer = client(consumerStore.port);
  const producer = client(producerStore.port);
  t.after(() => {
    consumer.disconnect();
    producer.disconnect();
  });
  await waitFor(() => consumer.status === 'ready' && producer.status === 'ready', { timeoutMs: 10_000, what: 'clients ready' });

  const acked: string[] = [];
  const unknownPush: string[] = [];
  const popped: string[] = [];
  const consumerErrors: string[] = [];
  let consuming = true;
  const consumerLoop = (async () => {
    while (consuming) {
      try {
        const r = await consumer.blpop('{q}work', 1);
        if (r) popped.push(r[1]);
      } catch (e) {
        consumerErrors.push((e as Error).message);
        await new Promise((res) => setTimeout(res, 50));
      }
    }
  })();
  const push = async (i: number): Promise<void> => {
    const v = `item-${i}`;
    for (;;) {
      try {
        await producer.rpush('{q}work', v);
        acked.push(v);
        return;
      } catch (e) {
        const msg = (e as Error).message;
        if (/^TRYAGAIN/.test(msg)) continue; // not applied: push it again
        unknownPush.push(v);
        return;
      }
    }
  };
  for (let i = 0; i < 100; i++) await push(i);
  await waitFor(() => popped.length >= 100, { timeoutMs: 30_000, what: '100 elements popped before the kill' });
  // The consumer is blocked (forwarded to the leader) when its store dies.
  await waitFor(async () => (await blockedClients(leader)) === 1, { timeoutMs: 10_000, what: 'the consumer blocked at the leader' });
  await leader.kill9();
  for (let i = 100; i < 200; i++) await push(i);
  await waitFor(() => popped.length >= acked.length, { timeoutMs: 60_000, what: 'every acknowledged element popped' }).catch(() => undefined);
  consuming = false;
  await consumerLoop;
  const left = (await producer.lrange('{q}work', 0, -1)) as string[];
  process.stdout.write(`# blpop failover: acked=${acked.length} unknown=${unknownPush.length} popped=${popped.length} left=${left.length} consumerErrors=${JSON.stringify(consumerErrors.slice(0, 5))}\n`);
  const seen = [...popped, ...left];
  assert.equal(new Set(popped).size, popped.length, 'an element was popped twice');
  assert.equal(new Set(seen).size, seen.length, 'an element was both popped and still queued');
  const lost = acked.filter((v) => !seen.includes(v));
  assert.deepEqual(lost, [], 'acknowledged elements neither popped nor queued (lost)');
  const strays = seen.filter((v) => !acked.includes(v) && !unknownPush.includes(v));
  assert.deepEqual(strays, [], 'elements nobody pushed');
});

test('a BLPOP blocked on the leader store follows the leadership when it moves (no write needed to re-route it)', { timeout: 120_000 }, async (t) => {
  const c = await withCluster(t);
  const leader = await c.leaderStore();
  const [region] = await c.regionList(leader);
  const consumer = client(leader.port);
  t.after(() => consumer.disconnect());
  await waitFor(() => consumer.status === 'ready', { timeoutMs: 10_000, what: 'consumer ready' });
  const popped = consumer.blpop('{q}moved', 0);
  await waitFor(async () => (await blockedClients(leader)) === 1, { timeoutMs: 10_000, what: 'the BLPOP blocked at the leader' });
  const leaderLine = (await c.regionList(leader))[0].line;
  const leaderPeer = /leader_peer=(\d+)/.exec(leaderLine)![1];
  const peers = /peers=(\S+)/.exec(leaderLine)![1].split(',');
  const before = Number(peers.find((p) => p.startsWith(`${leaderPeer}@`))!.split('@')[1]);
  const target = [1, 2, 3].find((x) => x !== before)!;
  assert.equal(await leader.call('REGION', 'TRANSFER-LEADER', String(region.id), String(target)), 'OK');
  let next = leader;
  await waitFor(async () => (next = await c.leaderStore()) !== leader, { timeoutMs: 15_000, what: 'a new leader store' });
  // The idle waiter notices within about a second and is forwarded to the new leader, where it waits.
  await waitFor(async () => (await blockedClients(next)) === 1, { timeoutMs: 15_000, what: 'the BLPOP re-routed to the new leader' });
  const third = c.stores.find((s) => s !== leader && s !== next)!;
  await respMany(third.port, [['RPUSH', '{q}moved', 'here']]);
  assert.deepEqual(await popped, ['{q}moved', 'here']);
  assert.deepEqual(await respMany(next.port, [['EXISTS', '{q}moved']]), [0]);
});
