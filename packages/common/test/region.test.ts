import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compareEpoch, epochOf, isEpochStale, regionFromPb, regionToPb, regionsOverlap, sameEpoch } from '../src';

test('epoch: epochOf fills absent fields; compare orders by version, then confVer', () => {
  assert.deepEqual(epochOf(undefined), { version: 0, confVer: 0 });
  assert.deepEqual(epochOf({ version: 3 }), { version: 3, confVer: 0 });
  assert.equal(compareEpoch({ version: 1, confVer: 9 }, { version: 2, confVer: 0 }), -1);
  assert.equal(compareEpoch({ version: 2, confVer: 1 }, { version: 2, confVer: 0 }), 1);
  assert.equal(compareEpoch({ version: 2, confVer: 1 }, { version: 2, confVer: 1 }), 0);
  assert.ok(sameEpoch({ version: 2, confVer: 1 }, { version: 2, confVer: 1 }));
  assert.ok(!sameEpoch({ version: 2, confVer: 1 }, { version: 2, confVer: 2 }));
});

test('isEpochStale: range looks at version, conf at confVer, both at either; newer is never stale', () => {
  const cur = { version: 5, confVer: 5 };
  assert.ok(isEpochStale({ version: 4, confVer: 5 }, cur, 'range'));
  assert.ok(!isEpochStale({ version: 5, confVer: 4 }, cur, 'range'));
  assert.ok(isEpochStale({ version: 5, confVer: 4 }, cur, 'conf'));
  assert.ok(!isEpochStale({ version: 4, confVer: 5 }, cur, 'conf'));
  assert.ok(isEpochStale({ version: 4, confVer: 5 }, cur));
  assert.ok(isEpochStale({ version: 5, confVer: 4 }, cur));
  assert.ok(!isEpochStale(cur, cur));
  assert.ok(!isEpochStale({ version: 6, confVer: 6 }, cur));
});

test('region: pb round trip; overlap is on half-open ranges', () => {
  const r = { id: 7, startSlot: 10, endSlot: 20, epoch: { version: 2, confVer: 3 }, peers: [{ id: 8, storeId: 1, role: 0 }] };
  assert.deepEqual(regionFromPb(regionToPb(r)), r);
  assert.deepEqual(regionFromPb({ id: 1 }), { id: 1, startSlot: 0, endSlot: 0, epoch: { version: 0, confVer: 0 }, peers: [] });
  assert.ok(regionsOverlap({ startSlot: 0, endSlot: 10 }, { startSlot: 9, endSlot: 12 }));
  assert.ok(!regionsOverlap({ startSlot: 0, endSlot: 10 }, { startSlot: 10, endSlot: 12 }));
});
