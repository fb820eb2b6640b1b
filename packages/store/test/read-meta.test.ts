// Reads of metadata rows only (GET, MGET, STRLEN, EXISTS, TYPE, TTL...,
// commands/read-meta.ts) answer in the turn they arrived (no promise) when
// their region may be read at once and every key's metadata row is in the
// row cache; any other takes the promise path, with the same answer. Over a
// real RocksDB with the store's row cache.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ErrorReply, RocksEngine, isPointReadRow } from '@redraft/common';
import type { Reply } from '@redraft/common';
import { testStore } from './harness';

async function cachedStore(t: { after(f: () => Promise<void> | void): void }) {
  const dir = mkdtempSync(join(tmpdir(), 'redraft-read-meta-'));
  const engine = await RocksEngine.open(join(dir, 'db'), { rowCache: { cacheable: isPointReadRow, maxBytes: 1 << 20 } });
  t.after(async () => {
    await engine.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const s = await testStore(engine);
  /** dispatch() as the RESP server calls it: a reply ready at once is not a promise. */
  const dispatch = (...args: string[]): Reply | Promise<Reply> => s.dispatcher.dispatch(s.client, args.map((a) => Buffer.from(a)));
  return { s, engine, dispatch };
}

const isPromise = (r: unknown): r is Promise<Reply> => r instanceof Promise;

test('a GET of a cached key answers at once; the first GET (a cache miss) takes a promise', async (t) => {
  const { s, dispatch } = await cachedStore(t);
  await s.exec('set', 'a', 'one');
  const first = dispatch('get', 'a');
  assert.ok(isPromise(first), 'not cached yet: read from RocksDB');
  assert.deepEqual(await first, Buffer.from('one'));
  const second = dispatch('get', 'a');
  assert.ok(!isPromise(second), 'cached: answered in this turn');
  assert.deepEqual(second, Buffer.from('one'));
  // An absent key is cached as absent, and answered at once as nil too.
  assert.equal(await dispatch('get', 'nope'), null);
  assert.equal(dispatch('get', 'nope'), null);
});

test('a GET answered at once sees the latest write, its expiry and its type', async (t) => {
  const { s, dispatch } = await cachedStore(t);
  await s.exec('set', 'a', 'one');
  await dispatch('get', 'a');
  await s.exec('set', 'a', 'two');
  // The write dropped the cached row or kept its new value: never the old one.
  assert.deepEqual(await dispatch('get', 'a'), Buffer.from('two'));
  assert.deepEqual(dispatch('get', 'a'), Buffer.from('two'));

  const at = Date.now() + 30;
  await s.exec('set', 'e', 'soon', 'pxat', String(at));
  assert.deepEqual(await dispatch('get', 'e'), Buffer.from('soon'));
  while (Date.now() <= at) await new Promise((r) => setImmediate(r));
  assert.equal(await dispatch('get', 'e'), null, 'expired: absent, from the cache or not');

  await s.exec('hset', 'h', 'f', 'v');
  await dispatch('get', 'h');
  const wrong = await dispatch('get', 'h');
  assert.ok(wrong instanceof ErrorReply && wrong.message.startsWith('WRONGTYPE'), String(wrong));
});

test('a region that cannot be read at once sends every GET through its read barrier', async (t) => {
  const { s, dispatch } = await cachedStore(t);
  await s.exec('set', 'a', 'one');
  await dispatch('get', 'a');
  assert.ok(!isPromise(dispatch('get', 'a')));
  let barriers = 0;
  const barrier = s.region.readBarrier.bind(s.region);
  Object.assign(s.region, { readNow: () => undefined }); // as a leader without a valid lease, or a follower
  s.region.readBarrier = () => {
    barriers++;
    return barrier();
  };
  const r = dispatch('get', 'a');
  assert.ok(isPromise(r), 'waits for the barrier');
  assert.deepEqual(await r, Buffer.from('one'));
  assert.equal(barriers, 1);
});

test('MGET, STRLEN, EXISTS, TYPE and the TTL family answer at once once every key is cached, as they do from RocksDB', async (t) => {
  const { s, dispatch } = await cachedStore(t);
  await s.exec('set', 'a', 'one');
  await s.exec('set', 'b', 'three', 'exat', '4000000000');
  await s.exec('hset', 'h', 'f', 'v');
  const commands = [
    ['mget', 'a', 'b', 'h', 'nope'],
    ['strlen', 'b'],
    ['exists', 'a', 'a', 'h', 'nope'],
    ['type', 'h'],
    ['expiretime', 'b'],
    ['pttl', 'a'],
    ['ttl', 'nope'],
  ];
  const fromEngine: Reply[] = [];
  for (const c of commands) fromEngine.push(await dispatch(...c));
  for (const [i, c] of commands.entries()) {
    const r = dispatch(...c);
    assert.ok(!isPromise(r), `${c.join(' ')}: every row is cached now`);
    assert.deepEqual(r, fromEngine[i], c.join(' '));
  }
  assert.deepEqual(fromEngine.slice(0, 4), [[Buffer.from('one'), Buffer.from('three'), null, null], 5, 3, fromEngine[3]]);
  assert.equal((fromEngine[3] as { value: string }).value, 'hash');
  assert.equal(fromEngine[4], 4000000000);
  assert.deepEqual(fromEngine.slice(5), [-1, -2]);
  // One key not cached: the command waits for RocksDB, and still answers alike.
  await s.exec('set', 'c', 'new');
  const r = dispatch('mget', 'a', 'c');
  assert.ok(isPromise(r));
  assert.deepEqual(await r, [Buffer.from('one'), Buffer.from('new')]);
});
