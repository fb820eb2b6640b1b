// Leader election (Raft §5.2, §5.4.1), pre-vote and check-quorum (thesis §9.6).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MessageType, StateRole } from '../../src/raft';
import { Env, types } from './harness';

test('a campaign wins a majority: vote requests, grants, then the no-op append', () => {
  const env = Env.create(3);
  const trace = env.campaign(1);
  assert.deepEqual(trace.slice(0, 4), [
    '1->2 Vote term=1 last=1/0',
    '1->3 Vote term=1 last=1/0',
    '2->1 VoteResp term=1 granted',
    '3->1 VoteResp term=1 granted',
  ]);
  assert.ok(trace.includes('1->2 App term=1 prev=1/0 commit=1 ents=[2/1]'), trace.join('\n'));
  assert.equal(env.role(1), StateRole.Leader);
  assert.equal(env.raft(2).lead, 1);
  // The no-op of term 1 commits everywhere.
  for (const id of [1, 2, 3]) assert.equal(env.commit(id), 2);
});

test('randomized election timeouts: the first follower to time out wins, within [e, 2e) ticks', () => {
  const env = Env.create(5);
  let ticks = 0;
  while (env.leaders().length === 0 && ticks < 40) {
    env.tickAll();
    env.stabilize();
    ticks++;
  }
  assert.equal(env.leaders().length, 1);
  assert.ok(ticks >= 10 && ticks < 20, `elected after ${ticks} ticks`);
  // Timeouts differ per node (seeded): not everyone became a candidate.
  const candidates = new Set(env.trace.filter((l) => l.includes(' Vote ')).map((l) => l.split('->')[0]));
  assert.equal(candidates.size, 1);
});

test('each node votes at most once per term', () => {
  const env = Env.create(3);
  env.node(1).raw.campaign();
  env.node(2).raw.campaign();
  // Deliver only 1's request to 3 first: 3 votes for 1 and must then refuse 2.
  env.deliver((m) => m.type === MessageType.Vote && m.from === 1 && m.to === 3);
  const t = env.stabilize();
  assert.ok(t.includes('3->1 VoteResp term=1 granted'), t.join('\n'));
  assert.ok(t.includes('3->2 VoteResp term=1 reject'), t.join('\n'));
  assert.deepEqual(env.leaders(), [1]);
});

test('a candidate whose log is less up-to-date is refused (§5.4.1)', () => {
  const env = Env.create(3);
  env.campaign(1);
  env.isolate(3);
  env.propose(1, 'x');
  env.stabilize();
  env.heal();
  // 3 missed entry 3; its request carries last=2/1 and 1, 2 have 3/1.
  const t = env.campaign(3);
  assert.ok(t.includes('1->3 VoteResp term=2 reject'), t.join('\n'));
  assert.ok(t.includes('2->3 VoteResp term=2 reject'), t.join('\n'));
  assert.notEqual(env.role(3), StateRole.Leader);
});

test('a split vote ends in a new election at a higher term', () => {
  const env = Env.create(4);
  env.cut(1, 2);
  env.cut(3, 4);
  env.cut(1, 4);
  env.cut(2, 3);
  env.node(1).raw.campaign();
  env.node(3).raw.campaign();
  env.stabilize();
  assert.deepEqual(env.leaders(), []);
  env.heal();
  env.tickAll(20);
  env.stabilize();
  for (let i = 0; i < 30 && env.leaders().length === 0; i++) {
    env.tickAll();
    env.stabilize();
  }
  assert.equal(env.leaders().length, 1);
  assert.ok(env.raft(env.leaders()[0]).term >= 2);
});

test('a candidate steps down when it hears from a leader of its term', () => {
  const env = Env.create(3);
  env.node(1).raw.campaign();
  env.node(2).raw.campaign(); // both candidates in term 1
  env.deliver((m) => (m.from === 1 && m.to === 3) || (m.from === 3 && m.to === 1));
  env.deliver((m) => (m.from === 1 && m.to === 3) || (m.from === 3 && m.to === 1));
  assert.equal(env.role(1), StateRole.Leader);
  assert.equal(env.role(2), StateRole.Candidate);
  env.stabilize(); // 2 gets 1's append of term 1
  assert.equal(env.role(2), StateRole.Follower);
  assert.equal(env.raft(2).lead, 1);
});

test('pre-vote: a partitioned node does not raise its term and does not disrupt the leader on return', () => {
  const env = Env.create(3, { preVote: true });
  env.campaign(1);
  env.isolate(3);
  env.propose(1, 'x');
  env.stabilize();
  for (let i = 0; i < 5; i++) {
    env.tick(3, 20);
    env.stabilize();
  }
  assert.equal(env.raft(3).term, 1, 'pre-candidate kept its term');
  assert.equal(env.role(3), StateRole.PreCandidate);
  env.heal();
  const t = env.campaign(3);
  assert.deepEqual(types(t).slice(0, 2), ['3->1 PreVote', '3->2 PreVote']);
  assert.ok(t.includes('1->3 PreVoteResp term=1 reject'), t.join('\n'));
  assert.deepEqual(env.leaders(), [1]);
  assert.equal(env.raft(1).term, 1);
});

test('pre-vote then vote: a real campaign after a pre-vote majority', () => {
  const env = Env.create(3, { preVote: true });
  const t = env.campaign(1);
  assert.deepEqual(types(t).slice(0, 8), [
    '1->2 PreVote',
    '1->3 PreVote',
    '2->1 PreVoteResp',
    '3->1 PreVoteResp',
    '1->2 Vote',
    '1->3 Vote',
    '2->1 VoteResp',
    '3->1 VoteResp',
  ]);
  assert.equal(env.role(1), StateRole.Leader);
  assert.equal(env.raft(1).term, 1);
});

test('check-quorum: an isolated leader steps down after an election timeout', () => {
  const env = Env.create(3, { checkQuorum: true });
  env.campaign(1);
  env.isolate(1);
  env.tick(1, 10);
  env.stabilize();
  assert.equal(env.role(1), StateRole.Leader, 'one timeout: the peers were active in the last round');
  env.tick(1, 10);
  assert.equal(env.role(1), StateRole.Follower);
});

test('check-quorum: followers that heard from a leader ignore vote requests (leader stickiness)', () => {
  const env = Env.create(3, { checkQuorum: true });
  env.campaign(1);
  const t = env.campaign(3);
  // 1 and 2 neither answer nor bump their term: no VoteResp at all.
  assert.ok(!t.some((l) => l.includes('VoteResp')), t.join('\n'));
  assert.equal(env.raft(2).term, 1);
  assert.deepEqual(env.leaders(), [1]);
});

test('a stale leader learns the new term from a follower and steps down', () => {
  const env = Env.create(3, { checkQuorum: true });
  env.campaign(1);
  env.isolate(1);
  for (let i = 0; i < 40 && !env.leaders().some((id) => id !== 1); i++) {
    env.tick(2);
    env.tick(3);
    env.stabilize();
  }
  const others = env.leaders().filter((id) => id !== 1);
  assert.equal(others.length, 1);
  assert.equal(env.role(1), StateRole.Leader, 'the old leader has not noticed yet');
  env.heal();
  env.tick(1); // heartbeat at the old term
  const t = env.stabilize();
  const newTerm = env.raft(others[0]).term;
  assert.ok(t.some((l) => l.endsWith(`->1 AppResp term=${newTerm} index=0`)), t.join('\n'));
  assert.equal(env.role(1), StateRole.Follower);
  env.tick(others[0]);
  env.stabilize();
  assert.equal(env.raft(1).lead, others[0]);
});

test('restart keeps term and vote: no second vote in the same term', () => {
  const env = Env.create(3);
  env.node(1).raw.campaign();
  env.deliver((m) => m.to === 2);
  env.processReadies(); // 2 persisted its vote for 1
  env.restart(2);
  env.node(3).raw.campaign();
  env.deliver((m) => m.from === 3 && m.to === 2);
  const t = env.deliver((m) => m.from === 2 && m.to === 3);
  assert.deepEqual(t, ['2->3 VoteResp term=1 reject']);
});

test('a refused vote request does not restart the election timer (§5.2)', () => {
  const env = Env.create(3);
  env.campaign(1);
  env.isolate(3);
  env.propose(1, 'x'); // 3 falls behind
  env.stabilize();
  env.isolate(1); // the leader goes away
  env.tick(2, 5);
  env.heal();
  env.isolate(1);
  env.campaign(3); // stale log: 2 refuses, but keeps its 5 elapsed ticks
  assert.equal(env.raft(2).electionElapsed, 5);
  assert.equal(env.raft(2).term, 2);
});
