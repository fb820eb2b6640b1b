// Set commands; the matching apply code is in apply/sets.ts.
//
// Writes parse and validate everything first, then call ctx.write()
// synchronously (the dispatcher relies on it for pipelined order). SPOP's
// random choice is a seed drawn here, on the store that proposes, and
// logged in the entry; SRANDMEMBER is a read and draws freely.
//
// Knowingly different from Redis 7.0: members come in byte order (not hash
// or insertion order); SSCAN cursors are those of HSCAN (commands/hashes.ts).
import { SetReply, pb } from '@redraft/common';
import type { Reply } from '@redraft/common';
import type { CommandContext, CommandHandler, Spec } from './context';
import type { FoundKey, Keyspace } from '../data/keyspace';
import { KeyType } from '../data/meta';
import { CommandError, NOT_INTEGER, SYNTAX } from '../data/errors';
import { strictInt64 } from '../apply/hashes';
import { combineSets, membersAt, setMembers } from '../apply/sets';
import { samplePositions } from '../data/sample';
import { parseCursor, scanMembers } from './hashes';
import { numKeysPositions } from './parse';

const LONG_MAX = 2n ** 63n - 1n;
/** The most members one SRANDMEMBER with a negative count may answer (the reply is built in memory). */
export const SRANDMEMBER_MAX_REPLY = 1_000_000;

function int64Or(arg: Buffer, msg?: string): bigint {
  const v = strictInt64(arg);
  if (v === null) throw new CommandError(msg ? `ERR ${msg}` : NOT_INTEGER);
  return v;
}

function clampNumber(v: bigint): number {
  return Number(v > 2n ** 60n ? 2n ** 60n : v < -(2n ** 60n) ? -(2n ** 60n) : v);
}

// ---- writes ------------------------------------------------------------------

const sadd: CommandHandler = (ctx, args) => {
  const key = args[1];
  return ctx.write([key], { setAdd: { key, members: args.slice(2) } });
};

const srem: CommandHandler = (ctx, args) => {
  const key = args[1];
  return ctx.write([key], { setRem: { key, members: args.slice(2) } });
};

/** SPOP key [count] */
const spop: CommandHandler = (ctx, args) => {
  const key = args[1];
  if (args.length > 3) throw new CommandError(SYNTAX);
  // ctx.random: inside a transaction's apply, the entry's seeded generator (every replica alike).
  const seed = Math.floor(ctx.random() * (2 ** 32 - 1));
  if (args.length === 3) {
    const count = int64Or(args[2]);
    if (count < 0n) throw new CommandError('ERR value is out of range, must be positive');
    return ctx.write([key], { setPop: { key, seed, count: clampNumber(count), withCount: true } });
  }
  return ctx.write([key], { setPop: { key, seed } });
};

const smove: CommandHandler = (ctx, [, source, destination, member]) =>
  ctx.write([source, destination], { setMove: { source, destination, member } });

function store(algebra: pb.SetAlgebra): CommandHandler {
  return (ctx, args) => {
    const destination = args[1];
    const keys = args.slice(2);
    return ctx.write([destination, ...keys], { setStore: { destination, keys, algebra } });
  };
}

// ---- reads -------------------------------------------------------------------

async function readSet(ctx: CommandContext, key: Buffer): Promise<{ ks: Keyspace; set: FoundKey | null }> {
  const ks = await ctx.read([key]);
  return { ks, set: await ks.lookupTyped(key, KeyType.Set) };
}

const scard: CommandHandler = async (ctx, [, key]) => (await readSet(ctx, key)).set?.size ?? 0;

const sismember: CommandHandler = async (ctx, [, key, member]) => {
  const { ks, set } = await readSet(ctx, key);
  return set && (await ks.getMember(set, member)) !== undefined ? 1 : 0;
};

const smismember: CommandHandler = async (ctx, args) => {
  const { ks, set } = await readSet(ctx, args[1]);
  const out: Reply[] = [];
  for (const m of args.slice(2)) out.push(set && (await ks.getMember(set, m)) !== undefined ? 1 : 0);
  return out;
};

const smembers: CommandHandler = async (ctx, [, key]) => {
  const { ks, set } = await readSet(ctx, key);
  return new SetReply(await setMembers(ks, set));
};

function combine(algebra: pb.SetAlgebra): CommandHandler {
  return async (ctx, args) => {
    const keys = args.slice(1);
    const ks = await ctx.read(keys);
    return new SetReply(await combineSets(ks, keys, algebra));
  };
}

/** SINTERCARD numkeys key [key ...] [LIMIT limit] */
const sintercard: CommandHandler = async (ctx, args) => {
  const numkeys = int64Or(args[1], 'numkeys should be greater than 0');
  if (numkeys <= 0n) throw new CommandError('ERR numkeys should be greater than 0');
  if (numkeys > BigInt(args.length - 2)) throw new CommandError("ERR Number of keys can't be greater than number of args");
  const n = Number(numkeys);
  const keys = args.slice(2, 2 + n);
  let limit = 0;
  for (let j = 2 + n; j < args.length; j++) {
    const opt = args[j].toString('latin1').toLowerCase();
    if (opt === 'limit' && j + 1 < args.length) {
      const l = int64Or(args[++j], "LIMIT can't be negative");
      if (l < 0n) throw new CommandError("ERR LIMIT can't be negative");
      limit = clampNumber(l);
    } else {
      throw new CommandError(SYNTAX);
    }
  }
  const ks = await ctx.read(keys);
  return (await combineSets(ks, keys, pb.SetAlgebra.SET_INTER, limit)).length;
};

/** SRANDMEMBER key [count]: distinct members for a positive count, repetitions for a negative one. */
const srandmember: CommandHandler = async (ctx, args) => {
  const key = args[1];
  if (args.length > 3) throw new CommandError(SYNTAX);
  if (args.length === 2) {
    const { ks, set } = await readSet(ctx, key);
    if (!set || set.size === 0) return null;
    return (await membersAt(ks, set, [Math.floor(ctx.random() * set.size)]))[0] ?? null;
  }
  const l = int64Or(args[2]);
  if (l < -LONG_MAX) throw new CommandError(`ERR value is out of range, must be between -${LONG_MAX} and ${LONG_MAX}`);
  const { ks, set } = await readSet(ctx, key);
  if (!set || l === 0n) return [];
  const random = (n: number): number => Math.floor(ctx.random() * n);
  if (l < 0n) {
    if (-l > BigInt(SRANDMEMBER_MAX_REPLY)) {
      throw new CommandError(`ERR SRANDMEMBER count is too large for this server (at most ${SRANDMEMBER_MAX_REPLY} members per reply)`);
    }
    const picks: number[] = [];
    for (let n = Number(-l); n > 0; n--) picks.push(random(set.size));
    // membersAt answers each position once: map the distinct ones back to the picks.
    const distinct = [...new Set(picks)];
    const members = await membersAt(ks, set, distinct);
    const byPos = new Map(distinct.map((p, i) => [p, members[i]]));
    return picks.map((p) => byPos.get(p)!).filter((m) => m !== undefined);
  }
  if (l >= BigInt(set.size)) return setMembers(ks, set);
  return membersAt(ks, set, samplePositions(set.size, Number(l), random));
};

/** SSCAN key cursor [MATCH pattern] [COUNT count] */
const sscan: CommandHandler = async (ctx, args) => {
  const cursor = parseCursor(args[2]);
  const { ks, set } = await readSet(ctx, args[1]);
  if (!set) return ['0', []];
  // scanMembers answers [cursor, [member, value, ...]]; a set's members carry no value.
  const [next, flat] = (await scanMembers(ks, set, cursor, args)) as [string, Reply[]];
  return [next, flat.filter((_, i) => i % 2 === 0)];
};

const SET = { group: 'set' } as const;
const R = ['readonly'] as const;
const RF = ['readonly', 'fast'] as const;
const W = ['write', 'denyoom'] as const;

export const SET_COMMANDS: Spec[] = [
  { ...SET, name: 'sadd', arity: -3, flags: ['write', 'denyoom', 'fast'], keys: [1, 1, 1], since: '1.0.0', summary: 'Adds one or more members to a set. Creates the key if it doesn\'t exist.', complexity: 'O(1) for each element added, so O(N) to add N elements when the command is called with multiple arguments.', handler: sadd },
  { ...SET, name: 'srem', arity: -3, flags: ['write', 'fast'], keys: [1, 1, 1], since: '1.0.0', summary: 'Removes one or more members from a set. Deletes the set if the last member was removed.', complexity: 'O(N) where N is the number of members to be removed.', handler: srem },
  { ...SET, name: 'spop', arity: -2, flags: ['write', 'fast'], keys: [1, 1, 1], since: '1.0.0', summary: 'Returns one or more random members from a set after removing them. Deletes the set if the last member was popped.', complexity: 'Without the count argument O(1), otherwise O(N) where N is the value of the passed count.', handler: spop },
  { ...SET, name: 'smove', arity: 4, flags: ['write', 'fast'], keys: [1, 2, 1], since: '1.0.0', summary: 'Moves a member from one set to another.', complexity: 'O(1)', handler: smove },
  { ...SET, name: 'scard', arity: 2, flags: [...RF], keys: [1, 1, 1], since: '1.0.0', summary: 'Returns the number of members in a set.', complexity: 'O(1)', handler: scard },
  { ...SET, name: 'sismember', arity: 3, flags: [...RF], keys: [1, 1, 1], since: '1.0.0', summary: 'Determines whether a member belongs to a set.', complexity: 'O(1)', handler: sismember },
  { ...SET, name: 'smismember', arity: -3, flags: [...RF], keys: [1, 1, 1], since: '6.2.0', summary: 'Determines whether multiple members belong to a set.', complexity: 'O(N) where N is the number of elements being checked for membership', handler: smismember },
  { ...SET, name: 'smembers', arity: 2, flags: [...R], keys: [1, 1, 1], since: '1.0.0', summary: 'Returns all members of a set.', complexity: 'O(N) where N is the set cardinality.', handler: smembers },
  { ...SET, name: 'srandmember', arity: -2, flags: [...R], keys: [1, 1, 1], since: '1.0.0', summary: 'Get one or multiple random members from a set', complexity: 'Without the count argument O(1), otherwise O(N) where N is the absolute value of the passed count.', handler: srandmember },
  { ...SET, name: 'sinter', arity: -2, flags: [...R], keys: [1, -1, 1], since: '1.0.0', summary: 'Returns the intersect of multiple sets.', complexity: 'O(N*M) worst case where N is the cardinality of the smallest set and M is the number of sets.', handler: combine(pb.SetAlgebra.SET_INTER) },
  { ...SET, name: 'sunion', arity: -2, flags: [...R], keys: [1, -1, 1], since: '1.0.0', summary: 'Returns the union of multiple sets.', complexity: 'O(N) where N is the total number of elements in all given sets.', handler: combine(pb.SetAlgebra.SET_UNION) },
  { ...SET, name: 'sdiff', arity: -2, flags: [...R], keys: [1, -1, 1], since: '1.0.0', summary: 'Returns the difference of multiple sets.', complexity: 'O(N) where N is the total number of elements in all given sets.', handler: combine(pb.SetAlgebra.SET_DIFF) },
  { ...SET, name: 'sinterstore', arity: -3, flags: [...W], keys: [1, -1, 1], since: '1.0.0', summary: 'Stores the intersect of multiple sets in a key.', complexity: 'O(N*M) worst case where N is the cardinality of the smallest set and M is the number of sets.', handler: store(pb.SetAlgebra.SET_INTER) },
  { ...SET, name: 'sunionstore', arity: -3, flags: [...W], keys: [1, -1, 1], since: '1.0.0', summary: 'Stores the union of multiple sets in a key.', complexity: 'O(N) where N is the total number of elements in all given sets.', handler: store(pb.SetAlgebra.SET_UNION) },
  { ...SET, name: 'sdiffstore', arity: -3, flags: [...W], keys: [1, -1, 1], since: '1.0.0', summary: 'Stores the difference of multiple sets in a key.', complexity: 'O(N) where N is the total number of elements in all given sets.', handler: store(pb.SetAlgebra.SET_DIFF) },
  { ...SET, name: 'sintercard', arity: -3, flags: [...R], keys: [0, 0, 0], keysOf: numKeysPositions(1), since: '7.0.0', summary: 'Returns the number of members of the intersect of multiple sets.', complexity: 'O(N*M) worst case where N is the cardinality of the smallest set and M is the number of sets.', handler: sintercard },
  { ...SET, name: 'sscan', arity: -3, flags: [...R], keys: [1, 1, 1], since: '2.8.0', summary: 'Iterates over members of a set.', complexity: 'O(1) for every call. O(N) for a complete iteration, including enough command calls for the cursor to return back to 0. N is the number of elements inside the collection.', handler: sscan },
];
