// LocalRegion's pipelined group commit: one synced write in flight at a
// time, writes that arrive meanwhile applied against the batch in flight,
// nobody answered before their write is synced, quiet() only when the disk
// holds every applied write.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { MemoryEngine, applyStateKey, readU64 } from '@redraft/common';
import type { Reply, WriteBatch } from '@redraft/common';
import { LocalRegion } from '../src/region/local';

/** A MemoryEngine whose synced writes finish only when the test lets them. */
class GatedEngine extends MemoryEngine {
  inFlight = 0;
  maxInFlight = 0;
  writes = 0;
  private gates: Array<() => void> = [];

  override async write(batch: WriteBatch): Promise<void> {
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    await new Promise<void>((resolve) => this.gates.push(resolve));
    await super.write(batch);
    this.writes++;
    this.inFlight--;
  }

  /** Lets the oldest write finish (waits until one is in flight). */
  async release(): Promise<void> {
    while (this.gates.length === 0) await new Promise((r) => setImmediate(r));
    this.gates.shift()!();
    await new Promise((r) => setImmediate(r));
  }
}

const log = pino({ level: 'silent' });
const key = Buffer.from('counter');
const turn = (): Promise<void> => new Promise((r) => setImmediate(r));

test('LocalRegion: one write in flight; writes meanwhile read through it; answers only once synced', async () => {
  const engine = new GatedEngine();
  const region = await LocalRegion.open(engine, log);
  const answered: Array<[number, Reply]> = [];
  const incr = (i: number): Promise<void> =>
    region.propose({ incrBy: { key, delta: '1' } }).then((r) => {
      answered.push([i, r]);
    });

  const first = [incr(1), incr(2)];
  await turn();
  await turn();
  assert.equal(engine.inFlight, 1);
  // Arrive while the first round's write is in flight: applied, not written, not answered.
  const second = [incr(3), incr(4), incr(5)];
  await turn();
  await turn();
  assert.equal(engine.inFlight, 1);
  assert.equal(answered.length, 0);
  let quiet = false;
  const quietDone = region.quiet().then(() => {
    quiet = true;
  });

  await engine.release();
  await Promise.all(first);
  assert.deepEqual(answered, [
    [1, 1n],
    [2, 2n],
  ]);
  assert.equal(region.applied, 2);
  assert.equal(quiet, false, 'the second round is applied but not on disk');
  assert.equal(engine.inFlight, 1, 'the second round went to disk at once');

  await engine.release();
  await Promise.all(second);
  await quietDone;
  assert.deepEqual(answered, [
    [1, 1n],
    [2, 2n],
    [3, 3n],
    [4, 4n],
    [5, 5n],
  ]);
  assert.equal(engine.maxInFlight, 1);
  assert.equal(engine.writes, 2);
  assert.equal(region.applied, 5);
  assert.equal(readU64((await engine.get(applyStateKey(1)))!, 0), 5);
});

test('LocalRegion: a failed write refuses its round and the open one, and the region stops', async () => {
  class FailingEngine extends MemoryEngine {
    override async write(): Promise<void> {
      await turn();
      throw new Error('disk on fire');
    }
  }
  const region = await LocalRegion.open(new FailingEngine(), log);
  const a = region.propose({ set: { key, value: Buffer.from('1') } });
  await turn();
  const b = region.propose({ set: { key, value: Buffer.from('2') } });
  await assert.rejects(a, /disk on fire/);
  await assert.rejects(b, /disk on fire/);
  await assert.rejects(region.propose({ set: { key, value: Buffer.from('3') } }), /disk on fire/);
  await region.quiet();
});

test('LocalRegion: a write that fails while the next round still reads refuses that round too, and writes nothing more', async () => {
  class Engine extends MemoryEngine {
    writes = 0;
    failWrite: (e: Error) => void = () => {};
    readGate: Promise<void> | null = null;
    override async write(): Promise<void> {
      this.writes++;
      await new Promise<void>((_, reject) => (this.failWrite = reject));
    }
    override async get(key: Buffer): Promise<Buffer | undefined> {
      if (this.readGate) await this.readGate;
      return super.get(key);
    }
  }
  const engine = new Engine();
  const region = await LocalRegion.open(engine, log);
  const first = region.propose({ set: { key: Buffer.from('a'), value: Buffer.from('1') } });
  await turn();
  await turn();
  assert.equal(engine.writes, 1);
  let openReads!: () => void;
  engine.readGate = new Promise((r) => (openReads = r));
  const second = region.propose({ incrBy: { key, delta: '1' } });
  await turn();
  await turn();
  engine.failWrite(new Error('disk on fire'));
  await assert.rejects(first, /disk on fire/);
  openReads();
  await assert.rejects(second, /disk on fire/);
  await turn();
  assert.equal(engine.writes, 1);
});
