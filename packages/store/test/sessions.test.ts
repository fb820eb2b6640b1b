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
  isSessionKey,
  sessionKey,
  sessionRange,
  type Reply,
} from '@redraft/common';
import { ClientSessions, INLINE_BYTES_MAX, INLINE_REPLY_MAX, SESSION_TTL_MS } from '../src/raftstore/sessions';

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

/** Every row of region `regionId`'s sessions in the engine: record rows and reply rows. */
async function sessionRows(engine: MemoryEngine, regionId: number): Promise<Array<[string, string]>> {
  const [gte, lt] = sessionRange(regionId);
  const rows: Array<[string, string]> = [];
  for await (const [k, v] of engine.scan({ gte, lt })) rows.push([k.toString('hex'), v.toString('hex')]);
  return rows;
}

test('client sessions: small replies ride in the record row, large ones and those past the budget get rows of their own', async () => {
  const engine = new MemoryEngine();
  const s = new ClientSessions(6);
  const t0 = 5_000_000;
  let batch = new OverlayBatch(engine);
  const big = Buffer.alloc(INLINE_REPLY_MAX + 1, 'x');
  s.record({ id: 31, seq: 1, ackedBelow: 1 }, OK, t0, batch);
  s.record({ id: 31, seq: 2, ackedBelow: 1 }, 42, t0, batch);
  s.record({ id: 31, seq: 3, ackedBelow: 1 }, big, t0, batch);
  s.writeRecords(batch);
  // One row for the large reply, one record row: the two small ones wrote nothing of their own.
  assert.deepEqual(
    batch.batch.ops.map((op) => [op.type, isSessionKey(op.key) ? 'record' : 'reply']),
    [['put', 'reply'], ['put', 'record']],
  );
  await engine.write(batch.batch);
  const check = (c: ClientSessions, seq: number) => c.check({ id: 31, seq, ackedBelow: 1 });
  for (const c of [s, await ClientSessions.load(engine, 6)]) {
    assert.deepEqual(check(c, 1), { kind: 'duplicate', reply: OK });
    assert.deepEqual(check(c, 2), { kind: 'duplicate', reply: 42 });
    assert.deepEqual(check(c, 3), { kind: 'duplicate', reply: big });
  }

  // Fill the inline budget: the replies past it get rows; acked, every one goes.
  batch = new OverlayBatch(engine);
  const reply = Buffer.alloc(INLINE_REPLY_MAX - 8, 'v');
  assert.equal(encodeReply(reply, 3).length, INLINE_REPLY_MAX); // "$120\r\n...\r\n"
  const held = encodeReply(OK, 3).length + encodeReply(42, 3).length; // seq 1 and 2
  const fit = Math.floor((INLINE_BYTES_MAX - held) / INLINE_REPLY_MAX);
  for (let seq = 4; seq < 4 + fit + 3; seq++) s.record({ id: 31, seq, ackedBelow: 1 }, reply, t0, batch);
  s.writeRecords(batch);
  const replyRows = batch.batch.ops.filter((op) => !isSessionKey(op.key) && op.type === 'put').length;
  assert.equal(replyRows, 3, 'the replies past the budget (and none before) get rows');
  await engine.write(batch.batch);
  const reloaded = await ClientSessions.load(engine, 6);
  for (const seq of [4, 4 + fit - 1, 4 + fit, 4 + fit + 2]) assert.deepEqual(check(reloaded, seq), { kind: 'duplicate', reply });

  batch = new OverlayBatch(engine);
  s.record({ id: 31, seq: 10_000, ackedBelow: 10_000 }, OK, t0, batch);
  s.writeRecords(batch);
  await engine.write(batch.batch);
  const rows = await sessionRows(engine, 6);
  assert.equal(rows.length, 1, 'only the record row is left');
  assert.deepEqual(check(await ClientSessions.load(engine, 6), 10_000), { kind: 'duplicate', reply: OK });
});

test('client sessions: the record row has the same bytes on a replica that reloaded its mirror (seq order, not arrival order)', async () => {
  const a = new MemoryEngine();
  const live = new ClientSessions(7);
  const t0 = 6_000_000;
  let batch = new OverlayBatch(a);
  // Forwarded writes arrive out of seq order (different connections to the leader).
  for (const seq of [5, 3, 4, 9, 1]) live.record({ id: 41, seq, ackedBelow: 1 }, seq, t0, batch);
  live.writeRecords(batch);
  await a.write(batch.batch);
  const b = new MemoryEngine();
  const copy = new OverlayBatch(b);
  for await (const [k, v] of a.scan({ gte: sessionRange(7)[0], lt: sessionRange(7)[1] })) copy.batch.put(k, v);
  await b.write(copy.batch);
  const reloaded = await ClientSessions.load(b, 7);
  // The same next entry on both: the same rows after it.
  for (const [engine, c] of [[a, live], [b, reloaded]] as const) {
    batch = new OverlayBatch(engine);
    c.record({ id: 41, seq: 7, ackedBelow: 4 }, 7, t0 + 1, batch);
    c.writeRecords(batch);
    await engine.write(batch.batch);
  }
  assert.deepEqual(await sessionRows(b, 7), await sessionRows(a, 7));
});

test('client sessions: a split copies inline and row replies; a merge keeps every reply not yet acked, placed alike', async () => {
  const engine = new MemoryEngine();
  const parent = new ClientSessions(8);
  const t0 = 7_000_000;
  const big = Buffer.alloc(INLINE_REPLY_MAX * 2, 'b');
  let batch = new OverlayBatch(engine);
  parent.record({ id: 51, seq: 1, ackedBelow: 1 }, 1, t0, batch);
  parent.record({ id: 51, seq: 2, ackedBelow: 1 }, big, t0, batch);
  parent.writeRecords(batch);
  const child = parent.copyTo(18, batch);
  await engine.write(batch.batch);
  for (const c of [child, await ClientSessions.load(engine, 18)]) {
    assert.deepEqual(c.check({ id: 51, seq: 1, ackedBelow: 1 }), { kind: 'duplicate', reply: 1 });
    assert.deepEqual(c.check({ id: 51, seq: 2, ackedBelow: 1 }), { kind: 'duplicate', reply: big });
  }
  // The child goes on alone (ackedBelow 2 drops seq 1), then merges back into the parent.
  batch = new OverlayBatch(engine);
  child.record({ id: 51, seq: 3, ackedBelow: 2 }, 3, t0, batch);
  child.writeRecords(batch);
  parent.absorb(child, batch);
  await engine.write(batch.batch);
  for (const c of [parent, await ClientSessions.load(engine, 8)]) {
    assert.equal(c.check({ id: 51, seq: 1, ackedBelow: 2 }).kind, 'stale');
    assert.deepEqual(c.check({ id: 51, seq: 2, ackedBelow: 2 }), { kind: 'duplicate', reply: big });
    assert.deepEqual(c.check({ id: 51, seq: 3, ackedBelow: 2 }), { kind: 'duplicate', reply: 3 });
  }
});
