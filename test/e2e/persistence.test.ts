// Data outlives the process: a graceful restart (SIGTERM) keeps every key,
// TTLs keep their absolute deadline (a key that expired while the server was
// down is gone), kill -9 in the middle of many clients' writes loses none of
// the writes that were acknowledged. (The playground: playground.test.ts.)
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isDeepStrictEqual } from 'node:util';
import Redis from 'ioredis';
import { waitFor, type Server } from '../support';
import { onRedis, redraftOnly, startTarget } from './target';

function connect(s: Server, opts: { autoPipeline?: boolean } = {}): Redis {
  const r = new Redis({
    host: s.host,
    port: s.port,
    retryStrategy: () => null,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    lazyConnect: true,
    enableAutoPipelining: opts.autoPipeline ?? false,
  });
  r.on('error', () => {
    /* a killed server: the pending commands reject */
  });
  return r;
}

async function connected(s: Server): Promise<Redis> {
  const r = connect(s);
  await r.connect();
  return r;
}

test('a graceful restart keeps every key, value, type and TTL', async (t) => {
  // On redis-server the test runs with an AOF so that it has something to restart from.
  const s = await startTarget(t, onRedis ? { args: ['--appendonly', 'yes', '--appendfsync', 'always'] } : {});
  const r = await connected(s);
  const N = 600;
  const pl = r.pipeline();
  for (let i = 0; i < N; i++) {
    if (i % 4 === 0) pl.hset(`p:h:${i}`, { a: `${i}`, b: 'x'.repeat(i % 100) });
    else pl.set(`p:s:${i}`, `value-${i}`);
  }
  pl.incrby('p:counter', 12345);
  pl.set('p:deleted', 'gone');
  pl.del('p:deleted');
  pl.hset('p:hdel', 'keep', '1', 'drop', '2');
  pl.hdel('p:hdel', 'drop');
  pl.set('p:ttl-long', 'stays', 'EX', 3600);
  pl.set('p:persisted', 'no ttl any more', 'EX', 3600);
  pl.persist('p:persisted');
  pl.hset('p:ttl-hash', 'f', 'v');
  pl.pexpire('p:ttl-hash', 7_200_000);
  const res = await pl.exec();
  assert.ok(res && res.every(([e]) => e === null), `pipeline errors: ${JSON.stringify(res?.filter(([e]) => e))}`);
  // A key that expires while the server is down.
  assert.equal(await r.set('p:ttl-short', 'soon gone', 'PX', 300), 'OK');
  const deadline = Date.now() + 300;
  const before = {
    long: Number(await r.call('PEXPIRETIME', 'p:ttl-long')),
    hash: Number(await r.call('PEXPIRETIME', 'p:ttl-hash')),
    dbsize: await r.dbsize(),
  };
  assert.ok(before.long > Date.now());
  r.disconnect();

  const stopped = await s.stop();
  assert.equal(stopped.forced, false, 'the server needed SIGKILL to stop');
  assert.equal(stopped.strays, false, 'the server left processes behind');
  assert.equal(stopped.code, 0, `exit code on SIGTERM: ${stopped.code} (signal ${stopped.signal})`);
  // Wait (on the clock, not a guess) until the short TTL has passed.
  await waitFor(() => Date.now() > deadline + 50, { what: 'p:ttl-short to be past its deadline' });
  await s.restart();

  const r2 = await connected(s);
  t.after(() => r2.disconnect());
  const reads = r2.pipeline();
  for (let i = 0; i < N; i++) {
    if (i % 4 === 0) reads.hgetall(`p:h:${i}`);
    else reads.get(`p:s:${i}`);
  }
  const got = await reads.exec();
  assert.ok(got);
  const wrong: string[] = [];
  for (let i = 0; i < N; i++) {
    const [err, v] = got[i]!;
    const want = i % 4 === 0 ? { a: `${i}`, b: 'x'.repeat(i % 100) } : `value-${i}`;
    if (err || !isDeepStrictEqual(v, want)) wrong.push(`key ${i}: ${err ?? JSON.stringify(v)}`);
  }
  assert.deepEqual(wrong.slice(0, 10), [], `${wrong.length} keys lost or wrong after restart`);
  assert.equal(await r2.get('p:counter'), '12345');
  assert.equal(await r2.exists('p:deleted'), 0);
  assert.deepEqual(await r2.hgetall('p:hdel'), { keep: '1' });
  assert.equal(await r2.type('p:h:0'), 'hash');
  assert.equal(await r2.type('p:s:1'), 'string');
  // TTLs are absolute deadlines: the same after the restart.
  assert.equal(Number(await r2.call('PEXPIRETIME', 'p:ttl-long')), before.long);
  assert.equal(Number(await r2.call('PEXPIRETIME', 'p:ttl-hash')), before.hash);
  const ttl = await r2.ttl('p:ttl-long');
  assert.ok(ttl > 3500 && ttl <= 3600, `TTL after restart: ${ttl}`);
  assert.equal(await r2.ttl('p:persisted'), -1);
  assert.equal(await r2.get('p:persisted'), 'no ttl any more');
  // Expired while down: invisible to reads, writes and the keyspace.
  assert.equal(await r2.get('p:ttl-short'), null);
  assert.equal(await r2.exists('p:ttl-short'), 0);
  assert.equal(await r2.ttl('p:ttl-short'), -2);
  assert.deepEqual((await r2.keys('p:ttl-*')).sort(), ['p:ttl-hash', 'p:ttl-long']);
  assert.equal(await r2.setnx('p:ttl-short', 'new'), 1, 'SETNX on an expired key must succeed');
  assert.equal(await r2.ttl('p:ttl-short'), -1, 'a key re-created after expiry has no TTL');
  assert.equal(await r2.dbsize(), before.dbsize, 'DBSIZE: the expired key re-created replaces the one that expired');
});

test('kill -9 while 24 clients write: every acknowledged write survives', redraftOnly, async (t) => {
  const s = await startTarget(t);
  const CLIENTS = 24;
  const PER_CLIENT = 250; // 6000 writes planned in all
  const IN_FLIGHT = 4; // per client
  const KILL_AFTER = 1500; // acknowledged writes before the kill
  type Ack = { key: string; kind: 'set' | 'hset' | 'incr'; value: string | number };
  const acked: Ack[] = [];
  let failed = 0;
  const clients = await Promise.all(Array.from({ length: CLIENTS }, () => connected(s)));
  t.after(() => clients.forEach((c) => c.disconnect()));

  const writer = async (c: Redis, id: number): Promise<void> => {
    let next = 0;
    const lane = async () => {
      while (next < PER_CLIENT) {
        const i = next++;
        try {
          if (i % 10 === 9) {
            const v = await c.incr(`dur:ctr:${id}`);
            acked.push({ key: `dur:ctr:${id}`, kind: 'incr', value: v });
          } else if (i % 3 === 0) {
            const value = `h-${id}-${i}-${'y'.repeat(i % 50)}`;
            await c.hset(`dur:h:${id}`, `f${i}`, value);
            acked.push({ key: `dur:h:${id}\0f${i}`, kind: 'hset', value });
          } else {
            const value = `v-${id}-${i}-${'z'.repeat(i % 200)}`;
            const ok = await c.set(`dur:s:${id}:${i}`, value);
            if (ok === 'OK') acked.push({ key: `dur:s:${id}:${i}`, kind: 'set', value });
          }
        } catch {
          failed++;
          return; // the connection is gone
        }
      }
    };
    await Promise.all(Array.from({ length: IN_FLIGHT }, lane));
  };
  const writing = Promise.all(clients.map((c, id) => writer(c, id)));

  await waitFor(() => acked.length >= KILL_AFTER, { timeoutMs: 60_000, what: `${KILL_AFTER} acknowledged writes`, proc: s.proc });
  const pidBefore = s.pid;
  await s.kill9();
  const ackedAtKill = acked.length;
  await writing;
  assert.ok(failed > 0, `the kill came after every write was done (acked ${acked.length}): it proves nothing`);
  const total = acked.length;
  t.diagnostic(`kill -9 sent after ${ackedAtKill} acknowledged writes; ${total} acknowledged in all`);


  await s.restart();
  assert.notEqual(s.pid, pidBefore);
  const r = await connected(s);
  t.after(() => r.disconnect());
  const lost: string[] = [];
  const maxIncr = new Map<string, number>();
  const BATCH = 500;
  for (let off = 0; off < acked.length; off += BATCH) {
    const batch = acked.slice(off, off + BATCH);
    const pl = r.pipeline();
    for (const a of batch) {
      if (a.kind === 'set') pl.get(a.key);
      else if (a.kind === 'hset') pl.hget(a.key.split('\0')[0]!, a.key.split('\0')[1]!);
      else pl.get(a.key);
    }
    const res = (await pl.exec())!;
    batch.forEach((a, i) => {
      const [err, v] = res[i]!;
      if (a.kind === 'incr') {
        maxIncr.set(a.key, Math.max(maxIncr.get(a.key) ?? 0, a.value as number));
        if (err || Number(v) < (a.value as number)) lost.push(`${a.key}: INCR acknowledged ${a.value}, now ${err ?? v}`);
      } else if (err || v !== a.value) lost.push(`${a.key.replace('\0', ' ')}: acknowledged ${JSON.stringify(a.value)}, now ${err ?? JSON.stringify(v)}`);
    });
  }
  assert.deepEqual(lost.slice(0, 20), [], `${lost.length} of ${acked.length} acknowledged writes lost after kill -9`);
  assert.ok(maxIncr.size > 0);
  t.diagnostic(`kill -9 durability: ${total} writes acknowledged (${ackedAtKill} when SIGKILL was sent), ${failed} client lanes cut off, of ${CLIENTS * PER_CLIENT} planned; every one present after restart`);
});
