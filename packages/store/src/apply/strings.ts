// Apply of the string operations. Deterministic: time is ks.now (the entry's
// proposed_at_ms), nothing else from outside the entry and the stored state.
import { OK, pb } from '@redraft/common';
import type { Reply } from '@redraft/common';
import type { Appliers } from './apply';
import type { FoundKey, MutableKeyspace } from '../data/keyspace';
import { KeyType, stringMeta } from '../data/meta';
import { CommandError, NOT_FLOAT, NOT_INTEGER, OVERFLOW, wrongType } from '../data/errors';
import { I64_MAX, I64_MIN, MAX_STRING_LEN, STRING_TOO_LONG, tryI64 } from '../commands/parse';
import { addLongDouble, formatLongDouble, isInfinite, parseLongDouble } from './longdouble';

const NAN_OR_INF = 'ERR increment would produce NaN or Infinity';

/** The expiry a write leaves on a key, given the key's current expiry. */
export function expiryAfter(expiry: pb.Expiry | null | undefined, currentExpireAt: number): number {
  if (!expiry || !expiry.kind) return 0;
  if (expiry.kind === 'keep') return currentExpireAt;
  if (expiry.kind === 'persist') return 0;
  return Number(expiry.atMs);
}

/** Writes a string value, or deletes the key when its new expiry is already due. */
function putString(ks: MutableKeyspace, key: Buffer, value: Buffer, expireAt: number): void {
  if (expireAt !== 0 && expireAt <= ks.now) ks.deleteKey(key);
  else ks.putMeta(key, stringMeta(value, expireAt));
}

async function lookupString(ks: MutableKeyspace, key: Buffer): Promise<FoundKey | null> {
  return ks.lookupTyped(key, KeyType.String);
}

async function set(op: pb.SetOp, ks: MutableKeyspace): Promise<Reply> {
  const key = Buffer.from(op.key);
  const needOld = op.get || op.condition !== pb.Condition.ALWAYS || op.expiry?.kind === 'keep';
  const old = needOld ? await ks.lookup(key) : null;
  if (op.get && old && old.type !== KeyType.String) throw wrongType();
  const oldValue: Reply = op.get ? (old ? Buffer.from(old.value) : null) : null;
  if ((op.condition === pb.Condition.NX && old) || (op.condition === pb.Condition.XX && !old)) return op.get ? oldValue : null;
  // The entry's bytes as they are: encodeMeta copies them into the row.
  putString(ks, key, op.value as Buffer, expiryAfter(op.expiry, old?.expireAt ?? 0));
  return op.get ? oldValue : OK;
}

/** MSET / MSETNX: every key of one entry, so all or nothing. */
async function mset(op: pb.MSetOp, ks: MutableKeyspace): Promise<Reply> {
  const keys = op.keys.map((k) => Buffer.from(k));
  if (op.nx) {
    for (const k of keys) if (await ks.lookup(k)) return 0;
  }
  keys.forEach((k, i) => ks.putMeta(k, stringMeta(Buffer.from(op.values[i]))));
  return op.nx ? 1 : OK;
}

async function append(op: pb.AppendOp, ks: MutableKeyspace): Promise<Reply> {
  const key = Buffer.from(op.key);
  const found = await lookupString(ks, key);
  const add = Buffer.from(op.value);
  if (!found) {
    ks.putMeta(key, stringMeta(add));
    return add.length;
  }
  if (found.value.length + add.length > MAX_STRING_LEN) throw new CommandError(STRING_TOO_LONG);
  const value = Buffer.concat([found.value, add]);
  ks.putMeta(key, stringMeta(value, found.expireAt));
  return value.length;
}

async function setRange(op: pb.SetRangeOp, ks: MutableKeyspace): Promise<Reply> {
  const key = Buffer.from(op.key);
  const offset = Number(op.offset);
  const value = Buffer.from(op.value);
  const found = await lookupString(ks, key);
  const oldLen = found ? found.value.length : 0;
  if (value.length === 0) return oldLen;
  if (offset + value.length > MAX_STRING_LEN) throw new CommandError(STRING_TOO_LONG);
  const len = Math.max(oldLen, offset + value.length);
  const out = Buffer.alloc(len);
  if (found) found.value.copy(out, 0);
  value.copy(out, offset);
  ks.putMeta(key, stringMeta(out, found ? found.expireAt : 0));
  return len;
}

async function incrBy(op: pb.IncrByOp, ks: MutableKeyspace): Promise<Reply> {
  const key = Buffer.from(op.key);
  const found = await lookupString(ks, key);
  const delta = BigInt(op.delta);
  let current = 0n;
  if (found) {
    const v = tryI64(found.value);
    if (v === undefined) throw new CommandError(NOT_INTEGER);
    current = v;
  }
  const next = current + delta;
  if (next > I64_MAX || next < I64_MIN) throw new CommandError(OVERFLOW);
  ks.putMeta(key, stringMeta(Buffer.from(next.toString()), found ? found.expireAt : 0));
  return next;
}

/**
 * INCRBYFLOAT in Redis's x87 long double arithmetic (apply/longdouble.ts, the
 * same code as HINCRBYFLOAT): the key's type, then its value, then the
 * increment are checked, in Redis's order.
 */
async function incrByFloat(op: pb.IncrByFloatOp, ks: MutableKeyspace): Promise<Reply> {
  const key = Buffer.from(op.key);
  const found = await lookupString(ks, key);
  const current = found ? parseLongDouble(found.value) : parseLongDouble('0');
  if (!current) throw new CommandError(NOT_FLOAT);
  const delta = parseLongDouble(op.delta);
  if (!delta) throw new CommandError(NOT_FLOAT);
  let next;
  try {
    next = addLongDouble(current, delta);
  } catch {
    throw new CommandError(NAN_OR_INF); // inf + -inf
  }
  if (isInfinite(next)) throw new CommandError(NAN_OR_INF);
  const text = Buffer.from(formatLongDouble(next));
  ks.putMeta(key, stringMeta(text, found ? found.expireAt : 0));
  return text;
}

async function getDel(op: pb.GetDelOp, ks: MutableKeyspace): Promise<Reply> {
  const key = Buffer.from(op.key);
  const found = await lookupString(ks, key);
  if (!found) return null;
  ks.deleteKey(key);
  return Buffer.from(found.value);
}

async function getEx(op: pb.GetExOp, ks: MutableKeyspace): Promise<Reply> {
  const key = Buffer.from(op.key);
  const found = await lookupString(ks, key);
  if (!found) return null;
  const value = Buffer.from(found.value);
  const kind = op.expiry?.kind;
  if (kind === 'atMs') putString(ks, key, value, Number(op.expiry!.atMs));
  else if (kind === 'persist' && found.expireAt !== 0) ks.putMeta(key, stringMeta(value, 0));
  return value;
}

export const STRING_APPLIERS: Appliers = {
  set,
  mset,
  append,
  setRange,
  incrBy,
  incrByFloat,
  getDel,
  getEx,
};
