// Hash commands; the matching apply code is in apply/hashes.ts.
//
// Writes parse and validate everything first, then call ctx.write()
// synchronously (the dispatcher relies on it for pipelined order). Reads
// take the keyspace after the region's read barrier.
//
// Knowingly different from Redis 7.0: HSCAN cursors are not bucket indexes
// (see below; same guarantees, a small hash is not returned in one call);
// HRANDFIELD refuses replies above HRANDFIELD_MAX_REPLY elements where Redis
// would stream until its output-buffer limit; field order of HGETALL/HKEYS/
// HVALS is byte order, not insertion or hash order.
import { MapReply, OK, subKeyRange } from '@redraft/common';
import { samplePositions } from '../data/sample';
import type { Reply } from '@redraft/common';
import type { CommandHandler, Spec } from './context';
import type { FoundKey, Keyspace } from '../data/keyspace';
import { KeyType } from '../data/meta';
import { CommandError, NOT_INTEGER, NOT_FLOAT, SYNTAX } from '../data/errors';
import { globMatch } from '../data/glob';
import { NAN_OR_INF, strictInt64 } from '../apply/hashes';
import { isInfinite, parseLongDouble } from '../apply/longdouble';

/** An int64 argument read as Redis's getLongLongFromObjectOrReply does. */
export function int64Arg(arg: Buffer): bigint {
  const v = strictInt64(arg);
  if (v === null) throw new CommandError(NOT_INTEGER);
  return v;
}

const wrongArgs = (name: string): CommandError => new CommandError(`ERR wrong number of arguments for '${name}' command`);

/** field value field value ... → two lists (the arity check of HSET/HMSET). */
function fieldValuePairs(args: Buffer[], name: string): { fields: Buffer[]; values: Buffer[] } {
  if (args.length % 2 !== 0) throw wrongArgs(name);
  const fields: Buffer[] = [];
  const values: Buffer[] = [];
  for (let i = 2; i < args.length; i += 2) {
    fields.push(args[i]);
    values.push(args[i + 1]);
  }
  return { fields, values };
}

// ---- writes ------------------------------------------------------------------

/** HSET key field value [field value ...] → number of fields added. */
const hset: CommandHandler = (ctx, args) => {
  const key = args[1];
  const { fields, values } = fieldValuePairs(args, 'hset');
  return ctx.write([key], { hset: { key, fields, values } });
};

/** HMSET key field value [field value ...] → OK (deprecated form of HSET). */
const hmset: CommandHandler = (ctx, args) => {
  const key = args[1];
  const { fields, values } = fieldValuePairs(args, 'hmset');
  return ctx.write([key], { hset: { key, fields, values } }).then((r) => (typeof r === 'number' ? OK : r));
};

/** HSETNX key field value → 1 when set, 0 when the field existed. */
const hsetnx: CommandHandler = (ctx, [, key, field, value]) =>
  ctx.write([key], { hset: { key, fields: [field], values: [value], nx: true } });

/** HDEL key field [field ...] → number of fields removed. */
const hdel: CommandHandler = (ctx, args) => {
  const key = args[1];
  return ctx.write([key], { hdel: { key, fields: args.slice(2) } });
};

/** HINCRBY key field increment. */
const hincrby: CommandHandler = (ctx, [, key, field, increment]) => {
  const delta = int64Arg(increment);
  return ctx.write([key], { hincrBy: { key, field, delta: delta.toString() } });
};

/** HINCRBYFLOAT key field increment (80-bit arithmetic, in apply). */
const hincrbyfloat: CommandHandler = (ctx, [, key, field, increment]) => {
  const incr = parseLongDouble(increment);
  if (!incr) throw new CommandError(NOT_FLOAT);
  if (isInfinite(incr)) throw new CommandError(NAN_OR_INF);
  return ctx.write([key], { hincrByFloat: { key, field, delta: increment.toString('latin1') } });
};

// ---- reads -------------------------------------------------------------------

async function readHash(ctx: Parameters<CommandHandler>[0], key: Buffer): Promise<{ ks: Keyspace; hash: FoundKey | null }> {
  const ks = await ctx.read([key]);
  return { ks, hash: await ks.lookupTyped(key, KeyType.Hash) };
}

const hget: CommandHandler = async (ctx, [, key, field]) => {
  const { ks, hash } = await readHash(ctx, key);
  if (!hash) return null;
  return (await ks.getMember(hash, field)) ?? null;
};

const hmget: CommandHandler = async (ctx, args) => {
  const key = args[1];
  const { ks, hash } = await readHash(ctx, key);
  const out: Reply[] = [];
  for (const field of args.slice(2)) out.push(hash ? ((await ks.getMember(hash, field)) ?? null) : null);
  return out;
};

const hlen: CommandHandler = async (ctx, [, key]) => (await readHash(ctx, key)).hash?.size ?? 0;

const hexists: CommandHandler = async (ctx, [, key, field]) => {
  const { ks, hash } = await readHash(ctx, key);
  return hash && (await ks.getMember(hash, field)) !== undefined ? 1 : 0;
};

const hstrlen: CommandHandler = async (ctx, [, key, field]) => {
  const { ks, hash } = await readHash(ctx, key);
  return hash ? ((await ks.getMember(hash, field))?.length ?? 0) : 0;
};

/** All [field, value] pairs of a hash, in field order. */
async function allPairs(ks: Keyspace, hash: FoundKey | null): Promise<Array<[Buffer, Buffer]>> {
  const out: Array<[Buffer, Buffer]> = [];
  if (!hash) return out;
  for await (const pair of ks.members(hash)) out.push(pair);
  return out;
}

/** HGETALL: a map in RESP3, a flat field/value array in RESP2. */
const hgetall: CommandHandler = async (ctx, [, key]) => {
  const { ks, hash } = await readHash(ctx, key);
  return new MapReply(await allPairs(ks, hash));
};

const hkeys: CommandHandler = async (ctx, [, key]) => {
  const { ks, hash } = await readHash(ctx, key);
  return (await allPairs(ks, hash)).map(([f]) => f);
};

const hvals: CommandHandler = async (ctx, [, key]) => {
  const { ks, hash } = await readHash(ctx, key);
  return (await allPairs(ks, hash)).map(([, v]) => v);
};

// ---- HRANDFIELD ------------------------------------------------------------------

const LONG_MAX = 2n ** 63n - 1n;
/**
 * The most elements one HRANDFIELD with a negative count may answer. Redis
 * streams any count and lets its output-buffer limit kill the client; we
 * build the reply in memory, so a hostile count must not exhaust the heap.
 */
export const HRANDFIELD_MAX_REPLY = 1_000_000;

/** A uniform integer in [0, n) from the context's generator (seeded inside a transaction's apply). */
function randomInt(ctx: Parameters<CommandHandler>[0], n: number): number {
  return Math.floor(ctx.random() * n);
}

/** HRANDFIELD key [count [WITHVALUES]] */
const hrandfield: CommandHandler = async (ctx, args) => {
  const key = args[1];
  if (args.length >= 3) {
    const l = int64Arg(args[2]);
    if (l < -LONG_MAX || l > LONG_MAX) {
      throw new CommandError(`ERR value is out of range, value must between -${LONG_MAX} and ${LONG_MAX}`);
    }
    let withValues = false;
    if (args.length > 4 || (args.length === 4 && args[3].toString('latin1').toLowerCase() !== 'withvalues')) {
      throw new CommandError(SYNTAX);
    } else if (args.length === 4) {
      withValues = true;
      if (l < -LONG_MAX / 2n || l > LONG_MAX / 2n) throw new CommandError('ERR value is out of range');
    }
    return hrandfieldWithCount(ctx, key, l, withValues);
  }
  const { ks, hash } = await readHash(ctx, key);
  if (!hash || hash.size === 0) return null;
  const target = randomInt(ctx, hash.size);
  let last: Buffer | null = null;
  let i = 0;
  for await (const [field] of ks.members(hash, { limit: target + 1 })) {
    last = field;
    if (i++ === target) break;
  }
  return last;
};

async function hrandfieldWithCount(ctx: Parameters<CommandHandler>[0], key: Buffer, l: bigint, withValues: boolean): Promise<Reply> {
  const { ks, hash } = await readHash(ctx, key);
  if (!hash || l === 0n) return [];
  const resp3 = ctx.client.protocol === 3;
  const emit = (pairs: Array<[Buffer, Buffer]>): Reply => {
    if (!withValues) return pairs.map(([f]) => f);
    if (resp3) return pairs.map(([f, v]) => [f, v]);
    const flat: Reply[] = [];
    for (const [f, v] of pairs) flat.push(f, v);
    return flat;
  };
  const size = hash.size;
  if (l < 0n || l === 1n) {
    // Repetitions allowed: `count` independent uniform picks.
    const count = l < 0n ? -l : l;
    if (count * (withValues ? 2n : 1n) > BigInt(HRANDFIELD_MAX_REPLY)) {
      throw new CommandError(`ERR HRANDFIELD count is too large for this server (at most ${HRANDFIELD_MAX_REPLY} elements per reply)`);
    }
    const picks: number[] = [];
    for (let n = Number(count); n > 0; n--) picks.push(randomInt(ctx, size));
    return emit(await pairsAt(ks, hash, picks));
  }
  // Distinct fields: the whole hash when it has no more than asked for.
  if (l >= BigInt(size)) return emit(await allPairs(ks, hash));
  return emit(await pairsAt(ks, hash, samplePositions(size, Number(l), (n) => randomInt(ctx, n))));
}

/**
 * The [field, value] pairs at the given positions (in field order) of a hash,
 * in the order asked, repetitions included; one pass over the members,
 * keeping only the picked ones.
 */
async function pairsAt(ks: Keyspace, hash: FoundKey, positions: number[]): Promise<Array<[Buffer, Buffer]>> {
  const wanted = new Set(positions);
  const found = new Map<number, [Buffer, Buffer]>();
  let last = 0;
  for (const p of positions) if (p > last) last = p;
  let i = 0;
  for await (const pair of ks.members(hash, { limit: last + 1 })) {
    if (wanted.has(i)) found.set(i, pair);
    i++;
  }
  const out: Array<[Buffer, Buffer]> = [];
  for (const p of positions) {
    const pair = found.get(p);
    if (pair) out.push(pair);
  }
  return out;
}

// ---- HSCAN -------------------------------------------------------------------------

/**
 * HSCAN cursors. Redis's cursor is a bucket index; ours must name a place
 * in the byte order of the fields, in 64 bits. A cursor (0 starts and ends)
 * is 1 + [n: 8 bits][sum: 16 bits][rest: 32 bits] for the next field F to
 * return: n is the length of the prefix F shares with the whole hash (the
 * common prefix of its first and last fields, at most 255 bytes), sum a
 * checksum of those n bytes, rest the 4 bytes of F after them. Resuming
 * takes the n-byte prefix back from the current first or last field (the
 * one whose checksum matches) and seeks to prefix + rest, which is at or
 * before F. Every field present for the whole iteration starts with that
 * prefix and comes at or after F, so it is returned (some fields may come
 * twice), as SCAN guarantees; if neither end of the hash still carries the
 * prefix, the scan restarts from the beginning (duplicates, no misses).
 * Skipping the common prefix keeps batches near COUNT even when every field
 * starts alike ("session:..."): a call only runs past COUNT while the next
 * field's resume point would not move beyond the last field returned.
 */
const REST_BYTES = 4;
const MAX_PREFIX = 255;

function checksum16(b: Buffer, n: number): number {
  let h = 0x811c9dc5; // FNV-1a, folded to 16 bits
  for (let i = 0; i < n; i++) h = Math.imul(h ^ b[i], 0x01000193) >>> 0;
  return (h ^ (h >>> 16)) & 0xffff;
}

function commonPrefixLength(a: Buffer, b: Buffer): number {
  const max = Math.min(a.length, b.length, MAX_PREFIX);
  let i = 0;
  while (i < max && a[i] === b[i]) i++;
  return i;
}

/** The cursor that resumes at `field`, which shares `n` bytes with the hash's common prefix. */
export function encodeHashCursor(field: Buffer, n: number): bigint {
  n = Math.min(n, field.length, MAX_PREFIX);
  let rest = 0n;
  for (let i = 0; i < REST_BYTES; i++) rest = (rest << 8n) | BigInt(n + i < field.length ? field[n + i] : 0);
  return ((BigInt(n) << 48n) | (BigInt(checksum16(field, n)) << 32n) | rest) + 1n;
}

interface DecodedCursor {
  n: number;
  sum: number;
  rest: Buffer;
}

function decodeHashCursor(cursor: bigint): DecodedCursor | null {
  const v = cursor - 1n;
  if (v < 0n || v >= 1n << 56n) return null;
  const rest = Buffer.alloc(REST_BYTES);
  let r = v & 0xffffffffn;
  for (let i = REST_BYTES - 1; i >= 0; i--) {
    rest[i] = Number(r & 0xffn);
    r >>= 8n;
  }
  let end = REST_BYTES;
  while (end > 0 && rest[end - 1] === 0) end--;
  return { n: Number(v >> 48n), sum: Number((v >> 32n) & 0xffffn), rest: rest.subarray(0, end) };
}

/** Where a cursor made from `field` resumes, knowing `field` itself. */
function resumePointOf(field: Buffer, n: number): Buffer {
  const d = decodeHashCursor(encodeHashCursor(field, n))!;
  return Buffer.concat([field.subarray(0, d.n), d.rest]);
}

/** Redis's parseScanCursorOrReply: an unsigned long (strtoul: a sign is allowed, no spaces). */
export function parseCursor(arg: Buffer): bigint {
  const s = arg.toString('latin1');
  const m = /^([+-]?)([0-9]+)$/.exec(s);
  if (!m) throw new CommandError('ERR invalid cursor');
  let v = BigInt(m[2]);
  if (v > 2n ** 64n - 1n) throw new CommandError('ERR invalid cursor');
  if (m[1] === '-' && v !== 0n) v = 2n ** 64n - v;
  return v;
}

/** SCAN-family options after the cursor: COUNT n, MATCH pattern (TYPE is SCAN's only). */
export function parseScanOptions(args: Buffer[], from: number): { count: number; pattern: Buffer | null } {
  let count = 10;
  let pattern: Buffer | null = null;
  for (let i = from; i < args.length; ) {
    const opt = args[i].toString('latin1').toLowerCase();
    const left = args.length - i;
    if (opt === 'count' && left >= 2) {
      const n = int64Arg(args[i + 1]);
      if (n < 1n) throw new CommandError(SYNTAX);
      count = n > 1_000_000n ? 1_000_000 : Number(n);
      i += 2;
    } else if (opt === 'match' && left >= 2) {
      const p = args[i + 1];
      pattern = p.length === 1 && p[0] === 0x2a ? null : p;
      i += 2;
    } else {
      throw new CommandError(SYNTAX);
    }
  }
  return { count, pattern };
}

/** HSCAN key cursor [MATCH pattern] [COUNT count] → [next cursor, [field, value, ...]] */
const hscan: CommandHandler = async (ctx, args) => {
  const key = args[1];
  const cursor = parseCursor(args[2]);
  const { ks, hash } = await readHash(ctx, key);
  // Redis answers an empty scan for a missing key before it looks at the options.
  if (!hash) return ['0', []];
  return scanMembers(ks, hash, cursor, args);
};

/**
 * One SCAN-family step over the member rows of any collection (options from
 * args[3]); `value` turns a stored member value into the reply's (ZSCAN's scores).
 */
export async function scanMembers(ks: Keyspace, found: FoundKey, cursor: bigint, args: Buffer[], value: (v: Buffer) => Buffer = (v) => v): Promise<Reply> {
  const { count, pattern } = parseScanOptions(args, 3);
  const [gte, lt] = subKeyRange(found.slot, found.key, found.version);
  const subPrefix = gte.length;
  // The collection's first and last members: their common prefix is every member's.
  let first: Buffer | null = null;
  let last: Buffer | null = null;
  for await (const [k] of ks.reader.scan({ gte, lt, limit: 1, keysOnly: true })) first = k.subarray(subPrefix);
  for await (const [k] of ks.reader.scan({ gte, lt, limit: 1, reverse: true, keysOnly: true })) last = k.subarray(subPrefix);
  if (!first || !last) return ['0', []];
  const common = first.subarray(0, commonPrefixLength(first, last));
  let start = Buffer.alloc(0);
  if (cursor !== 0n) {
    const d = decodeHashCursor(cursor);
    if (!d) return ['0', []];
    const carrier = [first, last].find((f) => f.length >= d.n && checksum16(f, d.n) === d.sum);
    // No end of the collection carries the prefix any more: start over (duplicates, never misses).
    if (carrier) start = Buffer.concat([carrier.subarray(0, d.n), d.rest]);
  }
  const out: Reply[] = [];
  let taken = 0;
  let lastField: Buffer | null = null;
  let next = 0n;
  for await (const [k, v] of ks.reader.scan({ gte: Buffer.concat([gte, start]), lt })) {
    const field = k.subarray(subPrefix);
    if (taken >= count && lastField) {
      const n = commonPrefixLength(common, field);
      if (Buffer.compare(resumePointOf(field, n), lastField) > 0) {
        next = encodeHashCursor(field, n);
        break;
      }
    }
    taken++;
    lastField = field;
    if (pattern && !globMatch(pattern, field)) continue;
    out.push(field, value(v));
  }
  return [next.toString(), out];
}

const HASH = { group: 'hash' } as const;
const R = ['readonly'] as const;
const RF = ['readonly', 'fast'] as const;
const WF = ['write', 'denyoom', 'fast'] as const;

export const HASH_COMMANDS: Spec[] = [
  { ...HASH, name: 'hset', arity: -4, flags: [...WF], keys: [1, 1, 1], since: '2.0.0', summary: 'Creates or modifies the value of a field in a hash.', complexity: 'O(1) for each field/value pair added, so O(N) to add N field/value pairs when the command is called with multiple field/value pairs.', handler: hset },
  { ...HASH, name: 'hsetnx', arity: 4, flags: [...WF], keys: [1, 1, 1], since: '2.0.0', summary: 'Sets the value of a field in a hash only when the field doesn\'t exist.', complexity: 'O(1)', handler: hsetnx },
  { ...HASH, name: 'hmset', arity: -4, flags: [...WF], keys: [1, 1, 1], since: '2.0.0', summary: 'Sets the values of multiple fields.', complexity: 'O(N) where N is the number of fields being set.', handler: hmset },
  { ...HASH, name: 'hget', arity: 3, flags: [...RF], keys: [1, 1, 1], since: '2.0.0', summary: 'Returns the value of a field in a hash.', complexity: 'O(1)', handler: hget },
  { ...HASH, name: 'hmget', arity: -3, flags: [...RF], keys: [1, 1, 1], since: '2.0.0', summary: 'Returns the values of all fields in a hash.', complexity: 'O(N) where N is the number of fields being requested.', handler: hmget },
  { ...HASH, name: 'hdel', arity: -3, flags: ['write', 'fast'], keys: [1, 1, 1], since: '2.0.0', summary: 'Deletes one or more fields and their values from a hash. Deletes the hash if no fields remain.', complexity: 'O(N) where N is the number of fields to be removed.', handler: hdel },
  { ...HASH, name: 'hlen', arity: 2, flags: [...RF], keys: [1, 1, 1], since: '2.0.0', summary: 'Returns the number of fields in a hash.', complexity: 'O(1)', handler: hlen },
  { ...HASH, name: 'hexists', arity: 3, flags: [...RF], keys: [1, 1, 1], since: '2.0.0', summary: 'Determines whether a field exists in a hash.', complexity: 'O(1)', handler: hexists },
  { ...HASH, name: 'hgetall', arity: 2, flags: [...R], keys: [1, 1, 1], since: '2.0.0', summary: 'Returns all fields and values in a hash.', complexity: 'O(N) where N is the size of the hash.', handler: hgetall },
  { ...HASH, name: 'hkeys', arity: 2, flags: [...R], keys: [1, 1, 1], since: '2.0.0', summary: 'Returns all fields in a hash.', complexity: 'O(N) where N is the size of the hash.', handler: hkeys },
  { ...HASH, name: 'hvals', arity: 2, flags: [...R], keys: [1, 1, 1], since: '2.0.0', summary: 'Returns all values in a hash.', complexity: 'O(N) where N is the size of the hash.', handler: hvals },
  { ...HASH, name: 'hincrby', arity: 4, flags: [...WF], keys: [1, 1, 1], since: '2.0.0', summary: 'Increments the integer value of a field in a hash by a number. Uses 0 as initial value if the field doesn\'t exist.', complexity: 'O(1)', handler: hincrby },
  { ...HASH, name: 'hincrbyfloat', arity: 4, flags: [...WF], keys: [1, 1, 1], since: '2.6.0', summary: 'Increments the floating point value of a field by a number. Uses 0 as initial value if the field doesn\'t exist.', complexity: 'O(1)', handler: hincrbyfloat },
  { ...HASH, name: 'hstrlen', arity: 3, flags: [...RF], keys: [1, 1, 1], since: '3.2.0', summary: 'Returns the length of the value of a field.', complexity: 'O(1)', handler: hstrlen },
  { ...HASH, name: 'hrandfield', arity: -2, flags: [...R], keys: [1, 1, 1], since: '6.2.0', summary: 'Returns one or more random fields from a hash.', complexity: 'O(N) where N is the number of fields returned', handler: hrandfield },
  { ...HASH, name: 'hscan', arity: -3, flags: [...R], keys: [1, 1, 1], since: '2.8.0', summary: 'Iterates over fields and values of a hash.', complexity: 'O(1) for every call. O(N) for a complete iteration, including enough command calls for the cursor to return back to 0. N is the number of elements inside the collection.', handler: hscan },
];
