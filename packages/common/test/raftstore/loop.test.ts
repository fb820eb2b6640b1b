// The multi-raft loop's quiet points: a task that needs the disk to match
// every group's applied index waits for the apply pipeline's next quiet point
// (right after an apply write lands), and rounds go on meanwhile — a long
// apply does not stop the other groups' Raft work while a snapshot or a
// digest is pending.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryEngine } from '../../src/storage/memory';
import { WriteBatch } from '../../src/storage/engine';
import type { OverlayBatch } from '../../src/storage/overlay';
import { RaftLoop, type LoopGroup } from '../../src/raftstore/loop';
import { PeerStorage, RAFT_INIT_INDEX, RAFT_INIT_TERM } from '../../src/raftstore/peer-storage';
import { applyStateKey, hardStateKey } from '../../src/keys';
import { decodeApplyState } from '../../src/raftstore/peer-storage';
import { EntryType, MessageType, RawNode, ReadOnlyOption, StateRole, message, type Entry, type Message, type Snapshot } from '../../src/raft';

class Group implements LoopGroup {
  /** Called inside installSnapshot, once the storage took the snapshot (before the round's write). */
  onInstall: (() => void) | undefined;
  /** While set, apply waits for it: a slow apply (a big FLUSHALL). */
  gate: Promise<void> | undefined;
  /** Entries handed to apply so far. */
  applyCalls = 0;
  readonly node: RawNode;
  constructor(readonly id: number, readonly storage: PeerStorage, peerId = 1) {
    this.node = new RawNode({
      id: peerId,
      storage,
      applied: storage.applyState.appliedIndex,
      electionTick: 10,
      heartbeatTick: 1,
      maxSizePerMsg: 1 << 20,
      maxInflightMsgs: 256,
      checkQuorum: false,
      preVote: false,
      readOnlyOption: ReadOnlyOption.Safe,
      disableProposalForwarding: true,
      random: () => 0.5,
    });
  }
  async installSnapshot(snap: Snapshot, batch: OverlayBatch): Promise<void> {
    this.storage.applySnapshot(snap, this.storage.region, batch.batch);
    this.onInstall?.();
  }
  async apply(entries: Entry[], batch: OverlayBatch): Promise<void> {
    this.applyCalls++;
    if (this.gate) await this.gate;
    for (const e of entries) this.storage.applyState.appliedIndex = e.index;
    this.storage.setApplied(this.storage.applyState.appliedIndex, batch.batch);
  }
  afterPersist(): void {}
  afterApply(): void {}
}

async function until(cond: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

test('a quiet task waits for the running apply write, and rounds of other groups go on meanwhile', async () => {
  const engine = new MemoryEngine();
  const loop = new RaftLoop(engine, { send: (_: Array<{ message: Message }>) => undefined, fatal: (e) => assert.fail(e) });
  const groups = await leaders(engine, loop, [1, 2]);
  const [slow, other] = groups;
  await until(() => groups.every((g) => g.node.raft.state === StateRole.Leader && g.storage.applyState.appliedIndex === g.node.raft.log.committed), 'two leaders');

  // A slow apply starts on the first group.
  let open!: () => void;
  slow.gate = new Promise((r) => (open = r));
  slow.applyCalls = 0;
  slow.node.propose(Buffer.from('slow'));
  loop.schedule();
  const slowIndex = slow.node.raft.log.lastIndex();
  await until(() => slow.node.raft.log.committed >= slowIndex && slow.applyCalls > 0 && slow.storage.applyState.appliedIndex < slowIndex, 'the slow entry to be applying');

  // A quiet task (a snapshot to make) is asked for now.
  let seen: { inMemory: number[]; onDisk: number[] } | undefined;
  loop.atQuietPoint(() => {
    const inMemory = groups.map((g) => g.storage.applyState.appliedIndex);
    // MemoryEngine.get reads its map at once: this is the disk at the quiet point.
    const onDisk = groups.map((g) => engine.get(applyStateKey(g.id)));
    seen = { inMemory, onDisk: [] };
    void Promise.all(onDisk).then((vs) => (seen!.onDisk = vs.map((v) => decodeApplyState(v!).appliedIndex)));
  });

  // Rounds go on: the other group commits a proposal and ticks (heartbeats) run.
  const roundsBefore = loop.stats.rounds;
  other.node.propose(Buffer.from('fast'));
  loop.schedule();
  const otherIndex = other.node.raft.log.lastIndex();
  await until(() => other.node.raft.log.committed >= otherIndex, 'the other group to commit while apply is stuck');
  for (let i = 0; i < 3; i++) {
    for (const g of groups) g.node.tick();
    loop.schedule();
    await new Promise((r) => setImmediate(r));
  }
  await until(() => loop.stats.rounds > roundsBefore + 1, 'more rounds');
  assert.equal(seen, undefined, 'the quiet task waits while an apply batch is being built');

  open();
  await until(() => seen !== undefined && seen.onDisk.length === 2, 'the quiet task');
  assert.deepEqual(seen!.onDisk, seen!.inMemory, 'at the quiet point the disk holds every applied index');
  assert.ok(seen!.inMemory[0] >= slowIndex, 'the slow entry was applied before the quiet point');
  await until(() => other.storage.applyState.appliedIndex >= otherIndex, 'the other group to apply');
  await loop.stop();
});

test('a quiet task runs at once when apply is idle', async () => {
  const loop = new RaftLoop(new MemoryEngine(), { send: () => undefined, fatal: (e) => assert.fail(e) });
  let ran = false;
  loop.atQuietPoint(() => (ran = true));
  assert.equal(ran, true);
  await loop.stop();
});

test('no quiet point while a round writes a received snapshot: the applied index is ahead of the disk until it lands', async () => {
  const memory = new MemoryEngine();
  // An engine whose writes wait while a gate is set: the round's install write in flight.
  let gate: Promise<void> | undefined;
  const engine = Object.assign(Object.create(memory) as MemoryEngine, {
    write: async (b: WriteBatch) => {
      if (gate) await gate;
      return memory.write(b);
    },
  });
  const loop = new RaftLoop(engine, { send: () => undefined, fatal: (e) => assert.fail(e) });
  const region = { id: 9, startSlot: 0, endSlot: 1, epoch: { version: 1, confVer: 1 }, peers: [{ id: 1, storeId: 1 }, { id: 2, storeId: 2 }] };
  const g = new Group(9, PeerStorage.empty(9, region, 1), 2);
  loop.add(g);
  let open!: () => void;
  let seen: { inMemory: number; onDisk: number | undefined } | undefined;
  g.onInstall = () => {
    gate = new Promise((r) => (open = r));
    loop.atQuietPoint(() => {
      const onDisk = memory.get(applyStateKey(9));
      seen = { inMemory: g.storage.applyState.appliedIndex, onDisk: undefined };
      void onDisk.then((v) => (seen!.onDisk = v ? decodeApplyState(v).appliedIndex : 0));
    });
  };
  g.node.step(message({ type: MessageType.Snap, from: 1, to: 2, term: 2, snapshot: { meta: { index: 10, term: 2, confState: { voters: [1, 2], learners: [] } }, data: new Uint8Array(0) } }));
  loop.schedule();
  await until(() => gate !== undefined, 'the install to start');
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(seen, undefined, 'no quiet point while the install write is in flight');
  gate = undefined;
  open();
  await until(() => seen?.onDisk !== undefined, 'the quiet task');
  assert.deepEqual(seen, { inMemory: 10, onDisk: 10 });
  await loop.stop();
});

/**
 * A MemoryEngine whose writes take a while (so rounds and apply batches
 * gather while one is in flight) and which records every call made after
 * close: the RocksDB binding crashes on a write after close.
 */
class SlowClosingEngine extends MemoryEngine {
  closed = false;
  readonly afterClose: string[] = [];
  writeDelayMs = 2;
  private note(call: string): void {
    if (this.closed) this.afterClose.push(call);
  }
  override async write(b: WriteBatch): Promise<void> {
    this.note('write');
    await new Promise((r) => setTimeout(r, this.writeDelayMs));
    this.note('write (landing)');
    return super.write(b);
  }
  override async get(key: Buffer): Promise<Buffer | undefined> {
    this.note('get');
    return super.get(key);
  }
  override async getMany(keys: Buffer[]): Promise<Array<Buffer | undefined>> {
    this.note('getMany');
    return super.getMany(keys);
  }
  override async close(): Promise<void> {
    this.closed = true;
  }
}

/** Load: every group proposes on every turn until the returned stop is awaited. */
function proposeEveryTurn(loop: RaftLoop, groups: Group[]): () => Promise<void> {
  let proposing = true;
  const proposer = (async () => {
    while (proposing) {
      for (const g of groups) g.node.propose(Buffer.from('x'));
      loop.schedule();
      await new Promise((r) => setImmediate(r));
    }
  })();
  return () => {
    proposing = false;
    return proposer;
  };
}

async function leaders(engine: MemoryEngine, loop: RaftLoop, ids: number[]): Promise<Group[]> {
  const groups: Group[] = [];
  for (const id of ids) {
    const region = { id, startSlot: 0, endSlot: 1, epoch: { version: 1, confVer: 1 }, peers: [{ id: 1, storeId: 1 }] };
    const b = new WriteBatch();
    PeerStorage.bootstrap(b, region);
    await engine.write(b);
    const g = new Group(id, await PeerStorage.load(engine, id, region));
    groups.push(g);
    loop.add(g);
    g.node.campaign();
  }
  loop.schedule();
  await until(() => groups.every((g) => g.node.raft.state === StateRole.Leader), 'leaders');
  return groups;
}

test('stop drains rounds, the open batch, riding apply batches and the apply pipeline, also work arriving meanwhile: no engine call after it', async () => {
  for (let run = 0; run < 5; run++) {
    const engine = new SlowClosingEngine();
    const loop = new RaftLoop(engine, { send: () => undefined, fatal: (e) => assert.fail(e) });
    const groups = await leaders(engine, loop, [1, 2, 3]);
    // Load: every group proposes on every turn, so a write is nearly always
    // in flight and apply batches ride in the rounds' writes.
    const stopProposing = proposeEveryTurn(loop, groups);
    await until(() => loop.stats.applyRides >= 5 + run, 'apply batches riding in round writes');
    // Stop at a different moment in each run; proposals go on during the drain.
    await new Promise((r) => setTimeout(r, run));
    await loop.stop();
    await engine.close();
    // Proposals and ticks keep arriving after stop (messages from peers, clients): no engine call.
    for (let i = 0; i < 20; i++) {
      for (const g of groups) g.node.tick();
      loop.schedule();
      await new Promise((r) => setTimeout(r, 1));
    }
    await stopProposing();
    assert.deepEqual(engine.afterClose, [], 'no engine call after stop and close');
    // What stop drained is on disk: every group's applied index, as in memory.
    for (const g of groups) {
      const onDisk = decodeApplyState((await MemoryEngine.prototype.get.call(engine, applyStateKey(g.id)))!).appliedIndex;
      assert.equal(onDisk, g.storage.applyState.appliedIndex, `group ${g.id}: the applied index in memory is on disk`);
    }
  }
});

test('a failed round write fails the apply batches riding in it and the loop still stops', { timeout: 20_000 }, async () => {
  const engine = new SlowClosingEngine();
  let failWrites = false;
  const failing = Object.assign(Object.create(engine) as SlowClosingEngine, {
    write: async (b: WriteBatch) => {
      if (failWrites) {
        // Slow to fail: apply batches made meanwhile ride in the gathered batch, which is never written.
        await new Promise((r) => setTimeout(r, 20));
        throw new Error('disk gone');
      }
      return engine.write(b);
    },
  });
  const fatal: Error[] = [];
  const loop = new RaftLoop(failing, { send: () => undefined, fatal: (e) => fatal.push(e) });
  const groups = await leaders(engine, loop, [1, 2]);
  const stopProposing = proposeEveryTurn(loop, groups);
  await until(() => loop.stats.applyRides >= 3, 'apply batches riding');
  failWrites = true;
  await until(() => fatal.length > 0, 'the failure to reach the host');
  await loop.stop(); // resolves: no rider waits for a write that will never happen
  await stopProposing();
  assert.equal(fatal.length, 1);
  assert.match(fatal[0].message, /disk gone/);
});

test('a round that only moves the commit index writes no hard state (Raft\'s commit is volatile); term, vote and entries still go to disk, and a restart takes commit = applied', async () => {
  const memory = new MemoryEngine();
  const writes: string[][] = [];
  const engine = Object.assign(Object.create(memory) as MemoryEngine, {
    write: async (b: WriteBatch) => {
      writes.push(b.ops.map((op) => (op.key.equals(hardStateKey(9)) ? 'hard state' : op.key.equals(applyStateKey(9)) ? 'apply state' : 'other')));
      return memory.write(b);
    },
  });
  const region = { id: 9, startSlot: 0, endSlot: 1, epoch: { version: 1, confVer: 1 }, peers: [{ id: 1, storeId: 1 }, { id: 2, storeId: 2 }] };
  const boot = new WriteBatch();
  PeerStorage.bootstrap(boot, region);
  await memory.write(boot);
  const loop = new RaftLoop(engine, { send: () => undefined, fatal: (e) => assert.fail(e) });
  const g = new Group(9, await PeerStorage.load(memory, 9, region), 2); // a follower
  loop.add(g);
  const term = RAFT_INIT_TERM + 1;
  const entry: Entry = { term, index: RAFT_INIT_INDEX + 1, type: EntryType.Normal, data: Buffer.from('x') };

  // The leader's entry (new term, new entry): hard state and entry are written.
  g.node.step(message({ type: MessageType.App, from: 1, to: 2, term, logTerm: RAFT_INIT_TERM, index: RAFT_INIT_INDEX, entries: [entry], commit: RAFT_INIT_INDEX }));
  loop.schedule();
  await until(() => writes.some((w) => w.includes('hard state')), 'the entry and the new term on disk');
  await until(() => !g.node.hasReady(), 'the round to finish');
  writes.length = 0;

  // The leader tells the new commit index, no entries: it is applied, and no write carries a hard state.
  g.node.step(message({ type: MessageType.App, from: 1, to: 2, term, logTerm: term, index: entry.index, entries: [], commit: entry.index }));
  loop.schedule();
  await until(() => g.storage.applyState.appliedIndex === entry.index, 'the entry to apply');
  await loop.stop();
  assert.equal(g.storage.hardState.commit, entry.index, 'the commit index is in memory');
  assert.equal(g.storage.commitUnsaved, true);
  assert.deepEqual(writes, [['apply state']], 'one write: the apply batch; the commit index alone wrote nothing');

  // A restart: the stored commit is older, the applied index on disk wins; term and vote are the new ones.
  const reloaded = await PeerStorage.load(memory, 9, region);
  assert.deepEqual(reloaded.hardState, { term, vote: 0, commit: entry.index });
  assert.equal(reloaded.applyState.appliedIndex, entry.index);

  // The next entries carry the commit index to disk with them.
  const g2 = new Group(9, reloaded, 2);
  const loop2 = new RaftLoop(engine, { send: () => undefined, fatal: (e) => assert.fail(e) });
  loop2.add(g2);
  g2.storage.setCommit({ term, vote: 0, commit: entry.index }, new WriteBatch());
  g2.node.step(message({ type: MessageType.App, from: 1, to: 2, term, logTerm: term, index: entry.index, entries: [{ ...entry, index: entry.index + 1 }], commit: entry.index }));
  loop2.schedule();
  await until(() => g2.storage.lastIndex() === entry.index + 1 && !g2.node.hasReady(), 'the next entry');
  await loop2.stop();
  assert.equal(g2.storage.commitUnsaved, false, 'written with the entry');
});
