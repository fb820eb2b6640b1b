// Active expiry and the reclaim of stale collection members (docs/expiry.md):
// the ExpireKeys and Reclaim entries at apply level (a key given a new TTL
// between the leader's scan and the apply survives; a live collection is
// never reclaimed), and the leader's cycle over a real apply pipeline.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryEngine, OverlayBatch, createLogger, dataRange, decodeCollectionRow, decodeExpireIndexKey, keySlot, metaKey, pb, slotExpireRange } from '@redraft/common';
import type { Reply } from '@redraft/common';
import { apply } from '../src/apply/apply';
import { decodeMeta } from '../src/data/meta';
import { ExpiryCycle, KEYS_PER_ENTRY, type ExpiryRegion } from '../src/raftstore/expiry';

type Op = pb.WriteCommand.$Properties;
const b = (s: string): Buffer => Buffer.from(s);

/** One replica fed entries in order, and usable as the region the cycle leads. */
class Replica implements ExpiryRegion {
  engine = new MemoryEngine();
  index = 0;
  readonly id = 1;
  readonly startSlot = 0;
  readonly endSlot = 16384;
  readonly isLeader = true;
  proposed: Op[] = [];
  get applied(): number {
    return this.index;
  }
  async run(at: number, ...ops: Op[]): Promise<Reply[]> {
    const batch = new OverlayBatch(this.engine);
    const replies: Reply[] = [];
    for (const op of ops) replies.push(await apply({ index: ++this.index, data: pb.WriteCommand.encode({ ...op, proposedAtMs: at }).finish() }, batch));
    await this.engine.write(batch.batch);
    return replies;
  }
  async propose(cmd: Op): Promise<Reply> {
    this.proposed.push(cmd);
    return (await this.run(Number(cmd.proposedAtMs), cmd))[0];
  }
  async meta(key: string) {
    const raw = await this.engine.get(metaKey(keySlot(b(key)), b(key)));
    return raw ? decodeMeta(raw) : undefined;
  }
  /** Expiry-index rows of `key`'s slot: [key, expireAt]. */
  async indexRows(key: string): Promise<Array<[string, number]>> {
    const [gte, lt] = slotExpireRange(keySlot(b(key)));
    const out: Array<[string, number]> = [];
    for await (const [k] of this.engine.scan({ gte, lt })) {
      const row = decodeExpireIndexKey(k);
      out.push([row.key.toString(), row.expireAt]);
    }
    return out;
  }
  /** Member and score rows of every collection version, by key. */
  async memberRows(): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    const [gte, lt] = dataRange(0, 16384);
    for await (const [k] of this.engine.scan({ gte, lt })) {
      const row = decodeCollectionRow(k);
      if (row) out.set(`${row.key}@${row.version}`, (out.get(`${row.key}@${row.version}`) ?? 0) + 1);
    }
    return out;
  }
}

const T0 = 1_700_000_000_000;

test('ExpireKeys: a due key goes with its index row; one given a new TTL or re-created after the scan survives', async () => {
  const r = new Replica();
  await r.run(T0, { set: { key: b('a'), value: b('1'), expiry: { atMs: T0 + 100 } } }, { set: { key: b('b'), value: b('2'), expiry: { atMs: T0 + 100 } } }, { set: { key: b('c'), value: b('3'), expiry: { atMs: T0 + 100 } } });
  assert.deepEqual(await r.indexRows('a'), [['a', T0 + 100]]);
  // The leader's scan at T0+150 sees all three due; before its entry applies, b gets a new TTL and c is set again without one.
  const seen = { keys: [b('a'), b('b'), b('c')], expireAtMs: [T0 + 100, T0 + 100, T0 + 100] };
  await r.run(T0 + 90, { expire: { key: b('b'), atMs: T0 + 10_000 } }, { set: { key: b('c'), value: b('new') } });
  assert.deepEqual(await r.run(T0 + 150, { expireKeys: seen }), [1]);
  assert.equal(await r.meta('a'), undefined);
  assert.equal((await r.meta('b'))?.expireAt, T0 + 10_000);
  assert.equal((await r.meta('c'))?.value.toString(), 'new');
  // Only b's live row stays; the rows the leader saw are gone.
  assert.deepEqual(await r.indexRows('a'), []);
  assert.deepEqual(await r.indexRows('b'), [['b', T0 + 10_000]]);
  assert.deepEqual(await r.indexRows('c'), []);
  // An entry whose time is before the key's expiry (a leader with a slower clock) removes nothing.
  assert.deepEqual(await r.run(T0 + 5000, { expireKeys: { keys: [b('b')], expireAtMs: [T0 + 10_000] } }), [0]);
  assert.deepEqual(await r.indexRows('b'), [['b', T0 + 10_000]]);
  // A key lives through its expiry millisecond (as Redis).
  assert.deepEqual(await r.run(T0 + 10_000, { expireKeys: { keys: [b('b')], expireAtMs: [T0 + 10_000] } }), [0]);
  assert.deepEqual(await r.run(T0 + 10_001, { expireKeys: { keys: [b('b')], expireAtMs: [T0 + 10_000] } }), [1]);
});

test('ExpireKeys: every replica writes the same bytes', async () => {
  const replicas = [new Replica(), new Replica()];
  for (const r of replicas) {
    await r.run(T0, { hset: { key: b('h'), fields: [b('f')], values: [b('v')] } }, { expire: { key: b('h'), atMs: T0 + 10 } }, { set: { key: b('s'), value: b('x'), expiry: { atMs: T0 + 20 } } });
    await r.run(T0 + 100, { expireKeys: { keys: [b('h'), b('s'), b('missing')], expireAtMs: [T0 + 10, T0 + 20, T0 + 5] } });
  }
  const dump = async (r: Replica) => {
    const out: string[] = [];
    for await (const [k, v] of r.engine.scan({ gte: dataRange(0, 16384)[0], lt: dataRange(0, 16384)[1] })) out.push(`${k.toString('hex')}=${v.toString('hex')}`);
    return out;
  };
  assert.deepEqual(await dump(replicas[0]), await dump(replicas[1]));
  assert.equal(await replicas[0].meta('h'), undefined);
});

test('Reclaim: removes a dead version in bounded steps and never a live one', async () => {
  const r = new Replica();
  const fields = Array.from({ length: 10 }, (_, i) => b(`f${i}`));
  await r.run(T0, { hset: { key: b('h'), fields, values: fields } }, { zadd: { key: b('z'), members: [b('m1'), b('m2')], scores: [1, 2] } });
  const hv = (await r.meta('h'))!.version;
  const zv = (await r.meta('z'))!.version;
  /** Every row of one collection version, as the sweep would name them. */
  const rowsOf = async (key: string, version: number): Promise<Buffer[]> => {
    const out: Buffer[] = [];
    for await (const [k] of r.engine.scan({ gte: dataRange(0, 16384)[0], lt: dataRange(0, 16384)[1] })) {
      const row = decodeCollectionRow(k);
      if (row && row.key.toString() === key && row.version === version) out.push(k);
    }
    return out;
  };
  const hRows = await rowsOf('h', hv);
  // A live version is left alone.
  assert.deepEqual(await r.run(T0, { reclaim: { keys: [b('h')], versions: [hv], rowCounts: [hRows.length], rows: hRows } }), [0]);
  // DEL leaves the members behind, invisible; a new hash of the same name gets a new version.
  await r.run(T0, { del: { keys: [b('h'), b('z')] } }, { hset: { key: b('h'), fields: [b('x')], values: [b('y')] } });
  assert.equal((await r.memberRows()).get(`h@${hv}`), 10);
  assert.ok((await r.memberRows()).get(`z@${zv}`)! >= 4, 'members and score rows of the zset');
  assert.deepEqual(await r.run(T0, { reclaim: { keys: [b('h')], versions: [hv], rowCounts: [4], rows: hRows.slice(0, 4) } }), [4]);
  assert.equal((await r.memberRows()).get(`h@${hv}`), 6);
  // Rows named under the wrong group are left alone: the new hash's member, named as the old version's.
  const newRows = await rowsOf('h', (await r.meta('h'))!.version);
  const zRows = await rowsOf('z', zv);
  const named = [...hRows.slice(4), ...newRows, ...zRows];
  assert.deepEqual(await r.run(T0, { reclaim: { keys: [b('h'), b('z')], versions: [hv, zv], rowCounts: [6 + newRows.length, zRows.length], rows: named } }), [10]);
  const left = await r.memberRows();
  assert.equal(left.get(`h@${hv}`), undefined);
  assert.equal(left.get(`z@${zv}`), undefined);
  assert.equal(left.get(`h@${(await r.meta('h'))!.version}`), 1, 'the new hash keeps its member');
});

function cycleFor(r: Replica): ExpiryCycle {
  return new ExpiryCycle({ engine: r.engine, log: createLogger({ name: 'expiry-test', level: 'silent' }), regions: () => [r], atQuietMoment: async (task) => task() }, { fastBudgetMs: 60_000 }); // the in-memory engine scans slowly
}

test('the cycle removes due keys without reads, in bounded entries, and reclaims the members of dropped collections', async () => {
  const r = new Replica();
  const now = Date.now();
  const n = KEYS_PER_ENTRY * 2 + 7;
  const ops: Op[] = [];
  for (let i = 0; i < n; i++) ops.push({ set: { key: b(`k${i}`), value: b('v'), expiry: { atMs: now - 1000 + (i % 3) } } });
  ops.push({ set: { key: b('later'), value: b('v'), expiry: { atMs: now + 60_000 } } });
  ops.push({ hset: { key: b('big'), fields: [b('a'), b('b'), b('c')], values: [b('1'), b('2'), b('3')] } });
  await r.run(now - 2000, ...ops);
  const bigVersion = (await r.meta('big'))!.version;
  await r.run(now - 2000, { del: { keys: [b('big')] } });
  const cycle = cycleFor(r);
  await cycle.tick();
  // One tick drains the burst: full entries run again at once (as Redis's fast cycle).
  assert.equal(cycle.expiredKeys, n);
  const expiries = r.proposed.filter((p) => p.expireKeys);
  assert.ok(expiries.length >= 3 && expiries.every((p) => p.expireKeys!.keys!.length <= KEYS_PER_ENTRY), `bounded entries: ${expiries.map((p) => p.expireKeys!.keys!.length)}`);
  for (const k of ['k0', 'k1', `k${n - 1}`]) assert.equal(await r.meta(k), undefined, k);
  assert.equal((await r.meta('later'))?.expireAt, now + 60_000);
  // The sweep named the dropped hash's version in a Reclaim entry.
  assert.ok(r.proposed.some((p) => p.reclaim?.keys?.some((k) => Buffer.from(k).equals(b('big')))));
  assert.equal((await r.memberRows()).get(`big@${bigVersion}`), undefined);
  // Nothing left to do: the next tick proposes nothing.
  const before = r.proposed.length;
  await cycle.tick();
  assert.equal(r.proposed.length, before);
});

test('the cycle finds a key written after its slot was scanned (the apply lowers the slot hint)', async () => {
  const r = new Replica();
  const cycle = cycleFor(r);
  await cycle.tick(); // every slot looked at once: nothing anywhere
  const now = Date.now();
  await r.run(now, { set: { key: b('soon'), value: b('v'), expiry: { atMs: now + 400 } } });
  await cycle.tick();
  assert.ok(await r.meta('soon'), 'not due yet');
  await new Promise((res) => setTimeout(res, Math.max(0, now + 450 - Date.now())));
  await cycle.tick();
  assert.equal(await r.meta('soon'), undefined);
  assert.equal(cycle.expiredKeys, 1);
});
