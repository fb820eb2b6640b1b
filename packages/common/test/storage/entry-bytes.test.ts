// Entries encoded once (codec.ts): the bytes kept for an entry are always
// exactly encodeEntry's, the hand-written message codec gives the generated
// codec's bytes and objects, a leader's log row and MsgApps share one
// encoding, and a follower stores the bytes it received, on real RocksDB.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  cachedEntryBytes,
  decodeEntry,
  decodeMessage,
  encodeEntry,
  encodeMessage,
  encodeRaftMessage,
  entryBytes,
  messageFromPb,
  messageToPb,
} from '../../src/raftstore/codec';
import { PeerStorage, RAFT_INIT_INDEX } from '../../src/raftstore/peer-storage';
import { RocksEngine } from '../../src/storage/rocks';
import { WriteBatch } from '../../src/storage/engine';
import { raftLogKey } from '../../src/keys';
import { EntryType, MessageType, type Entry, type Message } from '../../src/raft';
import { redraft as pb } from '../../src/gen/proto';
import { Rng } from '../../src/raft/sim/rng';

/** A seeded generator (the simulator's mulberry32): a failure names its seed. */
function rng(seed: number): () => number {
  const r = new Rng(seed);
  return () => r.next();
}

/** Numbers that sit on varint size steps: 0, 1, 127, 128, 2^32 - 1, 2^32, above 2^32, MAX_SAFE_INTEGER. */
const EDGES = [0, 1, 127, 128, 16383, 16384, 2 ** 31, 2 ** 32 - 1, 2 ** 32, 2 ** 32 + 1, 2 ** 40 + 5, 2 ** 52, Number.MAX_SAFE_INTEGER];

function bytesOf(random: () => number, n: number): Buffer {
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = Math.floor(random() * 256);
  return b;
}

/** Entries of every kind: empty, small, around the one-byte length limit, large; both types; edge terms and indexes (`huge`: and one of 2 MiB). */
function sampleEntries(seed: number, count: number, huge = false): Entry[] {
  const random = rng(seed);
  const pick = <T>(xs: T[]): T => xs[Math.floor(random() * xs.length)];
  const sizes = [0, 1, 40, 127, 128, 300, 16384, 70_000];
  const out: Entry[] = [];
  for (let i = 0; i < count; i++) {
    out.push({
      term: pick(EDGES),
      index: pick(EDGES),
      type: pick([EntryType.Normal, EntryType.ConfChange]),
      data: bytesOf(random, pick(sizes)),
    });
  }
  out.push({ term: 0, index: 0, type: EntryType.Normal, data: new Uint8Array(0) });
  if (huge) out.push({ term: 2 ** 33, index: 2 ** 34 + 7, type: EntryType.ConfChange, data: Buffer.alloc(2 * 1024 * 1024, seed) });
  return out;
}

function sampleMessage(random: () => number, entries: Entry[]): Message {
  const pick = <T>(xs: T[]): T => xs[Math.floor(random() * xs.length)];
  const types = Object.values(MessageType).filter((v): v is MessageType => typeof v === 'number');
  const m: Message = {
    type: pick(types),
    from: pick(EDGES),
    to: pick(EDGES),
    term: pick(EDGES),
    logTerm: pick(EDGES),
    index: pick(EDGES),
    entries,
    commit: pick(EDGES),
    reject: random() < 0.5,
    rejectHint: pick(EDGES),
  };
  if (random() < 0.2) m.snapshot = { meta: { index: pick(EDGES), term: pick(EDGES), confState: { voters: [1, 2 ** 40], learners: [3] } }, data: bytesOf(random, 20) };
  if (random() < 0.3) m.context = bytesOf(random, 1 + Math.floor(random() * 20));
  return m;
}

/** The generated codec's decoding, the reference. */
const referenceDecode = (bytes: Uint8Array): Message => messageFromPb(pb.Message.decode(bytes));
/** Plain copies of byte fields, so that deepEqual compares contents, not Buffer vs Uint8Array. */
function plain(m: Message): unknown {
  return {
    ...m,
    entries: m.entries.map((e) => ({ ...e, data: Buffer.from(e.data) })),
    snapshot: m.snapshot && { ...m.snapshot, data: Buffer.from(m.snapshot.data) },
    context: m.context && Buffer.from(m.context),
  };
}

test('entryBytes is exactly encodeEntry, for every kind of entry, and is made once', () => {
  for (const e of sampleEntries(1, 300, true)) {
    const bytes = entryBytes(e);
    assert.ok(Buffer.isBuffer(bytes), 'a Buffer, as RocksDB takes it');
    assert.deepEqual(bytes, Buffer.from(encodeEntry(e)), `entry ${e.index}@${e.term} type ${e.type}, ${e.data.length} bytes`);
    assert.equal(entryBytes(e), bytes, 'the second ask gets the same bytes');
  }
});

test('an entry whose bytes are made reads its data inside them: the same content, held once', () => {
  for (const e of sampleEntries(2, 100)) {
    const data = Buffer.from(e.data);
    const bytes = entryBytes(e);
    assert.deepEqual(Buffer.from(e.data), data, 'the data is unchanged');
    if (data.length === 0) continue;
    assert.equal(e.data.buffer, bytes.buffer, 'a view into the encoded bytes');
    assert.equal(e.data.byteOffset + e.data.length, bytes.byteOffset + bytes.length, 'their last field');
    assert.deepEqual(entryBytes(e), Buffer.from(encodeEntry(e)), 'and encoding it again gives the same bytes');
  }
});

test('a message written with spliced entry bytes is byte-for-byte what the generated encoder writes, and decodes to the same message', () => {
  for (let seed = 1; seed <= 300; seed++) {
    const random = rng(seed);
    const entries = sampleEntries(seed, Math.floor(random() * 5));
    // Some entries already have their bytes (a leader's log row), some do not yet.
    for (const e of entries) if (random() < 0.5) entryBytes(e);
    const m = sampleMessage(random, entries);
    const reference = pb.Message.encode(messageToPb(m)).finish();
    const spliced = encodeMessage(m);
    assert.deepEqual(Buffer.from(spliced), Buffer.from(reference), `seed ${seed}`);
    assert.deepEqual(plain(decodeMessage(spliced)), plain(referenceDecode(reference)), `seed ${seed}`);
    assert.deepEqual(plain(decodeMessage(spliced)), plain(m), `seed ${seed}`);
  }
});

test('a MsgApp in a RaftMessage: the hand-made envelope equals the generated one, and a received entry keeps a view of the received bytes equal to encodeEntry', () => {
  const entries = sampleEntries(7, 20);
  const m: Message = { type: MessageType.App, from: 1, to: 2, term: 9, logTerm: 8, index: 2 ** 33, entries, commit: 2 ** 33, reject: false, rejectHint: 0 };
  const envelope = { regionId: 2 ** 35, fromPeer: { id: 1, storeId: 1 }, toPeer: { id: 2, storeId: 2 }, epoch: { version: 3, confVer: 4 }, startSlot: 10, endSlot: 16384, sentAtMs: 0 };
  const frame = Buffer.from(encodeRaftMessage(envelope, m));
  assert.deepEqual(frame, Buffer.from(pb.RaftMessage.encode({ ...envelope, message: pb.Message.encode(messageToPb(m)).finish() }).finish()));
  const wire = pb.RaftMessage.decode(frame);
  const got = decodeMessage(wire.message);
  assert.deepEqual(plain(got), plain(m));
  for (const e of got.entries) {
    const kept = cachedEntryBytes(e);
    assert.ok(kept, 'a received entry has its bytes');
    assert.deepEqual(kept, Buffer.from(encodeEntry(e)));
    assert.equal(kept.buffer, frame.buffer, 'a view into the received frame, not a copy');
  }
});

test('received bytes that are not encodeEntry (unknown field, zero written, out of order, long varint) decode as protobufjs does and are not kept', () => {
  const e = { term: 3, index: 2 ** 33, type: EntryType.ConfChange, data: Buffer.from('abc') };
  const canonical = Buffer.from(encodeEntry(e));
  const odd = [
    Buffer.concat([canonical, Buffer.from([0x28, 0x05])]), // unknown field 5
    Buffer.concat([Buffer.from([0x08, 0x00]), Buffer.from(encodeEntry({ ...e, term: 0 }))]), // term 0 written
    Buffer.concat([Buffer.from(pb.Entry.encode({ index: e.index }).finish()), Buffer.from(pb.Entry.encode({ term: e.term, type: e.type, data: e.data }).finish())]), // index before term
    Buffer.concat([Buffer.from([0x08, 0x83, 0x00]), canonical.subarray(2)]), // term 3 as a two-byte varint
    Buffer.concat([canonical, Buffer.from([0x08, 0x03])]), // term written twice
  ];
  for (const bytes of odd) {
    const m = Buffer.from(pb.Message.encode({ type: MessageType.App }).finish());
    const msg = Buffer.concat([m, Buffer.from([0x3a, bytes.length]), bytes]);
    const got = decodeMessage(msg);
    assert.deepEqual(plain(got), plain(referenceDecode(msg)));
    const [entry] = got.entries;
    assert.equal(cachedEntryBytes(entry), undefined, bytes.toString('hex'));
    assert.deepEqual(entryBytes(entry), Buffer.from(encodeEntry(entry)), 'encoded afresh');
    const row = decodeEntry(bytes);
    assert.deepEqual({ ...row, data: Buffer.from(row.data) }, { ...entry, data: Buffer.from(entry.data) });
    assert.equal(cachedEntryBytes(row), undefined);
  }
});

test('bytes that are not a Message throw an Error, never hang', () => {
  const random = rng(99);
  const good = encodeMessage({ type: MessageType.App, from: 1, to: 2, term: 3, logTerm: 3, index: 4, entries: sampleEntries(3, 3), commit: 4, reject: false, rejectHint: 0 });
  for (let i = 0; i < 2000; i++) {
    const bytes = i % 2 ? bytesOf(random, Math.floor(random() * 64)) : Buffer.from(good).subarray(0, Math.floor(random() * good.length));
    let mine: unknown;
    let theirs: unknown;
    try {
      mine = plain(decodeMessage(bytes));
    } catch (e) {
      mine = e instanceof Error ? 'error' : 'not an Error';
    }
    try {
      theirs = plain(referenceDecode(bytes));
    } catch {
      theirs = 'error';
    }
    assert.deepEqual(mine, theirs, bytes.toString('hex'));
  }
});

/** Counts protobufjs's Entry encodings while `f` runs. */
function countEncodes(f: () => void): number {
  const original = pb.Entry.encode;
  let calls = 0;
  pb.Entry.encode = (...args: Parameters<typeof original>) => {
    calls++;
    return original(...args);
  };
  try {
    f();
  } finally {
    pb.Entry.encode = original;
  }
  return calls;
}

test('leader: the log row and the MsgApps to two stores share one encoding of each entry', () => {
  const storage = PeerStorage.bootstrapped({ id: 1, startSlot: 0, endSlot: 16384, peers: [{ id: 1, storeId: 1 }, { id: 2, storeId: 2 }, { id: 3, storeId: 3 }] }, 1);
  const data = Buffer.from('a proposal');
  const entries: Entry[] = [1, 2, 3].map((i) => ({ term: 6, index: RAFT_INIT_INDEX + i, type: EntryType.Normal, data }));
  const batch = new WriteBatch();
  let msgs: Uint8Array[] = [];
  const encodes = countEncodes(() => {
    // As the loop does: messages first, then the log row.
    msgs = [2, 3].map((to) => encodeRaftMessage({ regionId: 1, toPeer: { id: to, storeId: to } }, { type: MessageType.App, from: 1, to, term: 6, logTerm: 5, index: RAFT_INIT_INDEX, entries, commit: 5, reject: false, rejectHint: 0 }));
    storage.append(entries, batch);
  });
  assert.equal(encodes, entries.length, 'one encoding per entry for two MsgApps and the log');
  entries.forEach((e, i) => {
    const op = batch.ops[i];
    assert.ok(op.type === 'put');
    assert.equal(op.value, cachedEntryBytes(e), 'the row is the cached bytes themselves, not a copy');
    assert.deepEqual(op.value, Buffer.from(encodeEntry(e)));
  });
  for (const bytes of msgs) {
    const carried = decodeMessage(pb.RaftMessage.decode(bytes).message).entries;
    assert.deepEqual(carried.map((e) => cachedEntryBytes(e)), entries.map((e) => cachedEntryBytes(e)), 'each MsgApp carries the same bytes');
  }
});

test('follower: the row stored on RocksDB is encodeEntry of the received entry, and reads back with its bytes', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'redraft-entry-bytes-'));
  const engine = await RocksEngine.open(join(dir, 'db'));
  t.after(async () => {
    await engine.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const region = { id: 7, startSlot: 0, endSlot: 16384, peers: [{ id: 1, storeId: 1 }, { id: 2, storeId: 2 }] };
  const boot = new WriteBatch();
  PeerStorage.bootstrap(boot, region, 2);
  await engine.write(boot, true);
  const storage = await PeerStorage.load(engine, 7, region, 2);
  const sent: Entry[] = sampleEntries(11, 40, true).map((e, i) => ({ ...e, term: 6 + (i % 2 ? 2 ** 33 : 0), index: RAFT_INIT_INDEX + 1 + i }));
  // The leader's side: a RaftMessageBatch frame of two MsgApps, as a store sends it.
  const halves = [sent.slice(0, 17), sent.slice(17)];
  const frame = Buffer.from(
    pb.RaftMessageBatch.encode({
      messages: halves.map((entries) => ({ regionId: 7, toPeer: { id: 2, storeId: 2 }, message: encodeMessage({ type: MessageType.App, from: 1, to: 2, term: 6, logTerm: 5, index: entries[0].index - 1, entries, commit: 0, reject: false, rejectHint: 0 }) })),
    }).finish(),
  );
  // The follower's side, as the store does: decode, then append what arrived.
  const batch = new WriteBatch();
  const received = pb.RaftMessageBatch.decode(frame).messages.map((wire) => decodeMessage(wire.message!));
  assert.equal(countEncodes(() => received.forEach((m) => storage.append(m.entries, batch))), 0, 'nothing encoded again');
  await engine.write(batch, true);
  for (const e of sent) {
    const row = await engine.get(raftLogKey(7, e.index));
    assert.deepEqual(row, Buffer.from(encodeEntry(e)), `row ${e.index}`);
  }
  // After a restart: the rows decode to the same entries, and keep their bytes for the MsgApps to come.
  const again = await PeerStorage.load(engine, 7, region, 2);
  const loaded = again.entries(RAFT_INIT_INDEX + 1, RAFT_INIT_INDEX + 1 + sent.length, Infinity);
  assert.deepEqual(loaded.map((e) => ({ ...e, data: Buffer.from(e.data) })), sent.map((e) => ({ ...e, data: Buffer.from(e.data) })));
  for (const e of loaded) assert.deepEqual(cachedEntryBytes(e), Buffer.from(encodeEntry(e)));
});
