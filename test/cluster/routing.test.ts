// Issue 4, "what it must show" #1: a key written through any store is read
// through every store (plain redis-cli and plain ioredis); cluster-aware
// clients (redis-cli -c, ioredis Cluster) route straight to the leader named
// by CLUSTER SLOTS; a store run with --redirect moved answers -MOVED.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import Redis, { Cluster as RedisCluster } from 'ioredis';
import { freePorts, metric, redisCli, RespError, waitFor, withCluster, type Node } from '../support';

async function commandsProcessed(s: Node): Promise<number> {
  const m = /total_commands_processed:(\d+)/.exec(String(await s.call('INFO', 'stats')));
  if (!m) throw new Error(`${s.name}: INFO stats has no total_commands_processed`);
  return Number(m[1]);
}

test('cluster routing: any store serves any key; cluster clients go to the leader; --redirect moved', { timeout: 150_000 }, async (t) => {
  const base = await freePorts(3);
  const c = await withCluster(t, { perStoreArgs: [0, 1, 2].map((i) => ['--metrics-port', String(base + i)]) });
  const [s1, s2, s3] = c.stores;
  const metricsPort = (s: Node): number => base + c.stores.indexOf(s);
  /** Each store's count of commands it forwarded, and of commands it ran for another store. */
  const forwardCounts = async (): Promise<{ sent: number[]; served: number[] }> => ({
    sent: await Promise.all(c.stores.map((s) => metric(metricsPort(s), 'redraft_store_forwarded_commands_total'))),
    served: await Promise.all(c.stores.map((s) => metric(metricsPort(s), 'redraft_store_forwarded_commands_served_total'))),
  });

  // The leader named by CLUSTER SLOTS is the same on every store and is the region's leader.
  const leader = await c.leaderStore();
  await waitFor(
    async () => {
      for (const s of c.stores) {
        const slots = await c.slots(s);
        if (slots.length !== 1 || slots[0].start !== 0 || slots[0].end !== 16383 || slots[0].master.port !== leader.port) return false;
        if (slots[0].replicas.length !== 2) return false;
      }
      return true;
    },
    { what: 'every store to name the same leader for [0, 16383] with 2 replicas in CLUSTER SLOTS' },
  );
  for (const s of c.stores) {
    const [r] = await c.regionList(s);
    assert.equal(r.role, s === leader ? 'leader' : 'follower', `${s.name}'s REGION LIST: ${r.line}`);
  }
  // The meta learns the leader from the stores' next heartbeats.
  await waitFor(async () => new RegExp(`leader_addr=127\\.0\\.0\\.1:${leader.port}\\b`).test(await c.admin(c.metas[0], 'REGION', 'LIST')), {
    timeoutMs: 15_000,
    what: `the meta's REGION LIST to name ${leader.name} (port ${leader.port}) leader`,
  });

  await t.test('plain redis-cli: written through each store, read through every store', async () => {
    const before = await forwardCounts();
    for (const w of c.stores) {
      const key = `cli:{written-through-${w.name}}`;
      assert.equal(await redisCli(w.port, ['SET', key, `v-${w.port}`]), 'OK\n');
      for (const r of c.stores) assert.equal(await redisCli(r.port, ['GET', key]), `v-${w.port}\n`, `${key} read through ${r.name}`);
    }
    // Many slots, written through one store, read through the others.
    const script = Array.from({ length: 50 }, (_, i) => `SET many:${i} ${i}\n`).join('');
    assert.equal(await redisCli(s1.port, script), 'OK\n'.repeat(50));
    for (const r of [s2, s3]) {
      assert.equal(await redisCli(r.port, Array.from({ length: 50 }, (_, i) => `GET many:${i}\n`).join('')), Array.from({ length: 50 }, (_, i) => `${i}\n`).join(''));
    }
    // The metrics show it: the followers forwarded what their clients sent, the leader ran it for them.
    const after = await forwardCounts();
    const sent = after.sent.map((n, i) => n - before.sent[i]);
    const served = after.served.map((n, i) => n - before.served[i]);
    for (const [i, s] of c.stores.entries()) {
      if (s === leader) assert.equal(sent[i], 0, `the leader ${s.name} forwarded nothing (forwarded ${sent})`);
      else assert.ok(sent[i] >= 4, `follower ${s.name} forwarded its clients' commands (forwarded ${sent})`);
    }
    assert.equal(served[c.stores.indexOf(leader)], sent.reduce((a, b) => a + b), `the leader ran every forwarded command (forwarded ${sent}, served ${served})`);
  });

  await t.test('plain ioredis against each store', async () => {
    const clients = c.stores.map((s) => new Redis({ port: s.port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 2 }));
    try {
      for (const cl of clients) await cl.connect();
      for (const [i, w] of clients.entries()) {
        for (let k = 0; k < 20; k++) assert.equal(await w.set(`io:${i}:${k}`, `${i}-${k}`), 'OK');
      }
      for (const r of clients) {
        for (let i = 0; i < clients.length; i++) {
          for (let k = 0; k < 20; k++) assert.equal(await r.get(`io:${i}:${k}`), `${i}-${k}`);
        }
      }
    } finally {
      for (const cl of clients) cl.disconnect();
    }
  });

  await t.test('ioredis Cluster routes every command to the leader', async () => {
    const cluster = new RedisCluster([{ host: '127.0.0.1', port: s1.port }, { host: '127.0.0.1', port: s2.port }], { lazyConnect: true });
    try {
      await cluster.connect();
      const masters = cluster.nodes('master').map((n) => n.options.port);
      assert.deepEqual(masters, [leader.port], `ioredis sees the leader as the only master`);
      const before = await Promise.all(c.stores.map(commandsProcessed));
      const forwardsBefore = await forwardCounts();
      for (let i = 0; i < 200; i++) assert.equal(await cluster.set(`cl:${i}`, String(i)), 'OK');
      for (let i = 0; i < 200; i++) assert.equal(await cluster.get(`cl:${i}`), String(i));
      const after = await Promise.all(c.stores.map(commandsProcessed));
      assert.deepEqual(await forwardCounts(), forwardsBefore, 'a cluster client makes no store forward');
      const delta = after.map((a, i) => a - before[i]);
      for (const [i, s] of c.stores.entries()) {
        // 400 commands went to the leader; the followers saw at most our INFO probes and ioredis's own housekeeping.
        if (s === leader) assert.ok(delta[i] >= 400, `leader ${s.name} processed ${delta[i]} commands, expected >= 400 (deltas ${delta})`);
        else assert.ok(delta[i] < 100, `follower ${s.name} processed ${delta[i]} commands: the cluster client did not go straight to the leader (deltas ${delta})`);
      }
      for (const s of c.stores) assert.equal(await redisCli(s.port, ['GET', 'cl:199']), '199\n');
    } finally {
      cluster.disconnect();
    }
  });

  await t.test('redis-cli -c against every store', async () => {
    for (const s of c.stores) {
      assert.equal(await redisCli(s.port, ['SET', `c:${s.port}`, 'x'], { flags: ['-c'] }), 'OK\n');
      assert.equal(await redisCli(s.port, ['GET', `c:${s.port}`], { flags: ['-c'] }), 'x\n');
    }
  });

  await t.test('--redirect moved: a non-leader store answers -MOVED slot host:port; redis-cli -c follows it', async () => {
    const follower = c.stores.find((s) => s !== leader)!;
    await follower.stop();
    follower.start(['--redirect', 'moved']);
    await follower.ready();
    await c.waitClusterOk(follower);
    const now = await c.leaderStore({ via: follower });
    assert.notEqual(now, follower, 'restarting a follower does not make it leader');
    const slot = Number(await follower.call('CLUSTER', 'KEYSLOT', 'moved-key'));
    const reply = await follower.call('SET', 'moved-key', 'v');
    assert.ok(reply instanceof RespError, `a moved-mode follower answers an error, got ${JSON.stringify(reply)}`);
    assert.equal(reply.message, `MOVED ${slot} 127.0.0.1:${now.port}`);
    assert.equal((await redisCli(follower.port, ['GET', 'moved-key'])).trim(), `MOVED ${slot} 127.0.0.1:${now.port}`);
    assert.equal(await redisCli(follower.port, ['SET', 'moved-key', 'v'], { flags: ['-c'] }), 'OK\n');
    assert.equal(await redisCli(follower.port, ['GET', 'moved-key'], { flags: ['-c'] }), 'v\n');
    assert.equal(await redisCli(now.port, ['GET', 'moved-key']), 'v\n');
    // The leader itself answers directly, whatever its mode.
    assert.equal(await redisCli(now.port, ['SET', 'moved-key2', 'w']), 'OK\n');
    // ioredis Cluster seeded with only the moved-mode follower still reaches the leader.
    const cluster = new RedisCluster([{ host: '127.0.0.1', port: follower.port }], { lazyConnect: true });
    try {
      await cluster.connect();
      assert.equal(await cluster.set('moved-io', '1'), 'OK');
      assert.equal(await cluster.get('moved-key2'), 'w');
    } finally {
      cluster.disconnect();
    }
  });
});
