// The replica checker and the region-balance scheduler on a state machine
// (no processes): which moves they create, and the per-store move limit.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pb } from '@redraft/common';
import { MetaStateMachine } from '../src/state';
import { Schedulers } from '../src/schedulers';

let clock = Date.now() - 30_000;
const cmd = (op: Omit<pb.MetaCommand.$Properties, 'proposedAtMs'>): pb.MetaCommand.$Properties => ({ proposedAtMs: (clock += 1), ...op });

/** `regions` regions on stores 1-3 (store 1 leads them all), plus `extra` empty stores; every store just heard from. */
function cluster(regions: number, extra: number): MetaStateMachine {
  const sm = new MetaStateMachine();
  for (let i = 1; i <= 3 + extra; i++) sm.apply(cmd({ registerStore: { peerAddr: `10.0.0.${i}:7200`, clientAddr: `10.0.0.${i}:6379` } }));
  sm.apply(cmd({ bootstrap: { storeIds: [1, 2, 3], initialRegions: regions } }));
  sm.apply(cmd({ storeHeartbeat: { store: { id: 1 }, regions: sm.regionList().map((r) => ({ region: { ...r.region }, isLeader: true, term: 6 })) } }));
  for (let i = 2; i <= 3 + extra; i++) sm.apply(cmd({ storeHeartbeat: { store: { id: i }, regions: [] } }));
  return sm;
}

/** One scheduler round; the CreateOperator commands it asked for. */
function round(sm: MetaStateMachine, settings: Record<string, string> = {}): pb.CreateOperator.$Properties[] {
  for (const [name, value] of Object.entries(settings)) sm.apply(cmd({ setConfig: { name, value } }));
  const created: pb.CreateOperator.$Properties[] = [];
  const s = new Schedulers({ sm, leaderForMs: () => 3_600_000, replicas: () => 3, create: async (op) => created.push(op), log: () => {} });
  s.run();
  return created;
}

test('region balance: moves onto a joining store, at most store-move-limit at once per store', () => {
  const sm = cluster(8, 1);
  const moves = round(sm, { 'store-move-limit': '2' });
  assert.equal(moves.length, 2, JSON.stringify(moves));
  for (const m of moves) {
    assert.equal(m.kind, pb.OperatorKind.OP_MOVE_REGION);
    assert.equal(m.toStore, 4);
    assert.equal(m.creator, pb.OperatorCreator.BY_SCHEDULER);
  }
  assert.equal(new Set(moves.map((m) => m.regionId)).size, 2, 'two different regions');
  assert.deepEqual(round(cluster(8, 1), { 'scheduler-region-balance': 'off' }), []);
  assert.deepEqual(round(cluster(1, 1)), [], 'counts 1,1,1,0 are within the tolerance');
});

test('replica checker: a store silent past store-down-seconds, or draining, has its replicas moved to the emptiest up store', () => {
  clock = Date.now() - 30_000;
  const sm = cluster(2, 1);
  // Store 3 goes silent; the others keep heartbeating.
  clock = Date.now() - 5_000;
  for (const i of [1, 2, 4]) sm.apply(cmd({ storeHeartbeat: { store: { id: i }, regions: i === 1 ? sm.regionList().map((r) => ({ region: { ...r.region }, isLeader: true, term: 6 })) : [] } }));
  assert.deepEqual(round(sm, { 'scheduler-region-balance': 'off' }), [], 'silent for less than store-down-seconds (1800)');
  const moves = round(sm, { 'store-down-seconds': '15', 'scheduler-region-balance': 'off' });
  assert.deepEqual(moves.map((m) => [m.fromStore, m.toStore]), [[3, 4], [3, 4]]);

  const drain = cluster(2, 1);
  drain.apply(cmd({ removeStore: { storeId: 2 } }));
  assert.deepEqual(round(drain).map((m) => [m.fromStore, m.toStore]), [[2, 4], [2, 4]]);
  assert.equal(drain.apply(cmd({ removeStore: { storeId: 2, finish: true } })).kind, 'error', 'not drained yet');
});
