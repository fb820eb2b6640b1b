// The dispatcher's per-client gate: consecutive reads start together (a
// pipeline of GETs is not run one at a time), a read after a write waits
// for it and sees it, a write after reads waits for them, and any other
// command runs alone.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SimpleString } from '@redraft/common';
import type { Reply } from '@redraft/common';
import { testStore, plain } from './harness';

/** A reply as a plain value: +OK and +PONG as their strings. */
const value = (r: Reply): unknown => (r instanceof SimpleString ? r.value : plain(r));

/** Holds every read barrier of the store's region until released; counts the reads that reached it. */
function holdReads(s: Awaited<ReturnType<typeof testStore>>): { started: () => number; release: () => void } {
  const waiting: Array<() => void> = [];
  let started = 0;
  const original = s.region.readBarrier.bind(s.region);
  Object.assign(s.region, { readNow: () => undefined }); // no read may skip the barrier
  s.region.readBarrier = () => {
    started++;
    return new Promise<void>((r) => waiting.push(r)).then(() => original());
  };
  return {
    started: () => started,
    release: () => {
      for (const go of waiting.splice(0)) go();
    },
  };
}

const turn = (): Promise<void> => new Promise((r) => setImmediate(r));

test('consecutive reads of one client start together; the write after them waits until they are answered', async () => {
  const s = await testStore();
  await s.exec('set', 'a', '1');
  const reads = holdReads(s);
  const proposals: string[] = [];
  const propose = s.region.propose.bind(s.region);
  s.region.propose = (cmd) => {
    proposals.push(cmd.set ? `set ${cmd.set.key}` : 'other');
    return propose(cmd);
  };
  const pipeline = [s.exec('get', 'a'), s.exec('get', 'b'), s.exec('exists', 'a'), s.exec('set', 'a', '2'), s.exec('get', 'a')];
  await turn();
  assert.equal(reads.started(), 3, 'the three reads are all under way');
  assert.deepEqual(proposals, [], 'the SET waits for the reads before it');
  reads.release();
  await turn();
  await turn();
  reads.release(); // the GET after the SET
  const replies = await Promise.all(pipeline);
  assert.deepEqual(replies.map(value), ['1', null, 1, 'OK', '2']);
  assert.deepEqual(proposals, ['set a']);
});

test('a long pipeline of mixed writes and reads of one client sees every earlier write, in order', async () => {
  const s = await testStore();
  const sent: Array<Promise<Reply>> = [];
  const want: unknown[] = [];
  let n = 0;
  for (let i = 0; i < 200; i++) {
    // Runs of 1-3 writes, then 1-3 reads, then sometimes a PING (which runs alone).
    for (let w = 0; w < 1 + (i % 3); w++) {
      n++;
      sent.push(s.exec('set', 'k', String(n)));
      want.push('OK');
      sent.push(s.exec('incr', 'n'));
      want.push(BigInt(n));
    }
    for (let r = 0; r < 1 + ((i >> 1) % 3); r++) {
      sent.push(s.exec('get', 'k'));
      want.push(String(n));
      sent.push(s.exec('get', 'n'));
      want.push(String(n));
    }
    if (i % 7 === 0) {
      sent.push(s.exec('ping'));
      want.push('PONG');
    }
  }
  const got = (await Promise.all(sent)).map(value);
  assert.deepEqual(got, want);
});
