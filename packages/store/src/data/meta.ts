// The value of a key's metadata row ('z'|slot|'m'|key):
//
//   type u8 | expireAt u64 (ms since epoch, 0 = none) | string value bytes
//   type u8 | expireAt u64 | version u64 | size u64            (collections)
//   ... | head u64                                              (lists: index of the first element)
//
// A string's value lives inline in its metadata row: one read per GET.
// A collection's members live under subkeys of (key, version); a new
// collection takes the index of the log entry that creates it as its
// version, so the members of a deleted one are invisible at once.
import { readU64, writeU64 } from '@redraft/common';

export enum KeyType {
  String = 0,
  Hash = 1,
  List = 2,
  Set = 3,
  ZSet = 4,
}

export const TYPE_NAMES: Record<KeyType, string> = {
  [KeyType.String]: 'string',
  [KeyType.Hash]: 'hash',
  [KeyType.List]: 'list',
  [KeyType.Set]: 'set',
  [KeyType.ZSet]: 'zset',
};

export interface KeyMeta {
  type: KeyType;
  /** Absolute ms since epoch; 0 when the key does not expire. */
  expireAt: number;
  /** Collections only: the version of the members, and their count. */
  version: number;
  size: number;
  /** Lists only: the index of the first element; they sit at [head, head + size). */
  head?: number;
  /** Strings only: the value. */
  value: Buffer;
}

const HEADER = 9;
/**
 * The index of a new list's first element: the middle of the exact range of
 * a JS number, so pushes at either end have 2^52 indexes of room.
 */
export const LIST_START = 2 ** 52;
const EMPTY = Buffer.alloc(0);

export function encodeMeta(meta: KeyMeta): Buffer {
  if (meta.type === KeyType.String) {
    // Written in place (no 8-byte buffer for the expiry, no Buffer#copy call): every SET, on every replica.
    const b = Buffer.allocUnsafe(HEADER + meta.value.length);
    b[0] = meta.type;
    writeU64(b, 1, meta.expireAt);
    b.set(meta.value, HEADER);
    return b;
  }
  const list = meta.type === KeyType.List;
  const b = Buffer.allocUnsafe(HEADER + (list ? 24 : 16));
  b[0] = meta.type;
  writeU64(b, 1, meta.expireAt);
  writeU64(b, 9, meta.version);
  writeU64(b, 17, meta.size);
  if (list) writeU64(b, 25, meta.head ?? LIST_START);
  return b;
}

export function decodeMeta(raw: Buffer): KeyMeta {
  if (raw.length < HEADER) throw new Error('corrupt metadata row');
  const type = raw[0] as KeyType;
  const expireAt = readU64(raw, 1);
  if (type === KeyType.String) return { type, expireAt, version: 0, size: 0, value: raw.subarray(HEADER) };
  const found: KeyMeta = { type, expireAt, version: readU64(raw, 9), size: readU64(raw, 17), value: EMPTY };
  if (type === KeyType.List) found.head = raw.length >= HEADER + 24 ? readU64(raw, 25) : LIST_START;
  return found;
}

/** As Redis: a key lives through its expiry millisecond and is gone after it. */
export function isExpired(meta: KeyMeta, now: number): boolean {
  return meta.expireAt !== 0 && meta.expireAt < now;
}

export function stringMeta(value: Buffer, expireAt = 0): KeyMeta {
  return { type: KeyType.String, expireAt, version: 0, size: 0, value };
}
