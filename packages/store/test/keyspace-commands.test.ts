// Keyspace commands through the real dispatcher, table and apply, with the
// cases of Redis 7.0's unit/keyspace and unit/expire that matter here.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorReply, OK, SimpleString } from '@redraft/common';
import type { Reply } from '@redraft/common';
import { testStore, plain } from './harness';

function assertError(r: Reply, pattern: RegExp | string): void {
  assert.ok(r instanceof ErrorReply, `expected an error, got ${JSON.stringify(plain(r))}`);
  if (typeof pattern === 'string') assert.equal(r.message, pattern);
  else assert.match(r.message, pattern);
}
const sorted = (r: Reply): unknown => (plain(r) as string[]).slice().sort();
const typeOf = async (s: Awaited<ReturnType<typeof testStore>>, k: string): Promise<string> => ((await s.exec('type', k)) as SimpleString).value;

test('DEL / UNLINK / EXISTS / TOUCH / TYPE', async () => {
  const s = await testStore();
  await s.exec('mset', 'foo1{t}', 'a', 'foo2{t}', 'b', 'foo3{t}', 'c');
  assert.equal(await s.exec('del', 'foo1{t}', 'foo2{t}', 'foo3{t}', 'foo4{t}'), 3);
  assert.equal(await s.exec('del', 'foo1{t}'), 0);
  await s.exec('set', 'x', 'v');
  assert.equal(await s.exec('exists', 'x', 'x', 'nokey'), 2);
  assert.equal(await s.exec('touch', 'x', 'x', 'nokey'), 2);
  assert.equal(await s.exec('unlink', 'x'), 1);
  assert.equal(await s.exec('exists', 'x'), 0);
  await s.exec('set', 's', 'v');
  await s.exec('hset', 'h', 'f', 'v');
  assert.equal(await typeOf(s, 's'), 'string');
  assert.equal(await typeOf(s, 'h'), 'hash');
  assert.equal(await typeOf(s, 'nokey'), 'none');
  // DEL against an expired key counts nothing.
  await s.exec('set', 'e', 'v', 'PXAT', 1);
  assert.equal(await s.exec('del', 'e'), 0);
  // A hash deleted and recreated has none of its old fields.
  await s.exec('del', 'h');
  await s.exec('hset', 'h', 'g', 'w');
  assert.equal(await s.exec('hget', 'h', 'f'), null);
  // Zero length key and value.
  assert.equal(await s.exec('set', '', 'bar'), OK);
  assert.equal(plain(await s.exec('get', '')), 'bar');
  assert.equal(await s.exec('exists', ''), 1);
});

test('EXPIRE family: set, overwrite, TTL rounding, PERSIST, past times delete', async () => {
  const s = await testStore();
  await s.exec('set', 'x', 'foobar');
  assert.equal(await s.exec('expire', 'x', 5), 1);
  assert.ok([4, 5].includes((await s.exec('ttl', 'x')) as number));
  assert.equal(await s.exec('expire', 'x', 10), 1);
  assert.equal(await s.exec('ttl', 'x'), 10);
  assert.equal(plain(await s.exec('get', 'x')), 'foobar');
  assert.equal(await s.exec('expire', 'nokey', 10), 0);
  await s.exec('set', 'x', 'foo');
  assert.equal(await s.exec('expireat', 'x', Math.floor(Date.now() / 1000) + 15), 1);
  assert.ok([14, 15].includes((await s.exec('ttl', 'x')) as number));
  assert.equal(await s.exec('expire', 'x', 50), 1);
  assert.deepEqual([await s.exec('ttl', 'x'), await s.exec('persist', 'x'), await s.exec('ttl', 'x')], [50, 1, -1]);
  assert.deepEqual([await s.exec('persist', 'x'), await s.exec('persist', 'nokeyatall')], [0, 0]);
  assert.deepEqual([await s.exec('ttl', 'nokey'), await s.exec('pttl', 'nokey')], [-2, -2]);
  assert.deepEqual([await s.exec('expiretime', 'x'), await s.exec('pexpiretime', 'x')], [-1, -1]);
  const at = Date.now() + 100_000;
  await s.exec('pexpireat', 'x', at);
  assert.equal(await s.exec('pexpiretime', 'x'), at);
  assert.equal(await s.exec('expiretime', 'x'), Math.floor((at + 500) / 1000));
  // A time in the past (or negative) deletes the key and answers 1.
  assert.equal(await s.exec('expire', 'x', -1), 1);
  assert.equal(await s.exec('exists', 'x'), 0);
  await s.exec('set', 'x', 'v');
  assert.equal(await s.exec('pexpireat', 'x', '-9223372036854770000'), 1);
  assert.equal(await s.exec('ttl', 'x'), -2);
  // An expired key is not resurrected by EXPIRE.
  await s.exec('set', 'foo', 'bar', 'PXAT', 1);
  assert.equal(await s.exec('expire', 'foo', 10), 0);
  assert.equal(await s.exec('exists', 'foo'), 0);
  // Works on hashes too, and writes keep the hash's expiry.
  await s.exec('hset', 'h', 'f', 'v');
  assert.equal(await s.exec('expire', 'h', 100), 1);
  await s.exec('hset', 'h', 'g', 'w');
  assert.ok(((await s.exec('ttl', 'h')) as number) > 90);
  assert.equal(plain(await s.exec('hget', 'h', 'f')), 'v');
});

test('EXPIRE: errors and int64 overflow as Redis 7', async () => {
  const s = await testStore();
  await s.exec('set', 'foo', 'bar');
  for (const v of ['9223370399119966', '9223372036854776', '10000000000000000', '18446744073709561', '-9223372036854776', '-9999999999999999']) {
    assertError(await s.exec('expire', 'foo', v), "ERR invalid expire time in 'expire' command");
  }
  assert.equal(await s.exec('ttl', 'foo'), -1);
  assertError(await s.exec('pexpire', 'foo', '9223372036854770000'), "ERR invalid expire time in 'pexpire' command");
  assert.equal(await s.exec('pexpireat', 'foo', '9223372036854770000'), 1);
  assert.ok(((await s.exec('ttl', 'foo')) as number) > 1e9);
  assertError(await s.exec('expire', 'foo', ''), 'ERR value is not an integer or out of range');
  assertError(await s.exec('expire', 'foo', 'abc'), 'ERR value is not an integer or out of range');
  assertError(await s.exec('expire', 'foo', 10, 'NX', 'XX'), 'ERR NX and XX, GT or LT options at the same time are not compatible');
  assertError(await s.exec('expire', 'foo', 10, 'NX', 'GT'), 'ERR NX and XX, GT or LT options at the same time are not compatible');
  assertError(await s.exec('expire', 'foo', 10, 'GT', 'LT'), 'ERR GT and LT options at the same time are not compatible');
  assertError(await s.exec('expire', 'foo', 10, 'AB'), 'ERR Unsupported option AB');
  assertError(await s.exec('expire', 'foo'), "ERR wrong number of arguments for 'expire' command");
});

test('EXPIRE NX / XX / GT / LT', async () => {
  const s = await testStore();
  await s.exec('set', 'foo', 'bar');
  assert.equal(await s.exec('expire', 'foo', 100, 'XX'), 0);
  assert.equal(await s.exec('expire', 'foo', 200, 'GT'), 0, 'GT never beats no expiry');
  assert.equal(await s.exec('expire', 'foo', 200, 'XX', 'LT'), 0);
  assert.equal(await s.exec('ttl', 'foo'), -1);
  assert.equal(await s.exec('expire', 'foo', 200, 'LT'), 1, 'LT beats no expiry');
  assert.equal(await s.exec('expire', 'foo', 100, 'NX'), 0);
  assert.equal(await s.exec('expire', 'foo', 100, 'XX'), 1);
  assert.equal(await s.exec('expire', 'foo', 50, 'GT'), 0);
  assert.equal(await s.exec('expire', 'foo', 200, 'GT'), 1);
  assert.equal(await s.exec('ttl', 'foo'), 200);
  assert.equal(await s.exec('expire', 'foo', 300, 'LT'), 0);
  assert.equal(await s.exec('expire', 'foo', 100, 'XX', 'LT'), 1);
  assert.equal(await s.exec('ttl', 'foo'), 100);
  await s.exec('persist', 'foo');
  assert.equal(await s.exec('expire', 'foo', 100, 'NX'), 1);
  assert.equal(await s.exec('ttl', 'foo'), 100);
});

test('RENAME / RENAMENX', async () => {
  const s = await testStore();
  await s.exec('set', 'mykey{t}', 'hello');
  assert.equal(await s.exec('rename', 'mykey{t}', 'mykey1{t}'), OK);
  assert.equal(await s.exec('exists', 'mykey{t}'), 0);
  assert.equal(plain(await s.exec('get', 'mykey1{t}')), 'hello');
  await s.exec('set', 'mykey{t}', 'a');
  await s.exec('set', 'mykey2{t}', 'b');
  assert.equal(await s.exec('rename', 'mykey2{t}', 'mykey{t}'), OK);
  assert.equal(plain(await s.exec('get', 'mykey{t}')), 'b');
  assert.equal(await s.exec('exists', 'mykey2{t}'), 0);
  assert.equal(await s.exec('renamenx', 'mykey{t}', 'mykey2{t}'), 1);
  assert.equal(plain(await s.exec('get', 'mykey2{t}')), 'b');
  await s.exec('set', 'mykey{t}', 'a');
  assert.equal(await s.exec('renamenx', 'mykey{t}', 'mykey2{t}'), 0);
  assert.deepEqual(plain(await s.exec('mget', 'mykey{t}', 'mykey2{t}')), ['a', 'b']);
  assertError(await s.exec('rename', 'nokey{t}', 'foobar{t}'), 'ERR no such key');
  assertError(await s.exec('renamenx', 'nokey{t}', 'foobar{t}'), 'ERR no such key');
  assert.equal(await s.exec('rename', 'mykey{t}', 'mykey{t}'), OK);
  assert.equal(await s.exec('renamenx', 'mykey{t}', 'mykey{t}'), 0);
  assertError(await s.exec('rename', 'nokey{t}', 'nokey{t}'), 'ERR no such key');
  // The TTL moves with the source; the target's is not inherited.
  await s.exec('set', 'mykey{t}', 'foo');
  await s.exec('expire', 'mykey{t}', 100);
  await s.exec('rename', 'mykey{t}', 'mykey2{t}');
  assert.ok(((await s.exec('ttl', 'mykey2{t}')) as number) > 95);
  await s.exec('set', 'mykey{t}', 'foo');
  await s.exec('rename', 'mykey{t}', 'mykey2{t}');
  assert.equal(await s.exec('ttl', 'mykey2{t}'), -1);
  // A hash moves with its fields, and the old name is empty afterwards.
  await s.exec('hset', 'h1{t}', 'a', '1', 'b', '2');
  await s.exec('set', 'h2{t}', 'string');
  assert.equal(await s.exec('rename', 'h1{t}', 'h2{t}'), OK);
  assert.equal(await typeOf(s, 'h2{t}'), 'hash');
  assert.deepEqual([plain(await s.exec('hget', 'h2{t}', 'a')), plain(await s.exec('hget', 'h2{t}', 'b'))], ['1', '2']);
  assert.equal(await s.exec('exists', 'h1{t}'), 0);
  await s.exec('hset', 'h1{t}', 'c', '3');
  assert.equal(await s.exec('hget', 'h1{t}', 'a'), null);
});

test('COPY: strings, hashes, REPLACE, DB, expiry, independence', async () => {
  const s = await testStore();
  await s.exec('set', 'mykey{t}', 'foobar');
  assert.equal(await s.exec('copy', 'mykey{t}', 'mynewkey{t}'), 1);
  assert.equal(plain(await s.exec('get', 'mynewkey{t}')), 'foobar');
  await s.exec('set', 'mykey{t}', 'changed');
  assert.equal(plain(await s.exec('get', 'mynewkey{t}')), 'foobar');
  assert.equal(await s.exec('copy', 'mykey{t}', 'mynewkey{t}'), 0);
  assert.equal(await s.exec('copy', 'mykey{t}', 'mynewkey{t}', 'REPLACE'), 1);
  assert.equal(plain(await s.exec('get', 'mynewkey{t}')), 'changed');
  assert.equal(await s.exec('copy', 'nokey{t}', 'mynewkey{t}'), 0);
  assert.equal(await s.exec('copy', 'mykey{t}', 'mynewkey{t}', 'DB', 0, 'REPLACE'), 1);
  assertError(await s.exec('copy', 'mykey{t}', 'mynewkey{t}', 'DB', 'notanumber'), 'ERR value is not an integer or out of range');
  assertError(await s.exec('copy', 'mykey{t}', 'mynewkey{t}', 'DB', 1), 'ERR DB index is out of range');
  assertError(await s.exec('copy', 'mykey{t}', 'mynewkey{t}', 'FOO'), 'ERR syntax error');
  assertError(await s.exec('copy', 'mykey{t}', 'mykey{t}'), 'ERR source and destination objects are the same');
  // Expiry is copied; no expiry stays no expiry.
  await s.exec('expire', 'mykey{t}', 100);
  await s.exec('copy', 'mykey{t}', 'mynewkey{t}', 'REPLACE');
  assert.ok(((await s.exec('ttl', 'mynewkey{t}')) as number) > 95);
  await s.exec('persist', 'mykey{t}');
  await s.exec('copy', 'mykey{t}', 'mynewkey{t}', 'REPLACE');
  assert.equal(await s.exec('ttl', 'mynewkey{t}'), -1);
  // A hash copy is a separate hash.
  await s.exec('hset', 'h{t}', 'a', '1', 'b', '2');
  assert.equal(await s.exec('copy', 'h{t}', 'h2{t}'), 1);
  await s.exec('hset', 'h{t}', 'a', 'changed');
  assert.deepEqual([plain(await s.exec('hget', 'h2{t}', 'a')), plain(await s.exec('hget', 'h2{t}', 'b'))], ['1', '2']);
  assert.equal(await s.exec('copy', 'h{t}', 'mynewkey{t}', 'REPLACE'), 1);
  assert.equal(await typeOf(s, 'mynewkey{t}'), 'hash');
  assert.equal(plain(await s.exec('hget', 'mynewkey{t}', 'a')), 'changed');
});

test('KEYS, DBSIZE, RANDOMKEY, FLUSHDB / FLUSHALL', async () => {
  const s = await testStore();
  assert.equal(await s.exec('randomkey'), null);
  for (const k of ['key_x', 'key_y', 'key_z', 'foo_a', 'foo_b', 'foo_c']) await s.exec('set', k, 'hello');
  await s.exec('hset', 'foo_h', 'f', 'v');
  await s.exec('set', 'gone', 'v', 'PXAT', 1);
  assert.deepEqual(sorted(await s.exec('keys', 'foo*')), ['foo_a', 'foo_b', 'foo_c', 'foo_h']);
  assert.deepEqual(sorted(await s.exec('keys', '*')), ['foo_a', 'foo_b', 'foo_c', 'foo_h', 'key_x', 'key_y', 'key_z']);
  assert.deepEqual(sorted(await s.exec('keys', 'key_[xy]')), ['key_x', 'key_y']);
  assert.equal(await s.exec('dbsize'), 7);
  const seen = new Set<string>();
  for (let i = 0; i < 200; i++) seen.add(plain(await s.exec('randomkey')) as string);
  assert.ok(seen.size >= 3 && !seen.has('gone'));
  await s.exec('mset', '{a}x', '1', '{a}y', '2', '{a}z', '3');
  assert.deepEqual(sorted(await s.exec('keys', '{a}*')), ['{a}x', '{a}y', '{a}z']);
  assert.equal(await s.exec('flushdb'), OK);
  assert.equal(await s.exec('dbsize'), 0);
  assert.deepEqual(plain(await s.exec('keys', '*')), []);
  assert.equal(await s.exec('hget', 'foo_h', 'f'), null);
  await s.exec('set', 'x', '1');
  assert.equal(await s.exec('flushall', 'ASYNC'), OK);
  assert.equal(await s.exec('flushall', 'sync'), OK);
  assert.equal(await s.exec('dbsize'), 0);
  assertError(await s.exec('flushdb', 'foo'), 'ERR syntax error');
  assertError(await s.exec('flushdb', 'sync', 'async'), 'ERR syntax error');
});

async function fullScan(s: Awaited<ReturnType<typeof testStore>>, extra: Array<string | number> = [], between?: (round: number) => Promise<void>): Promise<string[]> {
  const out: string[] = [];
  let cursor = '0';
  let round = 0;
  do {
    const [next, keys] = (await s.exec('scan', cursor, ...extra)) as [string, Buffer[]];
    cursor = next;
    for (const k of keys) out.push(k.toString());
    if (between) await between(round++);
  } while (cursor !== '0');
  return out;
}

test('SCAN: full iteration, COUNT, MATCH, TYPE, errors', async () => {
  const s = await testStore();
  const all: string[] = [];
  for (let i = 0; i < 300; i++) all.push(`key:${i}`);
  for (let i = 0; i < 50; i++) all.push(`{tag}:${i}`); // many keys in one slot
  for (const k of all) await s.exec('set', k, 'v');
  for (let i = 0; i < 10; i++) await s.exec('hset', `hash:${i}`, 'f', 'v');
  const keys = await fullScan(s);
  assert.equal(keys.length, 360);
  assert.equal(new Set(keys).size, 360);
  const withCount = await fullScan(s, ['COUNT', 7]);
  assert.equal(new Set(withCount).size, 360);
  assert.equal(withCount.length, 360);
  const matched = await fullScan(s, ['MATCH', 'key:1*', 'COUNT', 100]);
  assert.deepEqual(matched.sort(), all.filter((k) => k.startsWith('key:1')).sort());
  const hashes = await fullScan(s, ['TYPE', 'hash']);
  assert.equal(hashes.length, 10);
  assert.deepEqual(await fullScan(s, ['TYPE', 'list']), []);
  assertError(await s.exec('scan', 'abc'), 'ERR invalid cursor');
  assertError(await s.exec('scan', ' 1'), 'ERR invalid cursor');
  assertError(await s.exec('scan', '18446744073709551616'), 'ERR invalid cursor');
  assertError(await s.exec('scan', 0, 'COUNT', 0), 'ERR syntax error');
  assertError(await s.exec('scan', 0, 'COUNT', 'x'), 'ERR value is not an integer or out of range');
  assertError(await s.exec('scan', 0, 'MATCH'), 'ERR syntax error');
  assertError(await s.exec('scan', 0, 'FOO', 'bar'), 'ERR syntax error');
  // An unknown cursor is not an error (Redis cursors are opaque numbers).
  const [c] = (await s.exec('scan', '123456789012')) as [string, Buffer[]];
  assert.ok(typeof c === 'string');
});

test('SCAN survives writes: every key present throughout is returned, none twice', async () => {
  const s = await testStore();
  const stay: string[] = [];
  for (let i = 0; i < 200; i++) stay.push(`stay:${i}`);
  for (let i = 0; i < 30; i++) stay.push(`{one}stay:${i}`);
  for (const k of stay) await s.exec('set', k, 'v');
  let added = 0;
  const seen = await fullScan(s, ['COUNT', 5], async (round) => {
    // Insert and delete other keys between the calls.
    for (let i = 0; i < 5; i++) await s.exec('set', `new:${round}:${i}`, 'v');
    for (let i = 0; i < 5; i++) await s.exec('set', `{one}new:${round}:${i}`, 'v');
    added += 10;
    await s.exec('del', `new:${round - 1}:0`);
  });
  assert.ok(added > 0);
  const stayed = seen.filter((k) => k.includes('stay:'));
  assert.equal(new Set(stayed).size, stay.length, 'every key present throughout is returned');
  assert.equal(stayed.length, stay.length, 'no duplicates of keys that stay');
});

test('SCAN: a cursor this process did not issue restarts its slot instead of skipping keys', async () => {
  const s = await testStore();
  for (let i = 0; i < 20; i++) await s.exec('set', `{one}k${i}`, 'v');
  const [first] = (await s.exec('scan', 0, 'COUNT', 1000)) as [string, Buffer[]];
  assert.equal(first, '0');
  const [c1, page1] = (await s.exec('scan', 0, 'COUNT', 5)) as [string, Buffer[]];
  assert.equal(page1.length, 5);
  const [, page2] = (await s.exec('scan', c1, 'COUNT', 5)) as [string, Buffer[]];
  assert.notDeepEqual(plain(page2), plain(page1));
  // Same id and slot, different tag: as if another store (or a restart) had issued it.
  const forged = (BigInt(c1) ^ (1n << 40n)).toString();
  const [, again] = (await s.exec('scan', forged, 'COUNT', 5)) as [string, Buffer[]];
  assert.deepEqual(plain(again), plain(page1));
});
