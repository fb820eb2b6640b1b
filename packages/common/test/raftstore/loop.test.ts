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
import { PeerStorage } from '../../src/raftstore/peer-storage';
import { applyStateKey } from '../../src/keys';
import { decodeApplyState } from '../../src/raftstore/peer-storage';
import { MessageType, RawNode, ReadOnlyOption, StateRole, message, type Entry, type Message, type Snapshot } from '../../src/raft';

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
  const groups: Group[] = [];
  for (const id of [1, 2]) {
    const region = { id, startSlot: 0, endSlot: 1, epoch: { version: 1, confVer: 1 }, peers: [{ id: 1, storeId: 1 }] };
    const b = new WriteBatch();
    PeerStorage.bootstrap(b, region);
    await engine.write(b);
    const g = new Group(id, await PeerStorage.load(engine, id, region));
    groups.push(g);
    loop.add(g);
    g.node.campaign();
  }
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
