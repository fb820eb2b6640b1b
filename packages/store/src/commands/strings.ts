// String commands. Handlers parse (pure validation) and then read or propose;
// the matching apply code is in apply/strings.ts.
import { ErrorReply, MapReply, pb } from '@redraft/common';
import type { Reply } from '@redraft/common';
import type { CommandContext, CommandHandler, Spec } from './context';
import { I64_MAX, I64_MIN, MAX_EXPIRE_MS, MAX_STRING_LEN, parseClampedInt, parseI64, word } from './parse';
import { CommandError, syntaxError } from '../data/errors';
import { KeyType } from '../data/meta';
import { stringValue } from '../data/keyspace';
import { readMeta } from './read-meta';

const get: CommandHandler = (ctx, [, key]) => readMeta(ctx, [key], ([found]) => stringValue(found));

const invalidExpire = (commandName: string): CommandError => new CommandError(`ERR invalid expire time in '${commandName}' command`);

/**
 * An expire argument of SET/SETEX/PSETEX/GETEX (Redis's
 * getExpireMillisecondsOrReply): must be > 0; relative times are added to
 * `now`; overflow of int64 is an error. Returns absolute ms, clamped to
 * what we store (MAX_EXPIRE_MS).
 */
export function expireArg(arg: Buffer, unit: 's' | 'ms', relative: boolean, now: number, commandName: string): number {
  let v = parseI64(arg);
  if (v <= 0n || (unit === 's' && v > I64_MAX / 1000n)) throw invalidExpire(commandName);
  if (unit === 's') v *= 1000n;
  if (relative) {
    if (v > I64_MAX - BigInt(now)) throw invalidExpire(commandName);
    v += BigInt(now);
  }
  return v > BigInt(MAX_EXPIRE_MS) ? MAX_EXPIRE_MS : Number(v);
}

type ExpiryWord = 'EX' | 'PX' | 'EXAT' | 'PXAT' | 'KEEPTTL' | 'PERSIST';

/**
 * Redis's parseExtendedStringArgumentsOrReply for SET and GETEX: one kind of
 * expiry (repeating the same kind is allowed, the last one wins), NX/XX
 * exclusive, GET for SET only, PERSIST for GETEX only. The expire value is
 * checked after the options, as Redis does.
 */
function parseSetOptions(ctx: CommandContext, args: Buffer[], from: number, isSet: boolean, name: string) {
  let condition = pb.Condition.ALWAYS;
  let get = false;
  let kind: ExpiryWord | null = null;
  let expireArgBuf: Buffer | null = null;
  for (let i = from; i < args.length; i++) {
    const opt = word(args[i]);
    const hasNext = i + 1 < args.length;
    const canExpire = (w: ExpiryWord): boolean => kind === null || kind === w;
    if (isSet && opt === 'NX' && condition !== pb.Condition.XX) condition = pb.Condition.NX;
    else if (isSet && opt === 'XX' && condition !== pb.Condition.NX) condition = pb.Condition.XX;
    else if (isSet && opt === 'GET') get = true;
    else if (isSet && opt === 'KEEPTTL' && canExpire('KEEPTTL')) kind = 'KEEPTTL';
    else if (!isSet && opt === 'PERSIST' && canExpire('PERSIST')) kind = 'PERSIST';
    else if ((opt === 'EX' || opt === 'PX' || opt === 'EXAT' || opt === 'PXAT') && canExpire(opt) && hasNext) {
      kind = opt;
      expireArgBuf = args[++i];
    } else throw syntaxError();
  }
  let expiry: pb.Expiry.$Properties | undefined;
  if (kind === 'KEEPTTL') expiry = { keep: true };
  else if (kind === 'PERSIST') expiry = { persist: true };
  else if (kind !== null) {
    const unit = kind === 'EX' || kind === 'EXAT' ? 's' : 'ms';
    expiry = { atMs: expireArg(expireArgBuf!, unit, kind === 'EX' || kind === 'PX', ctx.now, name) };
  }
  return { condition, get, expiry };
}

/** SET key value [NX|XX] [GET] [EX s|PX ms|EXAT s|PXAT ms|KEEPTTL] */
const set: CommandHandler = (ctx, args) => {
  const [, key, value] = args;
  const { condition, get, expiry } = parseSetOptions(ctx, args, 3, true, 'set');
  return ctx.write([key], { set: { key, value, condition, get, expiry } });
};

/** SETNX key value: 1 if set, 0 if the key existed. */
const setnx: CommandHandler = (ctx, [, key, value]) =>
  ctx.write([key], { set: { key, value, condition: pb.Condition.NX } }).then((r) => (r === null ? 0 : r instanceof ErrorReply ? r : 1));

function setexLike(unit: 's' | 'ms', name: string): CommandHandler {
  return (ctx, [, key, time, value]) => {
    const atMs = expireArg(time, unit, true, ctx.now, name);
    return ctx.write([key], { set: { key, value, expiry: { atMs } } });
  };
}

const getset: CommandHandler = (ctx, [, key, value]) => ctx.write([key], { set: { key, value, get: true } });

const getdel: CommandHandler = (ctx, [, key]) => ctx.write([key], { getDel: { key } });

/** GETEX key [EX s|PX ms|EXAT s|PXAT ms|PERSIST] */
const getex: CommandHandler = (ctx, args) => {
  const key = args[1];
  const { expiry } = parseSetOptions(ctx, args, 2, false, 'getex');
  return ctx.write([key], { getEx: { key, expiry } });
};

/** MGET: nil for missing keys and for keys of other types. */
const mget: CommandHandler = (ctx, args) =>
  readMeta(ctx, args.slice(1), (found) => found.map((f) => (f && f.type === KeyType.String ? f.value : null)));

function msetLike(name: string, nx: boolean): CommandHandler {
  return (ctx, args) => {
    if (args.length % 2 === 0) throw new CommandError(`ERR wrong number of arguments for '${name}' command`);
    const keys: Buffer[] = [];
    const values: Buffer[] = [];
    for (let i = 1; i < args.length; i += 2) {
      keys.push(args[i]);
      values.push(args[i + 1]);
    }
    return ctx.write(keys, { mset: { keys, values, nx } });
  };
}

const strlen: CommandHandler = (ctx, [, key]) => readMeta(ctx, [key], ([found]) => stringValue(found)?.length ?? 0);

const append: CommandHandler = (ctx, [, key, value]) => ctx.write([key], { append: { key, value } });

/** GETRANGE / SUBSTR key start end (Redis 7.0 rules for negative indexes). */
const getrange: CommandHandler = async (ctx, [, key, startArg, endArg]) => {
  let start = parseClampedInt(startArg);
  let end = parseClampedInt(endArg);
  const v = await (await ctx.read([key])).getString(key);
  if (!v) return Buffer.alloc(0);
  const len = v.length;
  if (start < 0 && end < 0 && start > end) return Buffer.alloc(0);
  if (start < 0) start = len + start;
  if (end < 0) end = len + end;
  if (start < 0) start = 0;
  if (end < 0) end = 0;
  if (end >= len) end = len - 1;
  if (start > end || len === 0) return Buffer.alloc(0);
  return Buffer.from(v.subarray(start, end + 1));
};

/** SETRANGE key offset value */
const setrange: CommandHandler = (ctx, [, key, offsetArg, value]) => {
  const offset = parseI64(offsetArg);
  if (offset < 0n) throw new CommandError('ERR offset is out of range');
  // Any offset past the maximum string length fails the same way in apply.
  const clamped = offset > BigInt(MAX_STRING_LEN) ? MAX_STRING_LEN + 1 : Number(offset);
  return ctx.write([key], { setRange: { key, offset: clamped, value } });
};

/** INCR / DECR / INCRBY / DECRBY: the signed delta travels as a decimal string (int64). */
function incrLike(sign: 1n | -1n, fixed: bigint | null): CommandHandler {
  return (ctx, args) => {
    const key = args[1];
    let delta = fixed ?? parseI64(args[2]);
    if (sign < 0n) {
      if (delta === I64_MIN) throw new CommandError('ERR decrement would overflow');
      delta = -delta;
    }
    return ctx.write([key], { incrBy: { key, delta: delta.toString() } });
  };
}

/** INCRBYFLOAT key increment: the increment is checked in apply, after the key's type and value, as Redis orders it. */
const incrbyfloat: CommandHandler = (ctx, [, key, delta]) => ctx.write([key], { incrByFloat: { key, delta: delta.toString('latin1') } });

/** LCS key1 key2 [LEN] [IDX] [MINMATCHLEN len] [WITHMATCHLEN]: a pure read. */
const lcs: CommandHandler = async (ctx, args) => {
  const [, k1, k2] = args;
  const ks = await ctx.read([k1, k2]);
  const fa = await ks.lookup(k1);
  const fb = await ks.lookup(k2);
  if ((fa && fa.type !== KeyType.String) || (fb && fb.type !== KeyType.String)) {
    throw new CommandError('ERR The specified keys must contain string values');
  }
  let getIdx = false;
  let getLen = false;
  let withMatchLen = false;
  let minMatchLen = 0;
  for (let j = 3; j < args.length; j++) {
    const opt = word(args[j]);
    const more = args.length - 1 - j;
    if (opt === 'IDX') getIdx = true;
    else if (opt === 'LEN') getLen = true;
    else if (opt === 'WITHMATCHLEN') withMatchLen = true;
    else if (opt === 'MINMATCHLEN' && more > 0) {
      const v = parseClampedInt(args[++j]);
      minMatchLen = v < 0 ? 0 : v;
    } else throw syntaxError();
  }
  if (getIdx && getLen) throw new CommandError('ERR If you want both the length and indexes, please just use IDX.');
  return lcsReply(fa ? fa.value : Buffer.alloc(0), fb ? fb.value : Buffer.alloc(0), { getIdx, getLen, withMatchLen, minMatchLen });
};

/**
 * The largest LCS table we build: Redis refuses a table of more than
 * proto-max-bulk-len bytes (4 bytes a cell) with this message.
 */
const LCS_MAX_CELLS = MAX_STRING_LEN / 4;

/** Redis's LCS: the dynamic-programming table, then a walk back from the end emitting ranges. */
export function lcsReply(a: Buffer, b: Buffer, o: { getIdx: boolean; getLen: boolean; withMatchLen: boolean; minMatchLen: number }): Reply {
  const alen = a.length;
  const blen = b.length;
  if ((alen + 1) * (blen + 1) > LCS_MAX_CELLS) {
    throw new CommandError('ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len');
  }
  const w = blen + 1;
  let dp: Uint32Array;
  try {
    dp = new Uint32Array((alen + 1) * w);
  } catch {
    throw new CommandError('ERR Insufficient memory, failed allocating transient memory for LCS');
  }
  for (let i = 1; i <= alen; i++) {
    const ai = a[i - 1];
    for (let j = 1; j <= blen; j++) {
      if (ai === b[j - 1]) dp[i * w + j] = dp[(i - 1) * w + j - 1] + 1;
      else {
        const l1 = dp[(i - 1) * w + j];
        const l2 = dp[i * w + j - 1];
        dp[i * w + j] = l1 > l2 ? l1 : l2;
      }
    }
  }
  const total = dp[alen * w + blen];
  if (o.getLen) return total;
  const result = Buffer.alloc(total);
  const matches: Reply[] = [];
  let idx = total;
  let aStart = alen;
  let aEnd = 0;
  let bStart = 0;
  let bEnd = 0;
  let i = alen;
  let j = blen;
  while (i > 0 && j > 0) {
    let emit = false;
    if (a[i - 1] === b[j - 1]) {
      result[idx - 1] = a[i - 1];
      if (aStart === alen) {
        aStart = aEnd = i - 1;
        bStart = bEnd = j - 1;
      } else if (aStart === i && bStart === j) {
        aStart--;
        bStart--;
      } else {
        emit = true;
      }
      if (aStart === 0 || bStart === 0) emit = true;
      idx--;
      i--;
      j--;
    } else {
      const l1 = dp[(i - 1) * w + j];
      const l2 = dp[i * w + j - 1];
      if (l1 > l2) i--;
      else j--;
      if (aStart !== alen) emit = true;
    }
    if (emit) {
      const matchLen = aEnd - aStart + 1;
      if (o.getIdx && (o.minMatchLen === 0 || matchLen >= o.minMatchLen)) {
        const m: Reply[] = [[aStart, aEnd], [bStart, bEnd]];
        if (o.withMatchLen) m.push(matchLen);
        matches.push(m);
      }
      aStart = alen;
    }
  }
  if (o.getIdx) return new MapReply([['matches', matches], ['len', total]]);
  return result;
}

const STRING = { group: 'string' } as const;
const R = ['readonly', 'fast'] as Spec['flags'];
const W = ['write', 'denyoom'] as Spec['flags'];
const WF = ['write', 'denyoom', 'fast'] as Spec['flags'];
const K1: Spec['keys'] = [1, 1, 1];

export const STRING_COMMANDS: Spec[] = [
  { ...STRING, name: 'get', arity: 2, flags: R, keys: K1, since: '1.0.0', summary: 'Returns the string value of a key.', complexity: 'O(1)', handler: get },
  { ...STRING, name: 'set', arity: -3, flags: W, keys: K1, since: '1.0.0', summary: "Sets the string value of a key, ignoring its type. The key is created if it doesn't exist.", complexity: 'O(1)', handler: set },
  { ...STRING, name: 'setnx', arity: 3, flags: WF, keys: K1, since: '1.0.0', summary: "Set the string value of a key only when the key doesn't exist.", complexity: 'O(1)', handler: setnx },
  { ...STRING, name: 'setex', arity: 4, flags: W, keys: K1, since: '2.0.0', summary: 'Sets the string value and expiration time of a key. Creates the key if it doesn\'t exist.', complexity: 'O(1)', handler: setexLike('s', 'setex') },
  { ...STRING, name: 'psetex', arity: 4, flags: W, keys: K1, since: '2.6.0', summary: 'Sets both string value and expiration time in milliseconds of a key. The key is created if it doesn\'t exist.', complexity: 'O(1)', handler: setexLike('ms', 'psetex') },
  { ...STRING, name: 'getset', arity: 3, flags: WF, keys: K1, since: '1.0.0', summary: 'Returns the previous string value of a key after setting it to a new value.', complexity: 'O(1)', handler: getset },
  { ...STRING, name: 'getdel', arity: 2, flags: ['write', 'fast'], keys: K1, since: '6.2.0', summary: 'Returns the string value of a key after deleting the key.', complexity: 'O(1)', handler: getdel },
  { ...STRING, name: 'getex', arity: -2, flags: ['write', 'fast'], keys: K1, since: '6.2.0', summary: 'Returns the string value of a key after setting its expiration time.', complexity: 'O(1)', handler: getex },
  { ...STRING, name: 'mget', arity: -2, flags: R, keys: [1, -1, 1], since: '1.0.0', summary: 'Atomically returns the string values of one or more keys.', complexity: 'O(N) where N is the number of keys to retrieve.', handler: mget },
  { ...STRING, name: 'mset', arity: -3, flags: W, keys: [1, -1, 2], since: '1.0.1', summary: 'Atomically creates or modifies the string values of one or more keys.', complexity: 'O(N) where N is the number of keys to set.', handler: msetLike('mset', false) },
  { ...STRING, name: 'msetnx', arity: -3, flags: W, keys: [1, -1, 2], since: '1.0.1', summary: "Atomically modifies the string values of one or more keys only when all keys don't exist.", complexity: 'O(N) where N is the number of keys to set.', handler: msetLike('msetnx', true) },
  { ...STRING, name: 'strlen', arity: 2, flags: R, keys: K1, since: '2.2.0', summary: 'Returns the length of a string value.', complexity: 'O(1)', handler: strlen },
  { ...STRING, name: 'append', arity: 3, flags: WF, keys: K1, since: '2.0.0', summary: "Appends a string to the value of a key. Creates the key if it doesn't exist.", complexity: 'O(1). The amortized time complexity is O(1) assuming the appended value is small and the already present value is of any size, since the dynamic string library used by Redis will double the free space available on every reallocation.', handler: append },
  { ...STRING, name: 'getrange', arity: 4, flags: ['readonly'], keys: K1, since: '2.4.0', summary: 'Returns a substring of the string stored at a key.', complexity: 'O(N) where N is the length of the returned string.', handler: getrange },
  { ...STRING, name: 'substr', arity: 4, flags: ['readonly'], keys: K1, since: '1.0.0', summary: 'Returns a substring from a string value.', complexity: 'O(N) where N is the length of the returned string.', handler: getrange },
  { ...STRING, name: 'setrange', arity: 4, flags: ['write', 'denyoom'], keys: K1, since: '2.2.0', summary: "Overwrites a part of a string value with another by an offset. Creates the key if it doesn't exist.", complexity: 'O(1), not counting the time taken to copy the new string in place.', handler: setrange },
  { ...STRING, name: 'incr', arity: 2, flags: WF, keys: K1, since: '1.0.0', summary: "Increments the integer value of a key by one. Uses 0 as initial value if the key doesn't exist.", complexity: 'O(1)', handler: incrLike(1n, 1n) },
  { ...STRING, name: 'decr', arity: 2, flags: WF, keys: K1, since: '1.0.0', summary: "Decrements the integer value of a key by one. Uses 0 as initial value if the key doesn't exist.", complexity: 'O(1)', handler: incrLike(-1n, 1n) },
  { ...STRING, name: 'incrby', arity: 3, flags: WF, keys: K1, since: '1.0.0', summary: "Increments the integer value of a key by a number. Uses 0 as initial value if the key doesn't exist.", complexity: 'O(1)', handler: incrLike(1n, null) },
  { ...STRING, name: 'decrby', arity: 3, flags: WF, keys: K1, since: '1.0.0', summary: "Decrements a number from the integer value of a key. Uses 0 as initial value if the key doesn't exist.", complexity: 'O(1)', handler: incrLike(-1n, null) },
  { ...STRING, name: 'incrbyfloat', arity: 3, flags: WF, keys: K1, since: '2.6.0', summary: "Increment the floating point value of a key by a number. Uses 0 as initial value if the key doesn't exist.", complexity: 'O(1)', handler: incrbyfloat },
  { ...STRING, name: 'lcs', arity: -3, flags: ['readonly'], keys: [1, 2, 1], since: '7.0.0', summary: 'Finds the longest common substring.', complexity: 'O(N*M) where N and M are the lengths of s1 and s2, respectively', handler: lcs },
];
