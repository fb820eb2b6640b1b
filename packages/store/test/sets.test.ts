// Set commands through the real dispatcher, table and apply; cases after the
// Redis 7.0.15 Tcl suite (tests/unit/type/set.tcl).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorReply, MemoryEngine, OverlayBatch, SetReply, SimpleString, pb } from '@redraft/common';
import type { Reply } from '@redraft/common';
import { testStore, plain } from './harness';
import { applyCommand } from '../src/apply/apply';

function errOf(r: unknown): string {
  assert.ok(r instanceof ErrorReply, `expected an error, got ${JSON.stringify(plain(r as never))}`);
  return r.message;
}

/** A set reply's members, sorted, as strings. */
function members(r: Reply): string[] {
  const items = r instanceof SetReply ? r.items : (r as Reply[]);
  assert.ok(Array.isArray(items), `expected members, got ${JSON.stringify(plain(r))}`);
  return (plain(items) as string[]).sort();
}

test('SADD/SREM/SCARD/SISMEMBER/SMISMEMBER/SMEMBERS', async () => {
  const s = await testStore();
  assert.equal(await s.exec('sadd', 's', 'a', 'b', 'a'), 2);
  assert.equal(await s.exec('sadd', 's', 'b', 'c'), 1);
  assert.equal(await s.exec('scard', 's'), 3);
  assert.equal(await s.exec('sismember', 's', 'a'), 1);
  assert.equal(await s.exec('sismember', 's', 'z'), 0);
  assert.deepEqual(await s.exec('smismember', 's', 'a', 'z', 'c'), [1, 0, 1]);
  assert.deepEqual(members(await s.exec('smembers', 's')), ['a', 'b', 'c']);
  assert.equal(await s.exec('srem', 's', 'a', 'z', 'a'), 1);
  assert.equal(await s.exec('srem', 's', 'b', 'c'), 2);
  assert.equal(await s.exec('exists', 's'), 0);
  await s.exec('set', 'str', 'x');
  assert.match(errOf(await s.exec('sadd', 'str', 'a')), /^WRONGTYPE/);
  await s.exec('sadd', 'set', 'a');
  assert.deepEqual(await s.exec('mget', 'set'), [null]);
  assert.deepEqual(await s.exec('type', 'set'), new SimpleString('set'));
  assert.match(errOf(await s.exec('get', 'set')), /^WRONGTYPE/);
});

test('SINTER/SUNION/SDIFF, their STORE forms and SINTERCARD', async () => {
  const s = await testStore();
  await s.exec('sadd', '{t}1', 'a', 'b', 'c', 'd');
  await s.exec('sadd', '{t}2', 'c', 'd', 'e');
  await s.exec('sadd', '{t}3', 'd', 'f');
  assert.deepEqual(members(await s.exec('sinter', '{t}1', '{t}2')), ['c', 'd']);
  assert.deepEqual(members(await s.exec('sinter', '{t}1', '{t}2', '{t}3')), ['d']);
  assert.deepEqual(members(await s.exec('sinter', '{t}1', '{t}none')), []);
  assert.deepEqual(members(await s.exec('sunion', '{t}1', '{t}3', '{t}none')), ['a', 'b', 'c', 'd', 'f']);
  assert.deepEqual(members(await s.exec('sdiff', '{t}1', '{t}2', '{t}none')), ['a', 'b']);
  assert.equal(await s.exec('sinterstore', '{t}d', '{t}1', '{t}2'), 2);
  assert.deepEqual(members(await s.exec('smembers', '{t}d')), ['c', 'd']);
  assert.equal(await s.exec('sunionstore', '{t}d', '{t}d', '{t}3'), 3);
  assert.deepEqual(members(await s.exec('smembers', '{t}d')), ['c', 'd', 'f']);
  assert.equal(await s.exec('sdiffstore', '{t}d', '{t}none', '{t}1'), 0);
  assert.equal(await s.exec('exists', '{t}d'), 0);
  assert.equal(await s.exec('sintercard', 2, '{t}1', '{t}2'), 2);
  assert.equal(await s.exec('sintercard', 2, '{t}1', '{t}2', 'limit', 1), 1);
  assert.equal(errOf(await s.exec('sintercard', 0, '{t}1')), 'ERR numkeys should be greater than 0');
  assert.equal(errOf(await s.exec('sintercard', 3, '{t}1')), "ERR Number of keys can't be greater than number of args");
  assert.equal(errOf(await s.exec('sintercard', 1, '{t}1', 'limit', -1)), "ERR LIMIT can't be negative");
  await s.exec('set', '{t}str', 'x');
  assert.match(errOf(await s.exec('sunion', '{t}1', '{t}str')), /^WRONGTYPE/);
  await s.exec('set', '{t}dst', 'x');
  assert.equal(await s.exec('sunionstore', '{t}dst', '{t}3'), 2);
  assert.deepEqual(await s.exec('type', '{t}dst'), new SimpleString('set'));
});

test('SMOVE, SPOP, SRANDMEMBER, SSCAN, COPY', async () => {
  const s = await testStore();
  await s.exec('sadd', '{t}a', '1', '2', '3');
  assert.equal(await s.exec('smove', '{t}a', '{t}b', '1'), 1);
  assert.equal(await s.exec('smove', '{t}a', '{t}b', '1'), 0);
  assert.equal(await s.exec('smove', '{t}none', '{t}b', '1'), 0);
  assert.equal(await s.exec('smove', '{t}a', '{t}a', '2'), 1);
  await s.exec('set', '{t}str', 'x');
  assert.match(errOf(await s.exec('smove', '{t}a', '{t}str', '2')), /^WRONGTYPE/);
  assert.deepEqual(members(await s.exec('smembers', '{t}b')), ['1']);
  const all = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'];
  await s.exec('sadd', 'p', ...all);
  const popped = [plain(await s.exec('spop', 'p')) as string];
  popped.push(...members(await s.exec('spop', 'p', 3)));
  assert.equal(await s.exec('scard', 'p'), 4);
  popped.push(...members(await s.exec('spop', 'p', 10)));
  assert.deepEqual(popped.sort(), all);
  assert.equal(await s.exec('exists', 'p'), 0);
  assert.equal(await s.exec('spop', 'p'), null);
  assert.deepEqual(members(await s.exec('spop', 'p', 2)), []);
  assert.equal(errOf(await s.exec('spop', 'p', -1)), 'ERR value is out of range, must be positive');
  await s.exec('sadd', 'r', ...all);
  assert.ok(all.includes(plain(await s.exec('srandmember', 'r')) as string));
  const five = plain(await s.exec('srandmember', 'r', 5)) as string[];
  assert.equal(new Set(five).size, 5);
  assert.equal((plain(await s.exec('srandmember', 'r', -20)) as string[]).length, 20);
  assert.deepEqual((plain(await s.exec('srandmember', 'r', 100)) as string[]).sort(), all);
  assert.deepEqual(await s.exec('srandmember', 'none', 5), []);
  const seen: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = plain(await s.exec('sscan', 'r', cursor, 'count', 3)) as [string, string[]];
    seen.push(...batch);
    cursor = next;
  } while (cursor !== '0');
  assert.deepEqual([...new Set(seen)].sort(), all);
  assert.equal(await s.exec('copy', 'r', 'r2'), 1);
  assert.deepEqual(members(await s.exec('smembers', 'r2')), all);
});

test('SPOP apply is deterministic: the same entry on the same state pops the same members', async () => {
  const results: string[][] = [];
  for (let i = 0; i < 2; i++) {
    const batch = new OverlayBatch(new MemoryEngine());
    await applyCommand(pb.WriteCommand.create({ proposedAtMs: 1, setAdd: { key: Buffer.from('s'), members: 'abcdefghij'.split('').map((c) => Buffer.from(c)) } }), 1, batch);
    const r = await applyCommand(pb.WriteCommand.create({ proposedAtMs: 1, setPop: { key: Buffer.from('s'), seed: 12345, count: 4, withCount: true } }), 2, batch);
    results.push(plain((r as SetReply).items) as string[]);
  }
  assert.equal(results[0].length, 4);
  assert.deepEqual(results[0], results[1]);
});

test('OBJECT ENCODING answers what Redis 7.0 would for the same contents', async () => {
  const s = await testStore();
  await s.exec('sadd', 'ints', '1', '2', '-3');
  await s.exec('sadd', 'words', '1', 'a');
  await s.exec('rpush', 'l', 'a');
  await s.exec('set', 'n', '12345');
  await s.exec('set', 'short', 'hello');
  await s.exec('set', 'long', 'x'.repeat(45));
  await s.exec('hset', 'h', 'f', 'v');
  const enc = async (k: string): Promise<unknown> => plain(await s.exec('object', 'encoding', k));
  assert.deepEqual(
    [await enc('ints'), await enc('words'), await enc('l'), await enc('n'), await enc('short'), await enc('long'), await enc('h'), await enc('none')],
    ['intset', 'hashtable', 'quicklist', 'int', 'embstr', 'raw', 'listpack', null],
  );
});

test('a pipelined SADD then SPOP: the SPOP sees the SADD (it proposes without reading first)', async () => {
  const s = await testStore();
  const added = s.exec('sadd', 'pp', 'only');
  const popped = s.exec('spop', 'pp');
  assert.equal(await added, 1);
  assert.equal(plain(await popped), 'only');
});
