// The one key-encoding module: every byte of every RocksDB key is made here.
// Layout (big-endian integers), as fixed by DESIGN.md:
//
//   0x01 | regionId u64 | 0x01 | index u64     raft log entry
//   0x01 | regionId u64 | 0x02                 raft hard state
//   0x01 | regionId u64 | 0x03                 apply state
//   0x01 | regionId u64 | 0x04                 region local state
//   0x01 | regionId u64 | 0x05 | session u64   forwarding session record, with its small kept replies (travels in snapshots)
//   0x01 | regionId u64 | 0x06 | session u64 | seq u64    a kept reply of that session that does not ride in it
//   0x02 | name                                store-level records (store ident, ...)
//   0x03 | regionId u64 | snapshotId u64 | seq u32   a received snapshot's chunk, staged until installed
//   'z'  | slot u16 | 'e' | expireAt u64 | key   expiry index (value empty; may be stale, see docs/expiry.md)
//   'z'  | slot u16 | 'm' | key                key metadata (type, expireAt, version, size / inline string)
//   'z'  | slot u16 | 's' | keyLen u32 | key | version u64 | subkey    collection member
//   'z'  | slot u16 | 'c' | keyLen u32 | key | version u64 | score u64 | member   zset score index
//
// Data of a region is exactly ['z'|startSlot, 'z'|endSlot): a split moves no
// bytes, a snapshot is one range scan, a removed replica is one delete range.

export const SLOT_COUNT = 16384;

const LOCAL = 0x01;
const STORE = 0x02;
const SNAPSHOT_STAGING = 0x03;
const DATA = 0x7a; // 'z'
const RAFT_LOG = 0x01;
const HARD_STATE = 0x02;
const APPLY_STATE = 0x03;
const REGION_STATE = 0x04;
const SESSION = 0x05;
const SESSION_REPLY = 0x06;
const EXPIRE_INDEX = 0x65; // 'e'
const META = 0x6d; // 'm'
const SUB = 0x73; // 's'
const SCORE = 0x63; // 'c'

/** 2^53: ids and indexes are JS numbers, checked against this bound (docs/decisions.md). */
export const MAX_U53 = Number.MAX_SAFE_INTEGER;

export function writeU64(buf: Buffer, offset: number, value: number): void {
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`u64 out of range: ${value}`);
  buf.writeUInt32BE(Math.floor(value / 0x100000000), offset);
  buf.writeUInt32BE(value >>> 0, offset + 4);
}

export function readU64(buf: Buffer, offset: number): number {
  const hi = buf.readUInt32BE(offset);
  const value = hi * 0x100000000 + buf.readUInt32BE(offset + 4);
  if (!Number.isSafeInteger(value)) throw new RangeError('u64 above 2^53 in stored key');
  return value;
}

export function u64(value: number): Buffer {
  const b = Buffer.allocUnsafe(8);
  writeU64(b, 0, value);
  return b;
}

// ---- local (raft) keys -------------------------------------------------------

function regionLocal(regionId: number, suffix: number, extra = 0): Buffer {
  const b = Buffer.allocUnsafe(10 + extra);
  b[0] = LOCAL;
  writeU64(b, 1, regionId);
  b[9] = suffix;
  return b;
}

export function raftLogKey(regionId: number, index: number): Buffer {
  const b = regionLocal(regionId, RAFT_LOG, 8);
  writeU64(b, 10, index);
  return b;
}

/** [start, end) of a region's whole raft log. */
export function raftLogRange(regionId: number): [Buffer, Buffer] {
  return [regionLocal(regionId, RAFT_LOG), regionLocal(regionId, RAFT_LOG + 1)];
}

export function raftLogIndexOf(key: Buffer): number {
  return readU64(key, 10);
}

export const hardStateKey = (regionId: number): Buffer => regionLocal(regionId, HARD_STATE);
export const applyStateKey = (regionId: number): Buffer => regionLocal(regionId, APPLY_STATE);
export const regionStateKey = (regionId: number): Buffer => regionLocal(regionId, REGION_STATE);

export function sessionKey(regionId: number, sessionId: number): Buffer {
  const b = regionLocal(regionId, SESSION, 8);
  writeU64(b, 10, sessionId);
  return b;
}

export function sessionReplyKey(regionId: number, sessionId: number, seq: number): Buffer {
  const b = regionLocal(regionId, SESSION_REPLY, 16);
  writeU64(b, 10, sessionId);
  writeU64(b, 18, seq);
  return b;
}

/** [start, end) of a region's session records and kept replies: replicated state kept beside the data. */
export function sessionRange(regionId: number): [Buffer, Buffer] {
  return [regionLocal(regionId, SESSION), regionLocal(regionId, SESSION_REPLY + 1)];
}

export function isSessionKey(key: Buffer): boolean {
  return key.length === 18 && key[0] === LOCAL && key[9] === SESSION;
}

/** The session id and seq of a kept-reply key. */
export function decodeSessionReplyKey(key: Buffer): { sessionId: number; seq: number } {
  return { sessionId: readU64(key, 10), seq: readU64(key, 18) };
}

/** [start, end) of every local key of one region (log, states). */
export function regionLocalRange(regionId: number): [Buffer, Buffer] {
  const start = Buffer.alloc(9);
  start[0] = LOCAL;
  writeU64(start, 1, regionId);
  const end = Buffer.alloc(9);
  end[0] = LOCAL;
  writeU64(end, 1, regionId + 1);
  return [start, end];
}

/** [start, end) of the region-state records of all regions (scanned at store start). */
export function allRegionsLocalRange(): [Buffer, Buffer] {
  return [Buffer.from([LOCAL]), Buffer.from([LOCAL + 1])];
}

export function regionIdOfLocalKey(key: Buffer): number {
  return readU64(key, 1);
}

export function isRegionStateKey(key: Buffer): boolean {
  return key.length === 10 && key[0] === LOCAL && key[9] === REGION_STATE;
}

export function storeKey(name: string): Buffer {
  return Buffer.concat([Buffer.from([STORE]), Buffer.from(name, 'utf8')]);
}

// ---- snapshot staging ------------------------------------------------------
// Chunks of a snapshot being received land here, outside every region's data
// range, and are copied into the range when Raft accepts the snapshot. The
// whole prefix is cleared when the store starts (raftstore/snapshot.ts).

export function snapshotStagingKey(regionId: number, snapshotId: number, seq: number): Buffer {
  const b = Buffer.allocUnsafe(21);
  b[0] = SNAPSHOT_STAGING;
  writeU64(b, 1, regionId);
  writeU64(b, 9, snapshotId);
  b.writeUInt32BE(seq, 17);
  return b;
}

/** [start, end) of the staged chunks of one snapshot. */
export function snapshotStagingRange(regionId: number, snapshotId: number): [Buffer, Buffer] {
  const start = snapshotStagingKey(regionId, snapshotId, 0);
  return [start, prefixEnd(start.subarray(0, 17))];
}

/** [start, end) of every staged chunk of every snapshot. */
export function allSnapshotStagingRange(): [Buffer, Buffer] {
  return [Buffer.from([SNAPSHOT_STAGING]), Buffer.from([SNAPSHOT_STAGING + 1])];
}

// ---- data keys -------------------------------------------------------------

function slotPrefix(slot: number, extra: number): Buffer {
  if (!Number.isInteger(slot) || slot < 0 || slot > SLOT_COUNT) throw new RangeError(`bad slot ${slot}`);
  const b = Buffer.allocUnsafe(3 + extra);
  b[0] = DATA;
  b.writeUInt16BE(slot, 1);
  return b;
}

/** [start, end) of the data of slots [startSlot, endSlot). */
export function dataRange(startSlot: number, endSlot: number): [Buffer, Buffer] {
  return [slotPrefix(startSlot, 0), slotPrefix(endSlot, 0)];
}

export function metaKey(slot: number, key: Buffer): Buffer {
  const b = slotPrefix(slot, 1 + key.length);
  b[3] = META;
  key.copy(b, 4);
  return b;
}

/** A key's metadata row ('m'). */
export function isMetaKey(encoded: Buffer): boolean {
  return encoded.length >= 4 && encoded[0] === DATA && encoded[3] === META;
}

/**
 * A row that reads look up one at a time: a key's metadata row, or a
 * collection's member row (a hash field, a set member...). What the store's
 * row cache may hold.
 */
export function isPointReadRow(encoded: Buffer): boolean {
  return encoded.length >= 4 && encoded[0] === DATA && (encoded[3] === META || encoded[3] === SUB);
}

/** The user key and slot of a metadata row key. */
export function decodeMetaKey(encoded: Buffer): { slot: number; key: Buffer } {
  if (!isMetaKey(encoded)) throw new Error('not a metadata key');
  return { slot: encoded.readUInt16BE(1), key: encoded.subarray(4) };
}

/** [start, end) of one slot's metadata rows. */
export function slotMetaRange(slot: number): [Buffer, Buffer] {
  const start = slotPrefix(slot, 1);
  start[3] = META;
  const end = slotPrefix(slot, 1);
  end[3] = META + 1;
  return [start, end];
}

/**
 * An expiry-index row: one per key written with an expiry, sorted by time
 * within its slot, so the expiry cycle finds due keys with a range scan.
 * Rows are added when a TTL is written and removed only by the expiry
 * cycle's entries, which check them against the metadata (docs/expiry.md).
 */
export function expireIndexKey(slot: number, expireAt: number, key: Buffer): Buffer {
  const b = slotPrefix(slot, 1 + 8 + key.length);
  b[3] = EXPIRE_INDEX;
  writeU64(b, 4, expireAt);
  key.copy(b, 12);
  return b;
}

/** [start, end) of one slot's expiry-index rows. */
export function slotExpireRange(slot: number): [Buffer, Buffer] {
  const start = slotPrefix(slot, 1);
  start[3] = EXPIRE_INDEX;
  const end = slotPrefix(slot, 1);
  end[3] = EXPIRE_INDEX + 1;
  return [start, end];
}

export function isExpireIndexKey(encoded: Buffer): boolean {
  return encoded.length >= 12 && encoded[0] === DATA && encoded[3] === EXPIRE_INDEX;
}

export function decodeExpireIndexKey(encoded: Buffer): { slot: number; expireAt: number; key: Buffer } {
  if (encoded.length < 12 || encoded[0] !== DATA || encoded[3] !== EXPIRE_INDEX) throw new Error('not an expiry-index key');
  return { slot: encoded.readUInt16BE(1), expireAt: readU64(encoded, 4), key: encoded.subarray(12) };
}

/**
 * The collection a member row ('s') or score-index row ('c') belongs to, or
 * null for any other row. `prefix` is the bytes every row of that (key,
 * version) starts with.
 */
export function decodeCollectionRow(encoded: Buffer): { slot: number; key: Buffer; version: number; prefix: Buffer } | null {
  if (encoded.length < 16 || encoded[0] !== DATA || (encoded[3] !== SUB && encoded[3] !== SCORE)) return null;
  const keyLen = encoded.readUInt32BE(4);
  if (encoded.length < 16 + keyLen) return null;
  return {
    slot: encoded.readUInt16BE(1),
    key: encoded.subarray(8, 8 + keyLen),
    version: readU64(encoded, 8 + keyLen),
    prefix: encoded.subarray(0, 16 + keyLen),
  };
}

/** Prefix of every member row of one version of a collection. */
export function subKeyPrefix(slot: number, key: Buffer, version: number): Buffer {
  const b = slotPrefix(slot, 1 + 4 + key.length + 8);
  b[3] = SUB;
  b.writeUInt32BE(key.length, 4);
  key.copy(b, 8);
  writeU64(b, 8 + key.length, version);
  return b;
}

export function subKey(slot: number, key: Buffer, version: number, sub: Buffer): Buffer {
  return Buffer.concat([subKeyPrefix(slot, key, version), sub]);
}

/** [start, end) of every member row of one version of a collection. */
export function subKeyRange(slot: number, key: Buffer, version: number): [Buffer, Buffer] {
  const start = subKeyPrefix(slot, key, version);
  return [start, prefixEnd(start)];
}

/**
 * Prefix of the score-index rows of one version of a sorted set: each row is
 * prefix | score (8 bytes, ordered as the numbers) | member, value empty.
 */
export function scoreKeyPrefix(slot: number, key: Buffer, version: number): Buffer {
  const b = subKeyPrefix(slot, key, version);
  b[3] = SCORE;
  return b;
}

/** [start, end) of the score-index rows of one version of a sorted set. */
export function scoreKeyRange(slot: number, key: Buffer, version: number): [Buffer, Buffer] {
  const start = scoreKeyPrefix(slot, key, version);
  return [start, prefixEnd(start)];
}

/** The smallest key greater than every key that starts with `prefix`. */
export function prefixEnd(prefix: Buffer): Buffer {
  const end = Buffer.from(prefix);
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i] !== 0xff) {
      end[i]++;
      return end.subarray(0, i + 1);
    }
  }
  throw new Error('prefix has no end');
}

// ---- slots (Redis Cluster's rule) ----------------------------------------------

const CRC16_TABLE = (() => {
  const t = new Uint16Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i << 8;
    for (let j = 0; j < 8; j++) c = c & 0x8000 ? ((c << 1) ^ 0x1021) & 0xffff : (c << 1) & 0xffff;
    t[i] = c;
  }
  return t;
})();

/** CRC16-XMODEM, the checksum Redis Cluster uses for slots. */
export function crc16(buf: Uint8Array, start = 0, end = buf.length): number {
  let crc = 0;
  for (let i = start; i < end; i++) crc = ((crc << 8) & 0xffff) ^ CRC16_TABLE[((crc >> 8) ^ buf[i]) & 0xff];
  return crc;
}

/** slot(key) = crc16(hashtag(key)) mod 16384, with the `{...}` hash-tag rule. */
export function keySlot(key: Uint8Array): number {
  // Byte loops rather than indexOf: keys are short, and each indexOf is a
  // call into C++ (2 % of a store's CPU under pipelined GETs).
  const n = key.length;
  let open = 0;
  while (open < n && key[open] !== 0x7b) open++; // '{'
  if (open < n) {
    let close = open + 1;
    while (close < n && key[close] !== 0x7d) close++; // '}'
    if (close < n && close > open + 1) return crc16(key, open + 1, close) & (SLOT_COUNT - 1);
  }
  return crc16(key) & (SLOT_COUNT - 1);
}
