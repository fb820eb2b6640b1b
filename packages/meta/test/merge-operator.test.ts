// The merge operator in the meta state machine: the target is an adjacent
// region on the same stores; the commit is handed to the target's leader
// only once every source replica reported itself frozen; it is done when the
// target's report covers the source; a merge that ends in its prepare step
// hands out a rollback for the frozen source; a handed-out commit is never
// cancelled or timed out.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pb } from '@redraft/common';
import { MetaStateMachine, type ApplyResult } from '../src/state';

let clock = 1_000;
const cmd = (op: Omit<pb.MetaCommand.$Properties, 'proposedAtMs'>, at = (clock += 10)): pb.MetaCommand.$Properties => ({ proposedAtMs: at, ...op });

function ok<K extends ApplyResult['kind']>(r: ApplyResult, kind: K): Extract<ApplyResult, { kind: K }> {
  if (r.kind === 'error') assert.fail(`unexpected error ${r.error.message}`);
  assert.equal(r.kind, kind);
  return r as Extract<ApplyResult, { kind: K }>;
}

function error(r: ApplyResult): { code: string; message: string } {
  assert.equal(r.kind, 'error');
  return (r as Extract<ApplyResult, { kind: 'error' }>).error;
}

/** Three regions over stores 1-3 (store 1 leads all), the last one also on store 4 instead of 3. */
function cluster() {
  const sm = new MetaStateMachine();
  for (const i of [1, 2, 3, 4]) sm.apply(cmd({ registerStore: { peerAddr: `10.0.0.${i}:7200`, clientAddr: `10.0.0.${i}:6379` } }));
  const ids = ok(sm.apply(cmd({ bootstrap: { storeIds: [1, 2, 3], initialRegions: 3 } })), 'bootstrap').regionIds;
  const report = (storeId: number, region: pb.Region.$Properties, isLeader: boolean) =>
    sm.apply(cmd({ storeHeartbeat: { store: { id: storeId }, regions: [{ region, isLeader, term: 6 }] } }));
  for (const id of ids) report(1, sm.region(id)!.region, true);
  return { sm, ids, report };
}

test('merge: prepare on every replica, then commit in the target, done when the target covers the source', () => {
  const { sm, ids, report } = cluster();
  const [a, b] = ids;
  const op = ok(sm.apply(cmd({ createOperator: { regionId: b, kind: pb.OperatorKind.OP_MERGE } })), 'operator').operator;
  const prepare = op.steps[0].prepareMerge!;
  const commit = op.steps[1].commitMerge!;
  assert.equal(Number(prepare.target!.id), ids[2], 'the region after it by default');
  // Neither region takes another operator meanwhile.
  assert.equal(error(sm.apply(cmd({ createOperator: { regionId: ids[2], kind: pb.OperatorKind.OP_SPLIT, splitSlot: 16000 } }))).code, 'BUSY');
  assert.equal(error(sm.apply(cmd({ createOperator: { regionId: a, kind: pb.OperatorKind.OP_MERGE, mergeTarget: b } }))).code, 'BUSY');
  assert.deepEqual(sm.operatorSteps(1).map((s) => Number(s.regionId)), [b]);

  // Every replica reports the frozen descriptor: only then the commit is handed out (to the target's leader).
  const frozen = { ...sm.region(b)!.region, epoch: { version: 2, confVer: 1 }, merging: { targetRegionId: ids[2], prepareIndex: 9 } };
  report(1, frozen, true);
  report(2, frozen, false);
  assert.equal(sm.operator(op.id)!.step, 0);
  assert.ok(sm.operatorsTimedOut(op.startMs + op.timeoutMs + 1).length === 1, 'the prepare step may time out');
  report(3, frozen, false);
  assert.equal(sm.operator(op.id)!.step, 1);
  assert.deepEqual(sm.operatorSteps(1).map((s) => [Number(s.regionId), !!s.commitMerge]), [[ids[2], true]]);
  assert.equal(sm.operatorsTimedOut(op.startMs + op.timeoutMs + 1).length, 0, 'a handed-out commit never times out');
  assert.equal(error(sm.apply(cmd({ finishOperator: { operatorId: op.id, state: pb.OperatorState.OP_CANCELLED } }))).code, 'COMMITTING');

  // The target reports the merged range: the source leaves the map, the operator is done.
  const t = sm.region(ids[2])!.region;
  report(1, { ...t, startSlot: Number(commit.source!.startSlot), epoch: { version: 3, confVer: 1 } }, true);
  assert.equal(sm.operator(op.id)!.state, pb.OperatorState.OP_DONE);
  assert.equal(sm.region(b), undefined);
  assert.deepEqual(sm.regionList().map((r) => [r.region.startSlot, r.region.endSlot]), [[0, sm.region(a)!.region.endSlot], [sm.region(a)!.region.endSlot, 16384]]);
  // Kept across a snapshot.
  assert.deepEqual(MetaStateMachine.decode(sm.encodeSnapshot()).operatorList(), sm.operatorList());
});

test('merge refusals say why; a merge that ends in its prepare rolls the frozen source back', () => {
  const { sm, ids, report } = cluster();
  const [a, b, c] = ids;
  assert.match(error(sm.apply(cmd({ createOperator: { regionId: a, kind: pb.OperatorKind.OP_MERGE, mergeTarget: c } }))).message, /not adjacent/);
  assert.match(error(sm.apply(cmd({ createOperator: { regionId: 99, kind: pb.OperatorKind.OP_MERGE } }))).message, /not in the map/);
  // Region c moves to store 4 (as its leader reports): no longer co-located with b.
  const cd = sm.region(c)!.region;
  report(1, { ...cd, epoch: { version: 1, confVer: 2 }, peers: cd.peers.map((p) => (p.storeId === 3 ? { ...p, storeId: 4 } : p)) }, true);
  assert.match(error(sm.apply(cmd({ createOperator: { regionId: b, kind: pb.OperatorKind.OP_MERGE, mergeTarget: c } }))).message, /not on the same stores/);

  // b into a (the one before it: the one after is not co-located), cancelled after b froze on one store.
  const op = ok(sm.apply(cmd({ createOperator: { regionId: b, kind: pb.OperatorKind.OP_MERGE } })), 'operator').operator;
  assert.equal(Number(op.steps[1].regionId), a);
  const frozen = { ...sm.region(b)!.region, epoch: { version: 2, confVer: 1 }, merging: { targetRegionId: a, prepareIndex: 9 } };
  report(1, frozen, true);
  ok(sm.apply(cmd({ finishOperator: { operatorId: op.id, state: pb.OperatorState.OP_CANCELLED } })), 'operator');
  const rollback = sm.operatorSteps(1);
  assert.deepEqual(rollback.map((s) => [Number(s.regionId), Number(s.rollbackMerge?.targetRegionId), Number(s.regionEpoch?.version)]), [[b, a, 2]]);
  // The source reports itself unfrozen (version 3): no more rollbacks.
  report(1, { ...frozen, merging: null, epoch: { version: 3, confVer: 1 } }, true);
  assert.deepEqual(sm.operatorSteps(1), []);
});
