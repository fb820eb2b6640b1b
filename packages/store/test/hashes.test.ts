// Hash commands through the real dispatcher, table and apply; cases ported
// from the Redis 7.0.15 Tcl suite (tests/unit/type/hash.tcl) where they apply.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorReply, MapReply, OK } from '@redraft/common';
import { testStore, plain } from './harness';
import type { TestStore } from './harness';

function errOf(r: unknown): string {
  assert.ok(r instanceof ErrorReply, `expected an error, got ${JSON.stringify(plain(r as never))}`);
  return r.message;
}

async function fill(s: TestStore, key: string, pairs: Array<[string, string]>): Promise<void> {
  await s.exec('del', key);
  for (const [f, v] of pairs) await s.exec('hset', key, f, v);
}

test('HSET/HLEN/HGET: creation, update and insert mode', async () => {
  const s = await testStore();
  for (let i = 0; i < 8; i++) assert.equal(await s.exec('hset', 'h', `k${i}`, `v${i}`), 1);
  assert.equal(await s.exec('hlen', 'h'), 8);
  assert.equal(plain(await s.exec('hget', 'h', 'k3')), 'v3');
  assert.equal(await s.exec('hget', 'h', '__123123123__'), null);
  assert.equal(await s.exec('hget', 'nokey', 'f'), null);
  assert.equal(await s.exec('hset', 'h', 'k0', 'newval1'), 0);
  assert.equal(plain(await s.exec('hget', 'h', 'k0')), 'newval1');
  assert.equal(await s.exec('hset', 'h', '__foobar123__', 'newval'), 1);
  assert.equal(await s.exec('hdel', 'h', '__foobar123__'), 1);
  assert.equal(await s.exec('hlen', 'h'), 8);
  // several pairs at once, a repeated field counted once
  assert.equal(await s.exec('hset', 'm', 'a', '1', 'b', '2', 'a', '3'), 2);
  assert.equal(plain(await s.exec('hget', 'm', 'a')), '3');
  assert.equal(await s.exec('hlen', 'm'), 2);
  assert.equal(await s.exec('hlen', 'nokey'), 0);
});

test('HSET/HMSET wrong number of args; HMSET answers OK', async () => {
  const s = await testStore();
  assert.equal(errOf(await s.exec('hset', 'h', 'key1', 'val1', 'key2')), "ERR wrong number of arguments for 'hset' command");
  assert.equal(errOf(await s.exec('hmset', 'h', 'key1', 'val1', 'key2')), "ERR wrong number of arguments for 'hmset' command");
  assert.equal(errOf(await s.exec('hset', 'h', 'key1')), "ERR wrong number of arguments for 'hset' command");
  assert.equal(await s.exec('hmset', 'h', 'a', '1', 'b', '2'), OK);
  assert.equal(await s.exec('hmset', 'h', 'a', '3'), OK);
  assert.deepEqual(plain(await s.exec('hmget', 'h', 'a', 'b', 'c')), ['3', '2', null]);
});

test('HSETNX sets only missing fields', async () => {
  const s = await testStore();
  assert.equal(await s.exec('hsetnx', 'h', 'f', 'foo'), 1);
  assert.equal(await s.exec('hsetnx', 'h', 'f', 'bar'), 0);
  assert.equal(plain(await s.exec('hget', 'h', 'f')), 'foo');
  assert.equal(await s.exec('hlen', 'h'), 1);
});

test('HMGET against missing key/fields and wrong type', async () => {
  const s = await testStore();
  assert.deepEqual(plain(await s.exec('hmget', 'doesntexist', 'a', 'b')), [null, null]);
  await s.exec('set', 'wrongtype', 'somevalue');
  assert.match(errOf(await s.exec('hmget', 'wrongtype', 'f1', 'f2')), /^WRONGTYPE/);
  for (const cmd of [
    ['hget', 'wrongtype', 'f'],
    ['hset', 'wrongtype', 'f', 'v'],
    ['hsetnx', 'wrongtype', 'f', 'v'],
    ['hdel', 'wrongtype', 'f'],
    ['hlen', 'wrongtype'],
    ['hexists', 'wrongtype', 'f'],
    ['hgetall', 'wrongtype'],
    ['hkeys', 'wrongtype'],
    ['hvals', 'wrongtype'],
    ['hincrby', 'wrongtype', 'f', '1'],
    ['hincrbyfloat', 'wrongtype', 'f', '1'],
    ['hstrlen', 'wrongtype', 'f'],
    ['hrandfield', 'wrongtype'],
    ['hrandfield', 'wrongtype', '2'],
    ['hscan', 'wrongtype', '0'],
  ]) {
    assert.equal(errOf(await s.exec(...cmd)), 'WRONGTYPE Operation against a key holding the wrong kind of value', cmd.join(' '));
  }
  assert.equal(plain(await s.exec('get', 'wrongtype')), 'somevalue');
});

test('HKEYS, HVALS, HGETALL (RESP2 flat, RESP3 map)', async () => {
  const s = await testStore();
  await fill(s, 'h', [['b', '2'], ['a', '1'], ['c', '3']]);
  assert.deepEqual((plain(await s.exec('hkeys', 'h')) as string[]).sort(), ['a', 'b', 'c']);
  assert.deepEqual((plain(await s.exec('hvals', 'h')) as string[]).sort(), ['1', '2', '3']);
  const all = await s.exec('hgetall', 'h');
  assert.ok(all instanceof MapReply);
  const obj = Object.fromEntries(all.entries.map(([k, v]) => [plain(k), plain(v)]));
  assert.deepEqual(obj, { a: '1', b: '2', c: '3' });
  assert.deepEqual(plain(await s.exec('hkeys', 'nokey')), []);
  assert.deepEqual(plain(await s.exec('hvals', 'nokey')), []);
  const none = await s.exec('hgetall', 'nokey');
  assert.ok(none instanceof MapReply && none.entries.length === 0);
});

test('HDEL return values; the hash goes with its last field', async () => {
  const s = await testStore();
  await s.exec('hmset', 'myhash', 'a', '1', 'b', '2', 'c', '3');
  assert.equal(await s.exec('hdel', 'myhash', 'x', 'y'), 0);
  assert.equal(await s.exec('hdel', 'myhash', 'a', 'c', 'f'), 2);
  const all = (await s.exec('hgetall', 'myhash')) as MapReply;
  assert.deepEqual(all.entries.map(([k, v]) => [plain(k), plain(v)]), [['b', '2']]);
  assert.equal(await s.exec('hdel', 'nokey', 'a'), 0);
  await s.exec('del', 'myhash');
  await s.exec('hmset', 'myhash', 'a', '1', 'b', '2', 'c', '3');
  assert.equal(await s.exec('hdel', 'myhash', 'a', 'b', 'c', 'd', 'e'), 3);
  assert.equal(await s.exec('exists', 'myhash'), 0);
  // a recreated hash starts empty (old members are invisible)
  assert.equal(await s.exec('hset', 'myhash', 'z', '26'), 1);
  assert.equal(await s.exec('hlen', 'myhash'), 1);
  assert.equal(await s.exec('hget', 'myhash', 'a'), null);
});

test('HEXISTS and HSTRLEN', async () => {
  const s = await testStore();
  await fill(s, 'h', [['f', 'hello'], ['e', '']]);
  assert.equal(await s.exec('hexists', 'h', 'f'), 1);
  assert.equal(await s.exec('hexists', 'h', 'nokey'), 0);
  assert.equal(await s.exec('hexists', 'nokey', 'f'), 0);
  assert.equal(await s.exec('hstrlen', 'h', 'f'), 5);
  assert.equal(await s.exec('hstrlen', 'h', 'e'), 0);
  assert.equal(await s.exec('hstrlen', 'h', '__123123123__'), 0);
  assert.equal(await s.exec('hstrlen', 'nokey', 'f'), 0);
  for (const v of ['-9223372036854775808', '9223372036854775807', '9223372036854775808', '', '0', '-1', 'x']) {
    await s.exec('hmset', 'h', 'field', v);
    assert.equal(await s.exec('hstrlen', 'h', 'field'), v.length);
  }
});

test('HINCRBY: missing key and field, over 32 bits, bad values, overflow', async () => {
  const s = await testStore();
  assert.equal(await s.exec('hincrby', 'htest', 'foo', '2'), 2n);
  assert.equal(await s.exec('hincrby', 'htest', 'foo', '3'), 5n);
  assert.equal(plain(await s.exec('hget', 'htest', 'foo')), '5');
  await s.exec('hset', 'htest', 'tmp', '100');
  assert.equal(await s.exec('hincrby', 'htest', 'tmp', '2'), 102n);
  await s.exec('hset', 'htest', 'tmp', '17179869184');
  assert.equal(await s.exec('hincrby', 'htest', 'tmp', '1'), 17179869185n);
  await s.exec('hset', 'htest', 'tmp', '17179869184');
  assert.equal(await s.exec('hincrby', 'htest', 'tmp', '17179869184'), 34359738368n);
  for (const bad of [' 11', '11 ', '1.5', '', 'abc', '+1', '01', '-0', '99999999999999999999']) {
    await s.exec('hset', 'htest', 'str', bad);
    assert.equal(errOf(await s.exec('hincrby', 'htest', 'str', '1')), 'ERR hash value is not an integer', JSON.stringify(bad));
  }
  assert.equal(errOf(await s.exec('hincrby', 'htest', 'foo', 'x')), 'ERR value is not an integer or out of range');
  assert.equal(errOf(await s.exec('hincrby', 'htest', 'foo', '9223372036854775808')), 'ERR value is not an integer or out of range');
  await s.exec('hset', 'hash', 'n', '-9223372036854775484');
  assert.equal(await s.exec('hincrby', 'hash', 'n', '-1'), -9223372036854775485n);
  assert.equal(errOf(await s.exec('hincrby', 'hash', 'n', '-10000')), 'ERR increment or decrement would overflow');
  assert.equal(plain(await s.exec('hget', 'hash', 'n')), '-9223372036854775485');
  await s.exec('hset', 'hash', 'p', '9223372036854775807');
  assert.equal(errOf(await s.exec('hincrby', 'hash', 'p', '1')), 'ERR increment or decrement would overflow');
  // a failed increment on a missing key leaves no key behind
  assert.equal(errOf(await s.exec('hincrby', 'fresh', 'f', 'nope')), 'ERR value is not an integer or out of range');
  assert.equal(await s.exec('exists', 'fresh'), 0);
  assert.equal(await s.exec('hlen', 'htest'), 3);
});

test('HINCRBYFLOAT: values, formatting like Redis (80-bit), errors', async () => {
  const s = await testStore();
  assert.equal(plain(await s.exec('hincrbyfloat', 'htest', 'foo', '2.5')), '2.5');
  assert.equal(plain(await s.exec('hincrbyfloat', 'htest', 'foo', '3.5')), '6');
  await s.exec('hset', 'htest', 'tmp', '100');
  assert.equal(plain(await s.exec('hincrbyfloat', 'htest', 'tmp', '2.5')), '102.5');
  await s.exec('hset', 'htest', 'tmp', '17179869184');
  assert.equal(plain(await s.exec('hincrbyfloat', 'htest', 'tmp', '1')), '17179869185');
  await s.exec('hset', 'htest', 'tmp', '17179869184');
  assert.equal(plain(await s.exec('hincrbyfloat', 'htest', 'tmp', '17179869184')), '34359738368');
  // issue #2846
  await s.exec('del', 'myhash');
  assert.equal(plain(await s.exec('hincrbyfloat', 'myhash', 'float', '1.23')), '1.23');
  assert.equal(plain(await s.exec('hincrbyfloat', 'myhash', 'float', '0.77')), '2');
  assert.equal(plain(await s.exec('hincrbyfloat', 'myhash', 'float', '-0.1')), '1.9');
  assert.equal(plain(await s.exec('hget', 'myhash', 'float')), '1.9');
  // long double, not double: 0.1 + 0.2 is 0.3 as in Redis
  await s.exec('hset', 'x', 'f', '0.1');
  assert.equal(plain(await s.exec('hincrbyfloat', 'x', 'f', '0.2')), '0.3');
  assert.equal(plain(await s.exec('hincrbyfloat', 'x', 'f', '5.0e3')), '5000.29999999999999982'); // what redis-server 7.0.15 answers
  assert.equal(plain(await s.exec('hincrbyfloat', 'x', 'g', '1e20')), '100000000000000000000');
  assert.equal(plain(await s.exec('hincrbyfloat', 'x', 'h', '-0.0000000000000000001')), '0');
  for (const bad of [' 11', '11 ', '1\x002', 'abc', '', 'nan']) {
    await s.exec('hset', 'h', 'str', bad);
    assert.equal(errOf(await s.exec('hincrbyfloat', 'h', 'str', '1')), 'ERR hash value is not a float', JSON.stringify(bad));
  }
  assert.equal(errOf(await s.exec('hincrbyfloat', 'hfoo', 'field', '+inf')), 'ERR value is NaN or Infinity');
  assert.equal(errOf(await s.exec('hincrbyfloat', 'hfoo', 'field', 'x')), 'ERR value is not a valid float');
  assert.equal(await s.exec('exists', 'hfoo'), 0);
  await s.exec('hset', 'h', 'big', '1e4932');
  assert.equal(errOf(await s.exec('hincrbyfloat', 'h', 'big', '1e4932')), 'ERR increment would produce NaN or Infinity');
  await s.exec('hset', 'h', 'inf', 'inf');
  assert.equal(errOf(await s.exec('hincrbyfloat', 'h', 'inf', '1')), 'ERR increment would produce NaN or Infinity');
});

test('HRANDFIELD: single, counts, negative counts, WITHVALUES, RESP3 pairs, errors', async () => {
  const s = await testStore();
  const contents: Array<[string, string]> = [['a', '1'], ['b', '2'], ['c', '3'], ['d', '4'], ['e', '5'], ['6', 'f'], ['7', 'g'], ['8', 'h'], ['9', 'i'], ['10', 'j']];
  await fill(s, 'myhash', contents);
  const dict = new Map(contents);
  const seen = new Set<string>();
  for (let i = 0; i < 200; i++) seen.add(plain(await s.exec('hrandfield', 'myhash')) as string);
  assert.deepEqual([...seen].sort(), [...dict.keys()].sort());
  assert.equal(await s.exec('hrandfield', 'nonexisting_key'), null);
  assert.deepEqual(await s.exec('hrandfield', 'nonexisting_key', 100), []);
  assert.deepEqual(await s.exec('hrandfield', 'myhash', 0), []);
  // negative: repetitions allowed
  let res = plain(await s.exec('hrandfield', 'myhash', -20)) as string[];
  assert.equal(res.length, 20);
  assert.equal((plain(await s.exec('hrandfield', 'myhash', -1001)) as string[]).length, 1001);
  res = plain(await s.exec('hrandfield', 'myhash', -20, 'withvalues')) as string[];
  assert.equal(res.length, 40);
  for (let i = 0; i < res.length; i += 2) assert.equal(dict.get(res[i]), res[i + 1]);
  // positive >= size: the whole hash
  for (const size of [10, 20]) {
    assert.deepEqual((plain(await s.exec('hrandfield', 'myhash', size)) as string[]).sort(), [...dict.keys()].sort());
    assert.equal((plain(await s.exec('hrandfield', 'myhash', size, 'WITHVALUES')) as string[]).length, 20);
  }
  // positive < size: distinct
  for (const size of [8, 2]) {
    const r = plain(await s.exec('hrandfield', 'myhash', size)) as string[];
    assert.equal(r.length, size);
    assert.equal(new Set(r).size, size);
    for (const f of r) assert.ok(dict.has(f));
    const wv = plain(await s.exec('hrandfield', 'myhash', size, 'withvalues')) as string[];
    assert.equal(wv.length, size * 2);
  }
  // RESP3: WITHVALUES gives [field, value] pairs
  s.client.protocol = 3;
  const r3 = plain(await s.exec('hrandfield', 'myhash', 3, 'withvalues')) as string[][];
  assert.equal(r3.length, 3);
  for (const pair of r3) assert.equal(pair.length, 2);
  assert.equal((plain(await s.exec('hrandfield', 'myhash', 3)) as string[]).length, 3);
  s.client.protocol = 2;
  // errors
  assert.equal(errOf(await s.exec('hrandfield', 'myhash', '-9223372036854770000', 'withvalues')), 'ERR value is out of range');
  assert.equal(errOf(await s.exec('hrandfield', 'myhash', '-9223372036854775808', 'withvalues')), 'ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807');
  assert.equal(errOf(await s.exec('hrandfield', 'myhash', '-9223372036854775808')), 'ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807');
  assert.equal(errOf(await s.exec('hrandfield', 'myhash', 'x')), 'ERR value is not an integer or out of range');
  assert.equal(errOf(await s.exec('hrandfield', 'myhash', 1, 'withscores')), 'ERR syntax error');
  assert.equal(errOf(await s.exec('hrandfield', 'myhash', 1, 'withvalues', 'x')), 'ERR syntax error');
});

test('HSCAN: full iteration with small COUNT, MATCH, cursors, missing key', async () => {
  const s = await testStore();
  const n = 1000;
  const args: string[] = [];
  for (let i = 0; i < n; i++) args.push(`key:${i}`, `${i}`);
  await s.exec('hmset', 'hash', ...args);
  for (const count of [undefined, 1, 7, 100, 5000]) {
    const seen = new Map<string, string>();
    let cursor = '0';
    let calls = 0;
    do {
      const r = plain(await s.exec('hscan', 'hash', cursor, ...(count ? ['COUNT', count] : []))) as [string, string[]];
      cursor = r[0];
      for (let i = 0; i < r[1].length; i += 2) seen.set(r[1][i], r[1][i + 1]);
      assert.ok(++calls < 5000);
    } while (cursor !== '0');
    assert.equal(seen.size, n);
    for (const [k, v] of seen) assert.equal(k, `key:${v}`);
  }
  // MATCH
  await s.exec('hmset', 'mykey', 'foo', 'a', 'fab', 'b', 'fiz', 'c', 'foobar', 'd');
  const m = plain(await s.exec('hscan', 'mykey', 0, 'MATCH', 'foo*', 'COUNT', 10000)) as [string, string[]];
  assert.equal(m[0], '0');
  assert.deepEqual(m[1], ['foo', 'a', 'foobar', 'd']);
  // missing key, bad cursor, bad options
  assert.deepEqual(plain(await s.exec('hscan', 'nokey', 0)), ['0', []]);
  assert.equal(errOf(await s.exec('hscan', 'mykey', 'abc')), 'ERR invalid cursor');
  assert.equal(errOf(await s.exec('hscan', 'mykey', 0, 'COUNT', 0)), 'ERR syntax error');
  assert.equal(errOf(await s.exec('hscan', 'mykey', 0, 'COUNT', 'x')), 'ERR value is not an integer or out of range');
  assert.equal(errOf(await s.exec('hscan', 'mykey', 0, 'TYPE', 'hash')), 'ERR syntax error');
  assert.equal(errOf(await s.exec('hscan', 'mykey', 0, 'MATCH')), 'ERR syntax error');
  // a cursor past every field ends the scan
  assert.deepEqual(plain(await s.exec('hscan', 'mykey', '18446744073709551615')), ['0', []]);
});

test('HSCAN: fields sharing a long prefix still make progress; every field present throughout is returned', async () => {
  const s = await testStore();
  const prefix = 'commonprefix:';
  for (let i = 0; i < 50; i++) await s.exec('hset', 'h', `${prefix}${i}`, `${i}`);
  await s.exec('hset', 'h', '', 'empty', '\x00', 'nul', '\xff\xff\xff\xff\xff\xff\xff\xff', 'high');
  let cursor = '0';
  const seen = new Set<string>();
  let deletedOnce = false;
  do {
    const r = plain(await s.exec('hscan', 'h', cursor, 'COUNT', 3)) as [string, string[]];
    cursor = r[0];
    for (let i = 0; i < r[1].length; i += 2) seen.add(r[1][i]);
    if (!deletedOnce) {
      // concurrent changes: fields present all along must still show up
      await s.exec('hdel', 'h', `${prefix}7`);
      await s.exec('hset', 'h', 'aaa-new', 'x');
      deletedOnce = true;
    }
  } while (cursor !== '0');
  for (let i = 0; i < 50; i++) if (i !== 7) assert.ok(seen.has(`${prefix}${i}`), `${prefix}${i}`);
  assert.ok(seen.has('') && seen.has('\x00'));
  assert.equal(seen.size >= 52, true);
});

test('expired hashes are invisible to reads and replaced by writes', async () => {
  const s = await testStore();
  await s.exec('hset', 'h', 'a', '1', 'b', '2');
  // expire it through a SET ... PXAT past-due on another key is not possible; write the expiry directly
  const { MutableKeyspace } = await import('../src/data/keyspace');
  const { OverlayBatch } = await import('@redraft/common');
  const batch = new OverlayBatch(s.engine);
  const ks = new MutableKeyspace(batch, Date.now(), 999999);
  const found = await ks.lookup(Buffer.from('h'));
  assert.ok(found);
  ks.putMeta(Buffer.from('h'), { ...found, expireAt: 1 });
  await s.engine.write(batch.batch, true);
  assert.equal(await s.exec('hget', 'h', 'a'), null);
  assert.equal(await s.exec('hlen', 'h'), 0);
  assert.equal(await s.exec('hset', 'h', 'c', '3'), 1);
  assert.equal(await s.exec('hlen', 'h'), 1);
  assert.equal(await s.exec('hget', 'h', 'a'), null);
  assert.equal(await s.exec('hincrby', 'h', 'c', 1), 4n);
});

test('hash fuzzing: random HSET/HDEL against a model', async () => {
  const s = await testStore();
  let seed = 12345;
  const rnd = (n: number): number => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  const model = new Map<string, string>();
  for (let j = 0; j < 600; j++) {
    const field = String(rnd(200) - 100);
    const path = rnd(3);
    if (path < 2) {
      const value = String(rnd(1000));
      await s.exec('hset', 'hash', field, value);
      model.set(field, value);
    } else {
      await s.exec('hdel', 'hash', field);
      model.delete(field);
    }
  }
  for (const [k, v] of model) assert.equal(plain(await s.exec('hget', 'hash', k)), v);
  assert.equal(await s.exec('hlen', 'hash'), model.size);
});

test('pipelined hash writes keep order', async () => {
  const s = await testStore();
  const replies = await Promise.all([
    s.exec('hincrby', 'h', 'n', 1),
    s.exec('hincrby', 'h', 'n', 1),
    s.exec('hget', 'h', 'n'),
    s.exec('hdel', 'h', 'n'),
    s.exec('hlen', 'h'),
  ]);
  assert.deepEqual(plain(replies as never), [1n, 2n, '2', 1, 0]);
});

test('HSCAN: batches stay near COUNT when every field shares a long prefix', async () => {
  const s = await testStore();
  const args: string[] = [];
  for (let i = 0; i < 600; i++) args.push(`session:${String(i).padStart(6, '0')}:${'x'.repeat(i % 5)}`, `${i}`);
  await s.exec('hmset', 'h', ...args);
  let cursor = '0';
  const seen = new Set<string>();
  let calls = 0;
  do {
    const r = plain(await s.exec('hscan', 'h', cursor, 'COUNT', 10)) as [string, string[]];
    assert.ok(r[1].length / 2 <= 20, `batch of ${r[1].length / 2}`);
    cursor = r[0];
    for (let i = 0; i < r[1].length; i += 2) seen.add(r[1][i]);
    calls++;
  } while (cursor !== '0');
  assert.equal(seen.size, 600);
  assert.ok(calls >= 30, `${calls} calls`);
});

test('HSCAN: changing both ends of the hash mid-scan loses no field present throughout', async () => {
  const s = await testStore();
  const args: string[] = [];
  for (let i = 0; i < 300; i++) args.push(`k:${String(i).padStart(4, '0')}`, `${i}`);
  await s.exec('hmset', 'h', ...args);
  let cursor = '0';
  const seen = new Set<string>();
  let round = 0;
  do {
    const r = plain(await s.exec('hscan', 'h', cursor, 'COUNT', 7)) as [string, string[]];
    cursor = r[0];
    for (let i = 0; i < r[1].length; i += 2) seen.add(r[1][i]);
    round++;
    // new first and last fields with other prefixes, then remove them again
    if (round === 3) await s.exec('hset', 'h', 'a-first', '1', 'z-last', '2');
    if (round === 6) await s.exec('hdel', 'h', 'a-first');
    if (round === 9) await s.exec('hset', 'h', '0-first', '1');
    assert.ok(round < 1000);
  } while (cursor !== '0');
  for (let i = 0; i < 300; i++) assert.ok(seen.has(`k:${String(i).padStart(4, '0')}`), `k:${i}`);
});

test('HSCAN: randomized fields (binary, zero bytes, shared prefixes) under concurrent changes', async () => {
  let seed = 99;
  const rnd = (n: number): number => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  const alphabet = [0x00, 0x01, 0x61, 0x62, 0xff];
  const randomField = (): Buffer => Buffer.from(Array.from({ length: rnd(12) }, () => alphabet[rnd(alphabet.length)]));
  for (let trial = 0; trial < 6; trial++) {
    const s = await testStore();
    const persistent = new Set<string>();
    for (let i = 0; i < 150; i++) {
      const f = randomField();
      persistent.add(f.toString('latin1'));
      await s.exec('hset', 'h', f, 'p');
    }
    const transient: Buffer[] = [];
    let cursor: Buffer | string = '0';
    const seen = new Set<string>();
    let calls = 0;
    do {
      const r = (await s.exec('hscan', 'h', cursor, 'COUNT', 1 + rnd(6))) as [Buffer, Buffer[]];
      cursor = r[0];
      for (let i = 0; i < r[1].length; i += 2) seen.add(r[1][i].toString('latin1'));
      // add or remove fields that are not part of the persistent set
      if (rnd(2) === 0) {
        const f = Buffer.concat([randomField(), Buffer.from('~t')]);
        if (!persistent.has(f.toString('latin1'))) {
          transient.push(f);
          await s.exec('hset', 'h', f, 't');
        }
      } else if (transient.length > 0) {
        await s.exec('hdel', 'h', transient.splice(rnd(transient.length), 1)[0]);
      }
      assert.ok(++calls < 2000, 'the scan terminates');
    } while (cursor.toString() !== '0');
    for (const f of persistent) assert.ok(seen.has(f), `missing ${Buffer.from(f, 'latin1').toString('hex')}`);
  }
});
