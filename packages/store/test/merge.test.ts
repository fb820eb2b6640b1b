// Applying the merge steps (raftstore/merge.ts), decided from the entry and
// the region alone: prepare freezes the source and raises its version;
// commit extends the target over the source at a version above both; the
// local source replica is ready only at the prepared descriptor; rollback
// unfreezes. Anything else is refused, the same on every replica.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mergeRefusal, pb } from '@redraft/common';
import { decideCommitMerge, decidePrepareMerge, decideRollbackMerge, localSourceReady, mergingOf } from '../src/raftstore/merge';

const peers = (ids: number[], stores = [1, 2, 3]) => ids.map((id, i) => ({ id, storeId: stores[i], role: pb.PeerRole.VOTER }));
const left = (): pb.Region.$Properties => ({ id: 10, startSlot: 0, endSlot: 8192, epoch: { version: 3, confVer: 1 }, peers: peers([11, 12, 13]) });
const right = (): pb.Region.$Properties => ({ id: 20, startSlot: 8192, endSlot: 16384, epoch: { version: 2, confVer: 4 }, peers: peers([21, 22, 23], [3, 1, 2]) });

function ok(d: ReturnType<typeof decidePrepareMerge>): pb.Region.$Properties {
  assert.ok('region' in d, 'refused' in d ? d.refused : '');
  return d.region;
}

test('prepare freezes the source at version + 1 and remembers the target and index', () => {
  const src = ok(decidePrepareMerge(right(), { target: left() }, 42));
  assert.deepEqual(src.epoch, { version: 3, confVer: 4 });
  assert.deepEqual(mergingOf(src), { targetRegionId: 10, prepareIndex: 42 });
  assert.equal(src.startSlot, 8192);
  // A second prepare (a duplicate that got past the epoch check) is refused.
  assert.ok('refused' in decidePrepareMerge(src, { target: left() }, 43));
});

test('commit takes the union at a version above both; the local source must be the prepared one', () => {
  const src = ok(decidePrepareMerge(right(), { target: left() }, 42));
  const merged = ok(decideCommitMerge(left(), { source: src }));
  assert.equal(merged.startSlot, 0);
  assert.equal(merged.endSlot, 16384);
  assert.deepEqual(merged.epoch, { version: 4, confVer: 1 });
  assert.equal(mergingOf(merged), undefined);
  assert.equal(localSourceReady(src, src), true);
  assert.equal(localSourceReady(right(), src), false, 'a replica that has not applied the prepare is not ready');
  assert.equal(localSourceReady(undefined, src), false);
  // Merging into the right neighbour works the same way.
  const src2 = ok(decidePrepareMerge(left(), { target: right() }, 7));
  const merged2 = ok(decideCommitMerge(right(), { source: src2 }));
  assert.deepEqual([merged2.startSlot, merged2.endSlot, merged2.epoch], [0, 16384, { version: 5, confVer: 4 }]);
});

test('commit is refused for an unprepared source, another target, or a frozen target', () => {
  assert.ok('refused' in decideCommitMerge(left(), { source: right() }));
  const other = ok(decidePrepareMerge(right(), { target: { ...left(), id: 99 } }, 5));
  assert.ok('refused' in decideCommitMerge(left(), { source: other }));
  const src = ok(decidePrepareMerge(right(), { target: left() }, 42));
  const frozenTarget = { ...left(), merging: { targetRegionId: 5, prepareIndex: 1 } };
  assert.ok('refused' in decideCommitMerge(frozenTarget, { source: src }));
});

test('only adjacent regions on the same stores, all voters, merge', () => {
  assert.equal(mergeRefusal(right(), left()), undefined);
  assert.match(mergeRefusal(right(), { ...left(), endSlot: 8000 })!, /not adjacent/);
  assert.match(mergeRefusal(right(), { ...left(), peers: peers([11, 12, 13], [1, 2, 4]) })!, /not on the same stores/);
  assert.match(mergeRefusal(right(), { ...left(), peers: [...peers([11, 12, 13]), { id: 14, storeId: 4, role: pb.PeerRole.LEARNER }] })!, /learner/);
  assert.match(mergeRefusal(left(), left())!, /itself/);
  assert.ok('refused' in decidePrepareMerge(right(), { target: { ...left(), endSlot: 100 } }, 1));
});

test('rollback unfreezes at version + 1, so a commit made for the frozen epoch no longer matches', () => {
  const src = ok(decidePrepareMerge(right(), { target: left() }, 42));
  const back = ok(decideRollbackMerge(src, { targetRegionId: 10 }));
  assert.equal(mergingOf(back), undefined);
  assert.deepEqual(back.epoch, { version: 4, confVer: 4 });
  assert.equal(localSourceReady(back, src), false);
  assert.ok('refused' in decideRollbackMerge(src, { targetRegionId: 11 }));
  assert.ok('refused' in decideRollbackMerge(right(), { targetRegionId: 10 }));
});
