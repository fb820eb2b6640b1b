// List commands; the matching apply code is in apply/lists.ts, blocked
// clients in blocking.ts.
//
// Writes parse and validate everything first, then call ctx.write()
// synchronously (the dispatcher relies on it for pipelined order). A push
// answers after the blocked clients it woke have had their turn (bounded),
// so the pusher's next command sees the list as Redis would show it.
//
// A blocking command is a write: each attempt proposes a pop that applies
// only if some list has an element (otherwise apply answers NOTHING_POPPED
// and the client waits for the next write to one of its keys). The element
// is taken by a log entry and answered from that entry's apply, never
// handed out otherwise.
import { NullArray, pb, subKey, u64 } from '@redraft/common';
import type { Reply } from '@redraft/common';
import type { CommandContext, CommandHandler, Spec } from './context';
import type { FoundKey, Keyspace } from '../data/keyspace';
import { KeyType } from '../data/meta';
import { CommandError, NOT_INTEGER, SYNTAX } from '../data/errors';
import { strictInt64 } from '../apply/hashes';
import { NOTHING_POPPED, type WaiterHandle } from '../blocking';
import { RetryLaterError } from '../dispatch';
import { int64Arg } from './hashes';
import { elementAt } from '../apply/lists';
import { numKeysPositions } from './parse';

const LONG_MAX = 2n ** 63n - 1n;

/** An int64 argument as a JS number, clamped far outside any list's size. */
function indexArg(arg: Buffer): number {
  const v = int64Arg(arg);
  const bound = 2n ** 60n;
  return Number(v > bound ? bound : v < -bound ? -bound : v);
}

/** An int64 argument; a bad one answers `msg` when given (as Redis's get*FromObjectOrReply). */
function int64Or(arg: Buffer, msg?: string): bigint {
  const v = strictInt64(arg);
  if (v === null) throw new CommandError(msg ? `ERR ${msg}` : NOT_INTEGER);
  return v;
}

/** Redis's getRangeLongFromObjectOrReply. */
function rangeArg(arg: Buffer, min: bigint, max: bigint, msg?: string): number {
  const v = int64Or(arg, msg);
  if (v < min || v > max) throw new CommandError(msg ? `ERR ${msg}` : `ERR value is out of range, must be between ${min} and ${max}`);
  return Number(v > 2n ** 60n ? 2n ** 60n : v);
}

/** Redis's getPositiveLongFromObjectOrReply. */
function positiveArg(arg: Buffer, msg?: string): number {
  const v = int64Or(arg, msg);
  if (v < 0n) throw new CommandError(`ERR ${msg ?? 'value is out of range, must be positive'}`);
  return Number(v > 2n ** 60n ? 2n ** 60n : v);
}

/** LEFT / RIGHT → true for the head. */
function sideArg(arg: Buffer): boolean {
  const s = arg.toString('latin1').toLowerCase();
  if (s === 'left') return true;
  if (s === 'right') return false;
  throw new CommandError(SYNTAX);
}

/**
 * A blocking timeout in seconds (a float, as Redis's strtold reads it: hex
 * included) → ms, 0 meaning forever.
 */
export function parseTimeout(arg: Buffer): number {
  const s = arg.toString('latin1');
  let seconds: number;
  if (/^[+-]?0x[0-9a-f]+$/i.test(s)) seconds = (s.startsWith('-') ? -1 : 1) * parseInt(s.replace(/^[+-]?0x/i, ''), 16);
  else if (/^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)(e[+-]?[0-9]+)?$/i.test(s)) seconds = Number(s);
  else if (/^[+-]?inf(inity)?$/i.test(s)) seconds = s.startsWith('-') ? -Infinity : Infinity;
  else throw new CommandError('ERR timeout is not a float or out of range');
  const ms = Math.trunc(seconds * 1000);
  if (ms < 0) throw new CommandError('ERR timeout is negative');
  if (ms > 2 ** 63 - 1 - Date.now()) throw new CommandError('ERR timeout is out of range');
  return ms;
}

/** The block timeout of a blocking list command (ms, 0 forever), or undefined for any other command: forward() sizes its RPC timeout with it. */
export function blockingTimeoutOf(args: Buffer[]): number | undefined {
  // Every forwarded command asks: the blocking ones all begin with a B, so
  // the rest make no lower-cased copy of their name.
  const first = args[0]?.[0];
  if (first !== 0x62 && first !== 0x42) return undefined;
  const name = args[0].toString('latin1').toLowerCase();
  try {
    if (name === 'blpop' || name === 'brpop' || name === 'brpoplpush' || name === 'blmove') return parseTimeout(args[args.length - 1]);
    if (name === 'blmpop' || name === 'bzpopmin' || name === 'bzpopmax' || name === 'bzmpop') {
      return parseTimeout(name === 'bzpopmin' || name === 'bzpopmax' ? args[args.length - 1] : args[1]);
    }
  } catch {
    return undefined;
  }
  return undefined;
}

/** Answers `reply` once the blocked clients of `keys` that this write woke are served. */
export async function afterWaiters(ctx: CommandContext, keys: Buffer[], reply: Reply, self?: WaiterHandle): Promise<Reply> {
  // Inside a transaction's apply nothing waits (the woken clients need later
  // entries), and the store's facilities are out of reach.
  if (ctx.inTransaction) return reply;
  const b = ctx.server.blocking;
  if (b && b.hasWaiters(keys)) await b.settled(keys, self);
  return reply;
}

/**
 * Runs a blocking command: its pop is attempted now and after every write
 * of a `type` (list, sorted set) to one of `keys`, until an element comes or
 * the timeout passes. `woken` is false for the first attempt only.
 */
export function blockOn(ctx: CommandContext, keys: Buffer[], timeoutMs: number, attempt: (self: WaiterHandle | undefined, woken: boolean) => Promise<Reply>, type: KeyType = KeyType.List): Promise<Reply> {
  // Inside MULTI a blocking command does not block (Redis): one attempt, nil if nothing is there.
  const b = ctx.inTransaction ? undefined : ctx.server.blocking;
  if (!b) return attempt(undefined, false).then((r) => (r === NOTHING_POPPED ? NullArray.instance : r));
  // The probe is a read barrier with the write's routing: it throws (forward or retry) once this store does not lead.
  // (No leader for a moment: keep waiting and probe again.)
  const probe = (): Promise<unknown> => ctx.read(keys).catch((e) => {
    if (!(e instanceof RetryLaterError)) throw e;
  });
  return b.block(ctx.client, keys, type, timeoutMs, attempt, NullArray.instance, probe);
}

// ---- writes ------------------------------------------------------------------

function push(left: boolean, xx: boolean): CommandHandler {
  return (ctx, args) => {
    const key = args[1];
    return ctx.write([key], { listPush: { key, elements: args.slice(2), left, xx } }).then((r) => afterWaiters(ctx, [key], r));
  };
}

function pop(left: boolean): CommandHandler {
  return (ctx, args) => {
    const key = args[1];
    if (args.length > 3) throw new CommandError(`ERR wrong number of arguments for '${left ? 'lpop' : 'rpop'}' command`);
    if (args.length === 3) {
      const count = positiveArg(args[2]);
      return ctx.write([key], { listPop: { keys: [key], left, count, reply: pb.PopReply.POP_COUNT } });
    }
    return ctx.write([key], { listPop: { keys: [key], left, reply: pb.PopReply.POP_SINGLE } });
  };
}

const lset: CommandHandler = (ctx, [, key, index, element]) => {
  const i = indexArg(index);
  return ctx.write([key], { listSet: { key, index: i, element } });
};

const linsert: CommandHandler = (ctx, [, key, where, pivot, element]) => {
  const w = where.toString('latin1').toLowerCase();
  if (w !== 'before' && w !== 'after') throw new CommandError(SYNTAX);
  return ctx.write([key], { listInsert: { key, before: w === 'before', pivot, element } });
};

const lrem: CommandHandler = (ctx, [, key, count, element]) => {
  const n = indexArg(count);
  return ctx.write([key], { listRem: { key, count: n, element } });
};

const ltrim: CommandHandler = (ctx, [, key, start, stop]) => {
  const s = indexArg(start);
  const e = indexArg(stop);
  return ctx.write([key], { listTrim: { key, start: s, stop: e } });
};

function move(ctx: CommandContext, source: Buffer, destination: Buffer, fromLeft: boolean, toLeft: boolean, blocking: boolean, self?: WaiterHandle, woken = false): Promise<Reply> {
  return ctx.write([source, destination], { listMove: { source, destination, fromLeft, toLeft, blocking, woken } }).then((r) => afterWaiters(ctx, [destination], r, self));
}

const lmove: CommandHandler = (ctx, [, source, destination, from, to]) => move(ctx, source, destination, sideArg(from), sideArg(to), false);

const rpoplpush: CommandHandler = (ctx, [, source, destination]) => move(ctx, source, destination, false, true, false);

/** LMPOP / BLMPOP arguments from `at` (numkeys): keys, side, count. */
function mpopArgs(args: Buffer[], at: number): { keys: Buffer[]; left: boolean; count: number } {
  const numkeys = rangeArg(args[at], 1n, LONG_MAX, 'numkeys should be greater than 0');
  const whereAt = at + numkeys + 1;
  if (whereAt >= args.length) throw new CommandError(SYNTAX);
  const left = sideArg(args[whereAt]);
  let count = -1;
  for (let j = whereAt + 1; j < args.length; j++) {
    const opt = args[j].toString('latin1').toLowerCase();
    if (count === -1 && opt === 'count' && j + 1 < args.length) {
      count = rangeArg(args[++j], 1n, LONG_MAX, 'count should be greater than 0');
    } else {
      throw new CommandError(SYNTAX);
    }
  }
  return { keys: args.slice(at + 1, whereAt), left, count: count === -1 ? 1 : count };
}

const lmpop: CommandHandler = (ctx, args) => {
  const { keys, left, count } = mpopArgs(args, 1);
  return ctx.write(keys, { listPop: { keys, left, count, reply: pb.PopReply.POP_MPOP } });
};

// ---- blocking ---------------------------------------------------------------

function bpop(left: boolean): CommandHandler {
  return (ctx, args) => {
    const keys = args.slice(1, -1);
    const timeout = parseTimeout(args[args.length - 1]);
    return blockOn(ctx, keys, timeout, (_, woken) => ctx.write(keys, { listPop: { keys, left, reply: pb.PopReply.POP_KEYED, blocking: true, woken } }));
  };
}

function bmoveAttempt(ctx: CommandContext, source: Buffer, destination: Buffer, fromLeft: boolean, toLeft: boolean): (self: WaiterHandle | undefined, woken: boolean) => Promise<Reply> {
  return (self, woken) => move(ctx, source, destination, fromLeft, toLeft, true, self, woken);
}

const blmove: CommandHandler = (ctx, [, source, destination, from, to, timeout]) => {
  const fromLeft = sideArg(from);
  const toLeft = sideArg(to);
  const ms = parseTimeout(timeout);
  return blockOn(ctx, [source], ms, bmoveAttempt(ctx, source, destination, fromLeft, toLeft));
};

const brpoplpush: CommandHandler = (ctx, [, source, destination, timeout]) => {
  const ms = parseTimeout(timeout);
  return blockOn(ctx, [source], ms, bmoveAttempt(ctx, source, destination, false, true));
};

const blmpop: CommandHandler = (ctx, args) => {
  const timeout = parseTimeout(args[1]);
  const { keys, left, count } = mpopArgs(args, 2);
  return blockOn(ctx, keys, timeout, (_, woken) => ctx.write(keys, { listPop: { keys, left, count, reply: pb.PopReply.POP_MPOP, blocking: true, woken } }));
};

// ---- reads -------------------------------------------------------------------

async function readList(ctx: CommandContext, key: Buffer): Promise<{ ks: Keyspace; list: FoundKey | null }> {
  const ks = await ctx.read([key]);
  return { ks, list: await ks.lookupTyped(key, KeyType.List) };
}

const llen: CommandHandler = async (ctx, [, key]) => (await readList(ctx, key)).list?.size ?? 0;

const lindex: CommandHandler = async (ctx, [, key, index]) => {
  const i = indexArg(index);
  const { ks, list } = await readList(ctx, key);
  if (!list) return null;
  const p = i < 0 ? list.size + i : i;
  if (p < 0 || p >= list.size) return null;
  return (await elementAt(ks, list, p)) ?? null;
};

/** The elements at positions [from, to] (inclusive, both inside the list). */
async function slice(ks: Keyspace, list: FoundKey, from: number, to: number): Promise<Buffer[]> {
  const head = list.head ?? 0;
  const out: Buffer[] = [];
  const gte = subKey(list.slot, list.key, list.version, u64(head + from));
  const lt = subKey(list.slot, list.key, list.version, u64(head + to + 1));
  for await (const [, v] of ks.reader.scan({ gte, lt })) out.push(v);
  return out;
}

const lrange: CommandHandler = async (ctx, [, key, startArg, stopArg]) => {
  let start = indexArg(startArg);
  let end = indexArg(stopArg);
  const { ks, list } = await readList(ctx, key);
  if (!list) return [];
  const size = list.size;
  if (start < 0) start = size + start;
  if (end < 0) end = size + end;
  if (start < 0) start = 0;
  if (start > end || start >= size) return [];
  if (end >= size) end = size - 1;
  return slice(ks, list, start, end);
};

/** LPOS key element [RANK rank] [COUNT num-matches] [MAXLEN len] */
const lpos: CommandHandler = async (ctx, args) => {
  const [, key, element] = args;
  let rank = 1;
  let count = -1;
  let maxlen = 0;
  for (let j = 3; j < args.length; j++) {
    const opt = args[j].toString('latin1').toLowerCase();
    const more = j + 1 < args.length;
    if (opt === 'rank' && more) {
      rank = rangeArg(args[++j], -LONG_MAX, LONG_MAX);
      if (rank === 0) {
        throw new CommandError("ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list");
      }
    } else if (opt === 'count' && more) {
      count = positiveArg(args[++j], "COUNT can't be negative");
    } else if (opt === 'maxlen' && more) {
      maxlen = positiveArg(args[++j], "MAXLEN can't be negative");
    } else {
      throw new CommandError(SYNTAX);
    }
  }
  const fromTail = rank < 0;
  if (rank < 0) rank = -rank;
  const { ks, list } = await readList(ctx, key);
  if (!list) return count !== -1 ? [] : null;
  const elements = await slice(ks, list, 0, list.size - 1);
  const out: number[] = [];
  let matches = 0;
  for (let n = 0; n < elements.length && (maxlen === 0 || n < maxlen); n++) {
    const index = fromTail ? elements.length - 1 - n : n;
    if (!elements[index].equals(element)) continue;
    matches++;
    if (matches < rank) continue;
    if (count === -1) return index;
    out.push(index);
    if (count && matches - rank + 1 >= count) break;
  }
  return count === -1 ? null : out;
};

const LIST = { group: 'list' } as const;
const R = ['readonly'] as const;
const W = ['write'] as const;
const WF = ['write', 'fast'] as const;
const WDF = ['write', 'denyoom', 'fast'] as const;
const B = ['write', 'blocking'] as const;

export const LIST_COMMANDS: Spec[] = [
  { ...LIST, name: 'lpush', arity: -3, flags: [...WDF], keys: [1, 1, 1], since: '1.0.0', summary: 'Prepends one or more elements to a list. Creates the key if it doesn\'t exist.', complexity: 'O(1) for each element added', handler: push(true, false) },
  { ...LIST, name: 'rpush', arity: -3, flags: [...WDF], keys: [1, 1, 1], since: '1.0.0', summary: 'Appends one or more elements to a list. Creates the key if it doesn\'t exist.', complexity: 'O(1) for each element added', handler: push(false, false) },
  { ...LIST, name: 'lpushx', arity: -3, flags: [...WDF], keys: [1, 1, 1], since: '2.2.0', summary: 'Prepends one or more elements to a list only when the list exists.', complexity: 'O(1) for each element added', handler: push(true, true) },
  { ...LIST, name: 'rpushx', arity: -3, flags: [...WDF], keys: [1, 1, 1], since: '2.2.0', summary: 'Appends an element to a list only when the list exists.', complexity: 'O(1) for each element added', handler: push(false, true) },
  { ...LIST, name: 'lpop', arity: -2, flags: [...WF], keys: [1, 1, 1], since: '1.0.0', summary: 'Returns the first elements in a list after removing it. Deletes the list if the last element was popped.', complexity: 'O(N) where N is the number of elements returned', handler: pop(true) },
  { ...LIST, name: 'rpop', arity: -2, flags: [...WF], keys: [1, 1, 1], since: '1.0.0', summary: 'Returns and removes the last elements of a list. Deletes the list if the last element was popped.', complexity: 'O(N) where N is the number of elements returned', handler: pop(false) },
  { ...LIST, name: 'llen', arity: 2, flags: ['readonly', 'fast'], keys: [1, 1, 1], since: '1.0.0', summary: 'Returns the length of a list.', complexity: 'O(1)', handler: llen },
  { ...LIST, name: 'lindex', arity: 3, flags: [...R], keys: [1, 1, 1], since: '1.0.0', summary: 'Returns an element from a list by its index.', complexity: 'O(1)', handler: lindex },
  { ...LIST, name: 'lrange', arity: 4, flags: [...R], keys: [1, 1, 1], since: '1.0.0', summary: 'Returns a range of elements from a list.', complexity: 'O(S+N) where S is the start offset and N the number of elements in the range.', handler: lrange },
  { ...LIST, name: 'lset', arity: 4, flags: ['write', 'denyoom'], keys: [1, 1, 1], since: '1.0.0', summary: 'Sets the value of an element in a list by its index.', complexity: 'O(1)', handler: lset },
  { ...LIST, name: 'linsert', arity: 5, flags: ['write', 'denyoom'], keys: [1, 1, 1], since: '2.2.0', summary: 'Inserts an element before or after another element in a list.', complexity: 'O(N) where N is the number of elements in the list (the shorter side is rewritten).', handler: linsert },
  { ...LIST, name: 'lrem', arity: 4, flags: [...W], keys: [1, 1, 1], since: '1.0.0', summary: 'Removes elements from a list. Deletes the list if the last element was removed.', complexity: 'O(N+M) where N is the length of the list and M is the number of elements removed.', handler: lrem },
  { ...LIST, name: 'ltrim', arity: 4, flags: [...W], keys: [1, 1, 1], since: '1.0.0', summary: 'Removes elements from both ends a list. Deletes the list if all elements were trimmed.', complexity: 'O(N) where N is the number of elements to be removed by the operation.', handler: ltrim },
  { ...LIST, name: 'lpos', arity: -3, flags: [...R], keys: [1, 1, 1], since: '6.0.6', summary: 'Returns the index of matching elements in a list.', complexity: 'O(N) where N is the number of elements in the list.', handler: lpos },
  { ...LIST, name: 'lmove', arity: 5, flags: ['write', 'denyoom'], keys: [1, 2, 1], since: '6.2.0', summary: 'Returns an element after popping it from one list and pushing it to another. Deletes the list if the last element was moved.', complexity: 'O(1)', handler: lmove },
  { ...LIST, name: 'rpoplpush', arity: 3, flags: ['write', 'denyoom'], keys: [1, 2, 1], since: '1.2.0', summary: 'Returns the last element of a list after removing and pushing it to another list. Deletes the list if the last element was popped.', complexity: 'O(1)', handler: rpoplpush },
  { ...LIST, name: 'lmpop', arity: -4, flags: [...W], keys: [0, 0, 0], keysOf: numKeysPositions(1), since: '7.0.0', summary: 'Returns multiple elements from a list after removing them. Deletes the list if the last element was popped.', complexity: 'O(N+M) where N is the number of provided keys and M is the number of elements returned.', handler: lmpop },
  { ...LIST, name: 'blpop', arity: -3, flags: [...B], keys: [1, -2, 1], since: '2.0.0', summary: 'Removes and returns the first element in a list. Blocks until an element is available otherwise. Deletes the list if the last element was popped.', complexity: 'O(N) where N is the number of provided keys.', handler: bpop(true) },
  { ...LIST, name: 'brpop', arity: -3, flags: [...B], keys: [1, -2, 1], since: '2.0.0', summary: 'Removes and returns the last element in a list. Blocks until an element is available otherwise. Deletes the list if the last element was popped.', complexity: 'O(N) where N is the number of provided keys.', handler: bpop(false) },
  { ...LIST, name: 'blmove', arity: 6, flags: ['write', 'denyoom', 'blocking'], keys: [1, 2, 1], since: '6.2.0', summary: 'Pops an element from a list, pushes it to another list and returns it. Blocks until an element is available otherwise. Deletes the list if the last element was moved.', complexity: 'O(1)', handler: blmove },
  { ...LIST, name: 'brpoplpush', arity: 4, flags: ['write', 'denyoom', 'blocking'], keys: [1, 2, 1], since: '2.2.0', summary: 'Pops an element from a list, pushes it to another list and returns it. Block until an element is available otherwise. Deletes the list if the last element was popped.', complexity: 'O(1)', handler: brpoplpush },
  { ...LIST, name: 'blmpop', arity: -5, flags: [...B], keys: [0, 0, 0], keysOf: numKeysPositions(2), since: '7.0.0', summary: 'Pops the first element from one of multiple lists. Blocks until an element is available otherwise. Deletes the list if the last element was popped.', complexity: 'O(N+M) where N is the number of provided keys and M is the number of elements returned.', handler: blmpop },
];
