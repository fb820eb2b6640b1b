// ReadIndex (thesis §6.4) on the leader and forwarded from followers, and the leader lease.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ErrProposalDropped, MessageType, ReadOnlyOption } from '../../src/raft';
import { Env, dec, enc } from './harness';

test('ReadIndex on the leader: a heartbeat round to a quorum, then a read state at its last index', () => {
  const env = Env.create(3);
  env.campaign(1);
  env.propose(1, 'a');
  env.stabilize();
  env.node(1).raw.readIndex(enc('r1'));
  const t = env.stabilize();
  assert.deepEqual(t.slice(0, 2), ['1->2 Heartbeat term=1 commit=3 ctx=r1', '1->3 Heartbeat term=1 commit=3 ctx=r1']);
  assert.deepEqual(env.node(1).readStates.map((r) => [r.index, dec(r.context)]), [[3, 'r1']]);
});

test('the read index is the leader\'s last index, past entries appended but not yet committed (an entry carries its proposer\'s clock)', () => {
  const env = Env.create(3);
  env.campaign(1);
  env.propose(1, 'a');
  env.stabilize();
  env.node(1).raw.propose(enc('b')); // appended on the leader; its appends are never delivered here
  env.node(1).raw.readIndex(enc('r1'));
  const heartbeats = (m: { type: MessageType }) => m.type === MessageType.Heartbeat || m.type === MessageType.HeartbeatResp;
  env.deliver(heartbeats);
  env.deliver(heartbeats);
  env.processReadies();
  assert.equal(env.commit(1), 3, 'b is not committed');
  assert.deepEqual(env.node(1).readStates.map((r) => [r.index, dec(r.context)]), [[4, 'r1']], 'the read waits for b to apply');
});

test('ReadIndex without a quorum of acks gets no answer', () => {
  const env = Env.create(3);
  env.campaign(1);
  env.isolate(1);
  env.node(1).raw.readIndex(enc('r1'));
  env.stabilize();
  assert.deepEqual(env.node(1).readStates, []);
  env.heal();
  env.tick(1); // the next heartbeat carries the pending context again
  env.stabilize();
  assert.deepEqual(env.node(1).readStates.map((r) => dec(r.context)), ['r1']);
});

test('ReadIndex forwarded from a follower comes back as a read state on the follower', () => {
  const env = Env.create(3);
  env.campaign(1);
  env.propose(1, 'a');
  env.stabilize();
  env.node(3).raw.readIndex(enc('f1'));
  const t = env.stabilize();
  assert.ok(t.includes('3->1 ReadIndex term=0 ctx=f1'), t.join('\n'));
  assert.ok(t.includes('1->3 ReadIndexResp term=1 index=3 ctx=f1'), t.join('\n'));
  assert.deepEqual(env.node(3).readStates.map((r) => [r.index, dec(r.context)]), [[3, 'f1']]);
});

test('ReadIndex on a follower with no leader is refused', () => {
  const env = Env.create(3);
  assert.throws(() => env.node(2).raw.readIndex(enc('x')), (e) => e instanceof ErrProposalDropped && e.reason === 'no-leader');
});

test('a new leader answers reads only once an entry of its term is committed', () => {
  const env = Env.create(3);
  env.node(1).raw.campaign();
  env.deliver((m) => m.type === MessageType.Vote);
  env.deliver((m) => m.type === MessageType.VoteResp);
  env.node(1).raw.readIndex(enc('early'));
  env.processReadies();
  assert.deepEqual(env.node(1).readStates, []);
  env.stabilize();
  assert.deepEqual(env.node(1).readStates.map((r) => [r.index, dec(r.context)]), [[2, 'early']]);
});

test('lease: valid after a quorum acks heartbeats, expires without acks before an election can happen', () => {
  const env = Env.create(3, { checkQuorum: true });
  env.campaign(1);
  assert.equal(env.node(1).raw.leaseValid(), false, 'no heartbeat acked yet');
  env.tick(1);
  env.stabilize();
  assert.equal(env.node(1).raw.leaseValid(), true);
  env.isolate(1);
  // electionTick 10, margin 2: the lease lasts 8 ticks from the last acked heartbeat.
  let ticks = 0;
  while (env.node(1).raw.leaseValid()) {
    env.tick(1);
    env.stabilize();
    ticks++;
  }
  assert.equal(ticks, 8);
  // Followers refuse votes for 10 ticks after the same heartbeat: the lease ends first.
  assert.equal(env.raft(2).electionElapsed, 0);
});

test('lease: ticks a stalled host missed (elapseLease) end the lease, but do not make the leader step down', () => {
  const env = Env.create(3, { checkQuorum: true });
  env.campaign(1);
  env.tick(1);
  env.stabilize();
  assert.equal(env.node(1).raw.leaseValid(), true);
  // A stall of 7 ticks: the lease (8 ticks) still holds; one more and it is gone.
  env.node(1).raw.elapseLease(7);
  assert.equal(env.node(1).raw.leaseValid(), true);
  env.node(1).raw.elapseLease(1);
  assert.equal(env.node(1).raw.leaseValid(), false);
  // The election clock did not move: no check-quorum step-down for answers still unread.
  assert.equal(env.raft(1).state, 'leader');
  assert.equal(env.raft(1).electionElapsed, 1);
  // Followers have no lease clock: nothing happens.
  env.node(2).raw.elapseLease(100);
  assert.equal(env.raft(2).state, 'follower');
  // A fresh heartbeat round brings the lease back.
  env.tick(1);
  env.tick(1);
  env.tick(1);
  env.stabilize();
  assert.equal(env.node(1).raw.leaseValid(), true);
});

test('lease: LeaseBased reads are answered at once while the lease holds, else by a heartbeat round', () => {
  const env = Env.create(3, { checkQuorum: true, readOnlyOption: ReadOnlyOption.LeaseBased });
  env.campaign(1);
  env.tick(1);
  env.stabilize();
  env.node(1).raw.readIndex(enc('fast'));
  env.processReadies();
  assert.deepEqual(env.node(1).readStates.map((r) => dec(r.context)), ['fast']);
  assert.equal(env.queue.length, 0, 'no round trip');
  env.isolate(1);
  env.tick(1, 9);
  env.clearQueue();
  assert.equal(env.node(1).raw.leaseValid(), false);
  env.node(1).raw.readIndex(enc('slow'));
  env.processReadies();
  assert.ok(env.queue.some((m) => m.type === MessageType.Heartbeat && m.context !== undefined && dec(m.context) === 'slow'));
  assert.equal(env.node(1).readStates.length, 1);
});

test('lease: lost during a leader transfer and for the rest of the term once TimeoutNow went out', () => {
  const env = Env.create(3, { checkQuorum: true });
  env.campaign(1);
  env.tick(1);
  env.stabilize();
  assert.equal(env.node(1).raw.leaseValid(), true);
  env.isolate(2);
  env.node(1).raw.transferLeader(2);
  assert.equal(env.node(1).raw.leaseValid(), false, 'transferring');
  env.stabilize(); // TimeoutNow lost
  env.tick(1, 10); // transfer aborted
  env.heal();
  env.tick(1);
  env.stabilize();
  assert.equal(env.raft(1).leadTransferee, 0);
  assert.equal(env.node(1).raw.leaseValid(), false, 'a delayed TimeoutNow could still elect 2');
});

test('lease: a restarted follower ignores vote requests for one election timeout', () => {
  const env = Env.create(3, { checkQuorum: true });
  env.campaign(1);
  env.tick(1);
  env.stabilize();
  env.restart(2);
  env.restart(3);
  env.isolate(1);
  const t = env.campaign(3);
  assert.ok(!t.some((l) => l.startsWith('2->3 VoteResp')), t.join('\n'));
  env.tick(2, 10);
  const t2 = env.campaign(3);
  assert.ok(t2.some((l) => l.startsWith('2->3 VoteResp') && l.endsWith('granted')), t2.join('\n'));
});
