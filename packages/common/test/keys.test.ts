// The key layout of DESIGN.md, byte for byte, and the slot rule of Redis Cluster.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../src/raft/sim/rng';
import {
  applyStateKey,
  dataRange,
  decodeMetaKey,
  hardStateKey,
  expireIndexKey,
  isMetaKey,
  isPointReadRow,
  scoreKeyPrefix,
  isRegionStateKey,
  keySlot,
  crc16,
  metaKey,
  prefixEnd,
  raftLogIndexOf,
  raftLogKey,
  raftLogRange,
  regionIdOfLocalKey,
  regionStateKey,
  subKey,
  subKeyRange,
  u64,
} from '../src/keys';

const hex = (b: Buffer): string => b.toString('hex');

test('raft keys: 0x01 | region u64 | suffix [| index u64], big-endian', () => {
  assert.equal(hex(raftLogKey(7, 258)), '01' + '0000000000000007' + '01' + '0000000000000102');
  assert.equal(hex(hardStateKey(7)), '01000000000000000702');
  assert.equal(hex(applyStateKey(7)), '01000000000000000703');
  assert.equal(hex(regionStateKey(7)), '01000000000000000704');
  assert.equal(raftLogIndexOf(raftLogKey(7, 2 ** 40 + 3)), 2 ** 40 + 3);
  assert.equal(regionIdOfLocalKey(regionStateKey(2 ** 33)), 2 ** 33);
  assert.ok(isRegionStateKey(regionStateKey(1)));
  assert.ok(!isRegionStateKey(applyStateKey(1)));
  const [lo, hi] = raftLogRange(7);
  assert.ok(Buffer.compare(lo, raftLogKey(7, 0)) <= 0 && Buffer.compare(raftLogKey(7, Number.MAX_SAFE_INTEGER), hi) < 0);
  assert.ok(Buffer.compare(hardStateKey(7), hi) >= 0, 'states sort after the log');
});

test('log keys sort by index (big-endian), so a range scan reads the log in order', () => {
  const idx = [1, 2, 255, 256, 65536, 2 ** 32, 2 ** 40];
  const keys = idx.map((i) => raftLogKey(3, i));
  const sorted = [...keys].sort(Buffer.compare);
  assert.deepEqual(sorted.map(raftLogIndexOf), idx);
});

test('data keys: z | slot u16 | m | key, and z | slot | s | keyLen u32 | key | version u64 | member', () => {
  const k = Buffer.from('user:1');
  assert.equal(hex(metaKey(5, k)), '7a' + '0005' + '6d' + hex(k));
  assert.equal(hex(subKey(5, k, 9, Buffer.from('f'))), '7a0005' + '73' + '00000006' + hex(k) + '0000000000000009' + '66');
  assert.deepEqual(decodeMetaKey(metaKey(5, k)), { slot: 5, key: k });
  assert.ok(isMetaKey(metaKey(5, k)) && !isMetaKey(subKey(5, k, 1, Buffer.from('x'))));
  // The row cache's rows: metadata and members, never the score index, expiry index or Raft's own rows.
  assert.ok(isPointReadRow(metaKey(5, k)) && isPointReadRow(subKey(5, k, 1, Buffer.from('x'))));
  assert.ok(!isPointReadRow(scoreKeyPrefix(5, k, 1)) && !isPointReadRow(raftLogKey(3, 7)) && !isPointReadRow(expireIndexKey(5, 1000, k)));
  // A region's data is exactly [z|start, z|end): every key of its slots falls inside.
  const [lo, hi] = dataRange(5, 6);
  for (const key of [metaKey(5, Buffer.alloc(0)), metaKey(5, Buffer.from([0xff, 0xff])), subKey(5, k, 2 ** 50, Buffer.from([0xff]))]) {
    assert.ok(Buffer.compare(lo, key) <= 0 && Buffer.compare(key, hi) < 0);
  }
  assert.ok(Buffer.compare(metaKey(6, Buffer.alloc(0)), hi) >= 0);
  // Members of one version never mix with another version's or another key's.
  const [mlo, mhi] = subKeyRange(5, k, 9);
  assert.ok(Buffer.compare(subKey(5, k, 10, Buffer.alloc(0)), mhi) >= 0);
  assert.ok(Buffer.compare(subKey(5, Buffer.from('user:10'), 9, Buffer.alloc(0)), mlo) !== 0);
});

test('u64 refuses values above 2^53 and negatives; prefixEnd', () => {
  assert.throws(() => u64(2 ** 53), RangeError);
  assert.throws(() => u64(-1), RangeError);
  assert.equal(hex(prefixEnd(Buffer.from([1, 2, 0xff]))), '0103');
});

test('slot = crc16(hashtag(key)) mod 16384, as Redis Cluster (values from CLUSTER KEYSLOT)', () => {
  assert.equal(keySlot(Buffer.from('foo')), 12182);
  assert.equal(keySlot(Buffer.from('bar')), 5061);
  assert.equal(keySlot(Buffer.from('123456789')), 12739); // CRC16-XMODEM's check value 0x31C3
  assert.equal(keySlot(Buffer.from('somekey')), 11058); // the CLUSTER KEYSLOT examples of Redis's docs
  assert.equal(keySlot(Buffer.from('foo{hash_tag}')), 2515);
  assert.equal(keySlot(Buffer.from('{user1000}.following')), keySlot(Buffer.from('{user1000}.followers')));
  assert.equal(keySlot(Buffer.from('foo{}{bar}')), keySlot(Buffer.from('foo{}{bar}')));
  assert.equal(keySlot(Buffer.from('foo{}{bar}')), 8363); // empty first tag: the whole key is hashed
  assert.equal(keySlot(Buffer.from('foo{{bar}}zap')), keySlot(Buffer.from('{bar')));
  // Redis's rule, word for word: the first '{', then the first '}' after it; hash what lies between if it is not empty.
  const rule = (k: Buffer): Buffer => {
    const open = k.indexOf('{');
    const close = open < 0 ? -1 : k.indexOf('}', open + 1);
    return close > open + 1 ? k.subarray(open + 1, close) : k;
  };
  const rng = new Rng(11);
  for (let i = 0; i < 3000; i++) {
    const k = Buffer.from(Array.from({ length: rng.int(9) }, () => '{}ab'[rng.int(4)]).join(''));
    assert.equal(keySlot(k), crc16(rule(k)) & 16383, JSON.stringify(k.toString()));
  }
});
