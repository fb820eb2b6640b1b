// The merge checker on a state machine (no processes): off by default; when
// on, adjacent small regions on the same stores are merged (the smaller into
// the other, disjoint pairs), never regions over merge-max-keys/bytes, hot
// ones, or ones whose union would be split again.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pb } from '@redraft/common';
import { MetaStateMachine } from '../src/state';
import { Schedulers } from '../src/schedulers';

let clock = Date.now() - 30_000;
const cmd = (op: Omit<pb.MetaCommand.$Properties, 'proposedAtMs'>): pb.MetaCommand.$Properties => ({ proposedAtMs: (clock += 1), ...op });

/** `sizes.length` regions on stores 1-3, store 1 leading, with these [keys, bytes]. */
function cluster(sizes: Array<[number, number]>): MetaStateMachine {
  const sm = new MetaStateMachine();
  for (let i = 1; i <= 3; i++) sm.apply(cmd({ registerStore: { peerAddr: `10.0.0.${i}:7200`, clientAddr: `10.0.0.${i}:6379` } }));
  sm.apply(cmd({ bootstrap: { storeIds: [1, 2, 3], initialRegions: sizes.length } }));
  const regions = sm.regionList().map((r, i) => ({ region: { ...r.region }, isLeader: true, term: 6, approximateKeys: sizes[i][0], approximateBytes: sizes[i][1] }));
  sm.apply(cmd({ storeHeartbeat: { store: { id: 1 }, regions } }));
  for (let i = 2; i <= 3; i++) sm.apply(cmd({ storeHeartbeat: { store: { id: i }, regions: [] } }));
  return sm;
}

function round(sm: MetaStateMachine, settings: Record<string, string> = {}): pb.CreateOperator.$Properties[] {
  for (const [name, value] of Object.entries(settings)) sm.apply(cmd({ setConfig: { name, value } }));
  const created: pb.CreateOperator.$Properties[] = [];
  new Schedulers({ sm, leaderForMs: () => 3_600_000, replicas: () => 3, create: async (op) => created.push(op), log: () => {} }).run();
  return created;
}

const quiet = { 'scheduler-region-balance': 'off', 'scheduler-replica-checker': 'off', 'scheduler-split-checker': 'off' };

test('off by default; on, it merges disjoint pairs of small neighbours, the smaller into the other', () => {
  const sm = cluster([[10, 1000], [5, 500], [10, 2000], [3, 100]]);
  assert.deepEqual(round(sm, quiet), []);
  const ids = sm.regionList().map((r) => r.region.id);
  const merges = round(sm, { ...quiet, 'scheduler-merge-checker': 'on' });
  assert.deepEqual(
    merges.map((m) => [m.kind, m.regionId, m.mergeTarget, m.creator]),
    [
      [pb.OperatorKind.OP_MERGE, ids[1], ids[0], pb.OperatorCreator.BY_SCHEDULER],
      [pb.OperatorKind.OP_MERGE, ids[3], ids[2], pb.OperatorCreator.BY_SCHEDULER],
    ],
  );
});

test('regions over the thresholds, or whose union the split checker would split, are left alone', () => {
  const sm = cluster([[300_000, 1000], [5, 500], [10, 30 * 1024 * 1024], [3, 100]]);
  assert.deepEqual(round(sm, { ...quiet, 'scheduler-merge-checker': 'on' }), []);
  const sm2 = cluster([[150_000, 1000], [150_000, 500]]);
  assert.deepEqual(round(sm2, { ...quiet, 'scheduler-merge-checker': 'on', 'split-max-keys': '200000' }), []);
  assert.equal(round(sm2, { ...quiet, 'scheduler-merge-checker': 'on', 'split-max-keys': '960000' }).length, 1);
});
