// Log replication (§5.3), flow control, batching, the commit rule (§5.4.2).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfChangeType, MessageType, ProgressState, StateRole } from '../../src/raft';
import { Env, enc } from './harness';

test('a proposal is replicated, committed by a majority and applied everywhere', () => {
  const env = Env.create(3);
  env.campaign(1);
  assert.equal(env.propose(1, 'a'), undefined);
  const t = env.stabilize();
  assert.deepEqual(t.slice(0, 4), [
    '1->2 App term=1 prev=2/1 commit=2 ents=[3/1:a]',
    '1->3 App term=1 prev=2/1 commit=2 ents=[3/1:a]',
    '2->1 AppResp term=1 index=3',
    '3->1 AppResp term=1 index=3',
  ]);
  for (const id of [1, 2, 3]) assert.deepEqual(env.data(id), ['a']);
});

test('Ready: a follower acknowledges only after writing; the leader sends before writing and self-acks on advance', () => {
  const env = Env.create(3);
  env.campaign(1);
  env.node(1).raw.propose(enc('a'));
  const rd = env.node(1).raw.ready();
  assert.equal(rd.entries.length, 1);
  assert.ok(rd.messages.some((m) => m.type === MessageType.App), 'MsgApp may go before the write');
  assert.equal(rd.mustSync, true);
  // Until advance, the leader does not count itself: two follower acks are needed.
  assert.equal(env.raft(1).prs.get(1)!.match, 2);
  env.node(1).raw.advance(rd);
  assert.equal(env.raft(1).prs.get(1)!.match, 3);
  env.node(2).raw.step({ ...rd.messages.find((m) => m.to === 2)! });
  const frd = env.node(2).raw.ready();
  assert.equal(frd.messages.length, 0);
  assert.deepEqual(
    frd.persistedMessages.map((m) => MessageType[m.type]),
    ['AppResp'],
  );
  env.node(2).raw.advance(frd);
});

test('a follower with a conflicting suffix is truncated to the leader’s log (fast backtracking)', () => {
  const env = Env.create(3);
  env.campaign(1);
  env.propose(1, 'a');
  env.stabilize();
  env.isolate(1);
  for (const d of ['x1', 'x2', 'x3']) env.propose(1, d); // term 1, indexes 4-6, never replicated
  env.stabilize();
  env.campaign(2); // term 2 with 3
  env.propose(2, 'y1');
  env.propose(2, 'y2');
  env.stabilize();
  env.campaign(3); // term 3 with 2; its first probe to 1 is at prev=6/2
  env.heal();
  env.tick(3);
  const t = env.stabilize();
  // 1 rejects with a hint (its last index at or below 6 whose term is ≤ 2);
  // 3 jumps back past the whole term-2 run in one step.
  assert.ok(t.includes('1->3 AppResp term=3 index=6 reject hint=6/1'), t.join('\n'));
  assert.ok(t.some((l) => l.startsWith('3->1 App term=3 prev=3/1')), t.join('\n'));
  assert.deepEqual(env.data(1), ['a', 'y1', 'y2']);
  assert.equal(env.raft(1).log.lastIndex(), env.raft(3).log.lastIndex());
});

test('progress: probe until the first ack, then replicate', () => {
  const env = Env.create(2);
  env.campaign(1);
  env.isolate(2);
  env.propose(1, 'a');
  env.stabilize();
  env.heal();
  env.node(1).raw.reportUnreachable(2);
  assert.equal(env.raft(1).prs.get(2)!.state, ProgressState.Probe);
  env.propose(1, 'b');
  env.processReadies();
  const probe = env.queue.filter((m) => m.type === MessageType.App && m.to === 2);
  assert.equal(probe.length, 1, 'one probe at a time');
  env.propose(1, 'c');
  env.processReadies();
  assert.equal(env.queue.filter((m) => m.type === MessageType.App && m.to === 2).length, 1, 'paused while probing');
  env.stabilize();
  assert.equal(env.raft(1).prs.get(2)!.state, ProgressState.Replicate);
  assert.deepEqual(env.data(2), ['a', 'b', 'c']);
});

test('progress: a follower back from a stall answers every heartbeat it missed; one probe goes out again, not one per answer', () => {
  const env = Env.create(3);
  env.campaign(1);
  env.propose(1, 'a');
  env.stabilize();
  env.node(1).raw.reportUnreachable(3);
  env.propose(1, 'b');
  env.processReadies();
  // The probe to 3 is lost; 3 then stalls: the heartbeats sent to it wait, unread.
  env.queue = env.queue.filter((m) => !(m.type === MessageType.App && m.to === 3));
  const to3 = (m: { to: number }) => m.to === 3;
  for (let i = 0; i < 5; i++) {
    env.tick(1);
    while (env.deliver((m) => !to3(m)).length > 0);
  }
  assert.equal(env.queue.filter((m) => m.type === MessageType.Heartbeat && m.to === 3).length, 5);
  // 3 comes back and reads them all at once: five answers reach the leader together.
  env.deliver(to3);
  env.processReadies();
  assert.equal(env.queue.filter((m) => m.type === MessageType.HeartbeatResp && m.from === 3).length, 5);
  env.deliver((m) => m.to === 1);
  env.processReadies();
  const probes = env.queue.filter((m) => m.type === MessageType.App && m.to === 3);
  assert.equal(probes.length, 1, 'the first answer to a heartbeat sent after the lost probe sends it again; the older answers send nothing');
  assert.deepEqual(probes[0].entries.map((e) => e.index), [4]);
  env.stabilize();
  assert.deepEqual(env.data(3), ['a', 'b']);
});

test('flow control: the inflight window bounds MsgApp per follower; acks reopen it', () => {
  const env = Env.create(2, { maxInflightMsgs: 2, batchAppends: false });
  env.campaign(1);
  for (let i = 0; i < 5; i++) env.propose(1, `p${i}`);
  env.processReadies();
  const apps = env.queue.filter((m) => m.type === MessageType.App);
  assert.equal(apps.length, 2);
  assert.equal(env.raft(1).prs.get(2)!.inflights.full(), true);
  env.stabilize();
  assert.deepEqual(env.data(2), ['p0', 'p1', 'p2', 'p3', 'p4']);
});

test('flow control: maxSizePerMsg bounds the entries per MsgApp (one entry at least)', () => {
  const env = Env.create(2, { maxSizePerMsg: 40 });
  env.campaign(1);
  env.isolate(2);
  for (let i = 0; i < 6; i++) env.propose(1, `e${i}`);
  env.stabilize();
  env.heal();
  env.tick(1);
  const t = env.stabilize();
  const sizes = t.filter((l) => l.startsWith('1->2 App')).map((l) => (l.match(/ents=\[(.*)\]/)![1].match(/\d+\/\d+/g) ?? []).length);
  assert.ok(sizes.every((n) => n <= 2), `entries per message: ${sizes}`);
  assert.ok(sizes.length >= 3);
  assert.equal(env.data(2).length, 6);
});

test('proposal batching: proposals between two Readys go out in one MsgApp', () => {
  const batched = Env.create(3, { batchAppends: true });
  batched.campaign(1);
  for (let i = 0; i < 10; i++) batched.propose(1, `b${i}`);
  batched.processReadies();
  const apps = batched.queue.filter((m) => m.type === MessageType.App && m.to === 2);
  assert.equal(apps.length, 1);
  assert.equal(apps[0].entries.length, 10);

  const unbatched = Env.create(3, { batchAppends: false });
  unbatched.campaign(1);
  for (let i = 0; i < 10; i++) unbatched.propose(1, `b${i}`);
  unbatched.processReadies();
  assert.equal(unbatched.queue.filter((m) => m.type === MessageType.App && m.to === 2).length, 10);
  batched.stabilize();
  unbatched.stabilize();
  assert.deepEqual(batched.data(3), unbatched.data(3));
});

/**
 * Leader 1 proposes `value`, the followers take it and their acceptances are
 * stepped on the leader (its commit moves), before the leader's next Ready.
 */
function proposeAndAck(env: Env, value: string): void {
  env.propose(1, value);
  env.processReadies();
  env.deliver((m) => m.to !== 1);
  env.processReadies();
  for (const m of env.queue.filter((q) => q.to === 1)) env.node(1).raw.step({ ...m });
  env.queue = env.queue.filter((q) => q.to !== 1);
}

test('batching: a commit that moves in the same turn as new proposals rides their MsgApp (no commit-only MsgApp)', () => {
  for (const batchAppends of [true, false]) {
    const env = Env.create(3, { batchAppends });
    env.campaign(1);
    env.stabilize();
    // Then a new proposal arrives before the leader's next Ready: one busy round of a loaded leader.
    proposeAndAck(env, 'a');
    env.propose(1, 'b');
    env.processReadies();
    const apps = env.queue.filter((m) => m.type === MessageType.App && m.to === 2);
    const committedA = env.commit(1);
    if (batchAppends) {
      assert.equal(apps.length, 1, 'one MsgApp: the new entry and the new commit');
      assert.equal(apps[0].entries.length, 1);
      assert.equal(apps[0].commit, committedA);
    } else {
      assert.equal(apps.length, 2, 'unbatched: a commit-only MsgApp, then the entry');
      assert.equal(apps[0].entries.length, 0);
    }
    env.stabilize();
    assert.deepEqual(env.data(2), ['a', 'b']);
    assert.equal(env.commit(2), env.commit(1));
  }
});

test('batching: a commit with no new proposal still reaches the followers in the same Ready', () => {
  const env = Env.create(3);
  env.campaign(1);
  env.stabilize();
  proposeAndAck(env, 'a');
  env.processReadies();
  const apps = env.queue.filter((m) => m.type === MessageType.App && m.to !== 1);
  assert.equal(apps.length, 2);
  for (const m of apps) {
    assert.equal(m.entries.length, 0);
    assert.equal(m.commit, env.commit(1));
  }
});

test('deferCommit: a moved commit waits for the next MsgApp with entries, or the next tick; a conf change commit goes at once', () => {
  const env = Env.create(3, { deferCommit: true });
  env.campaign(1);
  env.stabilize();
  assert.equal(env.commit(2), env.commit(1), 'the new term\'s first entry: commit sent at once');
  proposeAndAck(env, 'a');
  env.processReadies();
  const committedA = env.commit(1);
  assert.equal(env.queue.filter((m) => m.type === MessageType.App).length, 0, 'no commit-only MsgApp');
  assert.ok(env.commit(2) < committedA);
  // The next proposal's MsgApp carries it.
  env.propose(1, 'b');
  env.processReadies();
  const apps = env.queue.filter((m) => m.type === MessageType.App && m.to === 2);
  assert.equal(apps.length, 1);
  assert.equal(apps[0].commit, committedA);
  env.stabilize();
  // 'b' is committed on the leader; the followers hear it at the next tick.
  assert.ok(env.commit(2) < env.commit(1));
  env.tick(1);
  env.stabilize();
  assert.equal(env.commit(2), env.commit(1));
  assert.equal(env.commit(3), env.commit(1));
  assert.deepEqual(env.data(3), ['a', 'b']);
  // A conf change's commit is not deferred: a removed replica hears it.
  env.proposeConfChange(1, { type: ConfChangeType.RemoveNode, nodeId: 3 });
  env.stabilize();
  assert.equal(env.commit(3), env.commit(1));
});

test('a follower that takes several MsgApps before one write accepts them with one AppResp (the highest index)', () => {
  const env = Env.create(3);
  env.campaign(1);
  env.stabilize();
  for (const v of ['a', 'b', 'c']) {
    env.propose(1, v);
    env.processReadies();
  }
  // Three MsgApps to 2 are queued; 2 steps them all before its next Ready.
  const toTwo = env.queue.filter((m) => m.to === 2 && m.type === MessageType.App);
  assert.equal(toTwo.length, 3);
  env.queue = env.queue.filter((m) => !toTwo.includes(m));
  for (const m of toTwo) env.node(2).raw.step({ ...m });
  env.processReadies();
  const resps = env.queue.filter((m) => m.from === 2 && m.type === MessageType.AppResp);
  assert.equal(resps.length, 1);
  assert.equal(resps[0].index, toTwo[2].index + toTwo[2].entries.length);
  env.stabilize();
  assert.deepEqual(env.data(2), ['a', 'b', 'c']);
});

test('proposeBatch: many entries in one proposal message', () => {
  const env = Env.create(3);
  env.campaign(1);
  env.node(1).raw.proposeBatch([enc('a'), enc('b'), enc('c')]);
  env.stabilize();
  assert.deepEqual(env.data(3), ['a', 'b', 'c']);
});

test('a new leader appends a no-op and commits earlier-term entries only through it (§5.4.2, Figure 8)', () => {
  const env = Env.create(5);
  env.campaign(1);
  // 1 (term 1) appends 'old' at index 3 and gets it only to 2.
  env.propose(1, 'old');
  env.processReadies();
  env.queue = env.queue.filter((m) => m.to === 2);
  env.deliver();
  env.clearQueue();
  assert.equal(env.raft(2).log.lastIndex(), 3);
  // 5 wins term 2 with 3 and 4, but its appends (no-op at 3, 'other' at 4) reach nobody.
  env.isolate(1);
  env.isolate(2);
  env.node(5).raw.campaign();
  env.deliver((m) => m.type === MessageType.Vote);
  env.deliver((m) => m.type === MessageType.VoteResp);
  assert.equal(env.role(5), StateRole.Leader);
  env.isolate(5);
  env.propose(5, 'other');
  env.stabilize();
  env.heal();
  env.isolate(5);
  // 2 loses term 2 (3 and 4 voted for 5) and wins term 3 with 1, 3, 4.
  env.campaign(2);
  assert.equal(env.raft(2).term, 2);
  env.node(2).raw.campaign();
  env.deliver((m) => m.type === MessageType.Vote);
  env.deliver((m) => m.type === MessageType.VoteResp);
  assert.equal(env.role(2), StateRole.Leader);
  assert.equal(env.raft(2).term, 3);
  // Replicate to 1 and 3 only; 3 gets index 3 ('old', term 1) but loses the no-op.
  env.dropIf = (m) => m.to === 4 || m.to === 5 || m.from === 4 || m.from === 5;
  for (let round = 0; round < 6; round++) {
    env.processReadies();
    env.queue = env.queue.map((m) => (m.type === MessageType.App && m.to === 3 ? { ...m, entries: m.entries.filter((e) => e.index === 3) } : m));
    env.deliver();
  }
  assert.equal(env.raft(3).log.lastIndex(), 3);
  assert.equal(env.raft(3).log.term(3), 1);
  // 'old' is on 1, 2 and 3 — a majority — yet, being of term 1, it is not committed.
  assert.equal(env.commit(2), 2);
  // Once the term-3 no-op reaches a majority, both commit.
  env.heal();
  env.tick(2);
  env.stabilize();
  assert.equal(env.commit(2), 4);
  assert.deepEqual(env.data(2), ['old']);
  assert.deepEqual(env.data(5), ['old']);
});

test('committed entries survive a restart; unpersisted ones are lost', () => {
  const env = Env.create(3);
  env.campaign(1);
  env.propose(1, 'a');
  env.stabilize();
  env.node(2).raw.propose(enc('b')); // forwarded
  env.deliver();
  env.restart(1); // 1 had 'b' only in memory
  env.clearQueue();
  assert.equal(env.raft(1).log.lastIndex(), 3);
  env.tickAll(30);
  env.stabilize();
  for (let i = 0; i < 30 && env.leaders().length === 0; i++) {
    env.tickAll();
    env.stabilize();
  }
  env.propose(env.leaders()[0], 'c');
  env.stabilize();
  for (const id of [1, 2, 3]) assert.deepEqual(env.data(id).filter((d) => d !== 'b').slice(-2), ['a', 'c']);
});

test('pipelined Readys: a second Ready while the first write is in flight carries only the new entries', () => {
  const env = Env.create(3);
  env.campaign(1);
  const raw = env.node(1).raw;
  raw.propose(enc('a'));
  const rd1 = raw.ready();
  raw.propose(enc('b'));
  assert.equal(raw.hasReady(), true);
  const rd2 = raw.ready();
  assert.deepEqual(rd1.entries.map((e) => e.index), [3]);
  assert.deepEqual(rd2.entries.map((e) => e.index), [4]);
  assert.throws(() => raw.advance(rd2), /order/);
  const st = env.node(1).storage;
  st.append(rd1.entries);
  raw.advance(rd1);
  assert.equal(env.raft(1).prs.get(1)!.match, 3, 'self-ack covers only the written Ready');
  st.append(rd2.entries);
  raw.advance(rd2);
  assert.equal(env.raft(1).prs.get(1)!.match, 4);
  env.queue.push(...rd1.messages, ...rd2.messages);
  env.stabilize();
  assert.deepEqual(env.data(2), ['a', 'b']);
});
