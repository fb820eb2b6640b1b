// List commands (and blocking pops) through the real dispatcher, table and
// apply; cases after the Redis 7.0.15 Tcl suite (tests/unit/type/list.tcl).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorReply, NullArray, OK, SimpleString, VerbatimReply } from '@redraft/common';
import { testStore, testClient, plain } from './harness';
import { v } from './replies';
import type { TestStore } from './harness';

/** INFO's text (a verbatim string in RESP3 form, a bulk string otherwise). */
function infoText(r: unknown): string {
  return r instanceof VerbatimReply ? r.text : String(plain(r as never));
}

/** Waits until INFO says `n` clients are blocked; fails if that never happens. */
async function waitBlocked(s: TestStore, n: number): Promise<void> {
  for (let i = 0; i < 2000; i++) {
    if (infoText(await s.exec('info', 'clients')).includes(`blocked_clients:${n}\r\n`)) return;
    await new Promise((r) => setTimeout(r, 1));
  }
  assert.fail(`never ${n} blocked clients`);
}

function errOf(r: unknown): string {
  assert.ok(r instanceof ErrorReply, `expected an error, got ${JSON.stringify(plain(r as never))}`);
  return r.message;
}

test('LPUSH/RPUSH/LLEN/LINDEX/LRANGE/LPOP/RPOP', async () => {
  const s = await testStore();
  assert.equal(await s.exec('lpush', 'l', 'a'), 1);
  assert.equal(await s.exec('lpush', 'l', 'b', 'c'), 3);
  assert.equal(await s.exec('rpush', 'l', 'd'), 4);
  assert.deepEqual(plain(await s.exec('lrange', 'l', 0, -1)), ['c', 'b', 'a', 'd']);
  assert.equal(await s.exec('llen', 'l'), 4);
  assert.equal(plain(await s.exec('lindex', 'l', 0)), 'c');
  assert.equal(plain(await s.exec('lindex', 'l', -1)), 'd');
  assert.equal(await s.exec('lindex', 'l', 100), null);
  assert.deepEqual(plain(await s.exec('lrange', 'l', 1, 2)), ['b', 'a']);
  assert.deepEqual(plain(await s.exec('lrange', 'l', -100, 100)), ['c', 'b', 'a', 'd']);
  assert.deepEqual(plain(await s.exec('lrange', 'l', 3, 1)), []);
  assert.equal(plain(await s.exec('lpop', 'l')), 'c');
  assert.equal(plain(await s.exec('rpop', 'l')), 'd');
  assert.deepEqual(plain(await s.exec('lpop', 'l', 5)), ['b', 'a']);
  assert.equal(await s.exec('exists', 'l'), 0);
  assert.equal(await s.exec('lpop', 'l'), null);
  assert.equal(await s.exec('lpop', 'l', 2), NullArray.instance);
  await s.exec('rpush', 'l', 'x');
  assert.deepEqual(plain(await s.exec('lpop', 'l', 0)), []);
  assert.equal(errOf(await s.exec('lpop', 'l', -1)), 'ERR value is out of range, must be positive');
  assert.equal(errOf(await s.exec('lpop', 'l', 1, 2)), "ERR wrong number of arguments for 'lpop' command");
  assert.equal(await s.exec('lpushx', 'nolist', 'a'), 0);
  assert.equal(await s.exec('rpushx', 'l', 'y', 'z'), 3);
  assert.deepEqual(plain(await s.exec('lrange', 'l', 0, -1)), ['x', 'y', 'z']);
});

test('wrong types: lists against strings and strings against lists', async () => {
  const s = await testStore();
  await s.exec('set', 'str', 'v');
  await s.exec('rpush', 'l', 'a');
  const WT = 'WRONGTYPE Operation against a key holding the wrong kind of value';
  assert.equal(errOf(await s.exec('lpush', 'str', 'a')), WT);
  assert.equal(errOf(await s.exec('lrange', 'str', 0, -1)), WT);
  assert.equal(errOf(await s.exec('get', 'l')), WT);
  assert.equal(errOf(await s.exec('incr', 'l')), WT);
  assert.equal(errOf(await s.exec('hget', 'l', 'f')), WT);
  assert.deepEqual(await s.exec('type', 'l'), new SimpleString('list'));
  assert.equal(errOf(await s.exec('lmove', 'l', 'str', 'left', 'left')), WT);
  assert.deepEqual(plain(await s.exec('lrange', 'l', 0, -1)), ['a']);
  assert.equal(await s.exec('lmove', 'nolist', 'str', 'left', 'left'), null);
});

test('LSET, LINSERT, LREM, LTRIM, LPOS', async () => {
  const s = await testStore();
  await s.exec('rpush', 'l', 'a', 'b', 'c', 'b', 'd');
  assert.equal(await s.exec('lset', 'l', 1, 'B'), OK);
  assert.equal(errOf(await s.exec('lset', 'l', 10, 'x')), 'ERR index out of range');
  assert.equal(errOf(await s.exec('lset', 'nolist', 0, 'x')), 'ERR no such key');
  assert.equal(await s.exec('linsert', 'l', 'before', 'a', 'z'), 6);
  assert.equal(await s.exec('linsert', 'l', 'after', 'd', 'e'), 7);
  assert.equal(await s.exec('linsert', 'l', 'after', 'c', 'c2'), 8);
  assert.equal(await s.exec('linsert', 'l', 'after', 'nope', 'x'), -1);
  assert.equal(await s.exec('linsert', 'nolist', 'after', 'a', 'x'), 0);
  assert.equal(errOf(await s.exec('linsert', 'l', 'middle', 'a', 'x')), 'ERR syntax error');
  assert.deepEqual(plain(await s.exec('lrange', 'l', 0, -1)), ['z', 'a', 'B', 'c', 'c2', 'b', 'd', 'e']);
  assert.equal(await s.exec('lindex', 'l', 4).then(plain), 'c2');
  await s.exec('rpush', 'l', 'a', 'a');
  assert.equal(await s.exec('lpos', 'l', 'a'), 1);
  assert.equal(await s.exec('lpos', 'l', 'a', 'rank', -1), 9);
  assert.deepEqual(await s.exec('lpos', 'l', 'a', 'count', 0), [1, 8, 9]);
  assert.deepEqual(await s.exec('lpos', 'l', 'a', 'count', 2, 'rank', 2), [8, 9]);
  assert.deepEqual(await s.exec('lpos', 'l', 'a', 'count', 0, 'maxlen', 5), [1]);
  assert.equal(await s.exec('lpos', 'l', 'nope'), null);
  assert.match(errOf(await s.exec('lpos', 'l', 'a', 'rank', 0)), /RANK can't be zero/);
  assert.equal(await s.exec('lrem', 'l', -1, 'a'), 1);
  assert.equal(await s.exec('lrem', 'l', 0, 'a'), 2);
  assert.deepEqual(plain(await s.exec('lrange', 'l', 0, -1)), ['z', 'B', 'c', 'c2', 'b', 'd', 'e']);
  assert.equal(await s.exec('ltrim', 'l', 1, -2), OK);
  assert.deepEqual(plain(await s.exec('lrange', 'l', 0, -1)), ['B', 'c', 'c2', 'b', 'd']);
  assert.equal(await s.exec('lindex', 'l', 0).then(plain), 'B');
  assert.equal(await s.exec('ltrim', 'l', 5, 1), OK);
  assert.equal(await s.exec('exists', 'l'), 0);
});

test('LMOVE, RPOPLPUSH, LMPOP; COPY and RENAME keep the order', async () => {
  const s = await testStore();
  await s.exec('rpush', 'src', 'a', 'b', 'c');
  assert.equal(plain(await s.exec('rpoplpush', 'src', 'dst')), 'c');
  assert.equal(plain(await s.exec('lmove', 'src', 'dst', 'left', 'right')), 'a');
  assert.deepEqual(plain(await s.exec('lrange', 'dst', 0, -1)), ['c', 'a']);
  assert.equal(plain(await s.exec('lmove', 'dst', 'dst', 'left', 'right')), 'c');
  assert.deepEqual(plain(await s.exec('lrange', 'dst', 0, -1)), ['a', 'c']);
  assert.equal(plain(await s.exec('rpoplpush', 'src', 'src')), 'b');
  assert.deepEqual(plain(await s.exec('lrange', 'src', 0, -1)), ['b']);
  assert.deepEqual(plain(await s.exec('lmpop', 2, 'none', 'dst', 'right', 'count', 5)), ['dst', ['c', 'a']]);
  assert.equal(await s.exec('lmpop', 1, 'none', 'left'), NullArray.instance);
  assert.equal(errOf(await s.exec('lmpop', 0, 'x', 'left')), 'ERR numkeys should be greater than 0');
  assert.equal(errOf(await s.exec('lmpop', 1, 'x', 'up')), 'ERR syntax error');
  assert.equal(errOf(await s.exec('lmpop', 1, 'x', 'left', 'count', 0)), 'ERR count should be greater than 0');
  await s.exec('rpush', 'c', '1', '2', '3');
  assert.equal(await s.exec('lpush', 'c', '0'), 4);
  assert.equal(await s.exec('copy', 'c', 'c2'), 1);
  assert.equal(await s.exec('rename', 'c', 'c3'), OK);
  assert.deepEqual(plain(await s.exec('lrange', 'c2', 0, -1)), ['0', '1', '2', '3']);
  assert.deepEqual(plain(await s.exec('lrange', 'c3', 0, -1)), ['0', '1', '2', '3']);
  assert.equal(plain(await s.exec('lindex', 'c3', 0)), '0');
  assert.equal(await s.exec('expire', 'c3', 100), 1);
  assert.deepEqual(plain(await s.exec('lrange', 'c3', 0, -1)), ['0', '1', '2', '3']);
});

test('BLPOP serves an element at once, blocks, wakes on a push and times out', async () => {
  const s = await testStore();
  await s.exec('rpush', 'l', 'a');
  assert.deepEqual(plain(await s.exec('blpop', 'l', 'x', 0)), ['l', 'a']);
  const waiter = testClient(2);
  const blocked = s.execAs(waiter, 'blpop', 'x', 'l', 0);
  // Wait until it is blocked (INFO blocked_clients), then push.
  await waitBlocked(s, 1);
  assert.equal(await s.exec('rpush', 'l', 'b', 'c'), 2);
  assert.deepEqual(plain(await blocked), ['l', 'b']);
  // The pusher's next command already sees the pop.
  assert.deepEqual(plain(await s.exec('lrange', 'l', 0, -1)), ['c']);
  assert.equal(await s.execAs(waiter, 'brpop', 'none', '0.05'), NullArray.instance);
  assert.equal(errOf(await s.exec('blpop', 'l', -1)), 'ERR timeout is negative');
  assert.equal(errOf(await s.exec('blpop', 'l', 'abc')), 'ERR timeout is not a float or out of range');
  assert.equal(errOf(await s.exec('blpop', 'l', '0x7FFFFFFFFFFFFF')), 'ERR timeout is out of range');
});

test('linked BLMOVEs are served in order before the pusher answers', async () => {
  const s = await testStore();
  const a = s.execAs(testClient(2), 'blmove', 'list1', 'list2', 'right', 'left', 0);
  const b = s.execAs(testClient(3), 'blmove', 'list2', 'list3', 'left', 'right', 0);
  await waitBlocked(s, 2);
  await s.exec('rpush', 'list1', 'foo');
  assert.deepEqual(plain(await s.exec('lrange', 'list1', 0, -1)), []);
  assert.deepEqual(plain(await s.exec('lrange', 'list2', 0, -1)), []);
  assert.deepEqual(plain(await s.exec('lrange', 'list3', 0, -1)), ['foo']);
  assert.equal(plain(await a), 'foo');
  assert.equal(plain(await b), 'foo');
});

test('BLMPOP and BRPOPLPUSH', async () => {
  const s = await testStore();
  const w = s.execAs(testClient(2), 'blmpop', 0, 2, 'k1', 'k2', 'right', 'count', 2);
  await waitBlocked(s, 1);
  await s.exec('rpush', 'k2', 'a', 'b', 'c');
  assert.deepEqual(plain(await w), ['k2', ['c', 'b']]);
  const m = s.execAs(testClient(3), 'brpoplpush', 'k3', 'k4', 0);
  await waitBlocked(s, 1);
  await s.exec('lpush', 'k3', 'x');
  assert.equal(plain(await m), 'x');
  assert.deepEqual(plain(await s.exec('lrange', 'k4', 0, -1)), ['x']);
});

test('CLIENT UNBLOCK answers a blocked client nil, or the UNBLOCKED error, and pops nothing', async () => {
  const s = await testStore();
  const waiter = testClient(7);
  let blocked = s.execAs(waiter, 'blpop', 'l', 0);
  await waitBlocked(s, 1);
  assert.equal(await s.exec('client', 'unblock', 7), 1);
  assert.equal(await blocked, NullArray.instance);
  blocked = s.execAs(waiter, 'brpoplpush', 'l', 'd', 0);
  await waitBlocked(s, 1);
  assert.equal(await s.exec('client', 'unblock', 7, 'error'), 1);
  assert.equal(errOf(await blocked), 'UNBLOCKED client unblocked via CLIENT UNBLOCK');
  assert.equal(await s.exec('client', 'unblock', 7), 0);
  assert.equal(errOf(await s.exec('client', 'unblock', 'x')), 'ERR value is not an integer or out of range');
  assert.equal(await s.exec('exists', 'l', 'd'), 0);
});

test('circular and self-referential BRPOPLPUSH are served without waiting on themselves', async () => {
  const s = await testStore();
  const a = s.execAs(testClient(2), 'brpoplpush', '{t}1', '{t}2', 0);
  await waitBlocked(s, 1);
  const b = s.execAs(testClient(3), 'brpoplpush', '{t}2', '{t}1', 0);
  await waitBlocked(s, 2);
  const started = Date.now();
  await s.exec('rpush', '{t}1', 'foo');
  assert.deepEqual(plain(await s.exec('lrange', '{t}1', 0, -1)), ['foo']);
  assert.deepEqual(plain(await s.exec('lrange', '{t}2', 0, -1)), []);
  assert.equal(plain(await a), 'foo');
  assert.equal(plain(await b), 'foo');
  const self = s.execAs(testClient(4), 'brpoplpush', '{t}self', '{t}self', 0);
  await waitBlocked(s, 1);
  await s.exec('rpush', '{t}self', 'x');
  assert.equal(plain(await self), 'x');
  assert.deepEqual(plain(await s.exec('lrange', '{t}self', 0, -1)), ['x']);
  assert.ok(Date.now() - started < 900, `took ${Date.now() - started} ms: a settle waited for its own cycle`);
});

test('keyspace commands see lists and sets: SCAN TYPE, DBSIZE, RANDOMKEY, EXISTS, INFO keyspace', async () => {
  const s = await testStore();
  await s.exec('rpush', 'l', 'a');
  await s.exec('sadd', 's', 'a');
  await s.exec('set', 'k', 'v');
  const [, listKeys] = plain(await s.exec('scan', 0, 'type', 'list', 'count', 100)) as [string, string[]];
  const [, setKeys] = plain(await s.exec('scan', 0, 'type', 'set', 'count', 100)) as [string, string[]];
  assert.deepEqual([listKeys, setKeys], [['l'], ['s']]);
  assert.equal(await s.exec('dbsize'), 3);
  assert.equal(await s.exec('exists', 'l', 's', 'k', 'none'), 3);
  assert.ok(['l', 's', 'k'].includes(plain(await s.exec('randomkey')) as string));
  const info = await s.exec('info', 'keyspace');
  assert.match(infoText(info), /db0:keys=3,expires=0/);
  assert.equal(await s.exec('del', 'l', 's'), 2);
  assert.equal(await s.exec('dbsize'), 1);
});

test('a blocked client whose key became another type keeps waiting; only its first attempt answers WRONGTYPE', async () => {
  const s = await testStore();
  const blocked = s.execAs(testClient(2), 'blpop', 'k', 0);
  await waitBlocked(s, 1);
  // One transaction: the push wakes the waiter, which then finds a string.
  assert.equal(await s.exec('multi'), OK);
  await s.exec('lpush', 'k', 'a');
  await s.exec('del', 'k');
  await s.exec('set', 'k', 'foo');
  assert.equal((await s.exec('exec') as unknown[]).length, 3);
  await s.exec('del', 'k');
  await s.exec('lpush', 'k', 'b');
  assert.deepEqual(plain(await blocked), ['k', 'b']);
  await s.exec('set', 'k', 'x');
  assert.equal(errOf(await s.exec('blpop', 'k', 0)), 'WRONGTYPE Operation against a key holding the wrong kind of value');
  // A destination of another type is still an error once there is an element.
  const move = s.execAs(testClient(3), 'brpoplpush', 'src', 'k', 0);
  await waitBlocked(s, 1);
  await s.exec('rpush', 'src', 'e');
  assert.equal(errOf(await move), 'WRONGTYPE Operation against a key holding the wrong kind of value');
});

test('BZPOPMIN, BZPOPMAX and BZMPOP serve at once, block until a ZADD, time out; a list push does not wake them', async () => {
  const s = await testStore();
  await s.exec('zadd', 'z', 1, 'a', 2, 'b', 3, 'c');
  assert.deepEqual(v(await s.exec('bzpopmin', 'none', 'z', 0)), ['z', 'a', '1']);
  assert.deepEqual(v(await s.exec('bzpopmax', 'z', 0)), ['z', 'c', '3']);
  assert.deepEqual(v(await s.exec('bzmpop', 0, 2, 'none', 'z', 'min', 'count', 5)), ['z', [['b', '2']]]);
  assert.equal(await s.exec('exists', 'z'), 0);
  const waiter = s.execAs(testClient(2), 'bzpopmin', 'z', 0);
  await waitBlocked(s, 1);
  await s.exec('lpush', 'other', 'x');
  assert.equal(await s.exec('zadd', 'z', 5, 'e', 4, 'd'), 2);
  assert.deepEqual(v(await waiter), ['z', 'd', '4']);
  // The pusher's next command already sees the pop.
  assert.deepEqual(v(await s.exec('zrange', 'z', 0, -1)), ['e']);
  const mpop = s.execAs(testClient(3), 'bzmpop', 0, 1, 'y', 'max', 'count', 2);
  await waitBlocked(s, 1);
  await s.exec('zadd', 'y', 1, 'p', 2, 'q', 3, 'r');
  assert.deepEqual(v(await mpop), ['y', [['r', '3'], ['q', '2']]]);
  assert.equal(await s.execAs(testClient(4), 'bzpopmax', 'none', '0.05'), NullArray.instance);
  assert.equal(errOf(await s.exec('bzpopmin', 'z', -1)), 'ERR timeout is negative');
  assert.equal(errOf(await s.exec('bzmpop', 0, 0, 'z', 'min')), 'ERR numkeys should be greater than 0');
  await s.exec('set', 's', 'v');
  assert.equal(errOf(await s.exec('bzpopmin', 's', 0)), 'WRONGTYPE Operation against a key holding the wrong kind of value');
});
