// The merge steps applied by real RegionPeers (peer.ts with merge.ts) over an
// in-memory engine, entries handed to apply() directly: prepare freezes the
// source (proposals and reads refused, retryably); a commit whose local
// source replica has not applied its prepare is held, with every entry after
// it, and applied once the source has; the source is then tombstoned in the
// same batch, its data left in place and its sessions carried over.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { MemoryEngine, OverlayBatch, PeerStorage, WriteBatch, pb, raft, regionStateKey } from '@redraft/common';
import type { Engine } from '@redraft/common';
import { RegionPeer, type PeerHost } from '../src/raftstore/peer';
import { localSourceReady } from '../src/raftstore/merge';
import { RetryLaterError } from '../src/dispatch';

const log = pino({ level: 'silent' });
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

const target: pb.Region.$Properties = { id: 10, startSlot: 0, endSlot: 8192, epoch: { version: 2, confVer: 1 }, peers: [{ id: 11, storeId: 1, role: pb.PeerRole.VOTER }] };
const source: pb.Region.$Properties = { id: 20, startSlot: 8192, endSlot: 16384, epoch: { version: 2, confVer: 1 }, peers: [{ id: 21, storeId: 1, role: pb.PeerRole.VOTER }] };

function entry(index: number, regionId: number, epoch: pb.RegionEpoch.$Properties, admin: pb.AdminCommand.$Properties): raft.Entry {
  const data = pb.RaftCommand.encode({ header: { regionId, epoch, proposerPeer: 0, proposalId: 0 }, admin }).finish();
  return { index, term: 5, type: raft.EntryType.Normal, data };
}

async function setup() {
  const engine: Engine = new MemoryEngine();
  const b = new WriteBatch();
  PeerStorage.bootstrap(b, target, 11);
  PeerStorage.bootstrap(b, source, 21);
  await engine.write(b, true);
  const peers = new Map<number, RegionPeer>();
  const reapplied: number[] = [];
  const retired: number[] = [];
  const host: PeerHost = {
    engine,
    catchUpTicks: () => undefined,
    snapshots: undefined as never,
    logGcThreshold: 1000,
    schedule: () => undefined,
    regionChanged: () => undefined,
    peerRemoved: () => undefined,
    // As the store does (store.ts, mergeCommitted).
    mergeCommitted(t, src, batch) {
      const local = peers.get(Number(src.id));
      if (!local || !localSourceReady(local.region, src)) return false;
      local.retired = true;
      local.storage.setRegion(local.region, batch.batch, pb.PeerState.TOMBSTONE);
      t.sessions.absorb(local.sessions, batch);
      retired.push(local.id);
      return true;
    },
    reapply: (p) => reapplied.push(p.id),
  };
  for (const [r, peerId] of [[target, 11], [source, 21]] as const) {
    peers.set(Number(r.id), new RegionPeer(peerId, await PeerStorage.load(engine, Number(r.id), r, peerId), host, log, raftConfig));
  }
  return { engine, t: peers.get(10)!, s: peers.get(20)!, reapplied, retired };
}

async function applyOne(engine: Engine, p: RegionPeer, entries: raft.Entry[]): Promise<void> {
  const batch = new OverlayBatch(engine);
  await p.apply(entries, batch);
  await engine.write(batch.batch, true);
  p.afterApply();
}

test('prepare freezes the source: version + 1, reads and proposals refused with a retryable error', async () => {
  const { engine, s } = await setup();
  const start = s.applied;
  await applyOne(engine, s, [entry(start + 1, 20, source.epoch!, { prepareMerge: { target } })]);
  assert.equal(s.frozen, true);
  assert.deepEqual(s.epoch, { version: 3, confVer: 1 });
  await assert.rejects(s.readBarrier(), (e) => e instanceof RetryLaterError);
  await assert.rejects(s.propose({ name: 'SET', args: [] } as pb.WriteCommand.$Properties), (e) => e instanceof RetryLaterError);
  assert.equal(s.proposeSplit({ splitSlot: 9000, newRegionId: 30, newPeerIds: [31] }), false);
  // A split that reached the log anyway is refused in apply.
  await applyOne(engine, s, [entry(start + 2, 20, s.epoch, { split: { splitSlot: 9000, newRegionId: 30, newPeerIds: [31] } })]);
  assert.deepEqual([Number(s.region.startSlot), Number(s.region.endSlot)], [8192, 16384]);
});

test('a commit is held until the local source has applied its prepare; then the source is retired in the same batch', async () => {
  const { engine, t, s, reapplied, retired } = await setup();
  const prepared = { ...source, epoch: { version: 3, confVer: 1 }, merging: { targetRegionId: 10, prepareIndex: 0 } };
  const t0 = t.applied;
  // The commit and an entry after it reach the target first.
  await applyOne(engine, t, [entry(t0 + 1, 10, target.epoch!, { commitMerge: { source: prepared } }), { index: t0 + 2, term: 5, type: raft.EntryType.Normal, data: new Uint8Array(0) }]);
  assert.equal(t.applied, t0, 'nothing applied past the held commit');
  assert.deepEqual([Number(t.region.endSlot), t.epoch.version], [8192, 2]);
  t.onTick();
  assert.deepEqual(reapplied, [10], 'the held entries are retried on a tick');

  await applyOne(engine, s, [entry(s.applied + 1, 20, source.epoch!, { prepareMerge: { target } })]);
  await applyOne(engine, t, []);
  assert.equal(t.applied, t0 + 2);
  assert.deepEqual([Number(t.region.startSlot), Number(t.region.endSlot), t.epoch.version], [0, 16384, 4]);
  assert.deepEqual(retired, [20]);
  assert.equal(s.retired, true);
  const state = pb.RegionLocalState.decode((await engine.get(regionStateKey(20)))!);
  assert.equal(state.state, pb.PeerState.TOMBSTONE);
  // Entries for the retired source apply nothing more.
  const applied = s.applied;
  await applyOne(engine, s, [{ index: applied + 1, term: 5, type: raft.EntryType.Normal, data: new Uint8Array(0) }]);
  assert.equal(s.applied, applied);
});

test('a rollback unfreezes the source at version + 1', async () => {
  const { engine, s } = await setup();
  await applyOne(engine, s, [entry(s.applied + 1, 20, source.epoch!, { prepareMerge: { target } })]);
  await applyOne(engine, s, [entry(s.applied + 1, 20, s.epoch, { rollbackMerge: { targetRegionId: 10 } })]);
  assert.equal(s.frozen, false);
  assert.deepEqual(s.epoch, { version: 4, confVer: 1 });
});
