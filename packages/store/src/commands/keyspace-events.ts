// Which keyspace events a write command made, from its arguments and the
// reply apply gave (Redis 7.0's notifyKeyspaceEvent calls, command by
// command). Judged from the reply alone, so a few cases where the reply does
// not tell are left out (docs/pubsub.md lists them): the `del` of a list,
// set or zset emptied by a pop or trim, a ZADD that only changed scores
// without CH. A DEL of several keys of which only some existed uses the
// keys found absent just before it ran (KeyspaceNotifier.absentKeys).
import { ErrorReply, NullArray, SimpleString } from '@redraft/common';
import type { Reply } from '@redraft/common';

/** Redis 7.0's event classes (server.h NOTIFY_*), by flag letter. */
export const NOTIFY = {
  keyspace: 1 << 0, // K
  keyevent: 1 << 1, // E
  generic: 1 << 2, // g
  string: 1 << 3, // $
  list: 1 << 4, // l
  set: 1 << 5, // s
  hash: 1 << 6, // h
  zset: 1 << 7, // z
  expired: 1 << 8, // x
  evicted: 1 << 9, // e
  stream: 1 << 10, // t
  keyMiss: 1 << 11, // m
  module: 1 << 13, // d
  newKey: 1 << 14, // n
} as const;

export type KeyspaceEvent = [type: number, event: string, key: Buffer];

const { generic: G, string: S, list: L, set: SET, hash: H, zset: Z } = NOTIFY;

function lower(b: Buffer | undefined): string {
  return b ? b.toString('latin1').toLowerCase() : '';
}

const isNil = (r: Reply): boolean => r === null || (Array.isArray(r) && r.length === 0) || r instanceof NullArray;
const positive = (r: Reply): boolean => (typeof r === 'number' || typeof r === 'bigint') && r > 0;
const isOk = (r: Reply): boolean => r instanceof SimpleString && r.value === 'OK';

/** `expire`, or `del` when the new expiry is already past (Redis deletes the key then). */
function expiryEvent(key: Buffer, unit: string, value: Buffer, now: number): KeyspaceEvent {
  const n = Number(value.toString('latin1'));
  const at = unit === 'ex' ? now + n * 1000 : unit === 'px' ? now + n : unit === 'exat' ? n * 1000 : n;
  return at <= now ? [G, 'del', key] : [G, 'expire', key];
}

/** The expiry option of SET/GETEX (EX PX EXAT PXAT), if any. */
function expiryOption(args: Buffer[], from: number): [string, Buffer] | undefined {
  for (let i = from; i < args.length - 1; i++) {
    const o = lower(args[i]);
    if (o === 'ex' || o === 'px' || o === 'exat' || o === 'pxat') return [o, args[i + 1]];
  }
  return undefined;
}

function hasOption(args: Buffer[], from: number, name: string): boolean {
  for (let i = from; i < args.length; i++) if (lower(args[i]) === name) return true;
  return false;
}

/** The key a popping command's reply names ([key, ...] of BLPOP, LMPOP, BZPOPMIN...). */
function keyOfReply(r: Reply): Buffer | undefined {
  if (!Array.isArray(r) || r.length === 0) return undefined;
  const k = r[0];
  return Buffer.isBuffer(k) ? k : typeof k === 'string' ? Buffer.from(k) : undefined;
}

const SET_STORE: Record<string, string> = { sinterstore: 'sinterstore', sunionstore: 'sunionstore', sdiffstore: 'sdiffstore' };
const ZSET_STORE: Record<string, string> = { zunionstore: 'zunionstore', zinterstore: 'zinterstore', zdiffstore: 'zdiffstore', zrangestore: 'zrangestore' };
const ZREM_RANGE: Record<string, string> = { zremrangebyscore: 'zrembyscore', zremrangebyrank: 'zrembyrank', zremrangebylex: 'zrembylex' };

/** The events of one write command that answered `r` (not an error). */
export function writeEvents(args: Buffer[], r: Reply, now: number, absentBefore?: Buffer[]): KeyspaceEvent[] {
  if (r instanceof ErrorReply) return [];
  const name = lower(args[0]);
  const k = args[1];
  switch (name) {
    // ---- strings
    case 'set': {
      const get = hasOption(args, 3, 'get');
      const nx = hasOption(args, 3, 'nx');
      const xx = hasOption(args, 3, 'xx');
      const done = get ? (nx ? r === null : xx ? r !== null : true) : isOk(r);
      if (!done) return [];
      const ex = expiryOption(args, 3);
      return ex ? [[S, 'set', k], expiryEvent(k, ex[0], ex[1], now)] : [[S, 'set', k]];
    }
    case 'setnx':
      return positive(r) ? [[S, 'set', k]] : [];
    case 'setex':
    case 'psetex':
      return [[S, 'set', k], expiryEvent(k, name === 'setex' ? 'ex' : 'px', args[2], now)];
    case 'getset':
      return [[S, 'set', k]];
    case 'mset':
      return pairs(args).map((key) => [S, 'set', key]);
    case 'msetnx':
      return positive(r) ? pairs(args).map((key) => [S, 'set', key]) : [];
    case 'append':
      return [[S, 'append', k]];
    case 'setrange':
      return args[3]?.length ? [[S, 'setrange', k]] : [];
    case 'incr':
    case 'decr':
    case 'incrby':
    case 'decrby':
      return [[S, 'incrby', k]];
    case 'incrbyfloat':
      return [[S, 'incrbyfloat', k]];
    case 'setbit':
      return [[S, 'setbit', k]];
    case 'bitfield':
      return hasOption(args, 2, 'set') || hasOption(args, 2, 'incrby') ? [[S, 'setbit', k]] : [];
    case 'bitop':
      return positive(r) ? [[S, 'set', args[2]]] : [];
    case 'getdel':
      return r !== null ? [[G, 'del', k]] : [];
    case 'getex': {
      if (r === null) return [];
      const ex = expiryOption(args, 2);
      if (ex) return [expiryEvent(k, ex[0], ex[1], now)];
      return hasOption(args, 2, 'persist') ? [[G, 'persist', k]] : [];
    }
    // ---- keys
    case 'del':
    case 'unlink': {
      const keys = unique(args.slice(1));
      if (r === keys.length) return keys.map((key) => [G, 'del', key]);
      // Some existed: those that were there just before (when the caller looked), if that agrees with the count.
      const absent = new Set((absentBefore ?? []).map((k) => k.toString('latin1')));
      const present = keys.filter((key) => !absent.has(key.toString('latin1')));
      return absentBefore && present.length === r ? present.map((key) => [G, 'del', key]) : [];
    }
    case 'expire':
    case 'pexpire':
    case 'expireat':
    case 'pexpireat':
      return positive(r) ? [expiryEvent(k, { expire: 'ex', pexpire: 'px', expireat: 'exat', pexpireat: 'pxat' }[name]!, args[2], now)] : [];
    case 'persist':
      return positive(r) ? [[G, 'persist', k]] : [];
    case 'rename':
    case 'renamenx':
      return isOk(r) || positive(r) ? [[G, 'rename_from', k], [G, 'rename_to', args[2]]] : [];
    case 'copy':
      return positive(r) ? [[G, 'copy_to', args[2]]] : [];
    // ---- lists
    case 'lpush':
    case 'rpush':
      return [[L, name, k]];
    case 'lpushx':
    case 'rpushx':
      return positive(r) ? [[L, name.slice(0, 5), k]] : [];
    case 'linsert':
      return positive(r) ? [[L, 'linsert', k]] : [];
    case 'lset':
      return [[L, 'lset', k]];
    case 'ltrim':
      return [[L, 'ltrim', k]];
    case 'lrem':
      return positive(r) ? [[L, 'lrem', k]] : [];
    case 'lpop':
    case 'rpop':
      return isNil(r) ? [] : [[L, name, k]];
    case 'blpop':
    case 'brpop': {
      const key = keyOfReply(r);
      return key ? [[L, name.slice(1), key]] : [];
    }
    case 'rpoplpush':
    case 'brpoplpush':
      return r === null ? [] : [[L, 'rpop', k], [L, 'lpush', args[2]]];
    case 'lmove':
    case 'blmove':
      return r === null ? [] : [[L, lower(args[3]) === 'left' ? 'lpop' : 'rpop', k], [L, lower(args[4]) === 'left' ? 'lpush' : 'rpush', args[2]]];
    case 'lmpop':
    case 'blmpop': {
      const key = keyOfReply(r);
      return key ? [[L, hasOption(args, 2, 'left') ? 'lpop' : 'rpop', key]] : [];
    }
    // ---- sets
    case 'sadd':
    case 'srem':
      return positive(r) ? [[SET, name, k]] : [];
    case 'spop':
      return isNil(r) ? [] : [[SET, 'spop', k]];
    case 'smove':
      return positive(r) ? [[SET, 'srem', k], [SET, 'sadd', args[2]]] : [];
    case 'sinterstore':
    case 'sunionstore':
    case 'sdiffstore':
      return positive(r) ? [[SET, SET_STORE[name], k]] : [];
    // ---- hashes
    case 'hset':
    case 'hmset':
      return [[H, 'hset', k]];
    case 'hsetnx':
      return positive(r) ? [[H, 'hset', k]] : [];
    case 'hdel':
      return positive(r) ? [[H, 'hdel', k]] : [];
    case 'hincrby':
    case 'hincrbyfloat':
      return [[H, name, k]];
    // ---- sorted sets
    case 'zadd':
      if (hasOption(args, 2, 'incr')) return r === null ? [] : [[Z, 'zincr', k]];
      return positive(r) ? [[Z, 'zadd', k]] : [];
    case 'zincrby':
      return [[Z, 'zincr', k]];
    case 'zrem':
      return positive(r) ? [[Z, 'zrem', k]] : [];
    case 'zremrangebyscore':
    case 'zremrangebyrank':
    case 'zremrangebylex':
      return positive(r) ? [[Z, ZREM_RANGE[name], k]] : [];
    case 'zpopmin':
    case 'zpopmax':
      return isNil(r) ? [] : [[Z, name, k]];
    case 'bzpopmin':
    case 'bzpopmax': {
      const key = keyOfReply(r);
      return key ? [[Z, name.slice(1), key]] : [];
    }
    case 'zmpop':
    case 'bzmpop': {
      const key = keyOfReply(r);
      return key ? [[Z, hasOption(args, 2, 'min') ? 'zpopmin' : 'zpopmax', key]] : [];
    }
    case 'zunionstore':
    case 'zinterstore':
    case 'zdiffstore':
    case 'zrangestore':
      return positive(r) ? [[Z, ZSET_STORE[name], k]] : [];
    default:
      return [];
  }
}

/** The keys of MSET's key value pairs. */
function pairs(args: Buffer[]): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 1; i < args.length; i += 2) out.push(args[i]);
  return out;
}

function unique(keys: Buffer[]): Buffer[] {
  const seen = new Map<string, Buffer>();
  for (const k of keys) seen.set(k.toString('latin1'), k);
  return [...seen.values()];
}
