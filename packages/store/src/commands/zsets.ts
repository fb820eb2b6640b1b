// Sorted-set commands; rows and ranges in data/zset.ts, apply in apply/zsets.ts.
//
// Writes parse and validate everything first, then call ctx.write()
// synchronously. Reads take the keyspace after the region's read barrier.
// Scores are doubles, printed as Redis prints them (%.17g; RESP3 doubles).
//
// Knowingly different from Redis 7.0: ZRANK, ZCOUNT and ranges by index
// count rows (O(N) in the rows passed, not O(log N)); ZSCAN cursors are the
// HSCAN ones (commands/hashes.ts); -0 is stored as 0; ZRANDMEMBER refuses
// replies above ZRANDMEMBER_MAX_REPLY elements; for the STORE forms a
// syntax error is reported before a wrong-type key (Redis checks the keys
// first). BZPOPMIN/BZPOPMAX/BZMPOP block as BLPOP does (blocking.ts,
// blockOn in commands/lists.ts): each attempt is a proposed ZPopOp.
import { DoubleReply, NullArray, formatDouble, pb } from '@redraft/common';
import { samplePositions } from '../data/sample';
import type { Reply } from '@redraft/common';
import type { CommandContext, CommandHandler, Spec } from './context';
import type { FoundKey, Keyspace } from '../data/keyspace';
import { KeyType } from '../data/meta';
import { CommandError, NOT_FLOAT, SYNTAX, wrongType } from '../data/errors';
import { numKeysPositions, parseClampedInt, parseI64, tryFloat, word } from './parse';
import { int64Arg, parseCursor, scanMembers } from './hashes';
import { ZSetReader, decodeScore, emptyLexRange, parseLexBound, parseRangeQuery, parseScoreBound, rangeEntries, MIN_MAX_NOT_LEX } from '../data/zset';
import type { RangeQuery, ZEntry } from '../data/zset';
import { combine } from '../apply/zsets';
import { NOTHING_POPPED } from '../blocking';
import { afterWaiters, blockOn, parseTimeout } from './lists';
import type { Aggregate, SetOperation } from '../apply/zsets';

type Ctx = CommandContext;

/** A score argument (ZADD, ZINCRBY): inf allowed, nan refused. */
function scoreArg(arg: Buffer, message = NOT_FLOAT): number {
  const v = tryFloat(arg);
  if (v === undefined) throw new CommandError(message);
  return v;
}

async function readZSet(ctx: Ctx, key: Buffer): Promise<{ ks: Keyspace; z: ZSetReader | null }> {
  const ks = await ctx.read([key]);
  const found = await ks.lookupTyped(key, KeyType.ZSet);
  return { ks, z: found ? new ZSetReader(ks, found) : null };
}

/** Elements as a reply: members only, or with scores (flat in RESP2, [member, score] pairs in RESP3). */
export function entriesReply(ctx: Ctx, entries: ZEntry[], withScores: boolean): Reply {
  if (!withScores) return entries.map((e) => e.member);
  if (ctx.client.protocol === 3) return entries.map((e) => [e.member, new DoubleReply(e.score)]);
  const out: Reply[] = [];
  for (const e of entries) out.push(e.member, new DoubleReply(e.score));
  return out;
}

// ---- writes ------------------------------------------------------------------

/** ZADD key [NX|XX] [GT|LT] [CH] [INCR] score member [score member ...] */
const zadd: CommandHandler = (ctx, args) => {
  const key = args[1];
  const flags = { nx: false, xx: false, gt: false, lt: false, ch: false, incr: false };
  let i = 2;
  for (; i < args.length; i++) {
    const opt = word(args[i]).toLowerCase();
    if (opt in flags) flags[opt as keyof typeof flags] = true;
    else break;
  }
  const rest = args.length - i;
  if (rest === 0 || rest % 2 !== 0) throw new CommandError(SYNTAX);
  if (flags.nx && flags.xx) throw new CommandError('ERR XX and NX options at the same time are not compatible');
  if ((flags.gt && flags.nx) || (flags.lt && flags.nx) || (flags.gt && flags.lt)) {
    throw new CommandError('ERR GT, LT, and/or NX options at the same time are not compatible');
  }
  if (flags.incr && rest > 2) throw new CommandError('ERR INCR option supports a single increment-element pair');
  const scores: number[] = [];
  const members: Buffer[] = [];
  for (; i < args.length; i += 2) {
    scores.push(scoreArg(args[i]));
    members.push(args[i + 1]);
  }
  return ctx.write([key], { zadd: { key, members, scores, ...flags } }).then((r) => afterWaiters(ctx, [key], r));
};

/** ZINCRBY key increment member */
const zincrby: CommandHandler = (ctx, [, key, increment, member]) =>
  ctx.write([key], { zadd: { key, members: [member], scores: [scoreArg(increment)], incr: true } }).then((r) => afterWaiters(ctx, [key], r));

const zrem: CommandHandler = (ctx, args) => ctx.write([args[1]], { zrem: { key: args[1], members: args.slice(2) } });

function rangeSpec(kind: pb.ZRangeKind, min: Buffer, max: Buffer, rev = false): pb.IZRangeSpec {
  return { kind, min, max, rev };
}

const zremrangebyrank: CommandHandler = (ctx, [, key, start, stop]) => {
  parseRangeQuery('rank', start, stop, false);
  return ctx.write([key], { zremRange: { key, range: rangeSpec(pb.ZRangeKind.RANK, start, stop) } });
};

const zremrangebyscore: CommandHandler = (ctx, [, key, min, max]) => {
  parseRangeQuery('score', min, max, false);
  return ctx.write([key], { zremRange: { key, range: rangeSpec(pb.ZRangeKind.SCORE, min, max) } });
};

const zremrangebylex: CommandHandler = (ctx, [, key, min, max]) => {
  parseRangeQuery('lex', min, max, false);
  return ctx.write([key], { zremRange: { key, range: rangeSpec(pb.ZRangeKind.LEX, min, max) } });
};

/** Apply's pop answer [key, member, score, ...] as pairs. */
function poppedPairs(r: Reply): { key: Buffer; pairs: Array<[Buffer, Reply]> } | null {
  if (!Array.isArray(r)) return null;
  const pairs: Array<[Buffer, Reply]> = [];
  for (let i = 1; i + 1 < r.length; i += 2) pairs.push([r[i] as Buffer, r[i + 1]]);
  return { key: r[0] as Buffer, pairs };
}

/** ZPOPMIN / ZPOPMAX key [count] */
function zpopMinMax(max: boolean): CommandHandler {
  return async (ctx, args) => {
    if (args.length > 3) throw new CommandError(SYNTAX);
    let count = -1;
    if (args.length === 3) {
      const n = parseI64(args[2]);
      if (n < 0n) throw new CommandError('ERR value is out of range, must be positive');
      count = n > 2n ** 53n ? 2 ** 53 : Number(n);
    }
    const r = await ctx.write([args[1]], { zpop: { keys: [args[1]], max, count: count < 0 ? 1 : count } });
    const popped = poppedPairs(r);
    if (!popped) return r === null ? [] : r; // nothing to pop, or apply's error
    // A flat array in RESP2 or for a single pop; [member, score] pairs in RESP3 with a count.
    if (ctx.client.protocol === 3 && count !== -1) return popped.pairs;
    return popped.pairs.flat();
  };
}

/** ZMPOP / BZMPOP arguments from `at` (numkeys): keys, MIN|MAX, count. */
function zmpopArgs(args: Buffer[], at: number): { keys: Buffer[]; max: boolean; count: number } {
  const numkeys = parseI64(args[at], 'ERR numkeys should be greater than 0');
  if (numkeys < 1n) throw new CommandError('ERR numkeys should be greater than 0');
  const whereAt = at + 1 + Number(numkeys > BigInt(args.length) ? BigInt(args.length) : numkeys);
  if (whereAt >= args.length) throw new CommandError(SYNTAX);
  const where = word(args[whereAt]);
  if (where !== 'MIN' && where !== 'MAX') throw new CommandError(SYNTAX);
  let count = -1;
  for (let j = whereAt + 1; j < args.length; j++) {
    if (count === -1 && word(args[j]) === 'COUNT' && j + 1 < args.length) {
      const n = parseI64(args[++j], 'ERR count should be greater than 0');
      if (n < 1n) throw new CommandError('ERR count should be greater than 0');
      count = n > 2n ** 53n ? 2 ** 53 : Number(n);
    } else {
      throw new CommandError(SYNTAX);
    }
  }
  return { keys: args.slice(at + 1, whereAt), max: where === 'MAX', count: count === -1 ? 1 : count };
}

/** ZMPOP's reply [key, [[member, score], ...]] from apply's, or nil. */
function mpopReply(r: Reply): Reply {
  const popped = poppedPairs(r);
  if (!popped) return r === null || r === NOTHING_POPPED ? NullArray.instance : r;
  return [popped.key, popped.pairs];
}

/** ZMPOP numkeys key [key ...] MIN|MAX [COUNT count] */
const zmpop: CommandHandler = async (ctx, args) => {
  const { keys, max, count } = zmpopArgs(args, 1);
  return mpopReply(await ctx.write(keys, { zpop: { keys, max, count } }));
};

/** BZMPOP timeout numkeys key [key ...] MIN|MAX [COUNT count] */
const bzmpop: CommandHandler = async (ctx, args) => {
  const timeout = parseTimeout(args[1]);
  const { keys, max, count } = zmpopArgs(args, 2);
  const r = await blockOn(ctx, keys, timeout, (_, woken) => ctx.write(keys, { zpop: { keys, max, count, blocking: true, woken } }), KeyType.ZSet);
  return r === NullArray.instance ? r : mpopReply(r);
};

/** BZPOPMIN / BZPOPMAX key [key ...] timeout: [key, member, score], or nil on timeout. */
function bzpop(max: boolean): CommandHandler {
  return (ctx, args) => {
    const keys = args.slice(1, -1);
    const timeout = parseTimeout(args[args.length - 1]);
    return blockOn(ctx, keys, timeout, (_, woken) => ctx.write(keys, { zpop: { keys, max, count: 1, blocking: true, woken } }), KeyType.ZSet);
  };
}

// ---- reads -------------------------------------------------------------------

const zcard: CommandHandler = async (ctx, [, key]) => (await readZSet(ctx, key)).z?.size ?? 0;

const zscore: CommandHandler = async (ctx, [, key, member]) => {
  const { z } = await readZSet(ctx, key);
  const s = z ? await z.score(member) : undefined;
  return s === undefined ? null : new DoubleReply(s);
};

const zmscore: CommandHandler = async (ctx, args) => {
  const { z } = await readZSet(ctx, args[1]);
  const out: Reply[] = [];
  for (const m of args.slice(2)) {
    const s = z ? await z.score(m) : undefined;
    out.push(s === undefined ? null : new DoubleReply(s));
  }
  return out;
};

const zcount: CommandHandler = async (ctx, [, key, min, max]) => {
  const range = { min: parseScoreBound(min), max: parseScoreBound(max) };
  const { z } = await readZSet(ctx, key);
  return z ? z.count(range) : 0;
};

const zlexcount: CommandHandler = async (ctx, [, key, min, max]) => {
  let range;
  try {
    range = { min: parseLexBound(min), max: parseLexBound(max) };
  } catch {
    throw new CommandError(MIN_MAX_NOT_LEX);
  }
  const { z } = await readZSet(ctx, key);
  if (!z || emptyLexRange(range)) return 0;
  let n = 0;
  for await (const _ of z.byLex(range)) n++; // eslint-disable-line @typescript-eslint/no-unused-vars
  return n;
};

function zrankOf(reverse: boolean): CommandHandler {
  return async (ctx, [, key, member]) => {
    const { z } = await readZSet(ctx, key);
    const r = z ? await z.rank(member, reverse) : undefined;
    return r === undefined ? null : r.rank;
  };
}

type RangeKind = RangeQuery['kind'];

interface ParsedRange {
  query: RangeQuery;
  withScores: boolean;
}

/**
 * The ZRANGE family's arguments from `at` (min, max, then options), as
 * Redis's zrangeGenericCommand reads them. `kind`/`rev` preset by the old
 * commands (ZRANGEBYSCORE...) forbid the BYSCORE/BYLEX/REV words.
 */
function parseRange(args: Buffer[], at: number, store: boolean, presetKind?: RangeKind, presetRev?: boolean): ParsedRange {
  let kind = presetKind;
  let rev = presetRev;
  let withScores = false;
  let offset = 0;
  let limit = -1;
  for (let j = at + 2; j < args.length; j++) {
    const opt = word(args[j]);
    const left = args.length - j - 1;
    if (!store && opt === 'WITHSCORES') withScores = true;
    else if (opt === 'LIMIT' && left >= 2) {
      offset = parseClampedInt(args[j + 1]);
      limit = parseClampedInt(args[j + 2]);
      j += 2;
    } else if (rev === undefined && opt === 'REV') rev = true;
    else if (kind === undefined && opt === 'BYLEX') kind = 'lex';
    else if (kind === undefined && opt === 'BYSCORE') kind = 'score';
    else throw new CommandError(SYNTAX);
  }
  const k: RangeKind = kind ?? 'rank';
  const reverse = rev ?? false;
  // As Redis, only a LIMIT count other than -1 is refused for ranks.
  if (limit !== -1 && k === 'rank') throw new CommandError('ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX');
  if (withScores && k === 'lex') throw new CommandError('ERR syntax error, WITHSCORES not supported in combination with BYLEX');
  // Score and lex ranges are given high end first when reversed.
  const [low, high] = reverse && k !== 'rank' ? [args[at + 1], args[at]] : [args[at], args[at + 1]];
  return { query: parseRangeQuery(k, low, high, reverse, offset, limit), withScores };
}

/** ZRANGE and its older forms: key min max [...]. */
function zrangeVariant(presetKind?: RangeKind, presetRev?: boolean): CommandHandler {
  return async (ctx, args) => {
    const { query, withScores } = parseRange(args, 2, false, presetKind, presetRev);
    const { z } = await readZSet(ctx, args[1]);
    if (!z) return [];
    return entriesReply(ctx, await rangeEntries(z, query), withScores);
  };
}

/** The logged form of a parsed range. */
function specOf(args: Buffer[], at: number, q: RangeQuery): pb.IZRangeSpec {
  const kind = q.kind === 'score' ? pb.ZRangeKind.SCORE : q.kind === 'lex' ? pb.ZRangeKind.LEX : pb.ZRangeKind.RANK;
  const [min, max] = q.rev && q.kind !== 'rank' ? [args[at + 1], args[at]] : [args[at], args[at + 1]];
  const limited = q.kind !== 'rank' && (q.offset !== 0 || q.count !== -1);
  return { kind, min, max, rev: q.rev, limit: limited, offset: q.offset, count: q.count };
}

/** ZRANGESTORE dst src min max [BYSCORE|BYLEX] [REV] [LIMIT offset count] */
const zrangestore: CommandHandler = (ctx, args) => {
  const { query } = parseRange(args, 3, true);
  return ctx.write([args[1], args[2]], { zrangeStore: { destination: args[1], source: args[2], range: specOf(args, 3, query) } });
};

// ---- ZUNION / ZINTER / ZDIFF ---------------------------------------------------

interface SetOpArgs {
  keys: Buffer[];
  weights: number[];
  aggregate: Aggregate;
  withScores: boolean;
  limit: number;
}

/** numkeys key [key ...] then the options, from `at` (numkeys). */
function numKeys(args: Buffer[], at: number, name: string): Buffer[] {
  const n = int64Arg(args[at]);
  if (n < 1n) throw new CommandError(`ERR at least 1 input key is needed for '${name}' command`);
  if (n > BigInt(args.length - at - 1)) throw new CommandError(SYNTAX);
  return args.slice(at + 1, at + 1 + Number(n));
}

function setOpOptions(args: Buffer[], at: number, keys: Buffer[], op: SetOperation, mode: 'read' | 'store' | 'card'): SetOpArgs {
  const out: SetOpArgs = { keys, weights: [], aggregate: 'sum', withScores: false, limit: 0 };
  let j = at + 1 + keys.length;
  while (j < args.length) {
    const opt = word(args[j]);
    const remaining = args.length - j;
    if (op !== 'diff' && mode !== 'card' && remaining >= keys.length + 1 && opt === 'WEIGHTS') {
      j++;
      out.weights = [];
      for (let i = 0; i < keys.length; i++, j++) out.weights.push(scoreArg(args[j], 'ERR weight value is not a float'));
    } else if (op !== 'diff' && mode !== 'card' && remaining >= 2 && opt === 'AGGREGATE') {
      const how = word(args[j + 1]);
      if (how === 'SUM') out.aggregate = 'sum';
      else if (how === 'MIN') out.aggregate = 'min';
      else if (how === 'MAX') out.aggregate = 'max';
      else throw new CommandError(SYNTAX);
      j += 2;
    } else if (mode === 'read' && opt === 'WITHSCORES') {
      out.withScores = true;
      j++;
    } else if (mode === 'card' && remaining >= 2 && opt === 'LIMIT') {
      const v = parseI64(args[j + 1], "ERR LIMIT can't be negative");
      if (v < 0n) throw new CommandError("ERR LIMIT can't be negative");
      out.limit = v > 2n ** 53n ? 2 ** 53 : Number(v);
      j += 2;
    } else {
      throw new CommandError(SYNTAX);
    }
  }
  return out;
}

/** Redis checks the input keys' types before the options. */
async function checkSources(ks: Keyspace, keys: Buffer[]): Promise<void> {
  for (const k of keys) {
    const f: FoundKey | null = await ks.lookup(k);
    if (f && f.type !== KeyType.ZSet && f.type !== KeyType.Set) throw wrongType();
  }
}

function setOpRead(op: SetOperation, name: string): CommandHandler {
  return async (ctx, args) => {
    const keys = numKeys(args, 1, name);
    const ks = await ctx.read(keys);
    await checkSources(ks, keys);
    const o = setOpOptions(args, 1, keys, op, 'read');
    return entriesReply(ctx, await combine(ks, keys, o.weights, op, o.aggregate), o.withScores);
  };
}

const OPERATION_PB: Record<SetOperation, pb.ZSetOperation> = { union: pb.ZSetOperation.UNION, inter: pb.ZSetOperation.INTER, diff: pb.ZSetOperation.DIFF };
const AGGREGATE_PB: Record<Aggregate, pb.ZAggregate> = { sum: pb.ZAggregate.SUM, min: pb.ZAggregate.MIN, max: pb.ZAggregate.MAX };

function setOpStore(op: SetOperation, name: string): CommandHandler {
  return (ctx, args) => {
    const keys = numKeys(args, 2, name);
    const o = setOpOptions(args, 2, keys, op, 'store');
    const destination = args[1];
    return ctx.write([destination, ...keys], {
      zstore: { destination, keys, weights: o.weights, operation: OPERATION_PB[op], aggregate: AGGREGATE_PB[o.aggregate] },
    });
  };
}

/** ZINTERCARD numkeys key [key ...] [LIMIT limit] */
const zintercard: CommandHandler = async (ctx, args) => {
  const keys = numKeys(args, 1, 'zintercard');
  const ks = await ctx.read(keys);
  await checkSources(ks, keys);
  const o = setOpOptions(args, 1, keys, 'inter', 'card');
  const n = (await combine(ks, keys, [], 'inter', 'sum')).length;
  return o.limit > 0 && n > o.limit ? o.limit : n;
};

// ---- ZRANDMEMBER -----------------------------------------------------------------

const LONG_MAX = 2n ** 63n - 1n;
/** The most elements one ZRANDMEMBER may answer (the reply is built in memory; see HRANDFIELD_MAX_REPLY). */
export const ZRANDMEMBER_MAX_REPLY = 1_000_000;

const zrandmember: CommandHandler = async (ctx, args) => {
  const key = args[1];
  const random = (n: number): number => Math.floor(ctx.random() * n);
  if (args.length === 2) {
    const { z } = await readZSet(ctx, key);
    if (!z || z.size === 0) return null;
    return (await pick(z, [random(z.size)]))[0]?.member ?? null;
  }
  const l = int64Arg(args[2]);
  if (l < -LONG_MAX) throw new CommandError(`ERR value is out of range, value must between -${LONG_MAX} and ${LONG_MAX}`);
  if (args.length > 4 || (args.length === 4 && word(args[3]) !== 'WITHSCORES')) throw new CommandError(SYNTAX);
  const withScores = args.length === 4;
  if (withScores && (l < -LONG_MAX / 2n || l > LONG_MAX / 2n)) throw new CommandError('ERR value is out of range');
  const { z } = await readZSet(ctx, key);
  if (!z || l === 0n) return [];
  const size = z.size;
  if (l < 0n || l === 1n) {
    // Repetitions allowed: independent uniform picks.
    const count = l < 0n ? -l : l;
    if (count * (withScores ? 2n : 1n) > BigInt(ZRANDMEMBER_MAX_REPLY)) {
      throw new CommandError(`ERR ZRANDMEMBER count is too large for this server (at most ${ZRANDMEMBER_MAX_REPLY} elements per reply)`);
    }
    const picks: number[] = [];
    for (let n = Number(count); n > 0; n--) picks.push(random(size));
    return entriesReply(ctx, await pick(z, picks), withScores);
  }
  if (l >= BigInt(size)) return entriesReply(ctx, await z.all(), withScores);
  // `count` distinct ranks, in random order.
  return entriesReply(ctx, await pick(z, samplePositions(size, Number(l), random)), withScores);
};

/** The elements at the given ranks, in the order asked (repetitions included); one pass. */
async function pick(z: ZSetReader, ranks: number[]): Promise<ZEntry[]> {
  const wanted = new Set(ranks);
  const found = new Map<number, ZEntry>();
  const last = ranks.reduce((a, b) => Math.max(a, b), 0);
  let i = 0;
  for await (const e of z.byScore({ limit: last + 1 })) {
    if (wanted.has(i)) found.set(i, e);
    i++;
  }
  return ranks.map((r) => found.get(r)).filter((e): e is ZEntry => e !== undefined);
}

// ---- ZSCAN -------------------------------------------------------------------------

/** ZSCAN key cursor [MATCH pattern] [COUNT count]: scores as strings, as Redis. */
const zscan: CommandHandler = async (ctx, args) => {
  const key = args[1];
  const cursor = parseCursor(args[2]);
  const ks = await ctx.read([key]);
  const z = await ks.lookupTyped(key, KeyType.ZSet);
  if (!z) return ['0', []];
  return scanMembers(ks, z, cursor, args, (raw) => Buffer.from(formatDouble(decodeScore(raw))));
};

// ---- the table -----------------------------------------------------------------------

const ZSET = { group: 'sorted_set' } as const;
const R = ['readonly'] as const;
const RF = ['readonly', 'fast'] as const;
const W = ['write'] as const;
const WF = ['write', 'fast'] as const;
const WD = ['write', 'denyoom'] as const;
const WDF = ['write', 'denyoom', 'fast'] as const;
const K1: [number, number, number] = [1, 1, 1];

/** Routing keys of a numkeys command whose numkeys is at `at` (a destination at 1 when `dest`). */
const movable = (at: number, dest = false): ((args: Buffer[]) => number[]) => numKeysPositions(at, dest ? [1] : []);

export const ZSET_COMMANDS: Spec[] = [
  { ...ZSET, name: 'zadd', arity: -4, flags: [...WDF], keys: K1, since: '1.2.0', summary: 'Adds one or more members to a sorted set, or updates their scores. Creates the key if it doesn\'t exist.', complexity: 'O(log(N)) for each item added, where N is the number of elements in the sorted set.', handler: zadd },
  { ...ZSET, name: 'zincrby', arity: 4, flags: [...WDF], keys: K1, since: '1.2.0', summary: 'Increments the score of a member in a sorted set.', complexity: 'O(log(N)) where N is the number of elements in the sorted set.', handler: zincrby },
  { ...ZSET, name: 'zrem', arity: -3, flags: [...WF], keys: K1, since: '1.2.0', summary: 'Removes one or more members from a sorted set. Deletes the sorted set if all members were removed.', complexity: 'O(M*log(N)) with N being the number of elements in the sorted set and M the number of elements to be removed.', handler: zrem },
  { ...ZSET, name: 'zremrangebyrank', arity: 4, flags: [...W], keys: K1, since: '2.0.0', summary: 'Removes members in a sorted set within a range of indexes. Deletes the sorted set if all members were removed.', complexity: 'O(N) where N is the number of elements in the sorted set up to the end of the range.', handler: zremrangebyrank },
  { ...ZSET, name: 'zremrangebyscore', arity: 4, flags: [...W], keys: K1, since: '1.2.0', summary: 'Removes members in a sorted set within a range of scores. Deletes the sorted set if all members were removed.', complexity: 'O(M) with M the number of elements removed by the operation.', handler: zremrangebyscore },
  { ...ZSET, name: 'zremrangebylex', arity: 4, flags: [...W], keys: K1, since: '2.8.9', summary: 'Removes members in a sorted set within a lexicographical range. Deletes the sorted set if all members were removed.', complexity: 'O(M) with M the number of elements removed by the operation.', handler: zremrangebylex },
  { ...ZSET, name: 'zpopmin', arity: -2, flags: [...WF], keys: K1, since: '5.0.0', summary: 'Returns the lowest-scoring members from a sorted set after removing them. Deletes the sorted set if the last member was popped.', complexity: 'O(log(N)*M) with N being the number of elements in the sorted set, and M being the number of elements popped.', handler: zpopMinMax(false) },
  { ...ZSET, name: 'zpopmax', arity: -2, flags: [...WF], keys: K1, since: '5.0.0', summary: 'Returns the highest-scoring members from a sorted set after removing them. Deletes the sorted set if the last member was popped.', complexity: 'O(log(N)*M) with N being the number of elements in the sorted set, and M being the number of elements popped.', handler: zpopMinMax(true) },
  { ...ZSET, name: 'zmpop', arity: -4, flags: [...W], keys: [2, 2, 1], keysOf: movable(1), since: '7.0.0', summary: 'Returns the highest- or lowest-scoring members from one or more sorted sets after removing them. Deletes the sorted set if the last member was popped.', complexity: 'O(K) + O(M*log(N)) where K is the number of provided keys, N being the number of elements in the sorted set, and M being the number of elements popped.', handler: zmpop },
  { ...ZSET, name: 'bzpopmin', arity: -3, flags: ['write', 'fast', 'blocking'], keys: [1, -2, 1], since: '5.0.0', summary: 'Removes and returns the member with the lowest score from one or more sorted sets. Blocks until a member is available otherwise. Deletes the sorted set if the last element was popped.', complexity: 'O(log(N)) with N being the number of elements in the sorted set.', handler: bzpop(false) },
  { ...ZSET, name: 'bzpopmax', arity: -3, flags: ['write', 'fast', 'blocking'], keys: [1, -2, 1], since: '5.0.0', summary: 'Removes and returns the member with the highest score from one or more sorted sets. Blocks until a member available otherwise.  Deletes the sorted set if the last element was popped.', complexity: 'O(log(N)) with N being the number of elements in the sorted set.', handler: bzpop(true) },
  { ...ZSET, name: 'bzmpop', arity: -5, flags: ['write', 'blocking'], keys: [0, 0, 0], keysOf: movable(2), since: '7.0.0', summary: 'Removes and returns a member by score from one or more sorted sets. Blocks until a member is available otherwise. Deletes the sorted set if the last element was popped.', complexity: 'O(K) + O(M*log(N)) where K is the number of provided keys, N being the number of elements in the sorted set, and M being the number of elements popped.', handler: bzmpop },
  { ...ZSET, name: 'zunionstore', arity: -4, flags: [...WD], keys: [1, 1, 1], keysOf: movable(2, true), since: '2.0.0', summary: 'Stores the union of multiple sorted sets in a key.', complexity: 'O(N)+O(M log(M)) with N being the sum of the sizes of the input sorted sets, and M being the number of elements in the resulting sorted set.', handler: setOpStore('union', 'zunionstore') },
  { ...ZSET, name: 'zinterstore', arity: -4, flags: [...WD], keys: [1, 1, 1], keysOf: movable(2, true), since: '2.0.0', summary: 'Stores the intersect of multiple sorted sets in a key.', complexity: 'O(N*K)+O(M*log(M)) worst case with N being the smallest input sorted set, K being the number of input sorted sets and M being the number of elements in the resulting sorted set.', handler: setOpStore('inter', 'zinterstore') },
  { ...ZSET, name: 'zdiffstore', arity: -4, flags: [...WD], keys: [1, 1, 1], keysOf: movable(2, true), since: '6.2.0', summary: 'Stores the difference of multiple sorted sets in a key.', complexity: 'O(L + (N-K)log(N)) worst case where L is the total number of elements in all the sets, N is the size of the first set, and K is the size of the result set.', handler: setOpStore('diff', 'zdiffstore') },
  { ...ZSET, name: 'zrangestore', arity: -5, flags: [...WD], keys: [1, 2, 1], since: '6.2.0', summary: 'Stores a range of members from sorted set in a key.', complexity: 'O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements stored into the destination key.', handler: zrangestore },
  { ...ZSET, name: 'zcard', arity: 2, flags: [...RF], keys: K1, since: '1.2.0', summary: 'Returns the number of members in a sorted set.', complexity: 'O(1)', handler: zcard },
  { ...ZSET, name: 'zscore', arity: 3, flags: [...RF], keys: K1, since: '1.2.0', summary: 'Returns the score of a member in a sorted set.', complexity: 'O(1)', handler: zscore },
  { ...ZSET, name: 'zmscore', arity: -3, flags: [...RF], keys: K1, since: '6.2.0', summary: 'Returns the score of one or more members in a sorted set.', complexity: 'O(N) where N is the number of members being requested.', handler: zmscore },
  { ...ZSET, name: 'zcount', arity: 4, flags: [...RF], keys: K1, since: '2.0.0', summary: 'Returns the count of members in a sorted set that have scores within a range.', complexity: 'O(N) where N is the number of elements counted (Redis: O(log(N))).', handler: zcount },
  { ...ZSET, name: 'zlexcount', arity: 4, flags: [...RF], keys: K1, since: '2.8.9', summary: 'Returns the number of members in a sorted set within a lexicographical range.', complexity: 'O(N) where N is the number of elements counted (Redis: O(log(N))).', handler: zlexcount },
  { ...ZSET, name: 'zrank', arity: 3, flags: [...RF], keys: K1, since: '2.0.0', summary: 'Returns the index of a member in a sorted set ordered by ascending scores.', complexity: 'O(N) where N is the rank of the member (Redis: O(log(N))).', handler: zrankOf(false) },
  { ...ZSET, name: 'zrevrank', arity: 3, flags: [...RF], keys: K1, since: '2.0.0', summary: 'Returns the index of a member in a sorted set ordered by descending scores.', complexity: 'O(N) where N is the reverse rank of the member (Redis: O(log(N))).', handler: zrankOf(true) },
  { ...ZSET, name: 'zrange', arity: -4, flags: [...R], keys: K1, since: '1.2.0', summary: 'Returns members in a sorted set within a range of indexes.', complexity: 'O(S+M) where S is the start of the range (index ranges) and M the number of elements returned.', handler: zrangeVariant() },
  { ...ZSET, name: 'zrevrange', arity: -4, flags: [...R], keys: K1, since: '1.2.0', summary: 'Returns members in a sorted set within a range of indexes in reverse order.', complexity: 'O(S+M) where S is the start of the range and M the number of elements returned.', handler: zrangeVariant('rank', true) },
  { ...ZSET, name: 'zrangebyscore', arity: -4, flags: [...R], keys: K1, since: '1.0.5', summary: 'Returns members in a sorted set within a range of scores.', complexity: 'O(M+K) with M the number of elements returned and K the LIMIT offset.', handler: zrangeVariant('score', false) },
  { ...ZSET, name: 'zrevrangebyscore', arity: -4, flags: [...R], keys: K1, since: '2.2.0', summary: 'Returns members in a sorted set within a range of scores in reverse order.', complexity: 'O(M+K) with M the number of elements returned and K the LIMIT offset.', handler: zrangeVariant('score', true) },
  { ...ZSET, name: 'zrangebylex', arity: -4, flags: [...R], keys: K1, since: '2.8.9', summary: 'Returns members in a sorted set within a lexicographical range.', complexity: 'O(M+K) with M the number of elements returned and K the LIMIT offset.', handler: zrangeVariant('lex', false) },
  { ...ZSET, name: 'zrevrangebylex', arity: -4, flags: [...R], keys: K1, since: '2.8.9', summary: 'Returns members in a sorted set within a lexicographical range in reverse order.', complexity: 'O(M+K) with M the number of elements returned and K the LIMIT offset.', handler: zrangeVariant('lex', true) },
  { ...ZSET, name: 'zunion', arity: -3, flags: [...R], keys: [2, 2, 1], keysOf: movable(1), since: '6.2.0', summary: 'Returns the union of multiple sorted sets.', complexity: 'O(N)+O(M*log(M)) with N being the sum of the sizes of the input sorted sets, and M being the number of elements in the resulting sorted set.', handler: setOpRead('union', 'zunion') },
  { ...ZSET, name: 'zinter', arity: -3, flags: [...R], keys: [2, 2, 1], keysOf: movable(1), since: '6.2.0', summary: 'Returns the intersect of multiple sorted sets.', complexity: 'O(N*K)+O(M*log(M)) worst case with N being the smallest input sorted set, K being the number of input sorted sets and M being the number of elements in the resulting sorted set.', handler: setOpRead('inter', 'zinter') },
  { ...ZSET, name: 'zdiff', arity: -3, flags: [...R], keys: [2, 2, 1], keysOf: movable(1), since: '6.2.0', summary: 'Returns the difference between multiple sorted sets.', complexity: 'O(L + (N-K)log(N)) worst case where L is the total number of elements in all the sets, N is the size of the first set, and K is the size of the result set.', handler: setOpRead('diff', 'zdiff') },
  { ...ZSET, name: 'zintercard', arity: -3, flags: [...R], keys: [2, 2, 1], keysOf: movable(1), since: '7.0.0', summary: 'Returns the number of members of the intersect of multiple sorted sets.', complexity: 'O(N*K) worst case with N being the smallest input sorted set, K being the number of input sorted sets.', handler: zintercard },
  { ...ZSET, name: 'zrandmember', arity: -2, flags: [...R], keys: K1, since: '6.2.0', summary: 'Returns one or more random members from a sorted set.', complexity: 'O(N) where N is the number of members returned', handler: zrandmember },
  { ...ZSET, name: 'zscan', arity: -3, flags: [...R], keys: K1, since: '2.8.0', summary: 'Iterates over members and scores of a sorted set.', complexity: 'O(1) for every call. O(N) for a complete iteration, including enough command calls for the cursor to return back to 0. N is the number of elements inside the collection.', handler: zscan },
];
