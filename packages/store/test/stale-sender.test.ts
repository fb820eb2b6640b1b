import { test } from 'node:test';
import assert from 'node:assert/strict';
import { silentAfter, staleSender } from '../src/raftstore/store';

const region = { id: 1, startSlot: 0, endSlot: 100, epoch: { version: 2, confVer: 4 }, peers: [{ id: 11, storeId: 1 }, { id: 12, storeId: 2 }] };
const msg = (from: number, version: number, confVer: number) => ({ regionId: 1, fromPeer: { id: from, storeId: 9 }, toPeer: { id: 11, storeId: 1 }, epoch: { version, confVer }, message: new Uint8Array(0) });

test('intake: a message from a replica the region no longer names, with an older conf epoch, is dropped', () => {
  assert.equal(staleSender(region, msg(13, 2, 3)), true);
  // A sender the region names is never dropped, even behind (a leader yet to apply a split).
  assert.equal(staleSender(region, msg(12, 1, 3)), false);
  // An unknown sender with a current or newer conf epoch: a replica added by a change not applied here yet.
  assert.equal(staleSender(region, msg(13, 2, 4)), false);
  assert.equal(staleSender(region, msg(13, 2, 5)), false);
  // A replica that has not learned its region yet (no peers) drops nothing.
  assert.equal(staleSender({ ...region, peers: [] }, msg(13, 0, 0)), false);
});

test('store liveness: a store is silent after four election timeouts, or three of its recent longest gaps, at most eight timeouts', () => {
  assert.equal(silentAfter(0, 500), 2000);
  assert.equal(silentAfter(100, 500), 2000, 'regular 100 ms messages: four election timeouts');
  assert.equal(silentAfter(1000, 500), 3000, 'after a one-second stall: three such stalls');
  assert.equal(silentAfter(60_000, 500), 4000, 'never longer than eight election timeouts');
});
