import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SlotMap } from '../src';

interface R {
  id: number;
  startSlot: number;
  endSlot: number;
  version: number;
}
const r = (id: number, startSlot: number, endSlot: number, version = 1): R => ({ id, startSlot, endSlot, version });

test('SlotMap: sorted by start slot, binary search finds the holder of a slot, gaps find nothing', () => {
  const m = new SlotMap([r(3, 100, 200), r(1, 0, 50), r(2, 50, 100), r(4, 300, 16384)], (x) => x);
  assert.deepEqual(m.list().map((x) => x.id), [1, 2, 3, 4]);
  assert.equal(m.size, 4);
  assert.equal(m.find(0)?.id, 1);
  assert.equal(m.find(49)?.id, 1);
  assert.equal(m.find(50)?.id, 2);
  assert.equal(m.find(199)?.id, 3);
  assert.equal(m.find(200), undefined);
  assert.equal(m.find(16383)?.id, 4);
  assert.equal(m.find(16384), undefined);
  assert.equal(new SlotMap<R>([], (x) => x).find(5), undefined);
  // Equal starts: the tie-break decides.
  assert.deepEqual(new SlotMap([r(9, 0, 10), r(8, 0, 10)], (x) => x, (a, b) => a.id - b.id).list().map((x) => x.id), [8, 9]);
});

test('SlotMap.newestWins: of overlapping shapes the newer version holds the slots; equal versions keep the first', () => {
  // A parent not yet split here (v1) against the two halves the meta knows (v2).
  const m = SlotMap.newestWins([r(1, 0, 16384, 1), r(1, 0, 8192, 2), r(2, 8192, 16384, 2)], (x) => x, (x) => x.version);
  assert.deepEqual(m.list().map((x) => [x.id, x.startSlot, x.endSlot]), [[1, 0, 8192], [2, 8192, 16384]]);
  // The split applied here (v2) but the meta still shows the parent (v1).
  const n = SlotMap.newestWins([r(1, 0, 8192, 2), r(2, 8192, 16384, 2), r(1, 0, 16384, 1)], (x) => x, (x) => x.version);
  assert.deepEqual(n.list().map((x) => x.endSlot), [8192, 16384]);
  const tie = SlotMap.newestWins([r(1, 0, 10, 3), r(5, 5, 20, 3)], (x) => x, (x) => x.version);
  assert.deepEqual(tie.list().map((x) => x.id), [1]);
  // Empty ranges are left out.
  assert.equal(SlotMap.newestWins([r(1, 5, 5)], (x) => x, (x) => x.version).size, 0);
});
