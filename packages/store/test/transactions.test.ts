// MULTI/EXEC/DISCARD/WATCH through the real dispatcher and apply; cases
// after the Redis 7.0.15 Tcl suite (tests/unit/multi.tcl).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryEngine, NullArray, OverlayBatch, pb } from '@redraft/common';
import { testClient, testStore } from './harness';
import { v } from './replies';
import { apply } from '../src/apply/apply';
import { splitRespArray } from '../src/commands/transactions';
import { encodeReply } from '@redraft/common';

test('MULTI/EXEC: queued replies, one reply per command in order, reads see the earlier writes', async () => {
  const s = await testStore();
  assert.equal(v(await s.exec('multi')), 'OK');
  assert.equal(v(await s.exec('set', 'k', '1')), 'QUEUED');
  assert.equal(v(await s.exec('incr', 'k')), 'QUEUED');
  assert.equal(v(await s.exec('get', 'k')), 'QUEUED');
  assert.equal(v(await s.exec('ping')), 'QUEUED');
  assert.equal(v(await s.exec('zadd', 'z', '1', 'a')), 'QUEUED');
  assert.equal(v(await s.exec('zincrby', 'z', '2', 'a')), 'QUEUED');
  assert.equal(v(await s.exec('zrange', 'z', '0', '-1', 'withscores')), 'QUEUED');
  assert.deepEqual(v(await s.exec('exec')), ['OK', 2, '2', 'PONG', 1, '3', ['a', '3']]);
  // A deleted and re-created collection in one transaction shows only its new members.
  await s.exec('multi');
  await s.exec('zadd', 'y', '1', 'old');
  await s.exec('del', 'y');
  await s.exec('zadd', 'y', '2', 'new');
  await s.exec('zrange', 'y', '0', '-1');
  assert.deepEqual(v(await s.exec('exec')), [1, 1, 1, ['new']]);
  assert.deepEqual(v(await s.exec('zrange', 'y', '0', '-1')), ['new']);
});

test('MULTI errors: nested MULTI, WATCH inside MULTI, EXEC/DISCARD without MULTI, EXECABORT after a queueing error', async () => {
  const s = await testStore();
  assert.equal(v(await s.exec('exec')), 'ERR:ERR EXEC without MULTI');
  assert.equal(v(await s.exec('discard')), 'ERR:ERR DISCARD without MULTI');
  await s.exec('multi');
  assert.equal(v(await s.exec('multi')), 'ERR:ERR MULTI calls can not be nested');
  assert.equal(v(await s.exec('watch', 'x')), 'ERR:ERR WATCH inside MULTI is not allowed');
  assert.deepEqual(v(await s.exec('exec')), []);
  await s.exec('multi');
  await s.exec('set', 'a', '1');
  assert.match(String(v(await s.exec('no-such-command'))), /unknown command/);
  await s.exec('set', 'b', '2');
  assert.equal(v(await s.exec('exec')), 'ERR:EXECABORT Transaction discarded because of previous errors.');
  assert.equal(await s.exec('exists', 'a', 'b'), 0);
  await s.exec('multi');
  assert.match(String(v(await s.exec('get'))), /wrong number of arguments/);
  assert.equal(v(await s.exec('exec')), 'ERR:EXECABORT Transaction discarded because of previous errors.');
  // DISCARD drops the queue
  await s.exec('set', 'k', 'v');
  await s.exec('multi');
  await s.exec('del', 'k');
  assert.equal(v(await s.exec('discard')), 'OK');
  assert.equal(v(await s.exec('get', 'k')), 'v');
  // A runtime error inside EXEC does not stop the others (Redis semantics).
  await s.exec('multi');
  await s.exec('set', 's', 'str');
  await s.exec('zadd', 's', '1', 'a');
  await s.exec('set', 't', 'ok');
  const r = v(await s.exec('exec')) as unknown[];
  assert.equal(r[0], 'OK');
  assert.match(String(r[1]), /WRONGTYPE/);
  assert.equal(r[2], 'OK');
});

test('WATCH: a change by another client makes EXEC answer nil and apply nothing; UNWATCH and DISCARD forget', async () => {
  const s = await testStore();
  const other = testClient(2);
  await s.exec('set', 'x', '30');
  await s.exec('watch', 'x');
  await s.execAs(other, 'set', 'x', '40');
  await s.exec('multi');
  await s.exec('set', 'y', '1');
  assert.equal(await s.exec('exec'), NullArray.instance);
  assert.equal(await s.exec('exists', 'y'), 0);
  // After EXEC nothing is watched any more.
  await s.execAs(other, 'set', 'x', '50');
  await s.exec('multi');
  await s.exec('ping');
  assert.deepEqual(v(await s.exec('exec')), ['PONG']);
  // Unmodified watched keys (absent ones too) let EXEC run.
  await s.exec('watch', 'x', 'absent');
  await s.exec('multi');
  await s.exec('incr', 'x');
  assert.deepEqual(v(await s.exec('exec')), [51]);
  // EXPIRE touches a watched key; so does a member change of a collection.
  await s.exec('watch', 'x');
  await s.execAs(other, 'expire', 'x', '100');
  await s.exec('multi');
  await s.exec('ping');
  assert.equal(await s.exec('exec'), NullArray.instance);
  await s.exec('zadd', 'z', '1', 'a');
  await s.exec('watch', 'z');
  await s.execAs(other, 'zincrby', 'z', '1', 'a');
  await s.exec('multi');
  await s.exec('ping');
  assert.equal(await s.exec('exec'), NullArray.instance);
  // UNWATCH / DISCARD forget the watched keys.
  await s.exec('watch', 'x');
  await s.execAs(other, 'set', 'x', '1');
  await s.exec('unwatch');
  await s.exec('multi');
  await s.exec('ping');
  assert.deepEqual(v(await s.exec('exec')), ['PONG']);
  await s.exec('watch', 'x');
  await s.execAs(other, 'set', 'x', '10');
  await s.exec('multi');
  await s.exec('discard');
  await s.exec('multi');
  await s.exec('incr', 'x');
  assert.deepEqual(v(await s.exec('exec')), [11]);
});

test('pipelined MULTI ... EXEC keeps its order with writes before it', async () => {
  const s = await testStore();
  const replies = await Promise.all([
    s.exec('set', 'p', '1'),
    s.exec('watch', 'p'),
    s.exec('multi'),
    s.exec('incr', 'p'),
    s.exec('get', 'p'),
    s.exec('exec'),
    s.exec('get', 'p'),
  ]);
  assert.deepEqual(v(replies as never), ['OK', 'OK', 'OK', 'QUEUED', 'QUEUED', [2, '2'], '2']);
});

test('a transaction entry applies the same on every replica; random choices are seeded by the entry', async () => {
  const run = async (): Promise<{ reply: unknown; rows: string }> => {
    const engine = new MemoryEngine();
    const setup = new OverlayBatch(engine);
    await apply({ index: 1, data: pb.WriteCommand.encode({ proposedAtMs: 1000, zadd: { key: Buffer.from('z'), members: ['a', 'b', 'c', 'd'].map((m) => Buffer.from(m)), scores: [1, 2, 3, 4] } }).finish() }, setup);
    const op = {
      commands: [['zrandmember', 'z', '2'], ['zadd', 'z', '5', 'e'], ['zrange', 'z', '0', '-1']].map((a) => ({ args: a.map((x) => Buffer.from(x)) })),
      watched: [],
      protocol: 2,
    };
    const reply = await apply({ index: 2, data: pb.WriteCommand.encode({ proposedAtMs: 2000, transaction: op }).finish() }, setup);
    const rows: string[] = [];
    for (const [k, val] of setup.batch.ops.map((o) => [o.key, o.type === 'put' ? o.value : null] as const)) rows.push(`${k.toString('hex')}=${val?.toString('hex')}`);
    return { reply: v(reply), rows: rows.join() };
  };
  const a = await run();
  const b = await run();
  assert.deepEqual(a, b);
  assert.deepEqual((a.reply as unknown[])[2], ['a', 'b', 'c', 'd', 'e']);
});

test('splitRespArray: elements of RESP2 and RESP3 arrays as their own bytes', () => {
  const reply = [Buffer.from('x'), 3, null, ['a', [1, 2]], NullArray.instance];
  for (const protocol of [2, 3] as const) {
    const parts = splitRespArray(encodeReply(reply as never, protocol))!;
    assert.equal(parts.length, 5);
    assert.deepEqual(Buffer.concat(parts.map((p) => (p as { bytes: Buffer }).bytes)), encodeReply(reply as never, protocol).subarray(4));
  }
  assert.equal(splitRespArray(encodeReply(NullArray.instance, 2)), null);
});
