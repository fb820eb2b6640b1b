// The encoded log: a ring of entry locations over byte chunks. Checked
// against a plain model through appends, conflicting suffixes, log GC and
// resets that wrap and grow the ring and fill, share and free chunks.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EncodedLog } from '../../src/raftstore/encoded-log';

/** Bytes that say which entry and term they belong to, of a chosen length. */
function bytesOf(index: number, term: number, length: number): Buffer {
  const b = Buffer.alloc(Math.max(length, 16));
  b.writeUInt32BE(index, 0);
  b.writeUInt32BE(term, 4);
  b.fill(index % 251, 8);
  return b;
}

function check(log: EncodedLog, model: Map<number, Buffer>, first: number, end: number): void {
  assert.equal(log.firstIndex, first);
  assert.equal(log.end, end);
  assert.equal(log.length, end - first);
  for (let i = first; i < end; i++) {
    const want = model.get(i)!;
    assert.ok(log.bytes(i).equals(want), `bytes of ${i}`);
    assert.equal(log.term(i), want.readUInt32BE(4), `term of ${i}`);
  }
  assert.throws(() => log.bytes(first - 1), RangeError);
  assert.throws(() => log.term(end), RangeError);
}

test('encoded log: a seeded mix of appends, truncations, GC and resets reads back as a plain model does', () => {
  let seed = 7;
  const rand = (n: number): number => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed % n;
  };
  const log = new EncodedLog(6);
  const model = new Map<number, Buffer>();
  let first = 6;
  let end = 6;
  let term = 1;
  for (let step = 0; step < 3000; step++) {
    const op = rand(100);
    if (op < 70) {
      // Mostly small entries, now and then one larger than a chunk.
      const length = rand(50) === 0 ? 300 * 1024 : 16 + rand(400);
      const b = bytesOf(end, term, length);
      log.append(end, term, b);
      model.set(end, b);
      end++;
    } else if (op < 80 && end > first) {
      const from = first + rand(end - first);
      term++;
      log.truncateFrom(from);
      end = from;
    } else if (op < 98 && end > first) {
      const through = first + rand(end - first);
      log.dropThrough(through);
      first = through + 1;
    } else if (op < 99) {
      first = end = end + rand(5);
      log.reset(first);
    }
    if (step % 50 === 0) check(log, model, first, end);
  }
  check(log, model, first, end);
  assert.throws(() => log.append(end + 1, term, bytesOf(end + 1, term, 16)), /append of/);
});

test('encoded log: chunks grow from 1 KB to 256 KB, are shared by small entries, and are freed once log GC passes every entry in them', () => {
  const log = new EncodedLog(1);
  log.append(1, 1, bytesOf(1, 1, 200));
  assert.equal(log.chunkBytes, 1024, 'a log of one small entry holds 1 KB');
  for (let i = 2; i <= 3000; i++) log.append(i, 1, bytesOf(i, 1, 200)); // 600 KB
  // Chunks of 1, 2, 4 ... 128 KB (255 KB, entries 1 to about 1300), then 256 KB ones.
  assert.equal(log.chunkBytes, 255 * 1024 + 2 * 256 * 1024);
  log.dropThrough(1400); // past every entry of the growing chunks
  assert.equal(log.chunkBytes, 2 * 256 * 1024);
  log.dropThrough(3000); // nothing left: only the chunk being filled stays
  assert.equal(log.chunkBytes, 256 * 1024);
  assert.equal(log.length, 0);
  log.append(3001, 2, bytesOf(3001, 2, 100));
  assert.ok(log.bytes(3001).equals(bytesOf(3001, 2, 100)));
  log.reset(4000);
  log.append(4000, 3, bytesOf(4000, 3, 5000)); // larger than the next chunk: a chunk of its own size
  assert.equal(log.chunkBytes, 5000);
  assert.ok(log.bytes(4000).equals(bytesOf(4000, 3, 5000)));
});
