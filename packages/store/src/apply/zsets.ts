// Apply of the sorted-set operations. Rows and ranges: data/zset.ts. Every
// member change writes both rows (member → score, and the score index);
// `size` in the metadata is exact and a sorted set whose last member goes
// is deleted. Set operations (ZUNIONSTORE...) read sets as scores of 1.
import { DoubleReply, pb } from '@redraft/common';
import type { Reply } from '@redraft/common';
import type { Appliers } from './apply';
import type { FoundKey, Keyspace, MutableKeyspace } from '../data/keyspace';
import { KeyType } from '../data/meta';
import { CommandError, wrongType } from '../data/errors';
import { ZSetReader, decodeScore, encodeScore, parseRangeQuery, rangeEntries, zsetIndexKey } from '../data/zset';
import type { RangeQuery, ZEntry } from '../data/zset';
import { NOTHING_POPPED, popSource } from '../blocking';

export const SCORE_NAN = 'ERR resulting score is not a number (NaN)';
const EMPTY = Buffer.alloc(0);

/** Writes member with `score`, replacing its index row at `old` if it had one. */
export function putZMember(ks: MutableKeyspace, z: FoundKey, member: Buffer, score: number, old?: number): void {
  if (old !== undefined) ks.batch.del(zsetIndexKey(z, old, member));
  ks.putMember(z, member, encodeScore(score));
  ks.batch.put(zsetIndexKey(z, score, member), EMPTY);
}

function removeZMember(ks: MutableKeyspace, z: FoundKey, member: Buffer, score: number): void {
  ks.deleteMember(z, member);
  ks.batch.del(zsetIndexKey(z, score, member));
}

/** Writes the metadata after `removed` members went; deletes the key when none is left. */
function afterRemoval(ks: MutableKeyspace, z: FoundKey, removed: number): void {
  if (removed === 0) return;
  z.size -= removed;
  if (z.size <= 0) ks.deleteKey(z.key);
  else ks.putMeta(z.key, z);
}

/** ZADD / ZINCRBY, as Redis's zsetAdd for each pair. */
async function zadd(op: pb.ZAddOp, ks: MutableKeyspace): Promise<Reply> {
  const key = Buffer.from(op.key);
  let z = await ks.lookupTyped(key, KeyType.ZSet);
  if (!z) {
    // No key + XX: nothing to do (and no empty key left behind).
    if (op.xx) return op.incr ? null : 0;
    z = ks.newCollection(key, KeyType.ZSet);
  }
  const reader = new ZSetReader(ks, z);
  let added = 0;
  let updated = 0;
  let processed = 0;
  let last = 0;
  for (let i = 0; i < op.members.length; i++) {
    const member = Buffer.from(op.members[i]);
    let score = op.scores[i];
    const cur = await reader.score(member);
    if (cur !== undefined) {
      if (op.nx) continue;
      if (op.incr) {
        score += cur;
        if (Number.isNaN(score)) throw new CommandError(SCORE_NAN);
      }
      if ((op.gt && score <= cur) || (op.lt && score >= cur)) continue;
      last = score;
      processed++;
      if (score !== cur) {
        putZMember(ks, z, member, score, cur);
        updated++;
      }
    } else {
      if (op.xx) continue;
      putZMember(ks, z, member, score);
      z.size++;
      added++;
      processed++;
      last = score;
    }
  }
  if (added > 0) ks.putMeta(key, z);
  if (op.incr) return processed ? new DoubleReply(last) : null;
  return op.ch ? added + updated : added;
}

async function zrem(op: pb.ZRemOp, ks: MutableKeyspace): Promise<Reply> {
  const z = await ks.lookupTyped(Buffer.from(op.key), KeyType.ZSet);
  if (!z) return 0;
  const reader = new ZSetReader(ks, z);
  let removed = 0;
  for (const m of op.members) {
    const member = Buffer.from(m);
    const score = await reader.score(member);
    if (score === undefined) continue;
    removeZMember(ks, z, member, score);
    removed++;
  }
  afterRemoval(ks, z, removed);
  return removed;
}

/** The RangeQuery a logged ZRangeSpec stands for (parsed as the command did). */
export function queryOf(spec: pb.IZRangeSpec): RangeQuery {
  const kind = spec.kind === pb.ZRangeKind.SCORE ? 'score' : spec.kind === pb.ZRangeKind.LEX ? 'lex' : 'rank';
  const offset = spec.limit ? Number(spec.offset ?? 0) : 0;
  const count = spec.limit ? Number(spec.count ?? 0) : -1;
  return parseRangeQuery(kind, Buffer.from(spec.min ?? EMPTY), Buffer.from(spec.max ?? EMPTY), !!spec.rev, offset, count);
}

/** ZREMRANGEBYRANK / ZREMRANGEBYSCORE / ZREMRANGEBYLEX. */
async function zremRange(op: pb.ZRemRangeOp, ks: MutableKeyspace): Promise<Reply> {
  const q = queryOf(op.range ?? {});
  const z = await ks.lookupTyped(Buffer.from(op.key), KeyType.ZSet);
  if (!z) return 0;
  const victims = await rangeEntries(new ZSetReader(ks, z), q);
  for (const e of victims) removeZMember(ks, z, Buffer.from(e.member), e.score);
  afterRemoval(ks, z, victims.length);
  return victims.length;
}

/**
 * ZPOPMIN / ZPOPMAX / ZMPOP: up to `count` elements from the first key that
 * holds a non-empty sorted set. Answers [key, member, score, member, score...]
 * (the command shapes it), or null when every key is empty.
 */
async function zpop(op: pb.ZPopOp, ks: MutableKeyspace): Promise<Reply> {
  for (const k of op.keys) {
    const key = Buffer.from(k);
    const z = await popSource(ks, key, KeyType.ZSet, op.woken);
    if (!z) continue;
    const count = Number(op.count);
    const popped: ZEntry[] = [];
    if (count > 0) for await (const e of new ZSetReader(ks, z).byScore({ reverse: op.max, limit: count })) popped.push(e);
    const out: Reply[] = [key];
    for (const e of popped) {
      removeZMember(ks, z, Buffer.from(e.member), e.score);
      out.push(Buffer.from(e.member), new DoubleReply(e.score));
    }
    afterRemoval(ks, z, popped.length);
    return out;
  }
  // A blocked BZPOPMIN/BZMPOP keeps waiting.
  return op.blocking ? NOTHING_POPPED : null;
}

export type SetOperation = 'union' | 'inter' | 'diff';
export type Aggregate = 'sum' | 'min' | 'max';

function aggregate(acc: number, value: number, how: Aggregate): number {
  if (how === 'sum') {
    const s = acc + value;
    // +inf + -inf: Redis's convention is 0.
    return Number.isNaN(s) ? 0 : s;
  }
  if (how === 'min') return value < acc ? value : acc;
  return value > acc ? value : acc;
}

/** One input of a set operation: a sorted set, a set (scores of 1), or nothing. */
interface Source {
  found: FoundKey | null;
  weight: number;
}

async function* sourceEntries(ks: Keyspace, s: Source): AsyncIterable<ZEntry> {
  if (!s.found) return;
  if (s.found.type === KeyType.ZSet) {
    yield* new ZSetReader(ks, s.found).byScore();
  } else {
    for await (const [member] of ks.members(s.found)) yield { member, score: 1 };
  }
}

async function sourceScore(ks: Keyspace, s: Source, member: Buffer): Promise<number | undefined> {
  if (!s.found) return undefined;
  const raw = await ks.getMember(s.found, member);
  if (raw === undefined) return undefined;
  return s.found.type === KeyType.ZSet ? decodeScore(raw) : 1;
}

/**
 * ZUNION / ZINTER / ZDIFF (and their STORE forms) as Redis computes them:
 * inputs ordered by size for union and inter, NaN products count as 0.
 * Answers the result in (score, member) order.
 */
export async function combine(ks: Keyspace, keys: Buffer[], weights: number[], operation: SetOperation, how: Aggregate): Promise<ZEntry[]> {
  const sources: Source[] = [];
  for (let i = 0; i < keys.length; i++) {
    const found = await ks.lookup(keys[i]);
    if (found && found.type !== KeyType.ZSet && found.type !== KeyType.Set) throw wrongType();
    sources.push({ found, weight: weights.length ? weights[i] : 1 });
  }
  const size = (s: Source): number => s.found?.size ?? 0;
  const result = new Map<string, number>();
  if (operation === 'diff') {
    for await (const e of sourceEntries(ks, sources[0])) {
      let elsewhere = false;
      for (let j = 1; j < sources.length && !elsewhere; j++) elsewhere = (await sourceScore(ks, sources[j], e.member)) !== undefined;
      if (!elsewhere) result.set(e.member.toString('latin1'), e.score);
    }
  } else {
    const ordered = [...sources].sort((a, b) => size(a) - size(b));
    if (operation === 'inter') {
      if (size(ordered[0]) > 0) {
        for await (const e of sourceEntries(ks, ordered[0])) {
          let score = ordered[0].weight * e.score;
          if (Number.isNaN(score)) score = 0;
          let inAll = true;
          for (let j = 1; j < ordered.length && inAll; j++) {
            const v = await sourceScore(ks, ordered[j], e.member);
            if (v === undefined) inAll = false;
            else score = aggregate(score, v * ordered[j].weight, how);
          }
          if (inAll) result.set(e.member.toString('latin1'), score);
        }
      }
    } else {
      for (const s of ordered) {
        for await (const e of sourceEntries(ks, s)) {
          let score = s.weight * e.score;
          if (Number.isNaN(score)) score = 0;
          const m = e.member.toString('latin1');
          const acc = result.get(m);
          result.set(m, acc === undefined ? score : aggregate(acc, score, how));
        }
      }
    }
  }
  return sortEntries([...result].map(([m, score]) => ({ member: Buffer.from(m, 'latin1'), score })));
}

/** (score, member bytes) order, as the score index sorts (-0 equals 0). */
export function sortEntries(entries: ZEntry[]): ZEntry[] {
  return entries.sort((a, b) => (a.score < b.score ? -1 : a.score > b.score ? 1 : Buffer.compare(a.member, b.member)));
}

/** Replaces whatever `destination` holds by a sorted set of `entries` (deletes it when empty). */
async function storeEntries(ks: MutableKeyspace, destination: Buffer, entries: ZEntry[]): Promise<number> {
  if (await ks.lookup(destination)) ks.deleteKey(destination);
  if (entries.length === 0) return 0;
  const z = ks.newCollection(destination, KeyType.ZSet);
  for (const e of entries) putZMember(ks, z, Buffer.from(e.member), e.score);
  z.size = entries.length;
  ks.putMeta(destination, z);
  return entries.length;
}

const OPERATIONS: Record<number, SetOperation> = { [pb.ZSetOperation.UNION]: 'union', [pb.ZSetOperation.INTER]: 'inter', [pb.ZSetOperation.DIFF]: 'diff' };
const AGGREGATES: Record<number, Aggregate> = { [pb.ZAggregate.SUM]: 'sum', [pb.ZAggregate.MIN]: 'min', [pb.ZAggregate.MAX]: 'max' };

async function zstore(op: pb.ZStoreOp, ks: MutableKeyspace): Promise<Reply> {
  const keys = op.keys.map((k) => Buffer.from(k));
  const entries = await combine(ks, keys, op.weights, OPERATIONS[op.operation] ?? 'union', AGGREGATES[op.aggregate] ?? 'sum');
  return storeEntries(ks, Buffer.from(op.destination), entries);
}

/** ZRANGESTORE: the elements of the range, stored as a new sorted set. */
async function zrangeStore(op: pb.ZRangeStoreOp, ks: MutableKeyspace): Promise<Reply> {
  const q = queryOf(op.range ?? {});
  const src = await ks.lookupTyped(Buffer.from(op.source), KeyType.ZSet);
  const entries = src ? await rangeEntries(new ZSetReader(ks, src), q) : [];
  return storeEntries(ks, Buffer.from(op.destination), entries);
}

export const ZSET_APPLIERS: Appliers = {
  zadd,
  zrem,
  zremRange,
  zpop,
  zstore,
  zrangeStore,
};
