// Operators in the meta state machine: ids from the allocator, at most one
// per region, finished from heartbeats, cancelled, timed out, and kept across
// a snapshot (so a new meta leader has them).
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

function errCode(r: ApplyResult): string {
  assert.equal(r.kind, 'error');
  return (r as Extract<ApplyResult, { kind: 'error' }>).error.code;
}

function cluster(): { sm: MetaStateMachine; regionId: number } {
  const sm = new MetaStateMachine();
  for (const i of [1, 2, 3]) sm.apply(cmd({ registerStore: { peerAddr: `10.0.0.${i}:7200`, clientAddr: `10.0.0.${i}:6379` } }));
  const regionId = ok(sm.apply(cmd({ bootstrap: { storeIds: [1, 2, 3], initialRegions: 1 } })), 'bootstrap').regionIds[0];
  // Store 1 leads.
  const d = sm.region(regionId)!.region;
  sm.apply(cmd({ storeHeartbeat: { store: { id: 1 }, regions: [{ region: { ...d, epoch: { ...d.epoch } }, isLeader: true, term: 6 }] } }));
  return { sm, regionId };
}

test('a split operator takes its ids from the allocator and finishes when the new region has a leader', () => {
  const { sm, regionId } = cluster();
  const next = sm.peekNextId;
  const op = ok(sm.apply(cmd({ createOperator: { regionId, kind: pb.OperatorKind.OP_SPLIT, splitSlot: 8192 } })), 'operator').operator;
  assert.equal(op.id, next);
  const split = op.steps[0].split!;
  assert.equal(split.newRegionId, next + 1);
  assert.deepEqual(split.newPeerIds, [next + 2, next + 3, next + 4]);
  assert.equal(sm.peekNextId, next + 5);
  assert.equal(errCode(sm.apply(cmd({ createOperator: { regionId, kind: pb.OperatorKind.OP_SPLIT, splitSlot: 100 } }))), 'BUSY');
  assert.equal(sm.operatorSteps(1).length, 1, 'the step goes to the leader store');
  assert.equal(sm.operatorSteps(2).length, 0);

  // The leader store reports the split: parent shrunk, child led by store 1.
  const d = sm.region(regionId)!.region;
  const parent = { ...d, endSlot: 8192, epoch: { version: 2, confVer: 1 } };
  const child = { id: split.newRegionId!, startSlot: 8192, endSlot: 16384, epoch: { version: 2, confVer: 1 }, peers: d.peers.map((p, i) => ({ ...p, id: split.newPeerIds![i] })) };
  sm.apply(cmd({ storeHeartbeat: { store: { id: 1 }, regions: [{ region: parent, isLeader: true, term: 6 }, { region: child, isLeader: true, term: 6 }] } }));
  assert.equal(sm.operator(op.id)!.state, pb.OperatorState.OP_DONE);
  assert.equal(sm.regionList().length, 2);

  // Kept across a snapshot.
  const copy = MetaStateMachine.decode(sm.encodeSnapshot());
  assert.deepEqual(copy.operatorList(), sm.operatorList());
});

test('bad operators are refused; running ones can be cancelled and time out', () => {
  const { sm, regionId } = cluster();
  assert.equal(errCode(sm.apply(cmd({ createOperator: { regionId: 999, kind: pb.OperatorKind.OP_SPLIT, splitSlot: 5 } }))), 'NO_REGION');
  assert.equal(errCode(sm.apply(cmd({ createOperator: { regionId, kind: pb.OperatorKind.OP_SPLIT, splitSlot: 0 } }))), 'INVALID');
  assert.equal(errCode(sm.apply(cmd({ createOperator: { regionId, kind: pb.OperatorKind.OP_TRANSFER_LEADER, transferToStore: 9 } }))), 'INVALID');
  // A transfer to the store that leads already is done at once.
  const same = ok(sm.apply(cmd({ createOperator: { regionId, kind: pb.OperatorKind.OP_TRANSFER_LEADER, transferToStore: 1 } })), 'operator').operator;
  assert.equal(same.state, pb.OperatorState.OP_DONE);

  const op = ok(sm.apply(cmd({ createOperator: { regionId, kind: pb.OperatorKind.OP_TRANSFER_LEADER, transferToStore: 2, timeoutMs: 1000 } })), 'operator').operator;
  assert.equal(sm.operatorSteps(1)[0].transferLeaderTo, sm.region(regionId)!.region.peers[1].id);
  assert.deepEqual(sm.operatorsTimedOut(op.startMs + 500), []);
  assert.deepEqual(sm.operatorsTimedOut(op.startMs + 1001).map((o) => o.id), [op.id]);
  ok(sm.apply(cmd({ finishOperator: { operatorId: op.id, state: pb.OperatorState.OP_TIMED_OUT } })), 'operator');
  assert.equal(sm.operator(op.id)!.state, pb.OperatorState.OP_TIMED_OUT);
  assert.equal(errCode(sm.apply(cmd({ finishOperator: { operatorId: op.id, state: pb.OperatorState.OP_CANCELLED } }))), 'NOT_RUNNING');

  const op2 = ok(sm.apply(cmd({ createOperator: { regionId, kind: pb.OperatorKind.OP_SPLIT, splitSlot: 10 } })), 'operator').operator;
  ok(sm.apply(cmd({ finishOperator: { operatorId: op2.id, state: pb.OperatorState.OP_CANCELLED, reason: 'by hand' } })), 'operator');
  assert.equal(sm.operator(op2.id)!.reason, 'by hand');
  assert.equal(sm.operatorSteps(1).length, 0, 'nothing running: no steps');
});

test('a move-region operator: learner, promotion, removal, each finished by the map; then the removed replica is told to destroy itself', () => {
  const { sm, regionId } = cluster();
  sm.apply(cmd({ registerStore: { peerAddr: '10.0.0.4:7200', clientAddr: '10.0.0.4:6379' } }));
  const to = sm.storeList().find((s) => s.peerAddr === '10.0.0.4:7200')!.id;
  assert.equal(errCode(sm.apply(cmd({ createOperator: { regionId, kind: pb.OperatorKind.OP_MOVE_REGION, fromStore: to, toStore: 1 } }))), 'INVALID');
  assert.equal(errCode(sm.apply(cmd({ createOperator: { regionId, kind: pb.OperatorKind.OP_MOVE_REGION, fromStore: 2, toStore: 3 } }))), 'INVALID');
  assert.equal(errCode(sm.apply(cmd({ createOperator: { regionId, kind: pb.OperatorKind.OP_MOVE_REGION, fromStore: 2, toStore: 99 } }))), 'INVALID');
  const op = ok(sm.apply(cmd({ createOperator: { regionId, kind: pb.OperatorKind.OP_MOVE_REGION, fromStore: 2, toStore: to } })), 'operator').operator;
  assert.equal(op.steps.length, 3);
  const learner = op.steps[0].addLearner!;
  assert.equal(learner.storeId, to);
  assert.equal(op.steps[1].promoteLearner!.id, learner.id);
  const d0 = sm.region(regionId)!.region;
  const old = d0.peers.find((p) => p.storeId === 2)!;
  assert.equal(op.steps[2].removePeer!.id, old.id);
  assert.deepEqual(sm.operatorSteps(1).map((s) => !!s.addLearner), [true], 'the first step goes to the leader store');

  const report = (peers: typeof d0.peers, confVer: number) =>
    sm.apply(cmd({ storeHeartbeat: { store: { id: 1 }, regions: [{ region: { ...d0, epoch: { version: d0.epoch.version, confVer }, peers }, isLeader: true, term: 6 }] } }));
  report([...d0.peers, { id: learner.id!, storeId: to, role: pb.PeerRole.LEARNER }], 2);
  assert.equal(sm.operator(op.id)!.step, 1);
  report([...d0.peers, { id: learner.id!, storeId: to, role: pb.PeerRole.VOTER }], 3);
  assert.equal(sm.operator(op.id)!.step, 2);
  const after = [...d0.peers.filter((p) => p.id !== old.id), { id: learner.id!, storeId: to, role: pb.PeerRole.VOTER }];
  report(after, 4);
  assert.equal(sm.operator(op.id)!.state, pb.OperatorState.OP_DONE);

  // Store 2 never applied its removal: its report at conf_ver 1 gets a destroy instruction; store 3's (a member) none.
  const stale = [{ region: { ...d0 }, peerId: old.id }];
  const ins = sm.stalePeerInstructions(2, stale);
  assert.equal(ins.length, 1);
  assert.equal(ins[0].destroyPeer!.id, old.id);
  assert.equal(ins[0].regionEpoch!.confVer, 4);
  const member = d0.peers.find((p) => p.storeId === 3)!;
  assert.deepEqual(sm.stalePeerInstructions(3, [{ region: { ...d0 }, peerId: member.id }]), []);
  // A learner still waiting for its snapshot (epoch 0/0, no peers) is never destroyed.
  assert.deepEqual(sm.stalePeerInstructions(2, [{ region: { id: regionId, epoch: { version: 0, confVer: 0 }, peers: [] }, peerId: 12345 }]), []);
});

test('a remove-peer operator: one step, done when the map no longer lists the peer; the last voter is never removed', () => {
  const { sm, regionId } = cluster();
  assert.equal(errCode(sm.apply(cmd({ createOperator: { regionId, kind: pb.OperatorKind.OP_REMOVE_PEER, fromStore: 9 } }))), 'INVALID');
  const op = ok(sm.apply(cmd({ createOperator: { regionId, kind: pb.OperatorKind.OP_REMOVE_PEER, fromStore: 3 } })), 'operator').operator;
  const d = sm.region(regionId)!.region;
  assert.equal(op.steps[0].removePeer!.id, d.peers.find((p) => p.storeId === 3)!.id);
  sm.apply(cmd({ storeHeartbeat: { store: { id: 1 }, regions: [{ region: { ...d, epoch: { version: d.epoch.version, confVer: 2 }, peers: d.peers.filter((p) => p.storeId !== 3) }, isLeader: true, term: 6 }] } }));
  assert.equal(sm.operator(op.id)!.state, pb.OperatorState.OP_DONE);
});
