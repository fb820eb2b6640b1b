import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorReply, OK } from '@redraft/common';
import { testStore, plain } from './harness';

test('SET then GET round-trips; GET of a missing key is nil', async () => {
  const s = await testStore();
  assert.equal(await s.exec('set', 'k', 'v'), OK);
  assert.equal(plain(await s.exec('get', 'k')), 'v');
  assert.equal(await s.exec('get', 'nope'), null);
});

test('SET NX / XX / GET', async () => {
  const s = await testStore();
  assert.equal(await s.exec('set', 'k', 'a', 'XX'), null);
  assert.equal(await s.exec('set', 'k', 'a', 'NX'), OK);
  assert.equal(await s.exec('set', 'k', 'b', 'NX'), null);
  assert.equal(plain(await s.exec('set', 'k', 'c', 'GET')), 'a');
  assert.equal(plain(await s.exec('get', 'k')), 'c');
});

test('SET with a past-due expiry hides the key; bad options are syntax errors', async () => {
  const s = await testStore();
  assert.equal(await s.exec('set', 'k', 'v', 'PXAT', 1), OK);
  assert.equal(await s.exec('get', 'k'), null);
  const e = await s.exec('set', 'k', 'v', 'EX', 1, 'PX', 1);
  assert.ok(e instanceof ErrorReply && e.message === 'ERR syntax error');
  const arity = await s.exec('get');
  assert.ok(arity instanceof ErrorReply && arity.message === "ERR wrong number of arguments for 'get' command");
});

test('pipelined writes and reads of one client keep program order', async () => {
  const s = await testStore();
  const replies = await Promise.all([s.exec('set', 'k', '1'), s.exec('get', 'k'), s.exec('set', 'k', '2'), s.exec('get', 'k')]);
  assert.deepEqual(plain(replies[1]), '1');
  assert.deepEqual(plain(replies[3]), '2');
});
