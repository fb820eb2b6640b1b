// Learners and membership change: one voter at a time, effective when applied.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfChangeType, StateRole } from '../../src/raft';
import { Env } from './harness';

test('a learner receives the log but neither votes in the quorum nor campaigns', () => {
  const env = new Env([1, 2], [3]);
  env.campaign(1);
  env.propose(1, 'a');
  env.stabilize();
  assert.deepEqual(env.data(3), ['a']);
  // Commit does not wait for the learner.
  env.isolate(3);
  env.propose(1, 'b');
  env.stabilize();
  assert.equal(env.commit(1), 4);
  // A learner never campaigns, however long it waits.
  env.tick(3, 50);
  env.stabilize();
  assert.equal(env.role(3), StateRole.Follower);
  assert.equal(env.raft(3).term, 1);
});

test('adding a learner from nothing: it gets a snapshot, then the log; promoting it makes it a voter', () => {
  const env = Env.create(3);
  env.campaign(1);
  env.propose(1, 'a');
  env.stabilize();
  env.addNode(4); // empty storage, no configuration
  assert.equal(env.proposeConfChange(1, { type: ConfChangeType.AddLearner, nodeId: 4 }), undefined);
  env.stabilize();
  // The host makes snapshots from its applied state (here: by hand).
  const n1 = env.node(1);
  n1.storage.createSnapshot(n1.applied[n1.applied.length - 1].index, n1.confState, new Uint8Array(0));
  env.tick(1);
  const t = env.stabilize();
  assert.ok(t.some((l) => l.startsWith('1->4 Snap')), t.join('\n'));
  assert.deepEqual(env.node(4).confState, { voters: [1, 2, 3], learners: [4] });
  env.propose(1, 'b');
  env.stabilize();
  assert.deepEqual(env.data(4), ['b'], 'a and the conf change came in the snapshot');
  assert.equal(env.proposeConfChange(1, { type: ConfChangeType.AddNode, nodeId: 4 }), undefined);
  env.stabilize();
  assert.deepEqual(env.raft(1).voters, [1, 2, 3, 4]);
  // Now 4 counts: with 2 and 3 away, 1 and 4 are not a majority of 4.
  env.isolate(2);
  env.isolate(3);
  env.propose(1, 'c');
  env.stabilize();
  const before = env.commit(1);
  env.heal();
  env.isolate(3);
  env.tick(1);
  env.stabilize();
  assert.ok(env.commit(1) > before);
});

test('removing a follower shrinks the quorum', () => {
  const env = Env.create(3);
  env.campaign(1);
  env.proposeConfChange(1, { type: ConfChangeType.RemoveNode, nodeId: 3 });
  env.stabilize();
  assert.deepEqual(env.raft(1).voters, [1, 2]);
  env.isolate(3);
  env.propose(1, 'a');
  env.stabilize();
  assert.deepEqual(env.data(2), ['a']);
});

test('removing the leader: it steps down once the change is applied and hands over with TimeoutNow', () => {
  const env = Env.create(3);
  env.campaign(1);
  env.proposeConfChange(1, { type: ConfChangeType.RemoveNode, nodeId: 1 });
  const t = env.stabilize();
  assert.ok(t.some((l) => l.startsWith('1->') && l.includes('TimeoutNow')), t.join('\n'));
  assert.notEqual(env.role(1), StateRole.Leader);
  const leaders = env.leaders();
  assert.equal(leaders.length, 1);
  assert.notEqual(leaders[0], 1);
  assert.deepEqual(env.raft(leaders[0]).voters, [2, 3]);
  env.propose(leaders[0], 'after');
  env.stabilize();
  assert.deepEqual(env.data(2), ['after']);
  // The removed node never campaigns.
  env.tick(1, 50);
  env.stabilize();
  assert.equal(env.leaders().length, 1);
});

test('one conf change at a time: a second one waits until the first is applied', () => {
  const env = new Env([1, 2, 3], [4, 5]);
  env.campaign(1);
  assert.equal(env.proposeConfChange(1, { type: ConfChangeType.AddNode, nodeId: 4 }), undefined);
  assert.equal(env.proposeConfChange(1, { type: ConfChangeType.AddNode, nodeId: 5 }), 'conf-change-pending');
  env.stabilize();
  assert.equal(env.proposeConfChange(1, { type: ConfChangeType.AddNode, nodeId: 5 }), undefined);
  env.stabilize();
  assert.deepEqual(env.raft(1).voters, [1, 2, 3, 4, 5]);
});

test('a new leader proposes no conf change before its no-op is applied', () => {
  const env = Env.create(3);
  env.node(1).raw.campaign();
  env.deliver((m) => m.type === 13 /* Vote */);
  env.deliver((m) => m.type === 14 /* VoteResp */);
  assert.equal(env.role(1), StateRole.Leader);
  assert.equal(env.proposeConfChange(1, { type: ConfChangeType.RemoveNode, nodeId: 3 }), 'conf-change-pending');
  env.stabilize();
  assert.equal(env.proposeConfChange(1, { type: ConfChangeType.RemoveNode, nodeId: 3 }), undefined);
});

test('a change that would leave no voter is refused', () => {
  const env = Env.create(1);
  env.campaign(1);
  assert.equal(env.proposeConfChange(1, { type: ConfChangeType.RemoveNode, nodeId: 1 }), 'invalid-conf-change');
});

test('a single voter commits alone, after its own write', () => {
  const env = Env.create(1);
  env.campaign(1);
  assert.equal(env.role(1), StateRole.Leader);
  env.propose(1, 'solo');
  env.stabilize();
  assert.deepEqual(env.data(1), ['solo']);
});
