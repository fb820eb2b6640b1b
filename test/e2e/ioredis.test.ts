// ioredis 6 against the real server: its RESP3 handshake (HELLO 3, CLIENT
// SETINFO, INFO), strings and hashes, a 1000-command pipeline and
// auto-pipelined batches answered in order, binary and large values, SCAN as
// a stream, and a second client on RESP2 (`protocol: 2`).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import Redis, { type RedisOptions } from 'ioredis';
import type { Server, TestLike } from '../support';
import { onRedis, startTarget } from './target';

/** A connected ioredis client that is closed when t ends; fails instead of retrying forever. */
async function client(t: TestLike, s: Server, opts: RedisOptions = {}): Promise<Redis> {
  const r = new Redis({
    host: s.host,
    port: s.port,
    lazyConnect: true,
    retryStrategy: () => null,
    maxRetriesPerRequest: 0,
    connectTimeout: 10_000,
    ...opts,
  });
  r.on('error', () => {
    /* surfaced through the rejected commands */
  });
  t.after(() => r.disconnect());
  await r.connect();
  assert.equal(r.status, 'ready');
  return r;
}

/** CLIENT INFO as a field map. */
async function clientInfo(r: Redis): Promise<Map<string, string>> {
  const line = String(await r.call('CLIENT', 'INFO')).trim();
  return new Map(line.split(' ').map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)] as [string, string]));
}

async function stringsAndHashes(r: Redis, p: string): Promise<void> {
  // Strings.
  assert.equal(await r.set(`${p}s`, 'hello'), 'OK');
  assert.equal(await r.get(`${p}s`), 'hello');
  assert.equal(await r.get(`${p}missing`), null);
  assert.equal(await r.append(`${p}s`, ' world'), 11);
  assert.equal(await r.strlen(`${p}s`), 11);
  assert.equal(await r.getrange(`${p}s`, 0, 4), 'hello');
  assert.equal(await r.incr(`${p}n`), 1);
  assert.equal(await r.incrby(`${p}n`, 41), 42);
  assert.equal(await r.decr(`${p}n`), 41);
  assert.equal(await r.incrbyfloat(`${p}f`, '1.5'), '1.5');
  assert.equal(await r.set(`${p}s`, 'x', 'NX'), null);
  assert.equal(await r.set(`${p}s`, 'bye', 'XX', 'GET'), 'hello world');
  assert.equal(await r.getset(`${p}s`, 'again'), 'bye');
  assert.equal(await r.mset(`${p}m1`, 'a', `${p}m2`, 'b'), 'OK');
  assert.deepEqual(await r.mget(`${p}m1`, `${p}missing`, `${p}m2`), ['a', null, 'b']);
  assert.equal(await r.set(`${p}e`, 'v', 'EX', 100), 'OK');
  const ttl = await r.ttl(`${p}e`);
  assert.ok(ttl > 90 && ttl <= 100, `ttl ${ttl}`);
  const pttl = await r.pttl(`${p}e`);
  assert.ok(pttl > 90_000 && pttl <= 100_000, `pttl ${pttl}`);
  assert.equal(await r.persist(`${p}e`), 1);
  assert.equal(await r.ttl(`${p}e`), -1);
  assert.equal(await r.getdel(`${p}e`), 'v');
  assert.equal(await r.exists(`${p}s`, `${p}e`, `${p}n`), 2);
  assert.equal(await r.type(`${p}n`), 'string');
  await assert.rejects(r.incr(`${p}s`), { message: 'ERR value is not an integer or out of range' });
  // Hashes.
  assert.equal(await r.hset(`${p}h`, { a: '1', b: '2', c: 'three' }), 3);
  assert.deepEqual(await r.hgetall(`${p}h`), { a: '1', b: '2', c: 'three' });
  assert.deepEqual(await r.hgetall(`${p}missing`), {});
  assert.equal(await r.hget(`${p}h`, 'c'), 'three');
  assert.deepEqual(await r.hmget(`${p}h`, 'a', 'nope', 'b'), ['1', null, '2']);
  assert.equal(await r.hincrby(`${p}h`, 'a', 9), 10);
  assert.equal(await r.hincrbyfloat(`${p}h`, 'b', '0.5'), '2.5');
  assert.equal(await r.hlen(`${p}h`), 3);
  assert.equal(await r.hexists(`${p}h`, 'c'), 1);
  assert.equal(await r.hsetnx(`${p}h`, 'c', 'x'), 0);
  assert.equal(await r.hstrlen(`${p}h`, 'c'), 5);
  assert.deepEqual((await r.hkeys(`${p}h`)).sort(), ['a', 'b', 'c']);
  assert.deepEqual((await r.hvals(`${p}h`)).sort(), ['10', '2.5', 'three']);
  assert.equal(await r.hdel(`${p}h`, 'a', 'nope'), 1);
  assert.equal(await r.type(`${p}h`), 'hash');
  await assert.rejects(r.hget(`${p}s`, 'a'), { message: 'WRONGTYPE Operation against a key holding the wrong kind of value' });
  await assert.rejects(r.hincrby(`${p}h`, 'c', 1), { message: 'ERR hash value is not an integer' });
  assert.equal(await r.del(`${p}s`, `${p}n`, `${p}f`, `${p}m1`, `${p}m2`, `${p}h`, `${p}missing`), 6);
}

/** 1000 mixed commands in one pipeline; every reply checked at its position. */
async function pipeline1000(r: Redis, p: string): Promise<void> {
  const pl = r.pipeline();
  const expected: Array<(err: Error | null, res: unknown) => void> = [];
  for (let i = 0; i < 1000; i++) {
    switch (i % 5) {
      case 0:
        pl.set(`${p}k${i}`, `v${i}`);
        expected.push((e, res) => assert.equal(res, 'OK', `#${i} SET`));
        break;
      case 1:
        pl.get(`${p}k${i - 1}`);
        expected.push((e, res) => assert.equal(res, `v${i - 1}`, `#${i} GET`));
        break;
      case 2:
        pl.incr(`${p}counter`);
        expected.push((e, res) => assert.equal(res, Math.floor(i / 5) + 1, `#${i} INCR`));
        break;
      case 3:
        pl.hset(`${p}hash`, `f${i}`, String(i));
        expected.push((e, res) => assert.equal(res, 1, `#${i} HSET`));
        break;
      case 4:
        // Every 50th command is an error: it takes its place and the next ones are unaffected.
        if (i % 50 === 4) {
          pl.incr(`${p}k${i - 4}`);
          expected.push((e) => assert.equal(e?.message, 'ERR value is not an integer or out of range', `#${i} INCR on a string`));
        } else {
          pl.hget(`${p}hash`, `f${i - 1}`);
          expected.push((e, res) => assert.equal(res, String(i - 1), `#${i} HGET`));
        }
        break;
    }
  }
  const results = await pl.exec();
  assert.ok(results);
  assert.equal(results.length, 1000);
  results.forEach(([err, res], i) => expected[i]!(err, res));
  assert.equal(await r.hlen(`${p}hash`), 200);
  assert.equal(await r.get(`${p}counter`), '200');
}

test('ioredis', async (t) => {
  const s = await startTarget(t);

  await t.test('default client: RESP3 handshake (HELLO 3, CLIENT SETINFO, INFO) and CLIENT INFO', async (t) => {
    const r = await client(t, s);
    const info = await clientInfo(r);
    assert.equal(info.get('resp'), '3');
    if (!onRedis) {
      // Redis 7.0 has no CLIENT SETINFO (ioredis ignores the error there); redraft keeps them.
      assert.equal(info.get('lib-name'), 'ioredis');
      assert.match(info.get('lib-ver') ?? '', /^6\./);
    }
    const serverInfo = await r.info('server');
    assert.match(serverInfo, /^# Server\r\n/);
    assert.match(serverInfo, /\r\nredis_version:\d+\.\d+\.\d+\r\n/);
    assert.equal(await r.ping(), 'PONG');
    assert.equal(await r.echo('hi'), 'hi');
  });

  await t.test('RESP3: strings and hashes', async (t) => {
    const r = await client(t, s);
    await stringsAndHashes(r, 'io3:');
  });

  await t.test('RESP3: pipeline of 1000 commands, replies in order', async (t) => {
    const r = await client(t, s);
    await pipeline1000(r, 'pl3:');
  });

  await t.test('RESP3 with replyMapping resp3: maps arrive as objects', async (t) => {
    const r = await client(t, s, { replyMapping: 'resp3' });
    await r.hset('map3:h', { x: '1', y: '2' });
    assert.deepEqual(await r.hgetall('map3:h'), { x: '1', y: '2' });
    const hello = (await r.call('HELLO', '3')) as Record<string, unknown>;
    assert.equal(typeof hello, 'object');
    assert.equal(hello.proto, 3);
    assert.equal(hello.server, 'redis');
    await r.del('map3:h');
  });

  await t.test('auto-pipelined batches without MULTI: 1300 concurrent commands from one client', async (t) => {
    const r = await client(t, s, { enableAutoPipelining: true });
    const sets = await Promise.all(Array.from({ length: 500 }, (_, i) => r.set(`ap:${i}`, `${i}`)));
    assert.ok(sets.every((x) => x === 'OK'));
    const gets = await Promise.all(Array.from({ length: 500 }, (_, i) => r.get(`ap:${i}`)));
    gets.forEach((v, i) => assert.equal(v, `${i}`));
    // Concurrent INCRs on one key: every reply distinct, the last one is the count.
    const incrs = await Promise.all(Array.from({ length: 300 }, () => r.incr('ap:ctr')));
    assert.deepEqual(
      [...incrs].sort((a, b) => a - b),
      Array.from({ length: 300 }, (_, i) => i + 1),
    );
    const keys: string[] = [];
    for await (const batch of r.scanStream({ match: 'ap:*', count: 100 })) keys.push(...(batch as string[]));
    assert.equal(new Set(keys).size, 501);
    assert.equal(await r.del(...Array.from({ length: 500 }, (_, i) => `ap:${i}`), 'ap:ctr'), 501);
  });

  await t.test('binary-safe keys and values, and a 4 MB value', async (t) => {
    const r = await client(t, s);
    const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    const key = Buffer.concat([Buffer.from('bin:'), all.subarray(0, 32)]);
    assert.equal(await r.set(key, all), 'OK');
    assert.deepEqual(await r.getBuffer(key), all);
    await r.hset('bin:h', all.subarray(100, 140), all);
    assert.deepEqual(await r.hgetBuffer('bin:h', all.subarray(100, 140)), all);
    const big = Buffer.alloc(4 << 20, 'abcdefghij');
    assert.equal(await r.set('bin:big', big), 'OK');
    assert.equal(await r.strlen('bin:big'), big.length);
    assert.ok((await r.getBuffer('bin:big'))!.equals(big));
    assert.equal(await r.del(key, 'bin:h', 'bin:big'), 3);
  });

  await t.test('RESP2 client (protocol: 2): handshake, strings, hashes, pipeline', async (t) => {
    const r = await client(t, s, { protocol: 2 });
    assert.equal((await clientInfo(r)).get('resp'), '2');
    await stringsAndHashes(r, 'io2:');
    await pipeline1000(r, 'pl2:');
    // A RESP2 reply to HELLO-less CONFIG GET is a flat array.
    const cfg = (await r.call('CONFIG', 'GET', 'maxmemory')) as unknown[];
    assert.ok(Array.isArray(cfg));
    assert.equal(cfg[0], 'maxmemory');
  });

  await t.test('both protocols see each other\'s writes', async (t) => {
    const r3 = await client(t, s);
    const r2 = await client(t, s, { protocol: 2 });
    await r3.hset('both:h', 'f', 'from3');
    assert.equal(await r2.hget('both:h', 'f'), 'from3');
    await r2.set('both:s', 'from2', 'PX', 100_000);
    assert.equal(await r3.get('both:s'), 'from2');
    assert.equal(await r3.del('both:h', 'both:s'), 2);
  });
});
