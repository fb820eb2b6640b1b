// Hibernation: a quiet leader's hint, the followers' answers, what wakes a
// group, and the lease rule after waking (docs/decisions.md, "Hibernate idle regions").
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Message, MessageType, ReadOnlyOption, StateRole } from '../../src/raft';
import { Env, enc, types } from './harness';

const HIBERNATE = { checkQuorum: true, preVote: true, hibernateTicks: 10 };

/** Ticks every node once and delivers everything, `n` times; returns the trace. */
function idle(env: Env, n: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    env.tickAll();
    out.push(...env.stabilize());
  }
  return out;
}

/** A 3-voter group with leader 1 and one entry committed everywhere. */
function group(overrides = {}): Env {
  const env = Env.create(3, { ...HIBERNATE, ...overrides });
  env.campaign(1);
  env.propose(1, 'a');
  env.stabilize();
  return env;
}

const asleep = (env: Env) => [1, 2, 3].filter((id) => env.raft(id).hibernating);

test('a quiet leader asks after hibernateTicks; followers answer and sleep; the leader sleeps once every voter did', () => {
  const env = group();
  const before = idle(env, 9);
  assert.ok(!before.some((l) => l.includes('Hibernate')), 'no hint before 10 quiet ticks');
  const t = idle(env, 1);
  assert.ok(t.includes('1->2 Hibernate term=1 last=3/1 commit=3'), t.join('\n'));
  assert.ok(t.includes('2->1 HibernateResp term=1 index=3'), t.join('\n'));
  assert.deepEqual(asleep(env), [1, 2, 3]);
  // Asleep: ticks do nothing, no message goes out, nobody campaigns.
  const quiet = idle(env, 100);
  assert.deepEqual(quiet, []);
  assert.equal(env.role(1), StateRole.Leader);
  assert.equal(env.raft(1).term, 1);
});

test('a proposal wakes the group, commits, and the group sleeps again later', () => {
  const env = group();
  idle(env, 10);
  assert.deepEqual(asleep(env), [1, 2, 3]);
  env.propose(1, 'b');
  env.stabilize();
  assert.deepEqual(asleep(env), []);
  assert.deepEqual(env.data(2), ['a', 'b']);
  idle(env, 11);
  assert.deepEqual(asleep(env), [1, 2, 3]);
});

test('any message but the hint wakes a follower, whose election timer starts from zero', () => {
  const env = group();
  idle(env, 10);
  env.raft(2).electionElapsed = 7;
  env.node(2).raw.step({ ...hintFrom(env, 1, 2), type: MessageType.Hibernate });
  assert.equal(env.raft(2).hibernating, true, 'a repeated hint keeps it asleep');
  env.clearQueue();
  // A pre-vote from 3 (say it woke alone): 2 wakes and, having heard from its
  // leader just now, refuses; the leader wakes too and heartbeats.
  env.node(3).raw.wake();
  env.tick(3, 40);
  const t = env.stabilize();
  assert.ok(t.some((l) => l.startsWith('3->2 PreVote')), t.join('\n'));
  assert.equal(env.raft(2).hibernating, false);
  assert.equal(env.raft(1).hibernating, false);
  assert.ok(t.some((l) => l.startsWith('1->3 Heartbeat')), 'the woken leader heartbeats');
  assert.equal(env.role(1), StateRole.Leader);
  assert.equal(env.raft(1).term, 1, 'pre-vote: no term change');
});

function hintFrom(env: Env, from: number, to: number): Message {
  const r = env.raft(from);
  return { type: MessageType.Hibernate, from, to, term: r.term, logTerm: r.log.lastTerm(), index: r.log.lastIndex(), entries: [], commit: r.log.committed, reject: false, rejectHint: 0 };
}

test('a follower whose log differs refuses the hint (and commits nothing past what matches)', () => {
  const env = group();
  const f = env.node(2).raw;
  const hint = hintFrom(env, 1, 2);
  f.step({ ...hint, index: hint.index + 5, commit: hint.commit + 5 });
  assert.equal(env.raft(2).hibernating, false);
  assert.equal(env.raft(2).log.committed, 3);
  const t = env.stabilize();
  assert.ok(t.includes('2->1 HibernateResp term=1 index=8 reject'), t.join('\n'));
  // A follower with hibernation off refuses too.
  const off = Env.create(3, { ...HIBERNATE, hibernateTicks: 0 });
  off.campaign(1);
  off.node(2).raw.step(hintFrom(off, 1, 2));
  assert.equal(off.raft(2).hibernating, false);
});

test('a voter that never gets the hint keeps the leader awake; check-quorum counts the sleeping voter', () => {
  const env = group();
  env.isolate(3); // its store is down
  idle(env, 10);
  assert.equal(env.raft(2).hibernating, true);
  const t = idle(env, 60);
  assert.equal(env.raft(2).hibernating, true);
  assert.equal(env.raft(1).hibernating, false, 'not every voter took the hint');
  assert.equal(env.role(1), StateRole.Leader, 'no step-down: voter 2 sleeps, it is not lost');
  assert.ok(!t.some((l) => l.startsWith('1->2 ')), 'nothing wakes the sleeping voter');
  assert.ok(t.filter((l) => l.startsWith('1->3 Hibernate')).length >= 50, 'the hint is repeated each heartbeat interval');
  // Once it arrives, everyone sleeps.
  env.heal();
  idle(env, 2);
  assert.deepEqual(asleep(env), [1, 2, 3]);
  assert.equal(env.raft(1).term, 1);
});

test('lease: none while asleep; after waking, none until a quorum acks a fresh heartbeat', () => {
  const env = group({ readOnlyOption: ReadOnlyOption.LeaseBased });
  idle(env, 2);
  assert.equal(env.node(1).raw.leaseValid(), true, 'a lease while awake');
  // Keep one ack from before the sleep to replay later.
  env.tick(1);
  env.deliver((m) => m.type === MessageType.Heartbeat);
  env.processReadies();
  const staleAcks = env.queue.filter((m) => m.type === MessageType.HeartbeatResp).map((m) => ({ ...m }));
  assert.ok(staleAcks.length > 0);
  env.stabilize();
  idle(env, 10);
  assert.deepEqual(asleep(env), [1, 2, 3]);
  assert.equal(env.node(1).raw.leaseValid(), false, 'asleep: no lease');

  // The leader is cut off while asleep (its store partitioned), then woken by a read.
  env.isolate(1);
  env.node(1).raw.readIndex(enc('r1'));
  assert.equal(env.raft(1).hibernating, false);
  for (const m of staleAcks) env.node(1).raw.step(m);
  assert.equal(env.node(1).raw.leaseValid(), false, 'acks from before the sleep do not count');
  env.stabilize();
  assert.deepEqual(env.node(1).readStates, [], 'no lease read: the read waits for a quorum');
  // The followers elect a new leader meanwhile (their stores saw the old one go silent).
  env.node(2).raw.wake();
  env.node(3).raw.wake();
  for (let i = 0; i < 40 && env.leaders().every((id) => id === 1); i++) idle(env, 1);
  const other = env.leaders().find((id) => id !== 1);
  assert.ok(other, 'a new leader among 2 and 3');
  env.propose(other, 'new');
  env.stabilize();
  assert.deepEqual(env.node(1).readStates, [], 'the old leader still serves nothing');
  assert.equal(env.node(1).raw.leaseValid(), false);
  // Healed: the old leader steps down and the read it held is never answered as a lease read.
  env.heal();
  idle(env, 3);
  assert.notEqual(env.role(1), StateRole.Leader);
});

test('a woken leader regains its lease from one acknowledged heartbeat round', () => {
  const env = group({ readOnlyOption: ReadOnlyOption.LeaseBased });
  idle(env, 12);
  assert.deepEqual(asleep(env), [1, 2, 3]);
  env.node(1).raw.readIndex(enc('r1'));
  assert.equal(env.node(1).raw.leaseValid(), false);
  const t = env.stabilize();
  assert.ok(types(t).includes('1->2 Heartbeat'), t.join('\n'));
  assert.deepEqual(env.node(1).readStates.map((r) => r.index), [3], 'answered after the heartbeat round');
  assert.equal(env.node(1).raw.leaseValid(), true);
});

test('a leader transfer, a conf change or a campaign wakes the group', () => {
  const env = group();
  idle(env, 10);
  env.node(1).raw.transferLeader(3);
  env.stabilize();
  assert.equal(env.role(3), StateRole.Leader);
  assert.deepEqual(asleep(env), []);
  idle(env, 10);
  assert.deepEqual(asleep(env), [1, 2, 3]);
  assert.equal(env.proposeConfChange(3, { type: 1, nodeId: 2 }), undefined);
  env.stabilize();
  assert.deepEqual(asleep(env), []);
});
