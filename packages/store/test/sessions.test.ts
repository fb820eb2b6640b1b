// Client sessions (exactly-once forwarding): a resent (session, seq) answers
// the kept reply and applies nothing; replies below ackedBelow are dropped;
// idle sessions expire by entry time; the mirror reloads from disk the same.
// Also the RESP3 reply decoder they rely on: encode → decode is the identity.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  BigNumberReply,
  BoolReply,
  DoubleReply,
  ErrorReply,
  MapReply,
  MemoryEngine,
  OK,
  OverlayBatch,
  SetReply,
  SimpleString,
  decodeReply,
  encodeReply,
  sessionKey,
  type Reply,
} from '@redraft/common';
import { ClientSessions, SESSION_TTL_MS } from '../src/raftstore/sessions';

test('reply decoder: RESP3 encode then decode gives the same reply', () => {
  const replies: Reply[] = [
    null,
    42,
    -7,
    2n ** 63n - 1n,
    Buffer.from('bulk\r\nwith crlf'),
    OK,
    new ErrorReply('WRONGTYPE Operation against a key holding the wrong kind of value'),
    new DoubleReply(1.5),
    new BoolReply(true),
    new BigNumberReply('123456789012345678901234567890'),
    [1, Buffer.from('a'), null, [new SimpleString('x')]],
    new MapReply([[Buffer.from('k'), 1]]),
    new SetReply([Buffer.from('m')]),
  ];
  for (const r of replies) assert.deepEqual(decodeReply(encodeReply(r, 3)), typeof r === 'string' ? Buffer.from(r) : r);
  assert.throws(() => decodeReply(Buffer.from('$5\r\nab')), /truncated/);
});

test('client sessions: duplicates answer the kept reply, acked replies are dropped, idle sessions expire, reload matches', async () => {
  const engine = new MemoryEngine();
  const s = new ClientSessions(9);
  const t0 = 1_000_000;
  let batch = new OverlayBatch(engine);
  assert.equal(s.check({ id: 5, seq: 1, ackedBelow: 1 }).kind, 'new');
  s.record({ id: 5, seq: 1, ackedBelow: 1 }, 3, t0, batch);
  s.record({ id: 5, seq: 2, ackedBelow: 1 }, new ErrorReply('WRONGTYPE x'), t0, batch);
  s.writeRecords(batch);
  await engine.write(batch.batch);
  assert.deepEqual(s.check({ id: 5, seq: 1, ackedBelow: 1 }), { kind: 'duplicate', reply: 3 });
  assert.deepEqual(s.check({ id: 5, seq: 2, ackedBelow: 1 }), { kind: 'duplicate', reply: new ErrorReply('WRONGTYPE x') });
  const reloaded = await ClientSessions.load(engine, 9);
  assert.deepEqual(reloaded.check({ id: 5, seq: 2, ackedBelow: 1 }), s.check({ id: 5, seq: 2, ackedBelow: 1 }));

  // The forwarder got seq 1's answer: it is forgotten (an old copy of it is stale).
  batch = new OverlayBatch(engine);
  s.record({ id: 5, seq: 3, ackedBelow: 2 }, OK, t0 + 1000, batch);
  s.writeRecords(batch);
  await engine.write(batch.batch);
  assert.equal(s.check({ id: 5, seq: 1, ackedBelow: 2 }).kind, 'stale');
  assert.equal((await ClientSessions.load(engine, 9)).check({ id: 5, seq: 1, ackedBelow: 2 }).kind, 'stale');

  // Another session's write, long after: session 5 expires in the same batch.
  batch = new OverlayBatch(engine);
  s.record({ id: 6, seq: 1, ackedBelow: 1 }, OK, t0 + SESSION_TTL_MS + 5000, batch);
  s.writeRecords(batch);
  await engine.write(batch.batch);
  assert.equal(s.size, 1);
  const after = await ClientSessions.load(engine, 9);
  assert.equal(after.size, 1);
  assert.equal(after.check({ id: 5, seq: 3, ackedBelow: 1 }).kind, 'new');
});

test('client sessions: a rising ackedBelow drops exactly the kept replies below it, by a short step or a long jump', async () => {
  const engine = new MemoryEngine();
  const s = new ClientSessions(3);
  const t0 = 2_000_000;
  let batch = new OverlayBatch(engine);
  for (const seq of [1, 2, 3, 5, 8]) s.record({ id: 7, seq, ackedBelow: 1 }, seq * 10, t0, batch);
  s.writeRecords(batch);
  await engine.write(batch.batch);
  // A short step (looked up seq by seq): 1 and 2 go.
  batch = new OverlayBatch(engine);
  s.record({ id: 7, seq: 9, ackedBelow: 3 }, 90, t0, batch);
  s.writeRecords(batch);
  await engine.write(batch.batch);
  const kinds = (c: ClientSessions) => [1, 2, 3, 5, 8, 9].map((seq) => c.check({ id: 7, seq, ackedBelow: 3 }).kind);
  assert.deepEqual(kinds(s), ['stale', 'stale', 'duplicate', 'duplicate', 'duplicate', 'duplicate']);
  assert.deepEqual(kinds(await ClientSessions.load(engine, 3)), kinds(s));
  // A long jump (past more seqs than are kept): 3, 5 and 8 go, 9 stays.
  batch = new OverlayBatch(engine);
  s.record({ id: 7, seq: 100, ackedBelow: 9 }, 1000, t0, batch);
  s.writeRecords(batch);
  await engine.write(batch.batch);
  const later = (c: ClientSessions) => [3, 5, 8, 9, 100].map((seq) => c.check({ id: 7, seq, ackedBelow: 9 }).kind);
  assert.deepEqual(later(s), ['stale', 'stale', 'stale', 'duplicate', 'duplicate']);
  assert.deepEqual(later(await ClientSessions.load(engine, 3)), later(s));
});

test('client sessions: one record row per session and apply batch, holding the state after its last write', async () => {
  const engine = new MemoryEngine();
  const s = new ClientSessions(4);
  const t0 = 3_000_000;
  const batch = new OverlayBatch(engine);
  for (let seq = 1; seq <= 50; seq++) s.record({ id: 11, seq, ackedBelow: seq - 2 }, seq, t0 + seq, batch);
  s.record({ id: 12, seq: 1, ackedBelow: 1 }, OK, t0, batch);
  s.writeRecords(batch);
  // 50 + 1 kept replies, 47 of them dropped again (acked), and two record rows: not 51.
  const recordKeys = [sessionKey(4, 11), sessionKey(4, 12)];
  const recordRows = batch.batch.ops.filter((op) => recordKeys.some((k) => k.equals(op.key)));
  assert.equal(recordRows.length, 2);
  await engine.write(batch.batch);
  const reloaded = await ClientSessions.load(engine, 4);
  const kinds = (c: ClientSessions) => [47, 48, 49, 50].map((seq) => c.check({ id: 11, seq, ackedBelow: 48 }).kind);
  assert.deepEqual(kinds(reloaded), kinds(s));
  assert.deepEqual(kinds(s), ['stale', 'duplicate', 'duplicate', 'duplicate']);
  // A second batch that touches nothing writes no record.
  const idle = new OverlayBatch(engine);
  s.writeRecords(idle);
  assert.equal(idle.batch.length, 0);
});

test('client sessions: a session expired and started again within one batch is reloaded as the new one', async () => {
  const engine = new MemoryEngine();
  const s = new ClientSessions(5);
  const t0 = 4_000_000;
  let batch = new OverlayBatch(engine);
  s.record({ id: 21, seq: 1, ackedBelow: 1 }, 1, t0, batch);
  s.writeRecords(batch);
  await engine.write(batch.batch);
  batch = new OverlayBatch(engine);
  // Session 22 arrives long after: session 21 expires; then 21 starts again at seq 9.
  s.record({ id: 22, seq: 1, ackedBelow: 1 }, 1, t0 + SESSION_TTL_MS + 1, batch);
  s.record({ id: 21, seq: 9, ackedBelow: 9 }, 9, t0 + SESSION_TTL_MS + 2, batch);
  s.writeRecords(batch);
  await engine.write(batch.batch);
  const reloaded = await ClientSessions.load(engine, 5);
  assert.equal(reloaded.size, 2);
  for (const c of [s, reloaded]) {
    assert.equal(c.check({ id: 21, seq: 1, ackedBelow: 9 }).kind, 'stale');
    assert.deepEqual(c.check({ id: 21, seq: 9, ackedBelow: 9 }), { kind: 'duplicate', reply: 9 });
  }
});
