// apply() of the string and keyspace operations, fed encoded WriteCommands
// directly: time comes from the entry, replicas produce the same bytes, a
// failed command leaves no write, FLUSH stays inside its slots.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorReply, MemoryEngine, OK, OverlayBatch, dataRange, keySlot, metaKey, pb } from '@redraft/common';
import type { Reply } from '@redraft/common';
import { apply } from '../src/apply/apply';
import { decodeMeta } from '../src/data/meta';

type Op = Omit<pb.WriteCommand.$Properties, 'proposedAtMs'>;
const T0 = 1_700_000_000_000;
const b = (s: string): Buffer => Buffer.from(s);

/** A replica: an engine and the index of the next entry. */
class Replica {
  engine = new MemoryEngine();
  index = 0;
  async run(at: number, ...ops: Op[]): Promise<Reply[]> {
    const batch = new OverlayBatch(this.engine);
    const replies: Reply[] = [];
    for (const op of ops) {
      const data = pb.WriteCommand.encode({ ...op, proposedAtMs: at }).finish();
      replies.push(await apply({ index: ++this.index, data }, batch));
    }
    await this.engine.write(batch.batch);
    return replies;
  }
  async dump(): Promise<string[]> {
    const out: string[] = [];
    const [gte, lt] = dataRange(0, 16384);
    for await (const [k, v] of this.engine.scan({ gte, lt })) out.push(`${k.toString('hex')}=${v.toString('hex')}`);
    return out;
  }
  async meta(key: string) {
    const raw = await this.engine.get(metaKey(keySlot(b(key)), b(key)));
    return raw ? decodeMeta(raw) : undefined;
  }
}

test('expiry in apply uses the entry time, never the clock', async () => {
  const r = new Replica();
  // An entry stamped long ago: the expire time is in its future, so the key is kept.
  assert.deepEqual(await r.run(1000, { set: { key: b('k'), value: b('v') } }, { expire: { key: b('k'), atMs: 5000 } }), [OK, 1]);
  assert.equal((await r.meta('k'))?.expireAt, 5000);
  // At 6000 the key is expired: writes see it absent.
  assert.deepEqual(await r.run(6000, { set: { key: b('k'), value: b('w'), condition: pb.Condition.NX } }), [OK]);
  assert.equal((await r.meta('k'))?.expireAt, 0);
  // An expire time at or before the entry time deletes the key.
  assert.deepEqual(await r.run(7000, { expire: { key: b('k'), atMs: 7000 } }), [1]);
  assert.equal(await r.meta('k'), undefined);
});

test('two replicas applying the same entries write the same bytes', async () => {
  const ops: Op[] = [
    { set: { key: b('a'), value: b('1') } },
    { incrBy: { key: b('a'), delta: '41' } },
    { incrByFloat: { key: b('f'), delta: '0.1' } },
    { append: { key: b('a'), value: b('x') } },
    { setRange: { key: b('r'), offset: 3, value: b('abc') } },
    { hset: { key: b('h'), fields: [b('f1'), b('f2')], values: [b('v1'), b('v2')] } },
    { copy: { source: b('h'), destination: b('h2') } },
    { rename: { source: b('h'), destination: b('h3') } },
    { expire: { key: b('h3'), atMs: T0 + 100_000 } },
    { mset: { keys: [b('m1'), b('m2')], values: [b('x'), b('y')] } },
    { getEx: { key: b('m1'), expiry: { atMs: T0 + 5 } } },
    { getDel: { key: b('m2') } },
  ];
  const r1 = new Replica();
  const r2 = new Replica();
  const rep1 = await r1.run(T0, ...ops);
  const rep2 = await r2.run(T0, ...ops);
  assert.deepEqual(rep1, rep2);
  assert.deepEqual(await r1.dump(), await r2.dump());
});

test('a failing command leaves no write behind, and later entries still apply', async () => {
  const r = new Replica();
  await r.run(T0, { set: { key: b('n'), value: b('9223372036854775807') } });
  const before = await r.dump();
  const [err, ok] = await r.run(T0, { incrBy: { key: b('n'), delta: '1' } }, { set: { key: b('x'), value: b('1') } });
  assert.ok(err instanceof ErrorReply && err.message === 'ERR increment or decrement would overflow');
  assert.equal(ok, OK);
  const after = await r.dump();
  assert.equal(after.length, before.length + 1);
  // RENAME of a missing key fails without touching the destination.
  await r.run(T0, { set: { key: b('dst'), value: b('keep') } });
  const [e2] = await r.run(T0, { rename: { source: b('nosuch'), destination: b('dst') } });
  assert.ok(e2 instanceof ErrorReply && e2.message === 'ERR no such key');
  assert.equal((await r.meta('dst'))?.value.toString(), 'keep');
});

test('FLUSH deletes only the rows of its slots, members included', async () => {
  const r = new Replica();
  const keys = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'];
  await r.run(T0, ...keys.map((k) => ({ set: { key: b(k), value: b('v') } })), { hset: { key: b('hash'), fields: [b('f')], values: [b('v')] } });
  const cut = 8192;
  await r.run(T0, { flush: { startSlot: 0, endSlot: cut } });
  for (const k of [...keys, 'hash']) {
    const present = (await r.meta(k)) !== undefined;
    assert.equal(present, keySlot(b(k)) >= cut, `${k} (slot ${keySlot(b(k))})`);
  }
  for (const row of await r.dump()) assert.ok(Buffer.from(row.split('=')[0], 'hex').readUInt16BE(1) >= cut);
  await r.run(T0, { flush: {} });
  assert.deepEqual(await r.dump(), []);
});

test('EXPIRE_KEYS removes only keys still expired at the entry time', async () => {
  const r = new Replica();
  await r.run(T0, { set: { key: b('old'), value: b('v'), expiry: { atMs: T0 + 10 } } }, { set: { key: b('new'), value: b('v'), expiry: { atMs: T0 + 10 } } });
  // 'new' was rewritten without expiry after the leader saw it expired.
  await r.run(T0 + 20, { set: { key: b('new'), value: b('w') } });
  assert.deepEqual(await r.run(T0 + 30, { expireKeys: { keys: [b('old'), b('new'), b('missing')] } }), [1]);
  assert.equal(await r.meta('old'), undefined);
  assert.equal((await r.meta('new'))?.value.toString(), 'w');
});

test('SET with an expiry already due deletes instead of writing a dead row', async () => {
  const r = new Replica();
  await r.run(T0, { set: { key: b('k'), value: b('v') } });
  assert.deepEqual(await r.run(T0, { set: { key: b('k'), value: b('w'), expiry: { atMs: T0 - 1 } } }), [OK]);
  assert.equal(await r.meta('k'), undefined);
});
