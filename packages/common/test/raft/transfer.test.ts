// Leader transfer (thesis §3.10): catch-up, TimeoutNow, refusals, abort.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MessageType, StateRole } from '../../src/raft';
import { Env } from './harness';

test('transfer to an up-to-date follower: TimeoutNow, it campaigns at once and wins', () => {
  const env = Env.create(3, { checkQuorum: true });
  env.campaign(1);
  env.node(1).raw.transferLeader(2);
  const t = env.stabilize();
  assert.equal(t[0], '1->2 TimeoutNow term=1');
  assert.ok(t.includes('1->2 VoteResp term=2 granted'), 'voters in lease still grant a transfer campaign');
  assert.equal(env.role(2), StateRole.Leader);
  assert.equal(env.role(1), StateRole.Follower);
  assert.equal(env.raft(2).term, 2);
});

test('transfer to a lagging follower: it is caught up first, then TimeoutNow', () => {
  const env = Env.create(3);
  env.campaign(1);
  env.isolate(3);
  env.propose(1, 'a');
  env.propose(1, 'b');
  env.stabilize();
  env.heal();
  env.node(1).raw.transferLeader(3);
  const t = env.stabilize();
  const appAt = t.findIndex((l) => l.startsWith('1->3 App'));
  const tnAt = t.indexOf('1->3 TimeoutNow term=1');
  assert.ok(appAt >= 0 && tnAt > appAt, t.join('\n'));
  assert.equal(env.role(3), StateRole.Leader);
  assert.deepEqual(env.data(3), ['a', 'b']);
});

test('transfer a follower asked for is forwarded to the leader', () => {
  const env = Env.create(3);
  env.campaign(1);
  env.node(3).raw.transferLeader(3);
  env.stabilize();
  assert.equal(env.role(3), StateRole.Leader);
});

test('proposals are refused while a transfer is in progress', () => {
  const env = Env.create(3);
  env.campaign(1);
  env.isolate(2);
  env.propose(1, 'a');
  env.stabilize();
  env.node(1).raw.transferLeader(2);
  assert.equal(env.raft(1).leadTransferee, 2);
  assert.equal(env.propose(1, 'refused'), 'transferring-leadership');
});

test('a transfer that does not finish within an election timeout is aborted', () => {
  const env = Env.create(3);
  env.campaign(1);
  env.isolate(2);
  env.node(1).raw.transferLeader(2);
  env.tick(1, 9);
  assert.equal(env.raft(1).leadTransferee, 2);
  env.tick(1);
  assert.equal(env.raft(1).leadTransferee, 0);
  assert.equal(env.role(1), StateRole.Leader);
  assert.equal(env.propose(1, 'ok again'), undefined);
});

test('transfer to self, to a learner, or while one is running to the same node is ignored', () => {
  const env = new Env([1, 2, 3], [4]);
  env.campaign(1);
  env.node(1).raw.transferLeader(1);
  assert.equal(env.raft(1).leadTransferee, 0);
  env.node(1).raw.transferLeader(4);
  assert.equal(env.raft(1).leadTransferee, 0);
  env.stabilize();
  assert.equal(env.role(1), StateRole.Leader);
});

test('a newer transfer replaces the running one', () => {
  const env = Env.create(3);
  env.campaign(1);
  env.isolate(2);
  env.node(1).raw.transferLeader(2);
  env.node(1).raw.transferLeader(3);
  assert.equal(env.raft(1).leadTransferee, 3);
  env.clearQueue();
  env.heal();
  env.tick(1);
  env.stabilize();
  assert.equal(env.role(3), StateRole.Leader);
});

test('TimeoutNow to a learner is ignored', () => {
  const env = new Env([1, 2], [3]);
  env.campaign(1);
  env.node(3).raw.step({ type: MessageType.TimeoutNow, from: 1, to: 3, term: 1, logTerm: 0, index: 0, entries: [], commit: 0, reject: false, rejectHint: 0 });
  env.stabilize();
  assert.equal(env.role(3), StateRole.Follower);
  assert.equal(env.role(1), StateRole.Leader);
});

test('handOffTarget: the voter heard from lately whose log matches the most', () => {
  const env = Env.create(3, { checkQuorum: true });
  env.campaign(1);
  env.isolate(3);
  env.propose(1, 'a');
  env.stabilize();
  assert.equal(env.raft(1).handOffTarget(), 2, '3 lags');
  env.heal();
  env.stabilize();
  assert.ok([2, 3].includes(env.raft(1).handOffTarget()));
  // After an election timeout without hearing from 2, only 3 qualifies (checkQuorum clears recentActive).
  env.isolate(2);
  env.tick(1, 12);
  env.stabilize();
  assert.equal(env.raft(1).handOffTarget(), 3);
  env.isolate(3);
  env.tick(1, 12);
  env.stabilize();
  assert.equal(env.raft(1).handOffTarget(), 0, 'none heard from lately');
});
