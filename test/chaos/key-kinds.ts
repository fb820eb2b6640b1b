// The kinds of key the fault workload uses, and the commands that write
// and read each: registers and counters (CELLS, on string keys or inside a
// hash, a sorted set or a set), collections read whole (COLLECTIONS), pairs
// of counters in one slot, the two lists of a move queue, and the numbers of
// each (and of queues) a full run uses (FULL_MIX). workload.ts runs them; the checkers judge what they
// answered.
import type Redis from 'ioredis';
import type { Cluster } from 'ioredis';

export type AnyClient = Redis | Cluster;

export type CollectionName = 'list' | 'set' | 'hash' | 'zset';

/**
 * A collection type of the workload: how to add one element and read them
 * all. Hashes (by field) and sorted sets (by member; a ZRANGE's order is the
 * scores', not the adds') are checked as sets (collection-checker.ts).
 */
export interface CollectionType {
  name: CollectionName;
  prefix: string;
  addKind: 'append' | 'sadd';
  readKind: 'lread' | 'sread';
  addCommand: string;
  readCommand: string;
  /** `seq` is unique in the run and grows: a sorted set's score. */
  add(c: AnyClient, key: string, element: string, seq: number): Promise<unknown>;
  /** The read, whole: command and arguments (the clients' reads and the final one). */
  readArgs(key: string): (string | number)[];
}

export const COLLECTIONS: readonly CollectionType[] = [
  { name: 'list', prefix: 'chaos:l', addKind: 'append', readKind: 'lread', addCommand: 'RPUSH', readCommand: 'LRANGE', add: (c, k, e) => c.rpush(k, e), readArgs: (k) => ['LRANGE', k, 0, -1] },
  { name: 'set', prefix: 'chaos:s', addKind: 'sadd', readKind: 'sread', addCommand: 'SADD', readCommand: 'SMEMBERS', add: (c, k, e) => c.sadd(k, e), readArgs: (k) => ['SMEMBERS', k] },
  { name: 'hash', prefix: 'chaos:h', addKind: 'sadd', readKind: 'sread', addCommand: 'HSET', readCommand: 'HKEYS', add: (c, k, e) => c.hset(k, e, '1'), readArgs: (k) => ['HKEYS', k] },
  { name: 'zset', prefix: 'chaos:z', addKind: 'sadd', readKind: 'sread', addCommand: 'ZADD', readCommand: 'ZRANGE', add: (c, k, e, seq) => c.zadd(k, seq, e), readArgs: (k) => ['ZRANGE', k, 0, -1] },
];

export type CellName = 'register' | 'counter' | 'expiring' | 'hash-field' | 'hash-counter' | 'zset-score' | 'set-member';

/**
 * Where a register or a counter lives and the commands that write, read and
 * delete it. A cell inside another type is named `<key>/<field>` in the
 * history (`chaos:hf0/a`: field a of hash chaos:hf0); each key holds two
 * cells (fields or members a and b), so a write to one must leave the other
 * as it was. All are checked by checker.ts's register and counter models.
 */
export interface CellType {
  name: CellName;
  prefix: string;
  /** register: a write sets a value unique in the run; counter: a write adds 1. */
  model: 'register' | 'counter';
  /** One key per cell (strings), or two cells per key (fields, members). */
  fields: boolean;
  /** Command names for the history (absent: the string commands the op kind stands for). */
  commands?: { read: string; write: string; del: string };
  readArgs(key: string, field: string): (string | number)[];
  /** `value`: a register's new value (a counter's write ignores it). */
  writeArgs(key: string, field: string, value: string): (string | number)[];
  delArgs(key: string, field: string): (string | number)[];
  /**
   * Writes set a time to live drawn from [min, max] ms (SET PX), but one in
   * TTL_CLEARS, which sets none and so clears the key's: the value must be
   * there until it expires, and gone after.
   */
  ttlMs?: [number, number];
  /** The value a write stores when its command carries none (SADD: the member is there, "1"). */
  fixedValue?: string;
  /** A read's reply as the register's value, where it is not a string or nil (SISMEMBER: 0 → nil, 1 → "1"). */
  readValue?(reply: unknown): string | null;
}

export const CELLS: readonly CellType[] = [
  { name: 'register', prefix: 'chaos:r', model: 'register', fields: false, readArgs: (k) => ['GET', k], writeArgs: (k, _f, v) => ['SET', k, v], delArgs: (k) => ['DEL', k] },
  // Writes: SET PX, SET, PEXPIRE (EXPIRE_SHARE), DEL.
  { name: 'expiring', prefix: 'chaos:x', model: 'register', fields: false, readArgs: (k) => ['GET', k], writeArgs: (k, _f, v) => ['SET', k, v], delArgs: (k) => ['DEL', k], ttlMs: [100, 2000] },
  { name: 'counter', prefix: 'chaos:n', model: 'counter', fields: false, readArgs: (k) => ['GET', k], writeArgs: (k) => ['INCR', k], delArgs: (k) => ['DEL', k] },
  // HSET answers 1 for a field it added and 0 for one it overwrote: the checker holds it to that.
  { name: 'hash-field', prefix: 'chaos:hf', model: 'register', fields: true, commands: { read: 'HGET', write: 'HSET', del: 'HDEL' }, readArgs: (k, f) => ['HGET', k, f], writeArgs: (k, f, v) => ['HSET', k, f, v], delArgs: (k, f) => ['HDEL', k, f] },
  { name: 'hash-counter', prefix: 'chaos:hc', model: 'counter', fields: true, commands: { read: 'HGET', write: 'HINCRBY', del: 'HDEL' }, readArgs: (k, f) => ['HGET', k, f], writeArgs: (k, f) => ['HINCRBY', k, f, 1], delArgs: (k, f) => ['HDEL', k, f] },
  // Integer scores print as integers (ZINCRBY and ZSCORE answer "3"), as a counter reads.
  { name: 'zset-score', prefix: 'chaos:zc', model: 'counter', fields: true, commands: { read: 'ZSCORE', write: 'ZINCRBY', del: 'ZREM' }, readArgs: (k, f) => ['ZSCORE', k, f], writeArgs: (k, f) => ['ZINCRBY', k, 1, f], delArgs: (k, f) => ['ZREM', k, f] },
  // A set member as a register holding "1" while it is there: SADD answers 1 when it added it, SREM when it removed it.
  { name: 'set-member', prefix: 'chaos:sm', model: 'register', fields: true, commands: { read: 'SISMEMBER', write: 'SADD', del: 'SREM' }, readArgs: (k, f) => ['SISMEMBER', k, f], writeArgs: (k, f) => ['SADD', k, f], delArgs: (k, f) => ['SREM', k, f], fixedValue: '1', readValue: (r) => (r === 1 ? '1' : r === 0 ? null : `unexpected ${JSON.stringify(r)}`) },
];

/**
 * Every kind of key but registers and counters (which a workload always
 * names), in the numbers a fault run uses by default (run.ts) and the
 * in-process schedule too.
 */
export const FULL_MIX = {
  cells: { expiring: 3, 'hash-field': 4, 'hash-counter': 2, 'zset-score': 2, 'set-member': 2 } as Partial<Record<CellName, number>>,
  deleteShare: 0.1,
  collections: { list: 4, set: 2, hash: 2, zset: 2 } as Partial<Record<CollectionName, number>>,
  pairs: 3,
  queues: 2,
  moveQueues: 1,
};

/** The history names of `count` cells of a type: `chaos:r0`, ... or `chaos:hf0/a`, `chaos:hf0/b`, `chaos:hf1/a`, ... */
export function cellNames(type: CellType, count: number): string[] {
  return Array.from({ length: count }, (_, i) => (type.fields ? `${type.prefix}${i >> 1}/${'ab'[i & 1]}` : `${type.prefix}${i}`));
}

/** A cell's real key and its field or member ('' for a string key). */
export function cellPlace(name: string): [string, string] {
  const slash = name.lastIndexOf('/');
  return slash < 0 ? [name, ''] : [name.slice(0, slash), name.slice(slash + 1)];
}

/** The two real keys of pair `name` (one hash tag: one slot, one region). */
export function pairHalves(name: string): [string, string] {
  return [`{${name}}a`, `{${name}}b`];
}

/**
 * The two real lists of move queue `name` (one hash tag: one slot, one
 * region): RPUSH fills the first, LMOVE / BLMOVE take from its head to the
 * second's tail, and the client that moved an element removes it from the
 * second with LREM once it is done with it: Redis's reliable queue (the
 * pattern its docs give for RPOPLPUSH and LMOVE).
 */
export function moveQueueLists(name: string): [string, string] {
  return [`{${name}}in`, `{${name}}out`];
}

/** A pair's value as the history records it: one counter's, or "a|b" when the halves disagree. */
export function pairValue(a: string | null, b: string | null): string | null {
  return a === b ? a : `${a ?? 'nil'}|${b ?? 'nil'}`;
}
