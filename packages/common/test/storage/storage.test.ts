// The storage layer on real RocksDB in a temp dir: the engine, the overlay
// batch apply reads through (with per-entry undo), and the Raft peer storage.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ENGINE_CLOSED, RocksEngine } from '../../src/storage/rocks';
import { WriteBatch } from '../../src/storage/engine';
import { OverlayBatch } from '../../src/storage/overlay';
import { PeerStorage, RAFT_INIT_INDEX, RAFT_INIT_TERM } from '../../src/raftstore/peer-storage';
import { ErrCompacted, ErrUnavailable, EntryType, type Entry } from '../../src/raft';
import { redraft as pb } from '../../src/gen/proto';

const b = (s: string): Buffer => Buffer.from(s);

async function withEngine(t: { after(f: () => Promise<void> | void): void }): Promise<{ engine: RocksEngine; dir: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'redraft-storage-'));
  const engine = await RocksEngine.open(join(dir, 'db'));
  t.after(async () => {
    await engine.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return { engine, dir };
}

test('engine: synced batch, point reads (coalesced), ordered scans with limit and reverse', async (t) => {
  const { engine } = await withEngine(t);
  await engine.write(new WriteBatch().put(b('a'), b('1')).put(b('c'), b('3')).put(b('b'), b('2')), true);
  const [x, y, z] = await Promise.all([engine.get(b('a')), engine.get(b('nope')), engine.get(b('c'))]);
  assert.deepEqual([x?.toString(), y, z?.toString()], ['1', undefined, '3']);
  const keys = async (opts: object): Promise<string[]> => {
    const out: string[] = [];
    for await (const [k] of engine.scan({ gte: b('a'), lt: b('z'), ...opts })) out.push(k.toString());
    return out;
  };
  assert.deepEqual(await keys({}), ['a', 'b', 'c']);
  assert.deepEqual(await keys({ reverse: true, limit: 2 }), ['c', 'b']);
  await engine.write(new WriteBatch().del(b('b')), false);
  assert.deepEqual(await keys({}), ['a', 'c']);
});

test('engine: native batches are reused across writes, in flight together or not; big batches and empty keys keep the array form\'s behaviour', async (t) => {
  const { engine } = await withEngine(t);
  // More writes in flight at once than batches kept for reuse, each a mix of puts and deletes.
  for (let round = 0; round < 3; round++) {
    await Promise.all(
      Array.from({ length: 20 }, (_, w) => {
        const batch = new WriteBatch();
        for (let i = 0; i < 30; i++) batch.put(b(`k${w}-${i}`), b(`r${round}-${i}`));
        batch.del(b(`k${w}-0`));
        return engine.write(batch, w % 2 === 0);
      }),
    );
  }
  // A reused batch carries nothing from its previous write: every row is the last round's.
  const rows: string[] = [];
  for await (const [k, v] of engine.scan({ gte: b('k'), lt: b('l') })) rows.push(`${k}=${v}`);
  assert.equal(rows.length, 20 * 29);
  assert.ok(rows.every((r) => r.includes('=r2-')), 'only the last round\'s values');
  assert.ok(!rows.some((r) => /^k\d+-0=/.test(r)), 'the deletes landed');
  // Over 1 MB: written through the array form (its native batch is freed when written).
  const big = new WriteBatch();
  for (let i = 0; i < 300; i++) big.put(b(`big${i}`), Buffer.alloc(4096, i));
  await engine.write(big, true);
  assert.deepEqual(await engine.get(b('big299')), Buffer.alloc(4096, 299));
  // An empty key is refused, and nothing of that batch is written.
  await assert.rejects(engine.write(new WriteBatch().put(b('half'), b('1')).put(Buffer.alloc(0), b('x')), false), /empty/);
  assert.equal(await engine.get(b('half')), undefined);
});

test('engine: after close every call is an error, never a call into the binding (it does not check, and a write there crashes the process)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'redraft-storage-'));
  try {
    const engine = await RocksEngine.open(join(dir, 'db'));
    await engine.write(new WriteBatch().put(b('a'), b('1')), true);
    // A write issued just before close lands: the binding's close waits for it.
    const inFlight = engine.write(new WriteBatch().put(b('b'), b('2')), true);
    const closed = (e: Error) => e.message === ENGINE_CLOSED;
    // Coalesced: sent to the binding after this turn, i.e. after close began.
    const pendingGet = assert.rejects(engine.get(b('a')), closed);
    await engine.close();
    await inFlight;
    await pendingGet;
    await assert.rejects(engine.write(new WriteBatch().put(b('c'), b('3')), true), closed);
    await assert.rejects(engine.write(new WriteBatch().put(b('c'), b('3')), false), closed);
    await assert.rejects(engine.get(b('a')), closed);
    await assert.rejects(engine.getMany([b('a')]), closed);
    await assert.rejects(engine.approximateSize(b('a'), b('z')), closed);
    await assert.rejects(async () => {
      for await (const _ of engine.scan({ gte: b('a'), lt: b('z') })) assert.fail('no entry after close');
    }, closed);
    await engine.close(); // twice is fine
    const reopened = await RocksEngine.open(join(dir, 'db'));
    assert.equal((await reopened.get(b('b')))?.toString(), '2', 'the write in flight at close landed');
    assert.equal(await reopened.get(b('c')), undefined);
    await reopened.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('overlay: reads see earlier writes of the batch, scans merge them, rollback undoes one entry', async (t) => {
  const { engine } = await withEngine(t);
  await engine.write(new WriteBatch().put(b('k1'), b('old')).put(b('k3'), b('3')), true);
  const o = new OverlayBatch(engine);
  o.mark();
  o.put(b('k2'), b('2'));
  o.del(b('k3'));
  assert.equal((await o.get(b('k2')))?.toString(), '2');
  assert.equal(await o.get(b('k3')), undefined);
  o.mark();
  o.put(b('k1'), b('new'));
  o.put(b('k4'), b('4'));
  const seen: string[] = [];
  for await (const [k, v] of o.scan({ gte: b('k'), lt: b('l') })) seen.push(`${k}=${v}`);
  assert.deepEqual(seen, ['k1=new', 'k2=2', 'k4=4']);
  o.rollback(); // the second entry failed: its writes go, the first entry's stay
  assert.equal((await o.get(b('k1')))?.toString(), 'old');
  assert.equal(await o.get(b('k4')), undefined);
  assert.equal(o.batch.length, 2);
  await engine.write(o.batch, true);
  assert.equal((await engine.get(b('k2')))?.toString(), '2');
  assert.equal(await engine.get(b('k3')), undefined);
});

test('overlay: prefetched keys are read from the base once; writes of the batch and their rollback still win', async (t) => {
  const { engine } = await withEngine(t);
  await engine.write(new WriteBatch().put(b('a'), b('A')).put(b('c'), b('C')), true);
  let reads = 0;
  const counting = { get: (k: Buffer) => (reads++, engine.get(k)), scan: engine.scan.bind(engine) };
  const o = new OverlayBatch(counting);
  await o.prefetch([b('a'), b('b'), b('c'), b('a')]);
  assert.equal(reads, 3, 'each distinct key once');
  assert.equal((await o.get(b('a')))?.toString(), 'A');
  assert.equal(await o.get(b('b')), undefined, 'an absent key is remembered as absent');
  assert.equal(reads, 3, 'no read after the prefetch');
  o.mark();
  o.put(b('a'), b('A2'));
  o.del(b('c'));
  assert.equal((await o.get(b('a')))?.toString(), 'A2');
  assert.equal(await o.get(b('c')), undefined);
  o.rollback();
  assert.equal((await o.get(b('a')))?.toString(), 'A', 'after a rollback, the prefetched base value');
  assert.equal((await o.get(b('c')))?.toString(), 'C');
  assert.equal(reads, 3);
});

const region: pb.Region.$Properties = {
  id: 42,
  startSlot: 0,
  endSlot: 16384,
  epoch: { version: 1, confVer: 1 },
  peers: [
    { id: 1, storeId: 1 },
    { id: 2, storeId: 2 },
    { id: 3, storeId: 3, role: pb.PeerRole.LEARNER },
  ],
};
const entry = (index: number, term: number): Entry => ({ index, term, type: EntryType.Normal, data: Buffer.from(`e${index}`) });

/** An engine holding region 42 as `PeerStorage.bootstrap` writes it. */
async function bootstrappedEngine(t: { after(f: () => Promise<void> | void): void }, peerId?: number): Promise<RocksEngine> {
  const { engine } = await withEngine(t);
  const boot = new WriteBatch();
  PeerStorage.bootstrap(boot, region, peerId);
  await engine.write(boot, true);
  return engine;
}

test('peer storage: bootstrap state, append with conflict truncation, compaction, reload from disk', async (t) => {
  const engine = await bootstrappedEngine(t);
  let s = await PeerStorage.load(engine, 42, region);
  assert.deepEqual(s.initialState(), { hardState: { term: RAFT_INIT_TERM, vote: 0, commit: RAFT_INIT_INDEX }, confState: { voters: [1, 2], learners: [3] } });
  assert.equal(s.firstIndex(), RAFT_INIT_INDEX + 1);
  assert.equal(s.lastIndex(), RAFT_INIT_INDEX);
  assert.equal(s.term(RAFT_INIT_INDEX), RAFT_INIT_TERM);

  let w = new WriteBatch();
  s.append([6, 7, 8, 9].map((i) => entry(i, 6)), w);
  await engine.write(w, true);
  w = new WriteBatch();
  s.append([entry(8, 7)], w); // a new leader's entry at 8: 8 and 9 of term 6 go
  s.setHardState({ term: 7, vote: 2, commit: 8 }, w);
  await engine.write(w, true);
  assert.equal(s.lastIndex(), 8);
  assert.equal(s.term(8), 7);
  assert.throws(() => s.term(9), ErrUnavailable);

  s = await PeerStorage.load(engine, 42, region); // what is on disk is what was in memory
  assert.equal(s.lastIndex(), 8);
  assert.deepEqual(s.entries(6, 9, Infinity).map((e) => [e.index, e.term, Buffer.from(e.data).toString()]), [
    [6, 6, 'e6'],
    [7, 6, 'e7'],
    [8, 7, 'e8'],
  ]);
  assert.deepEqual(s.initialState().hardState, { term: 7, vote: 2, commit: 8 });

  w = new WriteBatch();
  s.setApplied(8, w);
  s.compact(7, w);
  await engine.write(w, true);
  s = await PeerStorage.load(engine, 42, region);
  assert.equal(s.firstIndex(), 8);
  assert.equal(s.term(7), 6, 'the truncated term is kept for the log-matching check');
  assert.throws(() => s.entries(7, 9, Infinity), ErrCompacted);
  assert.equal(s.entries(8, 9, Infinity).length, 1);
});

test('peer storage: an applied entry is read back from its bytes, equal to what was appended, before and after a reload', async (t) => {
  const engine = await bootstrappedEngine(t);
  let s = await PeerStorage.load(engine, 42, region);
  const appended = Array.from({ length: 40 }, (_, i) => entry(RAFT_INIT_INDEX + 1 + i, 6));
  const view = (ents: Entry[]) => ents.map((e) => [e.index, e.term, e.type, Buffer.from(e.data).toString()]);
  let w = new WriteBatch();
  s.append(appended, w);
  s.setApplied(RAFT_INIT_INDEX + 30, w); // entries up to 35 applied: their objects are let go
  await engine.write(w, true);
  const all = s.entries(RAFT_INIT_INDEX + 1, RAFT_INIT_INDEX + 41, Infinity);
  assert.deepEqual(view(all), view(appended));
  assert.notEqual(all[0], appended[0], 'an applied entry is decoded again');
  assert.equal(all[35], appended[35], 'an unapplied one is the object appended');
  // The size limit holds across decoded and kept entries, and one entry always comes.
  const size = 16 + appended[27].data.length; // what entrySize counts for entries 33 to 45
  assert.equal(s.entries(RAFT_INIT_INDEX + 28, RAFT_INIT_INDEX + 41, size * 4).length, 4);
  assert.equal(s.entries(RAFT_INIT_INDEX + 28, RAFT_INIT_INDEX + 41, 1).length, 1);
  // Log GC, then a conflicting suffix that starts after the applied entries.
  w = new WriteBatch();
  s.compact(RAFT_INIT_INDEX + 10, w);
  s.append([entry(RAFT_INIT_INDEX + 38, 7)], w);
  await engine.write(w, true);
  assert.equal(s.lastIndex(), RAFT_INIT_INDEX + 38);
  assert.equal(s.term(RAFT_INIT_INDEX + 37), 6);
  assert.equal(s.term(RAFT_INIT_INDEX + 38), 7);
  const expected = view([...appended.slice(10, 37), entry(RAFT_INIT_INDEX + 38, 7)]);
  assert.deepEqual(view(s.entries(RAFT_INIT_INDEX + 11, RAFT_INIT_INDEX + 39, Infinity)), expected);
  s = await PeerStorage.load(engine, 42, region);
  assert.deepEqual(view(s.entries(RAFT_INIT_INDEX + 11, RAFT_INIT_INDEX + 39, Infinity)), expected);
});

test('peer storage: a bootstrapped replica made in memory is what loading it back from disk gives', async (t) => {
  const engine = await bootstrappedEngine(t, 2);
  const loaded = await PeerStorage.load(engine, 42, region, 2);
  const made = PeerStorage.bootstrapped(region, 2);
  const view = (s: PeerStorage) => ({
    regionId: s.regionId,
    peerId: s.peerId,
    initial: s.initialState(),
    applyState: s.applyState,
    first: s.firstIndex(),
    last: s.lastIndex(),
    term: s.term(RAFT_INIT_INDEX),
  });
  assert.deepEqual(view(made), view(loaded));
});

test('peer storage: an apply write that landed before the hard state with its commit index (a crash between them) reloads with commit = applied', async (t) => {
  const engine = await bootstrappedEngine(t);
  let s = await PeerStorage.load(engine, 42, region);
  let w = new WriteBatch();
  s.append([6, 7, 8].map((i) => entry(i, 6)), w);
  s.setHardState({ term: 6, vote: 1, commit: 6 }, w);
  await engine.write(w, true);
  // Entries 7 and 8 committed (the leader said so) and applied; the process
  // died before the next hard state write.
  w = new WriteBatch();
  s.setApplied(8, w);
  await engine.write(w, true);
  s = await PeerStorage.load(engine, 42, region);
  assert.deepEqual(s.initialState().hardState, { term: 6, vote: 1, commit: 8 });
  // Applied beyond the local log is corruption, never repaired.
  w = new WriteBatch();
  s.setApplied(9, w);
  await engine.write(w, true);
  await assert.rejects(PeerStorage.load(engine, 42, region), /applied 9 beyond the last log entry 8/);
});

test('peer storage: a replica created by a message is persisted with its first hard state, peer id included (its vote survives a restart)', async (t) => {
  const { engine } = await withEngine(t);
  const uninitialized = { id: 43, startSlot: 0, endSlot: 100, epoch: { version: 0, confVer: 0 }, peers: [] };
  const s = PeerStorage.empty(43, uninitialized, 7);
  const w = new WriteBatch();
  s.setHardState({ term: 9, vote: 3, commit: 0 }, w);
  await engine.write(w, true);
  const raw = await engine.get(Buffer.from([0x01, 0, 0, 0, 0, 0, 0, 0, 43, 0x04]));
  assert.ok(raw, 'the region state was written with the first hard state');
  const st = pb.RegionLocalState.decode(raw);
  assert.equal(Number(st.peerId), 7);
  assert.equal(st.region?.peers?.length ?? 0, 0, 'still uninitialized: no voters, so it can never elect itself');
  const again = await PeerStorage.load(engine, 43, st.region!, Number(st.peerId));
  assert.deepEqual(again.initialState(), { hardState: { term: 9, vote: 3, commit: 0 }, confState: { voters: [], learners: [] } });
  // Later writes do not rewrite the region state.
  const w2 = new WriteBatch();
  again.setHardState({ term: 10, vote: 0, commit: 0 }, w2);
  assert.equal(w2.ops.length, 1);
});
