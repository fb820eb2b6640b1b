// Proposal forwarding, dropped proposals, the uncommitted-size limit.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Env } from './harness';

test('a follower forwards proposals to the leader', () => {
  const env = Env.create(3);
  env.campaign(1);
  assert.equal(env.propose(3, 'fwd'), undefined);
  const t = env.stabilize();
  assert.equal(t[0], '3->1 Prop term=0');
  assert.deepEqual(env.data(1), ['fwd']);
});

test('with forwarding disabled a follower refuses proposals', () => {
  const env = Env.create(3, { disableProposalForwarding: true });
  env.campaign(1);
  assert.equal(env.propose(3, 'x'), 'forwarding-disabled');
  assert.equal(env.propose(1, 'y'), undefined);
});

test('with no leader, proposals are dropped with a clear reason', () => {
  const env = Env.create(3);
  assert.equal(env.propose(2, 'x'), 'no-leader');
  env.node(1).raw.campaign();
  env.processReadies();
  assert.equal(env.propose(1, 'x'), 'no-leader', 'a candidate has no leader either');
});

test('a forwarded proposal that reaches a non-leader is dropped silently', () => {
  const env = Env.create(3);
  env.campaign(1);
  env.node(3).raw.propose(new Uint8Array([1]));
  env.processReadies();
  // 1 loses leadership before the forwarded proposal arrives.
  env.raft(1).becomeFollower(5, 0);
  assert.doesNotThrow(() => env.stabilize());
});

test('the leader refuses proposals beyond maxUncommittedEntriesSize until some commit', () => {
  const env = Env.create(3, { maxUncommittedEntriesSize: 10 });
  env.campaign(1);
  env.isolate(1);
  assert.equal(env.propose(1, 'aaaaaaaa'), undefined);
  assert.equal(env.propose(1, 'bbbbbbbb'), 'uncommitted-size-exceeded');
  env.heal();
  env.tick(1);
  env.stabilize();
  assert.equal(env.propose(1, 'bbbbbbbb'), undefined);
});
