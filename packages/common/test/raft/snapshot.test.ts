// Log compaction and snapshots (§7): send, install, failure, fast-forward.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ErrCompacted, ErrSnapshotTemporarilyUnavailable, MemoryStorage, MessageType, ProgressState } from '../../src/raft';
import { Env, enc } from './harness';

function compactLeader(env: Env, id: number): number {
  const n = env.node(id);
  const applied = n.applied[n.applied.length - 1].index;
  n.storage.createSnapshot(applied, n.confState, enc(`state@${applied}`));
  n.storage.compact(applied);
  return applied;
}

test('a follower behind the compacted log gets a snapshot, installs it, then replicates', () => {
  const env = Env.create(3);
  env.campaign(1);
  env.isolate(3);
  for (let i = 0; i < 5; i++) env.propose(1, `e${i}`);
  env.stabilize();
  const at = compactLeader(env, 1);
  assert.equal(at, 7);
  env.heal();
  env.propose(1, 'after');
  const t = env.stabilize();
  assert.ok(t.includes('1->3 Snap term=1 snap=7/1'), t.join('\n'));
  assert.equal(env.node(3).storage.firstIndex(), 8);
  assert.equal(env.raft(1).prs.get(3)!.state, ProgressState.Replicate);
  assert.deepEqual(env.data(3), ['after'], 'entries after the snapshot are applied');
  assert.equal(env.raft(3).log.applied, 8);
});

test('while a snapshot is in flight the follower is paused; a failed snapshot goes back to probe', () => {
  const env = Env.create(3);
  env.campaign(1);
  env.isolate(3);
  for (let i = 0; i < 3; i++) env.propose(1, `e${i}`);
  env.stabilize();
  compactLeader(env, 1);
  env.heal();
  env.dropIf = (m) => m.type === MessageType.Snap;
  env.tick(1);
  env.stabilize();
  const pr = env.raft(1).prs.get(3)!;
  assert.equal(pr.state, ProgressState.Snapshot);
  assert.equal(pr.isPaused(), true);
  env.node(1).raw.reportSnapshot(3, false);
  assert.equal(pr.state, ProgressState.Probe);
  env.heal();
  env.tick(1);
  env.stabilize();
  assert.equal(env.raft(1).prs.get(3)!.state, ProgressState.Replicate);
  assert.equal(env.commit(3), env.commit(1));
});

test('a snapshot that is temporarily unavailable is retried later', () => {
  const env = Env.create(3);
  env.campaign(1);
  env.isolate(3);
  env.propose(1, 'a');
  env.stabilize();
  compactLeader(env, 1);
  const st = env.node(1).storage;
  const real = st.snapshot.bind(st);
  let busy = true;
  st.snapshot = () => {
    if (busy) throw new ErrSnapshotTemporarilyUnavailable();
    return real();
  };
  env.heal();
  env.tick(1);
  let t = env.stabilize();
  assert.ok(!t.some((l) => l.includes(' Snap ')));
  busy = false;
  env.tick(1);
  t = env.stabilize();
  assert.ok(t.some((l) => l.includes(' Snap ')), t.join('\n'));
  assert.equal(env.commit(3), env.commit(1));
});

test('a snapshot the follower already has in its log only moves its commit index', () => {
  const env = Env.create(2);
  env.campaign(1);
  env.propose(1, 'a');
  env.stabilize();
  const r2 = env.raft(2);
  const before = r2.log.lastIndex();
  const snap = { meta: { index: 3, term: 1, confState: { voters: [1, 2], learners: [] } }, data: new Uint8Array(0) };
  env.node(2).raw.step({ type: MessageType.Snap, from: 1, to: 2, term: 1, logTerm: 0, index: 0, entries: [], commit: 0, reject: false, rejectHint: 0, snapshot: snap });
  assert.equal(r2.log.unstable.snapshot, undefined);
  assert.equal(r2.log.lastIndex(), before);
});

test('a restarted node resumes from its snapshot and log', () => {
  const env = Env.create(3);
  env.campaign(1);
  for (let i = 0; i < 4; i++) env.propose(1, `e${i}`);
  env.stabilize();
  compactLeader(env, 2);
  env.restart(2);
  assert.equal(env.raft(2).log.firstIndex(), 7);
  assert.equal(env.raft(2).log.committed, 6);
  env.propose(1, 'x');
  env.stabilize();
  assert.equal(env.commit(2), 7);
});

test('MemoryStorage: compaction and out-of-range errors', () => {
  const s = new MemoryStorage();
  s.append([1, 2, 3, 4, 5].map((i) => ({ term: 1, index: i, type: 0, data: enc(`d${i}`) })));
  assert.equal(s.firstIndex(), 1);
  assert.equal(s.lastIndex(), 5);
  s.createSnapshot(3, { voters: [1], learners: [] }, new Uint8Array(0));
  s.compact(3);
  assert.equal(s.firstIndex(), 4);
  assert.equal(s.term(3), 1);
  assert.throws(() => s.term(2), ErrCompacted);
  assert.throws(() => s.entries(3, 5, 100), ErrCompacted);
  assert.equal(s.entries(4, 6, 1).length, 1, 'maxBytes still returns one entry');
  s.append([{ term: 2, index: 5, type: 0, data: enc('n5') }]);
  assert.equal(s.lastIndex(), 5);
  assert.equal(s.term(5), 2);
});
