// Sorted sets as rows, shared by the read commands and apply.
//
// A sorted set is its metadata row (type, expiry, version, size) plus two
// rows per member, both under the set's version:
//   member row       'z'|slot|'s'|keyLen|key|version|member        → score (8 bytes, below)
//   score-index row  'z'|slot|'c'|keyLen|key|version|score|member  → empty
// The score is 8 bytes whose byte order is the numeric order (IEEE 754 bits,
// big-endian, sign bit flipped for positives and every bit flipped for
// negatives; -0 is stored as +0), so the index rows sort by (score, member
// bytes) exactly as Redis's skiplist does, and every range by score or rank
// is one range scan. Ranges by lex walk the member rows, which sort by member
// bytes (Redis's lex commands assume that all scores are equal).
//
// Costs that differ from Redis: rank is found by counting index rows from an
// end (ZRANK, ZRANGE by index with a large start and ZCOUNT are O(N) in the
// rows counted, not O(log N)).
import { prefixEnd, scoreKeyPrefix, subKeyRange } from '@redraft/common';
import type { FoundKey, Keyspace } from './keyspace';
import { CommandError } from './errors';
import { parseClampedInt, tryFloat } from '../commands/parse';

export const MIN_MAX_NOT_FLOAT = 'ERR min or max is not a float';
export const MIN_MAX_NOT_LEX = 'ERR min or max not valid string range item';

/** The 8 bytes of a score, ordered as the numbers (NaN never reaches here). */
export function encodeScore(score: number): Buffer {
  const b = Buffer.allocUnsafe(8);
  b.writeDoubleBE(score === 0 ? 0 : score, 0);
  if (b[0] & 0x80) {
    for (let i = 0; i < 8; i++) b[i] = ~b[i] & 0xff;
  } else {
    b[0] |= 0x80;
  }
  return b;
}

export function decodeScore(raw: Buffer, offset = 0): number {
  const b = Buffer.from(raw.subarray(offset, offset + 8));
  if (b[0] & 0x80) {
    b[0] &= 0x7f;
  } else {
    for (let i = 0; i < 8; i++) b[i] = ~b[i] & 0xff;
  }
  return b.readDoubleBE(0);
}

/** One end of a score range: `(1.5` is exclusive. */
export interface ScoreBound {
  value: number;
  exclusive: boolean;
}

export interface ScoreRange {
  min: ScoreBound;
  max: ScoreBound;
}

/** Redis's zslParseRange for one bound ("ERR min or max is not a float"). */
export function parseScoreBound(arg: Buffer): ScoreBound {
  const s = arg.toString('latin1');
  const exclusive = s.startsWith('(');
  const v = tryFloat(exclusive ? s.slice(1) : s);
  if (v === undefined) throw new CommandError(MIN_MAX_NOT_FLOAT);
  return { value: v, exclusive };
}

/** A range that no score can fall in (Redis answers it at once). */
export function emptyScoreRange(r: ScoreRange): boolean {
  return r.min.value > r.max.value || (r.min.value === r.max.value && (r.min.exclusive || r.max.exclusive));
}

export function inScoreRange(score: number, r: ScoreRange): boolean {
  const aboveMin = r.min.exclusive ? score > r.min.value : score >= r.min.value;
  const belowMax = r.max.exclusive ? score < r.max.value : score <= r.max.value;
  return aboveMin && belowMax;
}

/** One end of a lex range: '-' and '+' are the infinities, '[x' inclusive, '(x' exclusive. */
export interface LexBound {
  /** -1: minus infinity, 1: plus infinity, 0: `value`. */
  inf: -1 | 0 | 1;
  value: Buffer;
  exclusive: boolean;
}

export interface LexRange {
  min: LexBound;
  max: LexBound;
}

const EMPTY = Buffer.alloc(0);

export function parseLexBound(arg: Buffer): LexBound {
  if (arg.length === 1 && arg[0] === 0x2d) return { inf: -1, value: EMPTY, exclusive: false };
  if (arg.length === 1 && arg[0] === 0x2b) return { inf: 1, value: EMPTY, exclusive: false };
  if (arg.length >= 1 && (arg[0] === 0x28 || arg[0] === 0x5b)) return { inf: 0, value: arg.subarray(1), exclusive: arg[0] === 0x28 };
  throw new CommandError(MIN_MAX_NOT_LEX);
}

function lexAboveMin(m: Buffer, b: LexBound): boolean {
  if (b.inf !== 0) return b.inf < 0;
  const c = Buffer.compare(m, b.value);
  return b.exclusive ? c > 0 : c >= 0;
}

function lexBelowMax(m: Buffer, b: LexBound): boolean {
  if (b.inf !== 0) return b.inf > 0;
  const c = Buffer.compare(m, b.value);
  return b.exclusive ? c < 0 : c <= 0;
}

export function inLexRange(m: Buffer, r: LexRange): boolean {
  return lexAboveMin(m, r.min) && lexBelowMax(m, r.max);
}

export function emptyLexRange(r: LexRange): boolean {
  if (r.min.inf === 1 || r.max.inf === -1) return true;
  if (r.min.inf !== 0 || r.max.inf !== 0) return false;
  const c = Buffer.compare(r.min.value, r.max.value);
  return c > 0 || (c === 0 && (r.min.exclusive || r.max.exclusive));
}

/** An element of a sorted set. */
export interface ZEntry {
  member: Buffer;
  score: number;
}

/** The score-index row of (score, member) in a sorted set. */
export function zsetIndexKey(zset: FoundKey, score: number, member: Buffer): Buffer {
  return Buffer.concat([scoreKeyPrefix(zset.slot, zset.key, zset.version), encodeScore(score), member]);
}

/** A parsed range of a sorted set (ZRANGE's three kinds, REV and LIMIT). */
export interface RangeQuery {
  kind: 'rank' | 'score' | 'lex';
  /** rank: start and stop indexes as given (negative counts from the end). */
  start: number;
  stop: number;
  score: ScoreRange;
  lex: LexRange;
  rev: boolean;
  /** LIMIT: a negative offset selects nothing, a negative count everything. */
  offset: number;
  count: number;
}

const NO_SCORES: ScoreRange = { min: { value: 0, exclusive: false }, max: { value: 0, exclusive: false } };
const NO_LEX: LexRange = { min: { inf: -1, value: EMPTY, exclusive: false }, max: { inf: 1, value: EMPTY, exclusive: false } };

/** An integer index argument, clamped into the safe range (Redis's long). */
export function indexArg(arg: Buffer): number {
  return parseClampedInt(arg);
}

/**
 * Parses a range: `low` and `high` are the low and high ends for score and
 * lex ranges (the caller swaps them for the REV forms), start and stop for
 * ranks. Throws Redis's error for a bad bound.
 */
export function parseRangeQuery(kind: RangeQuery['kind'], low: Buffer, high: Buffer, rev: boolean, offset = 0, count = -1): RangeQuery {
  const q: RangeQuery = { kind, start: 0, stop: -1, score: NO_SCORES, lex: NO_LEX, rev, offset, count };
  if (kind === 'rank') {
    q.start = indexArg(low);
    q.stop = indexArg(high);
  } else if (kind === 'score') {
    q.score = { min: parseScoreBound(low), max: parseScoreBound(high) };
  } else {
    try {
      q.lex = { min: parseLexBound(low), max: parseLexBound(high) };
    } catch {
      throw new CommandError(MIN_MAX_NOT_LEX);
    }
  }
  return q;
}

/** The elements a range selects, in the order it gives them. */
export async function rangeEntries(z: ZSetReader, q: RangeQuery): Promise<ZEntry[]> {
  if (q.kind === 'rank') {
    const len = z.size;
    let start = q.start < 0 ? len + q.start : q.start;
    let stop = q.stop < 0 ? len + q.stop : q.stop;
    if (start < 0) start = 0;
    if (start > stop || start >= len) return [];
    if (stop >= len) stop = len - 1;
    return z.byRank(start, stop, q.rev);
  }
  const out: ZEntry[] = [];
  if (q.offset < 0 || (q.offset > 0 && q.offset >= z.size) || q.count === 0) return out;
  if (q.kind === 'score' ? emptyScoreRange(q.score) : emptyLexRange(q.lex)) return out;
  const source = q.kind === 'score' ? z.byScore({ range: q.score, reverse: q.rev }) : z.byLex(q.lex, q.rev);
  let skip = q.offset;
  for await (const e of source) {
    if (skip > 0) {
      skip--;
      continue;
    }
    out.push(e);
    if (q.count > 0 && out.length >= q.count) break;
  }
  return out;
}

/** Read access to one sorted set (works over the engine and over the apply batch). */
export class ZSetReader {
  private readonly indexPrefix: Buffer;

  constructor(
    readonly ks: Keyspace,
    readonly zset: FoundKey,
  ) {
    this.indexPrefix = scoreKeyPrefix(zset.slot, zset.key, zset.version);
  }

  get size(): number {
    return this.zset.size;
  }

  async score(member: Buffer): Promise<number | undefined> {
    const raw = await this.ks.getMember(this.zset, member);
    return raw === undefined ? undefined : decodeScore(raw);
  }

  /** The index row of (score, member). */
  indexKey(score: number, member: Buffer): Buffer {
    return Buffer.concat([this.indexPrefix, encodeScore(score), member]);
  }

  /** Elements in (score, member) order, or reverse; within `range` when given. */
  async *byScore(opts: { range?: ScoreRange; reverse?: boolean; limit?: number } = {}): AsyncIterable<ZEntry> {
    const p = this.indexPrefix;
    let gte = p;
    let lt = prefixEnd(p);
    const r = opts.range;
    if (r) {
      const lo = Buffer.concat([p, encodeScore(r.min.value)]);
      gte = r.min.exclusive ? prefixEnd(lo) : lo;
      const hi = Buffer.concat([p, encodeScore(r.max.value)]);
      lt = r.max.exclusive ? hi : prefixEnd(hi);
      if (Buffer.compare(gte, lt) >= 0) return;
    }
    const at = p.length;
    for await (const [k] of this.ks.reader.scan({ gte, lt, reverse: opts.reverse, limit: opts.limit, keysOnly: true })) {
      yield { score: decodeScore(k, at), member: k.subarray(at + 8) };
    }
  }

  /** Elements in member-bytes order (or reverse) within a lex range. */
  async *byLex(range: LexRange, reverse = false): AsyncIterable<ZEntry> {
    const [start, end] = subKeyRange(this.zset.slot, this.zset.key, this.zset.version);
    const at = start.length;
    let gte = start;
    let lt = end;
    if (range.min.inf === 0) {
      const lo = Buffer.concat([start, range.min.value]);
      gte = range.min.exclusive ? Buffer.concat([lo, Buffer.from([0])]) : lo;
    }
    if (range.max.inf === 0) {
      const hi = Buffer.concat([start, range.max.value]);
      lt = range.max.exclusive ? hi : Buffer.concat([hi, Buffer.from([0])]);
    }
    if (range.min.inf === 1 || range.max.inf === -1 || Buffer.compare(gte, lt) >= 0) return;
    for await (const [k, v] of this.ks.reader.scan({ gte, lt, reverse })) yield { member: k.subarray(at), score: decodeScore(v) };
  }

  /** Elements at ranks [start, stop] (0-based, already clamped), from the low end or, reversed, the high end. */
  async byRank(start: number, stop: number, reverse = false): Promise<ZEntry[]> {
    const out: ZEntry[] = [];
    if (start > stop) return out;
    let i = 0;
    for await (const e of this.byScore({ reverse, limit: stop + 1 })) {
      if (i++ >= start) out.push(e);
    }
    return out;
  }

  /** 0-based rank of `member` from the low end (or high end), undefined when absent; O(rank). */
  async rank(member: Buffer, reverse = false): Promise<{ rank: number; score: number } | undefined> {
    const score = await this.score(member);
    if (score === undefined) return undefined;
    const mine = this.indexKey(score, member);
    // Reverse: the rows after mine ("mine\0" is the next possible row key).
    const opts = reverse ? { gte: Buffer.concat([mine, Buffer.from([0])]), lt: prefixEnd(this.indexPrefix) } : { gte: this.indexPrefix, lt: mine };
    let n = 0;
    for await (const _ of this.ks.reader.scan({ ...opts, keysOnly: true })) n++; // eslint-disable-line @typescript-eslint/no-unused-vars
    return { rank: n, score };
  }

  async count(range: ScoreRange): Promise<number> {
    if (emptyScoreRange(range)) return 0;
    let n = 0;
    for await (const _ of this.byScore({ range })) n++; // eslint-disable-line @typescript-eslint/no-unused-vars
    return n;
  }

  async all(): Promise<ZEntry[]> {
    const out: ZEntry[] = [];
    for await (const e of this.byScore()) out.push(e);
    return out;
  }
}
