// Generic keyspace commands (DEL, EXISTS, EXPIRE, SCAN, ...); the matching
// apply code is in apply/keys.ts.
import { ErrorReply, OK, SLOT_COUNT, SimpleString, keySlot, pb } from '@redraft/common';
import type { Reply } from '@redraft/common';
import type { CommandContext, CommandHandler, Spec } from './context';
import type { ListedKey } from '../keys-fanout';
import { TYPE_NAMES } from '../data/meta';
import { globMatch } from '../data/glob';
import { CommandError, syntaxError } from '../data/errors';
import { I64_MAX, I64_MIN, MAX_EXPIRE_MS, parseI64, parseInt53, word } from './parse';
import { readMeta } from './read-meta';

const del: CommandHandler = (ctx, args) => {
  const keys = args.slice(1);
  return ctx.write(keys, { del: { keys } });
};

/** EXISTS / TOUCH: how many of the keys exist (a key named twice counts twice). */
const exists: CommandHandler = (ctx, args) => readMeta(ctx, args.slice(1), (found) => found.filter((f) => f !== null).length);

const type: CommandHandler = (ctx, [, key]) => readMeta(ctx, [key], ([found]) => new SimpleString(found ? TYPE_NAMES[found.type] : 'none'));

// ---- expiry -------------------------------------------------------------------

/**
 * EXPIRE / PEXPIRE / EXPIREAT / PEXPIREAT key time [NX|XX|GT|LT]
 * (Redis 7's expireGenericCommand: options first, then the time, with its
 * int64 overflow checks). A time at or before now deletes the key in apply.
 */
function expireLike(name: string, unit: 's' | 'ms', relative: boolean): CommandHandler {
  return (ctx, args) => {
    const key = args[1];
    let nx = false;
    let xx = false;
    let gt = false;
    let lt = false;
    for (let j = 3; j < args.length; j++) {
      const opt = word(args[j]);
      if (opt === 'NX') nx = true;
      else if (opt === 'XX') xx = true;
      else if (opt === 'GT') gt = true;
      else if (opt === 'LT') lt = true;
      else throw new CommandError(`ERR Unsupported option ${args[j].toString('utf8')}`);
    }
    if (nx && (xx || gt || lt)) throw new CommandError('ERR NX and XX, GT or LT options at the same time are not compatible');
    if (gt && lt) throw new CommandError('ERR GT and LT options at the same time are not compatible');
    const invalid = (): CommandError => new CommandError(`ERR invalid expire time in '${name}' command`);
    let when = parseI64(args[2]);
    if (unit === 's') {
      if (when > I64_MAX / 1000n || when < I64_MIN / 1000n) throw invalid();
      when *= 1000n;
    }
    if (relative) {
      if (when > I64_MAX - BigInt(ctx.now)) throw invalid();
      when += BigInt(ctx.now);
    }
    // Negative times delete just as past ones; times past 2^53 ms are clamped (see MAX_EXPIRE_MS).
    const atMs = when <= 0n ? 0 : when > BigInt(MAX_EXPIRE_MS) ? MAX_EXPIRE_MS : Number(when);
    const condition = nx ? pb.Condition.NX : gt ? pb.Condition.GT : lt ? pb.Condition.LT : xx ? pb.Condition.XX : pb.Condition.ALWAYS;
    return ctx.write([key], { expire: { key, atMs, condition, xx: xx && (gt || lt) } });
  };
}

/** TTL / PTTL / EXPIRETIME / PEXPIRETIME: -2 missing, -1 no expiry. */
function ttlLike(ms: boolean, absolute: boolean): CommandHandler {
  return (ctx, [, key]) =>
    readMeta(ctx, [key], ([found], now) => {
      if (!found) return -2;
      if (found.expireAt === 0) return -1;
      let t = absolute ? found.expireAt : found.expireAt - now;
      if (t < 0) t = 0;
      return ms ? t : Math.floor((t + 500) / 1000);
    });
}

const persist: CommandHandler = (ctx, [, key]) => ctx.write([key], { persist: { key } });

// ---- rename / copy ----------------------------------------------------------------

const rename: CommandHandler = (ctx, [, source, destination]) =>
  ctx.write([source, destination], { rename: { source, destination, nx: false } });

const renamenx: CommandHandler = (ctx, [, source, destination]) =>
  ctx.write([source, destination], { rename: { source, destination, nx: true } });

/** COPY source destination [DB destination-db] [REPLACE]: one database, so DB 0 only. */
const copy: CommandHandler = (ctx, args) => {
  const [, source, destination] = args;
  let replace = false;
  for (let j = 3; j < args.length; j++) {
    const opt = word(args[j]);
    const additional = args.length - j - 1;
    if (opt === 'REPLACE') replace = true;
    else if (opt === 'DB' && additional >= 1) {
      const db = parseI64(args[++j]);
      if (db < -(2n ** 31n) || db >= 2n ** 31n) throw new CommandError('ERR value is not an integer or out of range');
      if (db !== 0n) throw new CommandError('ERR DB index is out of range');
    } else throw syntaxError();
  }
  if (source.equals(destination)) throw new CommandError('ERR source and destination objects are the same');
  return ctx.write([source, destination], { copy: { source, destination, replace } });
};

// ---- whole keyspace: KEYS, SCAN, RANDOMKEY, DBSIZE, FLUSHDB ----------------------------

/** Keys per page read at a region's leader (KEYS, DBSIZE; SCAN asks for its COUNT). */
const PAGE_KEYS = 1000;

/**
 * Live keys of the whole cluster, in (slot, key) order, from `fromSlot` on,
 * resuming after the metadata row `after` when given; only those matching
 * `pattern` when given. Each page is read at its region's leader after its
 * read barrier (keys-fanout.ts), wherever that is.
 */
export async function* liveKeys(ctx: CommandContext, fromSlot: number, after?: Buffer, opts: { pattern?: Buffer; pageKeys?: number } = {}): AsyncIterable<ListedKey> {
  const keysPage = ctx.server.keysPage;
  if (!keysPage) {
    const regions = [...ctx.server.regions()].sort((a, b) => a.startSlot - b.startSlot);
    for (const r of regions) {
      if (r.endSlot <= fromSlot) continue;
      const ks = await ctx.server.readRegion(r.id);
      for await (const k of ks.keys({ startSlot: Math.max(fromSlot, r.startSlot), endSlot: r.endSlot, after })) {
        if (!opts.pattern || globMatch(opts.pattern, k.key)) yield k;
      }
    }
    return;
  }
  let slot = fromSlot;
  let resume = after;
  while (slot < SLOT_COUNT) {
    const page = await keysPage({ fromSlot: slot, after: resume, limit: opts.pageKeys ?? PAGE_KEYS, pattern: opts.pattern });
    yield* page.keys;
    if (page.more && page.lastRow) resume = page.lastRow;
    else {
      slot = page.endSlot;
      resume = undefined;
    }
  }
}

const keys: CommandHandler = async (ctx, [, pattern]) => {
  const all = pattern.length === 1 && pattern[0] === 0x2a;
  const out: Reply[] = [];
  for await (const k of liveKeys(ctx, 0, undefined, { pattern: all ? undefined : pattern })) out.push(Buffer.from(k.key));
  return out;
};

/**
 * SCAN cursors, opaque 64-bit numbers: (tag * 2^24 + id) * 16384 + slot.
 * With id 0 a cursor means "from the start of that slot" and needs no
 * state. With id > 0 it names a position inside the slot kept in this
 * bounded map (the last row returned), checked by a random 26-bit tag so a
 * cursor of another process (a restart, another store after a leader move)
 * is recognised as unknown. An unknown or evicted position restarts its
 * slot: keys may come twice (as Redis allows), never go missing.
 */
const SLOTS = 16384n;
const ID_BITS = 24n;
const MAX_CURSORS = 100_000; // well below 2^24 ids, so a live id is never reused
const cursors = new Map<number, { slot: number; row: Buffer; tag: number }>();
let nextCursorId = 1;

function saveCursor(slot: number, row: Buffer): string {
  const id = nextCursorId;
  nextCursorId = nextCursorId >= 2 ** 24 - 1 ? 1 : nextCursorId + 1;
  const tag = Math.floor(Math.random() * 2 ** 26); // reads may use randomness; only apply may not
  cursors.delete(id);
  cursors.set(id, { slot, row: Buffer.from(row), tag });
  while (cursors.size > MAX_CURSORS) cursors.delete(cursors.keys().next().value as number);
  return (((BigInt(tag) << ID_BITS) + BigInt(id)) * SLOTS + BigInt(slot)).toString();
}

function parseCursor(arg: Buffer): { slot: number; after?: Buffer } {
  // strtoul: an optional sign ("-1" wraps to 2^64-1), decimal digits, nothing else.
  const s = arg.toString('latin1');
  const m = /^([+-]?)([0-9]{1,20})$/.exec(s);
  if (!m || BigInt(m[2]) > 2n ** 64n - 1n) throw new CommandError('ERR invalid cursor');
  const c = m[1] === '-' ? (2n ** 64n - BigInt(m[2])) % 2n ** 64n : BigInt(m[2]);
  const slot = Number(c % SLOTS);
  const rest = c / SLOTS;
  const id = Number(rest & ((1n << ID_BITS) - 1n));
  const tag = Number(rest >> ID_BITS);
  if (id === 0) return { slot };
  const saved = cursors.get(id);
  return saved && saved.slot === slot && saved.tag === tag ? { slot, after: saved.row } : { slot };
}

/** SCAN cursor [MATCH pattern] [COUNT count] [TYPE type] */
const scan: CommandHandler = async (ctx, args) => {
  const { slot, after } = parseCursor(args[1]);
  let count = 10;
  let pattern: Buffer | null = null;
  let typeName: string | null = null;
  for (let i = 2; i < args.length; ) {
    const opt = word(args[i]);
    const remaining = args.length - i;
    if (opt === 'COUNT' && remaining >= 2) {
      count = Math.min(parseInt53(args[i + 1]), 1_000_000_000);
      if (count < 1) throw syntaxError();
      i += 2;
    } else if (opt === 'MATCH' && remaining >= 2) {
      const p = args[i + 1];
      pattern = p.length === 1 && p[0] === 0x2a ? null : p;
      i += 2;
    } else if (opt === 'TYPE' && remaining >= 2) {
      typeName = args[i + 1].toString('utf8').toLowerCase();
      i += 2;
    } else throw syntaxError();
  }
  const out: Reply[] = [];
  let visited = 0;
  let last: ListedKey | null = null;
  let cursor = '0';
  for await (const k of liveKeys(ctx, slot, after, { pageKeys: Math.min(count + 1, PAGE_KEYS) })) {
    if (visited === count) {
      // One key past the page: the cursor is its slot's start when the page ended a slot.
      cursor = last && last.slot === k.slot ? saveCursor(last.slot, last.row) : String(k.slot);
      break;
    }
    visited++;
    last = k;
    if (pattern && !globMatch(pattern, k.key)) continue;
    if (typeName !== null && TYPE_NAMES[k.type] !== typeName) continue;
    out.push(Buffer.from(k.key));
  }
  return [cursor, out];
};

/**
 * RANDOMKEY: a random slot, the first slot at or after it (wrapping) that
 * has live keys, then a random one of its first 64 keys; nil when empty.
 * Not uniform (slots and keys late in a crowded slot are favoured less),
 * which Redis does not promise either. Reads may use randomness.
 */
const randomkey: CommandHandler = async (ctx) => {
  const start = Math.floor(Math.random() * 16384);
  const pick = async (from: number): Promise<Buffer | null> => {
    const candidates: Buffer[] = [];
    for await (const k of liveKeys(ctx, from, undefined, { pageKeys: 65 })) {
      if (candidates.length > 0 && k.slot !== keySlot(candidates[0])) break;
      candidates.push(Buffer.from(k.key));
      if (candidates.length === 64) break;
    }
    return candidates.length ? candidates[Math.floor(Math.random() * candidates.length)] : null;
  };
  return (await pick(start)) ?? (start > 0 ? await pick(0) : null);
};

/** Live keys and keys with an expiry, the whole cluster's (DBSIZE, INFO keyspace, MEMORY STATS). */
export async function keyspaceStats(ctx: CommandContext): Promise<{ keys: number; expires: number }> {
  let keys = 0;
  let expires = 0;
  const keysPage = ctx.server.keysPage;
  if (keysPage) {
    // Counted at each region's leader: no key crosses the network.
    for (let slot = 0, after: Buffer | undefined; slot < SLOT_COUNT; ) {
      const page = await keysPage({ fromSlot: slot, after, limit: 10 * PAGE_KEYS, countOnly: true });
      keys += page.count;
      expires += page.expires;
      if (page.more && page.lastRow) after = page.lastRow;
      else [slot, after] = [page.endSlot, undefined];
    }
    return { keys, expires };
  }
  for await (const k of liveKeys(ctx, 0)) {
    keys++;
    if (k.expireAt !== 0) expires++;
  }
  return { keys, expires };
}

// A count of its own (a read, linearizable); INFO keyspace shows it afterwards (key-counts.ts).
const dbsize: CommandHandler = async (ctx) => {
  const counts = ctx.server.keyCounts;
  return (counts ? await counts.fresh(() => keyspaceStats(ctx)) : await keyspaceStats(ctx)).keys;
};

/** FLUSHDB / FLUSHALL [ASYNC|SYNC]: one FlushOp per region of this node, proposed together. */
function flushLike(): CommandHandler {
  return (ctx, args) => {
    if (args.length > 2) throw syntaxError();
    if (args.length === 2) {
      const mode = word(args[1]);
      if (mode !== 'ASYNC' && mode !== 'SYNC') throw syntaxError();
    }
    const writes = ctx.server.regions().map((r) => ctx.server.writeRegion(r.id, { flush: { startSlot: r.startSlot, endSlot: r.endSlot } }));
    return Promise.all(writes).then((replies) => replies.find((r) => r instanceof ErrorReply) ?? OK);
  };
}

const KEYSPACE = { group: 'generic' } as const;
const K1: Spec['keys'] = [1, 1, 1];
const K12: Spec['keys'] = [1, 2, 1];
const WF = ['write', 'fast'] as Spec['flags'];
const RF = ['readonly', 'fast'] as Spec['flags'];
const NONE: Spec['keys'] = [0, 0, 0];

export const KEYSPACE_COMMANDS: Spec[] = [
  { ...KEYSPACE, name: 'del', arity: -2, flags: ['write'], keys: [1, -1, 1], since: '1.0.0', summary: 'Deletes one or more keys.', complexity: 'O(N) where N is the number of keys that will be removed.', handler: del },
  { ...KEYSPACE, name: 'unlink', arity: -2, flags: ['write', 'fast'], keys: [1, -1, 1], since: '4.0.0', summary: 'Asynchronously deletes one or more keys.', complexity: 'O(1) for each key removed regardless of its size.', handler: del },
  { ...KEYSPACE, name: 'exists', arity: -2, flags: RF, keys: [1, -1, 1], since: '1.0.0', summary: 'Determines whether one or more keys exist.', complexity: 'O(N) where N is the number of keys to check.', handler: exists },
  { ...KEYSPACE, name: 'touch', arity: -2, flags: RF, keys: [1, -1, 1], since: '3.2.1', summary: 'Returns the number of existing keys out of those specified after updating the time they were last accessed.', complexity: 'O(N) where N is the number of keys that will be touched.', handler: exists },
  { ...KEYSPACE, name: 'type', arity: 2, flags: RF, keys: K1, since: '1.0.0', summary: 'Determines the type of value stored at a key.', complexity: 'O(1)', handler: type },
  { ...KEYSPACE, name: 'expire', arity: -3, flags: WF, keys: K1, since: '1.0.0', summary: "Sets the expiration time of a key in seconds.", complexity: 'O(1)', handler: expireLike('expire', 's', true) },
  { ...KEYSPACE, name: 'pexpire', arity: -3, flags: WF, keys: K1, since: '2.6.0', summary: 'Sets the expiration time of a key in milliseconds.', complexity: 'O(1)', handler: expireLike('pexpire', 'ms', true) },
  { ...KEYSPACE, name: 'expireat', arity: -3, flags: WF, keys: K1, since: '1.2.0', summary: 'Sets the expiration time of a key to a Unix timestamp.', complexity: 'O(1)', handler: expireLike('expireat', 's', false) },
  { ...KEYSPACE, name: 'pexpireat', arity: -3, flags: WF, keys: K1, since: '2.6.0', summary: 'Sets the expiration time of a key to a Unix milliseconds timestamp.', complexity: 'O(1)', handler: expireLike('pexpireat', 'ms', false) },
  { ...KEYSPACE, name: 'ttl', arity: 2, flags: RF, keys: K1, since: '1.0.0', summary: 'Returns the expiration time in seconds of a key.', complexity: 'O(1)', handler: ttlLike(false, false) },
  { ...KEYSPACE, name: 'pttl', arity: 2, flags: RF, keys: K1, since: '2.6.0', summary: 'Returns the expiration time in milliseconds of a key.', complexity: 'O(1)', handler: ttlLike(true, false) },
  { ...KEYSPACE, name: 'expiretime', arity: 2, flags: RF, keys: K1, since: '7.0.0', summary: 'Returns the expiration time of a key as a Unix timestamp.', complexity: 'O(1)', handler: ttlLike(false, true) },
  { ...KEYSPACE, name: 'pexpiretime', arity: 2, flags: RF, keys: K1, since: '7.0.0', summary: 'Returns the expiration time of a key as a Unix milliseconds timestamp.', complexity: 'O(1)', handler: ttlLike(true, true) },
  { ...KEYSPACE, name: 'persist', arity: 2, flags: WF, keys: K1, since: '2.2.0', summary: 'Removes the expiration time of a key.', complexity: 'O(1)', handler: persist },
  { ...KEYSPACE, name: 'rename', arity: 3, flags: ['write'], keys: K12, since: '1.0.0', summary: 'Renames a key and overwrites the destination.', complexity: 'O(1)', handler: rename },
  { ...KEYSPACE, name: 'renamenx', arity: 3, flags: WF, keys: K12, since: '1.0.0', summary: "Renames a key only when the target key name doesn't exist.", complexity: 'O(1)', handler: renamenx },
  { ...KEYSPACE, name: 'copy', arity: -3, flags: ['write', 'denyoom'], keys: K12, since: '6.2.0', summary: 'Copies the value of a key to a new key.', complexity: 'O(N) worst case for collections, where N is the number of nested items. O(1) for string values.', handler: copy },
  { ...KEYSPACE, name: 'keys', arity: 2, flags: ['readonly'], keys: NONE, since: '1.0.0', summary: 'Returns all key names that match a pattern.', complexity: 'O(N) with N being the number of keys in the database, under the assumption that the key names in the database and the given pattern have limited length.', handler: keys },
  { ...KEYSPACE, name: 'scan', arity: -2, flags: ['readonly'], keys: NONE, since: '2.8.0', summary: 'Iterates over the key names in the database.', complexity: 'O(1) for every call. O(N) for a complete iteration, including enough command calls for the cursor to return back to 0. N is the number of elements inside the collection.', handler: scan },
  { ...KEYSPACE, name: 'randomkey', arity: 1, flags: ['readonly'], keys: NONE, since: '1.0.0', summary: 'Returns a random key name from the database.', complexity: 'O(1)', handler: randomkey },
  { group: 'server', name: 'dbsize', arity: 1, flags: RF, keys: NONE, since: '1.0.0', summary: 'Returns the number of keys in the database.', complexity: 'O(N): redraft counts the live keys', handler: dbsize },
  { group: 'server', name: 'flushdb', arity: -1, flags: ['write'], keys: NONE, since: '1.0.0', summary: 'Remove all keys from the current database.', complexity: 'O(N) where N is the number of keys in the selected database', handler: flushLike() },
  { group: 'server', name: 'flushall', arity: -1, flags: ['write'], keys: NONE, since: '1.0.0', summary: 'Removes all keys from all databases.', complexity: 'O(N) where N is the total number of keys in all databases', handler: flushLike() },
];
