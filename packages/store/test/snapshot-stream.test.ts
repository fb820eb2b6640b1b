// Region snapshots between two in-process replicas on real RocksDB, over the
// real peer transport: the region is far bigger than the sender's transport
// queue and holds values larger than a chunk; the follower stages chunks on
// disk and installs exactly the snapshot Raft accepted, never the data of
// one Raft refused. The over-large proposal is refused before proposing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import {
  ENTRY_TOO_LARGE,
  MAX_ENTRY_BYTES,
  OverlayBatch,
  PeerPool,
  PeerServer,
  PeerStorage,
  RaftLoop,
  RocksEngine,
  SNAPSHOT_CHUNK_BYTES,
  WriteBatch,
  allSnapshotStagingRange,
  dataRange,
  groupBySize,
  decodeMessage,
  encodeMessage,
  metaKey,
  pb,
  raft,
} from '@redraft/common';
import type { Engine } from '@redraft/common';
import { RegionPeer, type PeerHost } from '../src/raftstore/peer';
import { Snapshots, snapshotChunks, type SnapshotHost } from '../src/raftstore/snapshot';

const log = pino({ level: 'silent' });
const REGION_ID = 7;
const region: pb.Region.$Properties = {
  id: REGION_ID,
  startSlot: 0,
  endSlot: 16384,
  epoch: { version: 1, confVer: 1 },
  peers: [
    { id: 1, storeId: 1, role: pb.PeerRole.VOTER },
    { id: 2, storeId: 2, role: pb.PeerRole.LEARNER },
  ],
};

const raftConfig = {
  electionTick: 10,
  heartbeatTick: 2,
  maxSizePerMsg: 1 << 20,
  maxInflightMsgs: 256,
  checkQuorum: false,
  preVote: false,
  readOnlyOption: raft.ReadOnlyOption.Safe,
  disableProposalForwarding: true,
  random: () => 0.5,
};

async function openEngine(t: { after(f: () => Promise<void>): void }): Promise<RocksEngine> {
  const dir = mkdtempSync(join(tmpdir(), 'redraft-snap-'));
  const engine = await RocksEngine.open(join(dir, 'db'));
  t.after(async () => {
    await engine.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return engine;
}

async function digest(engine: Engine, range: [Buffer, Buffer]): Promise<{ sha1: string; keys: number }> {
  const h = createHash('sha1');
  let keys = 0;
  for await (const [k, v] of engine.scan({ gte: range[0], lt: range[1] })) {
    h.update(`${k.length}:${v.length}:`).update(k).update(v);
    keys++;
  }
  return { sha1: h.digest('hex'), keys };
}

async function until(cond: () => boolean, what: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

function peerHost(engine: Engine, snapshots: () => Snapshots): PeerHost {
  return {
    engine,
    catchUpTicks: () => undefined,
    get snapshots() {
      return snapshots();
    },
    logGcThreshold: 1000,
    schedule: () => undefined,
    regionChanged: () => undefined,
    peerRemoved: () => undefined,
  };
}

/** Two replicas: the leader (store 1) with data, an empty learner (store 2) created by its first message. */
async function setup(t: { after(f: () => Promise<void>): void }, maxQueueBytes: number) {
  const engineA = await openEngine(t);
  const engineB = await openEngine(t);
  const b = new WriteBatch();
  PeerStorage.bootstrap(b, region);
  await engineA.write(b, true);

  let snapsA!: Snapshots;
  let snapsB!: Snapshots;
  const leader = new RegionPeer(1, await PeerStorage.load(engineA, REGION_ID, region), peerHost(engineA, () => snapsA), log, raftConfig);
  leader.node.campaign(); // the only voter: leader at once
  assert.equal(leader.isLeader, true);
  let follower: RegionPeer | undefined;
  const delivered: pb.RaftMessage[] = [];

  const server = new PeerServer({ port: 0, onRequest: (type, body) => snapsB.onChunk(pb.SnapshotChunk.decode(body), body).then(() => new Uint8Array(0)) });
  await server.listen();
  const pool = new PeerPool({ maxQueueBytes });
  t.after(async () => {
    snapsA.stop();
    snapsB.stop();
    await pool.close();
    await server.close();
  });
  const hostA: SnapshotHost = {
    engine: engineA,
    log,
    atQuietPoint: (task) => task(), // nothing writes engine A meanwhile
    request: (_storeId, type, body, timeoutMs) => pool.request(server.address, type, body, { timeoutMs }),
    deliver: () => assert.fail('the leader receives no snapshot'),
    peer: () => leader,
    schedule: () => undefined,
  };
  const hostB: SnapshotHost = {
    engine: engineB,
    log,
    atQuietPoint: (task) => task(),
    request: () => Promise.reject(new Error('unused')),
    deliver: (m) => {
      // As the store does: a message for a replica not here yet creates it empty.
      delivered.push(m);
      follower ??= new RegionPeer(2, PeerStorage.empty(REGION_ID, { id: REGION_ID, startSlot: 0, endSlot: 16384, peers: [] }, 2), peerHost(engineB, () => snapsB), log, raftConfig);
      follower.node.step(decodeMessage(m.message));
    },
    peer: () => follower,
    schedule: () => undefined,
  };
  snapsA = new Snapshots(hostA);
  snapsB = new Snapshots(hostB);
  await snapsB.clearStaging();

  /** Makes a snapshot on the leader and streams it to the follower; resolves when the stream ends. */
  const sendSnapshot = async (): Promise<raft.Snapshot> => {
    assert.equal(snapsA.forFollower(leader), undefined, 'the first ask starts making one');
    const snap = snapsA.forFollower(leader);
    assert.ok(snap, 'made at the quiet point');
    const sentBefore = snapsA.stats.sent + snapsA.stats.sendFailures;
    const msg = raft.message({ type: raft.MessageType.Snap, from: 1, to: 2, term: leader.node.raft.term, snapshot: snap });
    const wire: pb.RaftMessage.$Properties = {
      regionId: REGION_ID,
      fromPeer: region.peers![0],
      toPeer: region.peers![1],
      epoch: region.epoch,
      startSlot: 0,
      endSlot: 16384,
      message: encodeMessage(msg),
    };
    snapsA.send(leader, 2, wire, snap);
    await until(() => snapsA.stats.sent + snapsA.stats.sendFailures > sentBefore, 'the stream to end');
    assert.equal(snapsA.stats.sendFailures, 0, 'the stream went through');
    return snap;
  };

  /** Runs the follower's Ready as the loop does: install the snapshot in one batch, write it. */
  const runFollowerReady = async (): Promise<raft.Snapshot | undefined> => {
    if (!follower || !follower.node.hasReady()) return undefined;
    const rd = follower.node.ready();
    const batch = new OverlayBatch(engineB);
    if (rd.snapshot) await follower.installSnapshot(rd.snapshot, batch);
    if (rd.hardState) follower.storage.setHardState(rd.hardState, batch.batch);
    await engineB.write(batch.batch, true);
    follower.node.advance(rd);
    return rd.snapshot;
  };

  return { engineA, engineB, leader, snapsA, snapsB, sendSnapshot, runFollowerReady, delivered, pool };
}

test('chunks: a value larger than a chunk is cut into pieces; chunks stay near the chunk size', async () => {
  const kvs: Array<[Buffer, Buffer]> = [
    [Buffer.from('a'), Buffer.alloc(10, 1)],
    [Buffer.from('big'), Buffer.alloc(250, 2)],
    [Buffer.from('c'), Buffer.alloc(0)],
  ];
  const iter = (async function* () {
    yield* kvs;
  })()[Symbol.asyncIterator]();
  const chunks: pb.KeyValue.$Properties[][] = [];
  for await (const c of snapshotChunks(iter.next(), iter, 100)) chunks.push(c);
  for (const c of chunks) assert.ok(c.reduce((n, kv) => n + kv.key!.length + kv.value!.length, 0) <= 103, 'a chunk holds at most the chunk size plus one key');
  const flat = chunks.flat();
  assert.deepEqual(
    flat.map((kv) => [Buffer.from(kv.key!).toString(), kv.value!.length, !!kv.more]),
    [
      ['a', 10, false],
      ['big', 100, true],
      ['', 100, true],
      ['', 50, false],
      ['c', 0, false],
    ],
  );
});

test('frames: messages are grouped up to a size; a large one rides alone', () => {
  const sizes = [1, 2, 10, 1, 1, 3];
  assert.deepEqual(groupBySize(sizes, (n) => n, 4), [[1, 2], [10], [1, 1], [3]]);
});

test('a region far bigger than the transport queue, with values over a chunk, streams and installs; the staging is cleared', { timeout: 120_000 }, async (t) => {
  const queueBytes = 4 * 1024 * 1024;
  const s = await setup(t, queueBytes);
  // 12 values of 3 MB, one of 5 MB (over a chunk: cut into pieces) and many small keys: ~43 MB.
  let total = 0;
  for (let i = 0; i < 12; i++) {
    const v = Buffer.alloc(3_000_000, i + 1);
    await s.engineA.write(new WriteBatch().put(metaKey(i * 1000, Buffer.from(`big:${i}`)), v), false);
    total += v.length;
  }
  await s.engineA.write(new WriteBatch().put(metaKey(16000, Buffer.from('huge')), Buffer.alloc(5 * SNAPSHOT_CHUNK_BYTES + 17, 9)), false);
  total += 5 * SNAPSHOT_CHUNK_BYTES;
  const small = new WriteBatch();
  for (let i = 0; i < 3000; i++) small.put(metaKey(i % 16384, Buffer.from(`k:${i}`)), Buffer.from(`v${i}`));
  await s.engineA.write(small, false);
  assert.ok(total > 8 * queueBytes, 'the region is many times the transport queue');

  await s.sendSnapshot();
  const installed = await s.runFollowerReady();
  assert.ok(installed, 'Raft accepted the snapshot and handed it to install');
  const range = dataRange(0, 16384);
  const [a, b] = [await digest(s.engineA, range), await digest(s.engineB, range)];
  assert.equal(b.keys, a.keys);
  assert.equal(b.sha1, a.sha1, 'the follower holds the leader data byte for byte');
  const [sg, sl] = allSnapshotStagingRange();
  let staged = 0;
  for await (const _ of s.engineB.scan({ gte: sg, lt: sl, keysOnly: true })) staged++;
  assert.equal(staged, 0, 'nothing left in staging after the install');
  assert.equal(s.pool.stats().dropped, 0, 'no frame was dropped by the transport');
});

test('the data of a snapshot Raft refused never replaces the data of the one it accepted', { timeout: 60_000 }, async (t) => {
  const s = await setup(t, 64 * 1024 * 1024);
  for (let i = 0; i < 100; i++) await s.engineA.write(new WriteBatch().put(metaKey(i, Buffer.from(`a:${i}`)), Buffer.from(`first-${i}`)), false);
  const range = dataRange(0, 16384);
  const original = await digest(s.engineA, range);
  const first = await s.sendSnapshot();
  assert.equal(s.snapsB.stats.rejected, 0, 'the first snapshot was accepted');

  // Before the follower's Ready is handled, another snapshot with other data
  // at the same index arrives (a forged or stale one): Raft refuses it.
  await s.engineA.write(new WriteBatch().put(metaKey(5, Buffer.from('intruder')), Buffer.from('must not be installed')), false);
  const second = await s.sendSnapshot();
  assert.equal(second.meta.index, first.meta.index);
  assert.equal(s.snapsB.stats.rejected, 1, 'Raft refused the second snapshot; its staged data was dropped');

  const installed = await s.runFollowerReady();
  assert.ok(installed);
  assert.deepEqual(pb.SnapshotData.decode(installed.data).snapshotId, pb.SnapshotData.decode(first.data).snapshotId);
  assert.deepEqual(await digest(s.engineB, range), original, 'the follower holds the accepted snapshot data');
  assert.equal(await s.engineB.get(metaKey(5, Buffer.from('intruder'))), undefined);
});

test('a proposal over the largest replicated entry is refused before it is proposed; the region keeps serving', { timeout: 60_000 }, async (t) => {
  const engine = await openEngine(t);
  const single: pb.Region.$Properties = { ...region, peers: [region.peers![0]] };
  const b = new WriteBatch();
  PeerStorage.bootstrap(b, single);
  await engine.write(b, true);
  const loop = new RaftLoop(engine, { send: () => undefined, fatal: (e) => assert.fail(e) });
  const snaps = new Snapshots({
    engine,
    log,
    atQuietPoint: (task) => loop.atQuietPoint(task),
    request: () => Promise.reject(new Error('unused')),
    deliver: () => undefined,
    peer: () => undefined,
    schedule: () => loop.schedule(),
  });
  const peer = new RegionPeer(1, await PeerStorage.load(engine, REGION_ID, single), { ...peerHost(engine, () => snaps), schedule: () => loop.schedule() }, log, raftConfig);
  loop.add(peer);
  try {
    peer.node.campaign();
    loop.schedule();
    await until(() => peer.isLeader, 'leadership');
    const lastBefore = peer.node.raft.log.lastIndex();
    await assert.rejects(peer.propose({ set: { key: Buffer.from('big'), value: Buffer.alloc(MAX_ENTRY_BYTES + 1) } }), (e: Error) => e.message === ENTRY_TOO_LARGE);
    assert.match(ENTRY_TOO_LARGE, new RegExp(`^ERR .*\\(${MAX_ENTRY_BYTES} bytes\\)$`));
    assert.equal(peer.node.raft.log.lastIndex(), lastBefore, 'nothing was proposed');
    const ok = (r: unknown): string => String((r as { value?: string }).value ?? r);
    assert.equal(ok(await peer.propose({ set: { key: Buffer.from('small'), value: Buffer.from('ok') } })), 'OK');
    // Just under the limit goes through (and fits a frame).
    assert.equal(ok(await peer.propose({ set: { key: Buffer.from('near'), value: Buffer.alloc(MAX_ENTRY_BYTES - 1024) } })), 'OK');
  } finally {
    // The loop stops before the engine closes: after-hooks run in the order
    // they were registered, and openEngine's close came first.
    await loop.stop();
  }
});
