// Apply of the hash operations. A hash lives as one metadata row (type,
// expiry, version, size) plus one member row per field; `size` is kept
// exact, and a hash whose last field goes is deleted (its row removed).
import type { Reply } from '@redraft/common';
import { pb } from '@redraft/common';
import type { Appliers } from './apply';
import type { FoundKey, MutableKeyspace } from '../data/keyspace';
import { KeyType } from '../data/meta';
import { CommandError } from '../data/errors';
import { addLongDouble, formatLongDouble, isInfinite, longDoubleFromBigInt, parseLongDouble } from './longdouble';

export const HASH_NOT_INTEGER = 'ERR hash value is not an integer';
export const HASH_NOT_FLOAT = 'ERR hash value is not a float';
export const INCR_OVERFLOW = 'ERR increment or decrement would overflow';
export const INCR_NAN_INF = 'ERR increment would produce NaN or Infinity';
export const NAN_OR_INF = 'ERR value is NaN or Infinity';

const I64_MIN = -(2n ** 63n);
const I64_MAX = 2n ** 63n - 1n;

/**
 * Redis's string2ll: an int64 written exactly as Redis writes it (no '+',
 * no spaces, no leading zeros, no "-0"); null otherwise.
 */
export function strictInt64(buf: Buffer | string): bigint | null {
  const s = typeof buf === 'string' ? buf : buf.toString('latin1');
  if (s.length === 0 || s.length > 20) return null;
  if (s === '0') return 0n;
  if (!/^-?[1-9][0-9]*$/.test(s)) return null;
  const v = BigInt(s);
  return v < I64_MIN || v > I64_MAX ? null : v;
}

async function openOrCreate(ks: MutableKeyspace, key: Buffer): Promise<FoundKey> {
  return (await ks.lookupTyped(key, KeyType.Hash)) ?? ks.newCollection(key, KeyType.Hash);
}

/** HSET / HMSET / HSETNX (nx: only fields that do not exist). Replies the number of fields added. */
async function hset(op: pb.HSetOp, ks: MutableKeyspace): Promise<Reply> {
  const key = Buffer.from(op.key);
  const hash = await openOrCreate(ks, key);
  let added = 0;
  for (let i = 0; i < op.fields.length; i++) {
    const row = ks.memberRow(hash, Buffer.from(op.fields[i]));
    const exists = (await ks.getRow(row)) !== undefined;
    if (exists && op.nx) continue;
    if (!exists) added++;
    ks.putRow(row, Buffer.from(op.values[i]));
  }
  hash.size += added;
  // Values of existing fields live in member rows; the metadata changes only with the size.
  if (added > 0) ks.putMeta(key, hash);
  return added;
}

/** HDEL: replies the number of fields removed; removes the key with its last field. */
async function hdel(op: pb.HDelOp, ks: MutableKeyspace): Promise<Reply> {
  const key = Buffer.from(op.key);
  const hash = await ks.lookupTyped(key, KeyType.Hash);
  if (!hash) return 0;
  let removed = 0;
  for (const f of op.fields) {
    const field = Buffer.from(f);
    if ((await ks.getMember(hash, field)) === undefined) continue;
    ks.deleteMember(hash, field);
    removed++;
  }
  if (removed === 0) return 0;
  hash.size -= removed;
  if (hash.size <= 0) ks.deleteKey(key);
  else ks.putMeta(key, hash);
  return removed;
}

/** HINCRBY: delta is a decimal int64 (validated by the command). */
async function hincrBy(op: pb.HIncrByOp, ks: MutableKeyspace): Promise<Reply> {
  const key = Buffer.from(op.key);
  const field = Buffer.from(op.field);
  const incr = BigInt(op.delta);
  const hash = await openOrCreate(ks, key);
  const raw = await ks.getMember(hash, field);
  let value = 0n;
  if (raw !== undefined) {
    const parsed = strictInt64(raw);
    if (parsed === null) throw new CommandError(HASH_NOT_INTEGER);
    value = parsed;
  }
  const result = value + incr;
  if (result < I64_MIN || result > I64_MAX) throw new CommandError(INCR_OVERFLOW);
  if (raw === undefined) hash.size++;
  ks.putMember(hash, field, Buffer.from(result.toString()));
  ks.putMeta(key, hash);
  return result;
}

/** HINCRBYFLOAT: 80-bit long double arithmetic and formatting, as Redis on x86-64. */
async function hincrByFloat(op: pb.HIncrByFloatOp, ks: MutableKeyspace): Promise<Reply> {
  const key = Buffer.from(op.key);
  const field = Buffer.from(op.field);
  const incr = parseLongDouble(op.delta);
  if (!incr) throw new CommandError('ERR value is not a valid float');
  if (isInfinite(incr)) throw new CommandError(NAN_OR_INF);
  const hash = await openOrCreate(ks, key);
  const raw = await ks.getMember(hash, field);
  let value = longDoubleFromBigInt(0n);
  if (raw !== undefined) {
    const parsed = parseLongDouble(raw);
    if (!parsed) throw new CommandError(HASH_NOT_FLOAT);
    value = parsed;
  }
  let sum;
  try {
    sum = addLongDouble(value, incr);
  } catch {
    throw new CommandError(INCR_NAN_INF);
  }
  if (isInfinite(sum)) throw new CommandError(INCR_NAN_INF);
  const text = Buffer.from(formatLongDouble(sum));
  if (raw === undefined) hash.size++;
  ks.putMember(hash, field, text);
  ks.putMeta(key, hash);
  return text;
}

export const HASH_APPLIERS: Appliers = {
  hset,
  hdel,
  hincrBy,
  hincrByFloat,
};
