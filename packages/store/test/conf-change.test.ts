// Applying membership change entries (raftstore/conf-change.ts), decided from
// the entry and the region alone: the region's peers and conf_ver follow, the
// Raft core is told; an entry made for another epoch is refused (the core is
// not told); removing this replica says so.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { MemoryEngine, OverlayBatch, pb, raft } from '@redraft/common';
import { applyConfChange, confChangeStep } from '../src/raftstore/conf-change';
import { plainRegion, type RegionPeer } from '../src/raftstore/peer';

function fakePeer(peerId: number, region: pb.Region.$Properties) {
  const told: raft.ConfChange[] = [];
  const peer = {
    peerId,
    region,
    get epoch() {
      return { version: Number(this.region.epoch?.version ?? 0), confVer: Number(this.region.epoch?.confVer ?? 0) };
    },
    log: pino({ level: 'silent' }),
    node: { applyConfChange: (cc: raft.ConfChange) => told.push(cc) },
    storage: {
      setRegion(r: pb.Region.$Properties) {
        peer.region = r;
      },
    },
  };
  return { peer: peer as unknown as RegionPeer & { region: pb.Region.$Properties }, told };
}

function entry(index: number, type: raft.ConfChangeType, target: pb.Peer.$Properties, epoch: pb.RegionEpoch.$Properties): raft.Entry {
  const context = pb.ConfChangeContext.encode({ peer: target, epoch }).finish();
  return { index, term: 6, type: raft.EntryType.ConfChange, data: raft.encodeConfChange({ type, nodeId: Number(target.id), context }) };
}

const region = (): pb.Region.$Properties => ({
  id: 4,
  startSlot: 0,
  endSlot: 16384,
  epoch: { version: 1, confVer: 1 },
  peers: [1, 2, 3].map((i) => ({ id: i, storeId: i, role: pb.PeerRole.VOTER })),
});

test('learner, promotion, removal: peers and conf_ver follow; the core is told each time', () => {
  const { peer, told } = fakePeer(1, region());
  const batch = new OverlayBatch(new MemoryEngine());
  let r = applyConfChange(peer, entry(10, raft.ConfChangeType.AddLearner, { id: 9, storeId: 4 }, { version: 1, confVer: 1 }), batch, plainRegion);
  assert.ok(r.changed && !r.removedSelf);
  assert.deepEqual(r.region.epoch, { version: 1, confVer: 2 });
  assert.deepEqual(r.region.peers!.find((p) => p.id === 9), { id: 9, storeId: 4, role: pb.PeerRole.LEARNER });
  r = applyConfChange(peer, entry(11, raft.ConfChangeType.AddNode, { id: 9, storeId: 4 }, { version: 1, confVer: 2 }), batch, plainRegion);
  assert.equal(r.region.peers!.find((p) => p.id === 9)!.role, pb.PeerRole.VOTER);
  r = applyConfChange(peer, entry(12, raft.ConfChangeType.RemoveNode, { id: 2, storeId: 2 }, { version: 1, confVer: 3 }), batch, plainRegion);
  assert.deepEqual(r.region.peers!.map((p) => p.id), [1, 3, 9]);
  assert.deepEqual(r.region.epoch, { version: 1, confVer: 4 });
  assert.deepEqual(told.map((c) => [c.type, c.nodeId]), [[raft.ConfChangeType.AddLearner, 9], [raft.ConfChangeType.AddNode, 9], [raft.ConfChangeType.RemoveNode, 2]]);
});

test('an entry made for another epoch (a duplicate, or one from before a split) is refused on every replica', () => {
  const { peer, told } = fakePeer(1, region());
  const batch = new OverlayBatch(new MemoryEngine());
  for (const epoch of [{ version: 1, confVer: 0 }, { version: 0, confVer: 1 }, { version: 2, confVer: 1 }]) {
    const r = applyConfChange(peer, entry(10, raft.ConfChangeType.AddLearner, { id: 9, storeId: 4 }, epoch), batch, plainRegion);
    assert.equal(r.changed, false);
  }
  const garbage: raft.Entry = { index: 11, term: 6, type: raft.EntryType.ConfChange, data: new Uint8Array([7]) };
  assert.equal(applyConfChange(peer, garbage, batch, plainRegion).changed, false);
  assert.equal(told.length, 0);
  assert.deepEqual(peer.region.epoch, { version: 1, confVer: 1 });
});

test('removing this replica says so', () => {
  const { peer } = fakePeer(2, region());
  const r = applyConfChange(peer, entry(10, raft.ConfChangeType.RemoveNode, { id: 2, storeId: 2 }, { version: 1, confVer: 1 }), new OverlayBatch(new MemoryEngine()), plainRegion);
  assert.ok(r.removedSelf);
});

test('a learner is promoted only once it acknowledged an entry, even when the whole log is shorter than the allowed lag', () => {
  const r = region();
  r.peers!.push({ id: 9, storeId: 4, role: pb.PeerRole.LEARNER });
  const proposed: number[] = [];
  let match = 0;
  const peer = {
    id: 4,
    peerId: 1,
    region: r,
    epoch: { version: 1, confVer: 2 },
    log: pino({ level: 'silent' }),
    node: {
      raft: { progressStatus: () => new Map([[9, { match }]]), log: { lastIndex: () => 40 } },
      proposeConfChange: (cc: raft.ConfChange) => proposed.push(cc.type),
    },
  } as unknown as RegionPeer;
  const promote: pb.Instruction.$Properties = { regionId: 4, promoteLearner: { id: 9, storeId: 4, role: pb.PeerRole.VOTER } };
  // Match 0: it never got its snapshot (its store may be cut off). 40 entries behind would pass the lag check alone.
  confChangeStep(peer, promote);
  assert.deepEqual(proposed, []);
  match = 38;
  confChangeStep(peer, promote);
  assert.deepEqual(proposed, [raft.ConfChangeType.AddNode]);
});
