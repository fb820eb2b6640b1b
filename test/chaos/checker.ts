// Linearizability checker for histories of reads, writes (SET, SET PX, SET
// KEEPTTL), increments (INCR), deletes (DEL), times to live set, removed
// or read (PEXPIRE, PERSIST, PTTL, GETEX) of
// registers and counters, on string keys or inside other types (a hash
// field, a sorted set member's score, a set member: key-kinds.ts, CELLS);
// lists, sets, hashes and sorted sets read whole are checked by
// collection-checker.ts, queues by queue-checker.ts. Pure: no I/O, no clock.
//
// Keys are independent objects, so a history is linearizable iff each key's
// sub-history is (P-compositionality); each key is searched on its own. The
// search is Wing & Gong's, with Lowe's memo as Porcupine does it: walk the
// time-ordered list of call and return events; at each step pick an
// operation whose call comes before the first pending return, apply it to the
// model and go deeper, or backtrack when the first return is reached with its
// operation not yet placed. A (set of placed operations, model state) pair is
// never explored twice.
//
// fail operations are dropped (they did not happen). info operations (no
// answer) return at +infinity: they may be placed anywhere after their call,
// or not at all; the search succeeds once every answered operation is placed.
// An info read tells nothing and is dropped too.
import type { Op } from './history';
import { FINAL_CLIENT, isRead } from './history';
import { checkCollectionKey, collectionCommands, isCollectionOp, lostCollectionAdds } from './collection-checker';
import { checkQueueKey, isQueueOp, lostQueueItems } from './queue-checker';

/**
 * A key's value: a string, or null when the key does not exist. A value
 * written with a time to live (SET PX) carries the window its expiry time
 * lies in (encodeExpiring), so that the state stays one string for the memo.
 */
export type State = string | null;

/**
 * How far the store's clock (Date.now(), whole ms, in the entry's
 * proposedAtMs and at each read) may sit from the history's (performance.now())
 * over a key's life: rounding to the ms, and two clocks' rates over seconds.
 */
export const EXPIRY_SLACK_MS = 5;
const SEP = '\u0000';

/**
 * A value that expires at some time in [lo, hi] on the history's clock, or,
 * when `forever`, maybe never (a SET KEEPTTL that may have come after the
 * old value expired: then it had no time to live to keep).
 */
interface Expiring {
  value: string;
  lo: number;
  hi: number;
  forever?: boolean;
}

export function encodeExpiring(e: Expiring): string {
  return `${e.value}${SEP}${e.lo}${SEP}${e.hi}${e.forever ? `${SEP}forever` : ''}`;
}

function decodeExpiring(state: string): Expiring | undefined {
  const [value, lo, hi, forever] = state.split(SEP);
  if (lo === undefined) return undefined;
  return { value, lo: Number(lo), hi: Number(hi), ...(forever ? { forever: true } : {}) };
}

/** The state as a report shows it. */
export function describeState(state: State): string {
  if (state === null) return '(nil)';
  const e = decodeExpiring(state);
  if (!e) return JSON.stringify(state);
  return `${JSON.stringify(e.value)} (expiring between ${e.lo.toFixed(1)} and ${e.hi.toFixed(1)} ms${e.forever ? ', or never' : ''})`;
}

/**
 * Whether op, which may see the key's value or see it gone, can find it
 * there: it must start before the value surely expired. (`there` false: may
 * it find it gone, having ended after the value could have expired?)
 */
function couldFind(e: Expiring, op: Op, there: boolean): boolean {
  return there ? e.forever === true || op.invokeAt < e.hi + EXPIRY_SLACK_MS : (op.returnAt ?? Infinity) >= e.lo - EXPIRY_SLACK_MS;
}

/**
 * Whether a PTTL over op's interval may answer `ms` left of e: the expiry
 * time (in [lo, hi]) less the read's time (in [invokeAt, returnAt]), each
 * end widened by the slack; -1 (no time to live) only if e may have none.
 */
function pttlFits(e: Expiring, op: Op, ms: number): boolean {
  if (ms === -1) return e.forever === true;
  return ms >= e.lo - op.returnAt! - EXPIRY_SLACK_MS && ms <= e.hi - op.invokeAt + EXPIRY_SLACK_MS;
}

/** When a value given a time to live by op (a SET PX or PEXPIRE) expires: the leader fixes it when it proposes op. */
function expiryWindow(op: Op): { lo: number; hi: number } {
  const hi = op.outcome === 'ok' ? op.returnAt! : Infinity;
  return { lo: op.invokeAt + op.ttlMs!, hi: hi + op.ttlMs! };
}

/** `value` with the time to live op gave it. */
function timed(value: string, op: Op): string {
  return encodeExpiring({ value, ...expiryWindow(op) });
}

/** The model: the state after op, or undefined if op cannot happen in state. */
export function step(state: State, op: Op): State | undefined {
  // A value with a time to live: an op may find it there, or find it expired (nil from then on).
  const e = state === null ? undefined : decodeExpiring(state);
  if (e && op.kind === 'write' && op.keepTtl) {
    // SET KEEPTTL: the new value keeps the window if the old value was still there, and never expires if it had gone.
    const there = couldFind(e, op, true);
    const expired = couldFind(e, op, false);
    const value = op.value ?? '';
    return there ? encodeExpiring({ value, lo: e.lo, hi: e.hi, forever: e.forever || expired }) : value;
  }
  if (op.kind === 'pttl') {
    // PTTL: -2 for no key (or one expired), -1 for a key with no time to live, else the ms left.
    const ms = Number(op.value);
    if (ms === -2) return state === null ? null : e && couldFind(e, op, false) ? null : undefined;
    if (state === null) return undefined;
    if (!e) return ms === -1 ? state : undefined;
    return couldFind(e, op, true) && pttlFits(e, op, ms) ? state : undefined;
  }
  if (e && (op.kind === 'read' || op.kind === 'del' || op.kind === 'expire' || op.kind === 'getex')) {
    // A read or GETEX says by its value whether it found the value; a delete, PEXPIRE or PERSIST by its count.
    const byValue = op.kind === 'read' || op.kind === 'getex';
    const found = op.outcome !== 'ok' || (byValue ? op.value === e.value : op.length === 1);
    const gone = op.outcome !== 'ok' || (byValue ? op.value === null : op.length === 0);
    const there = found && couldFind(e, op, true);
    const expired = gone && couldFind(e, op, false);
    const persist = op.kind === 'expire' && op.ttlMs === undefined;
    // PERSIST: the value stays for good. (Unanswered and maybe after the expiry: not placing it covers that.)
    if (persist) return there ? e.value : expired ? null : undefined;
    if ((op.kind === 'expire' || op.kind === 'getex') && there && expired) {
      // Unanswered, with the value maybe there and maybe gone: either outcome, so the wider window.
      const t = expiryWindow(op);
      return encodeExpiring({ value: e.value, lo: Math.min(e.lo, t.lo), hi: Math.max(e.hi, t.hi) });
    }
    if (there) return op.kind === 'read' ? state : op.kind === 'del' ? null : timed(e.value, op);
    if (expired) return null;
    return undefined;
  }
  switch (op.kind) {
    case 'read':
      return op.value === state ? state : undefined;
    case 'getex':
      // GETEX PX: the value it found (or nil), which now expires.
      if (op.outcome === 'ok' && op.value !== state) return undefined;
      return state === null ? null : timed(state, op);
    case 'write':
      // HSET and SADD answer 1 for a field or member they added, 0 otherwise (SET: no count).
      if (op.outcome === 'ok' && op.length !== undefined && op.length !== (state === null ? 1 : 0)) return undefined;
      // The store fixes the expiry time when the leader proposes the write: inside the write's interval, plus the TTL.
      return op.ttlMs !== undefined ? timed(op.value ?? '', op) : op.value ?? null;
    case 'expire':
      // PERSIST answers 0 unless the key had a time to live (then the branch above took it).
      if (op.ttlMs === undefined) return op.outcome === 'ok' && op.length !== 0 ? undefined : state;
      // PEXPIRE answers 1 when the key was there (and now expires), 0 when it was not.
      if (op.outcome === 'ok' && op.length !== (state === null ? 0 : 1)) return undefined;
      return state === null ? null : timed(state, op);
    case 'del':
      // DEL, HDEL, ZREM and SREM answer 1 when there was something to remove.
      if (op.outcome === 'ok' && op.length !== (state === null ? 0 : 1)) return undefined;
      return null;
    case 'incr': {
      const cur = state === null ? 0 : Number(state);
      if (!Number.isSafeInteger(cur) || (state !== null && !/^-?\d+$/.test(state))) return undefined; // INCR on a non-integer is an error: not this op
      const next = String(cur + 1);
      if (op.outcome === 'ok' && op.value !== next) return undefined;
      return next;
    }
    default:
      return undefined; // a collection op: not this model's (collection-checker.ts)
  }
}

interface Entry {
  op: Op;
  /** The op's index in its key's list (its bit in the placed set). */
  idx: number;
  isCall: boolean;
  time: number;
  /** The call's return entry and the return's call entry. */
  match: Entry | undefined;
  prev: Entry | undefined;
  next: Entry | undefined;
}

/** One placed operation; frames form an immutable list so the deepest one can be kept for the report. */
interface Frame {
  entry: Entry;
  /** State before the op. */
  state: State;
  /** The level had already tried (and exhausted) an info INCR before this op. */
  skipInfoIncr: boolean;
  parent: Frame | undefined;
  depth: number;
}

export interface KeyResult {
  key: string;
  linearizable: boolean;
  /** The search hit its step budget: neither proved nor refuted. */
  unknown?: boolean;
  ops: number;
  /** Search steps taken. */
  steps: number;
  /** When not linearizable: the longest linearizable prefix found and the ops that could not follow it. */
  counterexample?: Counterexample;
  /** A collection key that is not linearizable: what breaks it (collection-checker.ts). */
  problems?: string[];
}

export interface Counterexample {
  /** Operations placed, in linearization order (the longest such prefix found). */
  linearized: Op[];
  /** The key's value after them. */
  state: State;
  /** Operations that could come next in real time (called before the first pending answer) but fit no order. */
  stuck: Op[];
  /** What the rest of the key's history says about the stuck ops (e.g. a value whose SET got an error reply). */
  hints: string[];
}

export interface CheckResult {
  linearizable: boolean;
  /** true if some key's search ran out of budget (then linearizable is false and unknown is true). */
  unknown: boolean;
  keys: KeyResult[];
}

export interface CheckOptions {
  /** Search steps allowed per key (default 20 million). */
  maxSteps?: number;
}

const isInfoIncr = (op: Op) => op.kind === 'incr' && op.outcome === 'info';

/** Checks every key of the history. */
export function checkHistory(history: readonly Op[], opts: CheckOptions = {}): CheckResult {
  const byKey = new Map<string, Op[]>();
  for (const op of history) {
    let list = byKey.get(op.key);
    if (!list) byKey.set(op.key, (list = []));
    list.push(op);
  }
  const keys = [...byKey.keys()].sort().map((k) => {
    const ops = byKey.get(k)!;
    const queue = ops.some(isQueueOp);
    if (!queue && !ops.some(isCollectionOp)) return checkKey(k, ops, opts);
    const r = queue ? checkQueueKey(ops) : checkCollectionKey(ops);
    return { key: k, linearizable: r.linearizable, ops: ops.length, steps: 0, ...(r.linearizable ? {} : { problems: r.problems }) };
  });
  return { linearizable: keys.every((k) => k.linearizable), unknown: keys.some((k) => k.unknown), keys };
}

/** Checks one key's operations (all on the same key). */
export function checkKey(key: string, all: readonly Op[], opts: CheckOptions = {}): KeyResult {
  const maxSteps = opts.maxSteps ?? 20_000_000;
  const ops = all.filter((op) => op.outcome === 'ok' || (op.outcome === 'info' && !isRead(op.kind)));
  const n = ops.length;
  // Events in time order; at equal times calls first (the ops overlap: the permissive reading).
  const events: Entry[] = [];
  ops.forEach((op, idx) => {
    const call: Entry = { op, idx, isCall: true, time: op.invokeAt, match: undefined, prev: undefined, next: undefined };
    const ret: Entry = { op, idx, isCall: false, time: op.outcome === 'ok' ? (op.returnAt ?? Infinity) : Infinity, match: call, prev: undefined, next: undefined };
    call.match = ret;
    events.push(call, ret);
  });
  events.sort((a, b) => a.time - b.time || (a.isCall === b.isCall ? a.op.id - b.op.id : a.isCall ? -1 : 1));
  const head: Entry = { op: undefined as unknown as Op, idx: -1, isCall: false, time: -Infinity, match: undefined, prev: undefined, next: undefined };
  let last = head;
  for (const e of events) {
    last.next = e;
    e.prev = last;
    last = e;
  }

  // Placed set: a bitset plus an incremental 64-bit hash (two random 32-bit halves per op) for the memo.
  const words = new Uint32Array(Math.ceil(n / 32) || 1);
  const h1 = new Uint32Array(n);
  const h2 = new Uint32Array(n);
  let seed = 0x9e3779b9;
  const rand = () => {
    // xorshift32: deterministic, so a run is reproducible.
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return seed >>> 0;
  };
  for (let i = 0; i < n; i++) {
    h1[i] = rand();
    h2[i] = rand();
  }
  let hash1 = 0;
  let hash2 = 0;
  const flip = (i: number) => {
    words[i >>> 5] ^= 1 << (i & 31);
    hash1 = (hash1 ^ h1[i]) >>> 0;
    hash2 = (hash2 ^ h2[i]) >>> 0;
  };
  const memo = new Map<string, Uint32Array[]>();
  /** Adds (placed set, state) to the memo; false if it was there already. */
  const remember = (state: State): boolean => {
    const k = `${hash1}:${hash2}:${state === null ? '\u0000' : state}`;
    const seen = memo.get(k);
    if (seen) {
      for (const w of seen) if (w.every((x, i) => x === words[i])) return false;
      seen.push(words.slice());
    } else memo.set(k, [words.slice()]);
    return true;
  };

  const lift = (call: Entry) => {
    call.prev!.next = call.next;
    if (call.next) call.next.prev = call.prev;
    const ret = call.match!;
    ret.prev!.next = ret.next;
    if (ret.next) ret.next.prev = ret.prev;
  };
  const unlift = (call: Entry) => {
    const ret = call.match!;
    ret.prev!.next = ret;
    if (ret.next) ret.next.prev = ret;
    call.prev!.next = call;
    if (call.next) call.next.prev = call;
  };

  let state: State = null;
  let top: Frame | undefined;
  let best: { frame: Frame | undefined; state: State } = { frame: undefined, state: null };
  let skipInfoIncr = false;
  let steps = 0;
  let entry = head.next;
  const result = (linearizable: boolean, unknown = false): KeyResult => {
    const r: KeyResult = { key, linearizable, ops: n, steps };
    if (unknown) r.unknown = true;
    if (!linearizable && !unknown) r.counterexample = counterexample(ops, all, best.frame, best.state);
    return r;
  };
  for (;;) {
    // The scan only ever meets the list's first return. Done when no answered
    // op is left: the list is empty, or its first return is an info op's (+infinity).
    if (entry === undefined || (!entry.isCall && entry.time === Infinity)) return result(true);
    if (++steps > maxSteps) return result(false, true);
    if (entry.isCall) {
      const op = entry.op;
      if (!(skipInfoIncr && isInfoIncr(op))) {
        const next = step(state, op);
        if (next !== undefined) {
          flip(entry.idx);
          if (remember(next)) {
            top = { entry, state, skipInfoIncr, parent: top, depth: (top?.depth ?? 0) + 1 };
            if (top.depth > (best.frame?.depth ?? 0)) best = { frame: top, state: next };
            state = next;
            lift(entry);
            skipInfoIncr = false;
            entry = head.next;
            continue;
          }
          flip(entry.idx);
        }
      }
      entry = entry.next;
    } else {
      // The first pending return: its op was not placed before it. Backtrack.
      if (top === undefined) return result(false);
      const f = top;
      top = f.parent;
      unlift(f.entry);
      flip(f.entry.idx);
      state = f.state;
      // Two info INCRs both callable here are interchangeable: once one is exhausted, skip the others at this level.
      skipInfoIncr = f.skipInfoIncr || isInfoIncr(f.entry.op);
      entry = f.entry.next;
    }
  }
}

function counterexample(ops: Op[], all: readonly Op[], frame: Frame | undefined, state: State): Counterexample {
  const linearized: Op[] = [];
  for (let f = frame; f; f = f.parent) linearized.push(f.entry.op);
  linearized.reverse();
  const placed = new Set(linearized.map((op) => op.id));
  const rest = ops.filter((op) => !placed.has(op.id));
  const firstAnswer = Math.min(...rest.filter((op) => op.outcome === 'ok').map((op) => op.returnAt ?? Infinity));
  const stuck = rest.filter((op) => op.invokeAt <= firstAnswer).sort((a, b) => a.invokeAt - b.invokeAt);
  return { linearized, state, stuck, hints: hintsFor(stuck, all) };
}

/** Facts from the whole key history (failed ops included) that point at the cause. */
function hintsFor(stuck: Op[], all: readonly Op[]): string[] {
  const hints: string[] = [];
  for (const op of stuck) {
    if (op.kind !== 'read' || op.value === null || op.value === undefined) continue;
    const writes = all.filter((w) => w.kind === 'write' && w.value === op.value);
    const failed = writes.find((w) => w.outcome === 'fail');
    if (failed) hints.push(`#${op.id} read ${JSON.stringify(op.value)}, written by #${failed.id} whose client got an ERROR reply (${failed.error ?? ''}): an error reply for a write that took effect`);
    else if (writes.length === 0 && !/^-?\d+$/.test(op.value)) hints.push(`#${op.id} read ${JSON.stringify(op.value)}, which no operation wrote`);
    else if (writes.length && writes.every((w) => w.invokeAt > (op.returnAt ?? Infinity))) hints.push(`#${op.id} read ${JSON.stringify(op.value)} before its SET (#${writes[0].id}) was sent`);
  }
  const failedIncrs = all.filter((o) => o.kind === 'incr' && o.outcome === 'fail' && o.returnAt !== undefined && !/enableOfflineQueue|Stream isn't writeable/.test(o.error ?? ''));
  if (stuck.length && failedIncrs.length) hints.push(`${failedIncrs.length} INCR(s) of this key got error replies (e.g. #${failedIncrs[0].id}: ${failedIncrs[0].error}); if one took effect, the counter runs ahead`);
  return hints;
}

/** Acknowledged writes missing from a key's final read. */
export interface LostWrite {
  key: string;
  /** e.g. "SET v7 acked at 1234.5 ms, final value v3 (written by op 17, answered at 1000.2 ms, before v7 was sent)" */
  reason: string;
  count: number;
}

/**
 * The durability check: every key read once more after all clients stopped
 * and every fault healed (ops of client FINAL_CLIENT). A register's final
 * value must come from a write not known to precede an acknowledged one;
 * a counter must be at least its number of acknowledged INCRs and its
 * highest acknowledged value. Keys without a final read are not checked.
 */
export function lostWrites(history: readonly Op[]): LostWrite[] {
  const lost: LostWrite[] = [];
  const byKey = new Map<string, Op[]>();
  for (const op of history) {
    let list = byKey.get(op.key);
    if (!list) byKey.set(op.key, (list = []));
    list.push(op);
  }
  for (const [key, ops] of byKey) {
    if (ops.some(isQueueOp)) {
      const { count, example } = lostQueueItems(ops);
      if (count > 0) {
        const what = example!.kind === 'enqueue' ? 'pushed by an acknowledged RPUSH, neither popped nor in the final LRANGE (beyond the unanswered pops)' : 'returned by an LMOVE, neither in the second list at the end nor removed by an LREM';
        lost.push({ key, count, reason: `${count} element(s) of queue ${key} lost: ${what}, e.g. ${JSON.stringify(example!.value)} (op ${example!.id})` });
      }
      continue;
    }
    if (ops.some(isCollectionOp)) {
      const { count, example } = lostCollectionAdds(ops);
      if (count > 0) {
        const [add, read] = collectionCommands(ops);
        lost.push({ key, count, reason: `${count} acknowledged ${add}(s) of ${key} missing from its final ${read}, e.g. ${JSON.stringify(example!.value)} (op ${example!.id}, answered ${example!.length})` });
      }
      continue;
    }
    const final = ops.filter((op) => op.clientId === FINAL_CLIENT && op.kind === 'read' && op.outcome === 'ok').pop();
    if (!final) continue;
    // A delete, even one never answered, may reset the key at any point, and
    // a value written with a time to live is gone at the end: the bounds
    // below do not hold. The linearizability check covers such keys (the
    // final read comes after every acknowledged operation).
    if (ops.some((op) => (op.kind === 'del' || op.kind === 'expire' || op.ttlMs !== undefined) && op.outcome !== 'fail')) continue;
    const v = final.value ?? null;
    const acked = ops.filter((op) => op.clientId !== FINAL_CLIENT && op.outcome === 'ok');
    const writes = acked.filter((op) => op.kind === 'write');
    const incrs = acked.filter((op) => op.kind === 'incr');
    if (incrs.length > 0) {
      const n = v === null ? 0 : Number(v);
      const need = Math.max(incrs.length, ...incrs.map((op) => Number(op.value)));
      if (!(n >= need)) lost.push({ key, count: Number.isFinite(n) ? need - n : incrs.length, reason: `counter ${key} is ${v ?? 'missing'} at the end, below ${need} (${incrs.length} INCRs acknowledged, highest answer ${Math.max(...incrs.map((op) => Number(op.value)))})` });
    }
    if (writes.length > 0) {
      const source = v === null ? undefined : ops.find((op) => op.kind === 'write' && op.value === v && op.clientId !== FINAL_CLIENT);
      const missing = writes.filter((w) => w.value !== v && (source === undefined || (source.outcome === 'ok' && source.returnAt! < w.invokeAt)));
      if (missing.length > 0) {
        const why = source === undefined ? `the final value ${v === null ? '(nil)' : JSON.stringify(v)} was never written` : `the final value ${JSON.stringify(v)} (op ${source.id}) was acknowledged before they were sent`;
        lost.push({ key, count: missing.length, reason: `${missing.length} acknowledged SET(s) of ${key} lost, e.g. ${JSON.stringify(missing[missing.length - 1].value)} (op ${missing[missing.length - 1].id}): ${why}` });
      }
    }
  }
  return lost;
}

/** A short human-readable account of an op, for reports. */
export function describeOp(op: Op): string {
  const what = {
    write: `${op.command ?? 'SET'} ${op.key} ${JSON.stringify(op.value)}${op.ttlMs !== undefined ? ` PX ${op.ttlMs}` : ''}${op.keepTtl ? ' KEEPTTL' : ''}`,
    incr: `${op.command ?? 'INCR'} ${op.key}`,
    read: `${op.command ?? 'GET'} ${op.key}`,
    del: `${op.command ?? 'DEL'} ${op.key}`,
    expire: op.ttlMs === undefined ? `PERSIST ${op.key}` : `PEXPIRE ${op.key} ${op.ttlMs}`,
    pttl: `PTTL ${op.key}`,
    getex: `GETEX ${op.key} PX ${op.ttlMs}`,
    append: `RPUSH ${op.key} ${JSON.stringify(op.value)}`,
    lread: `LRANGE ${op.key} 0 -1`,
    sadd: `${op.command ?? 'SADD'} ${op.key} ${JSON.stringify(op.value)}`,
    sread: `${op.command ?? 'SMEMBERS'} ${op.key}`,
    enqueue: `RPUSH ${op.key} ${JSON.stringify(op.value)}`,
    dequeue: `${op.command ?? 'LPOP'} ${op.key}`,
    ack: `LREM ${op.key} 1 ${JSON.stringify(op.value)}`,
  }[op.kind];
  const okAnswer = op.length !== undefined ? String(op.length) : op.kind === 'write' ? 'OK' : op.list ? `${op.list.length} elements` : JSON.stringify(op.value ?? null);
  const answer = op.outcome === 'ok' ? okAnswer : op.outcome === 'fail' ? `error ${JSON.stringify(op.error ?? '')}` : `no answer (${op.error ?? 'info'})`;
  const t = (x: number | undefined) => (x === undefined ? '∞' : x.toFixed(1));
  return `#${op.id} [${op.clientId}] ${what} -> ${answer}  [${t(op.invokeAt)} .. ${t(op.returnAt)}] ms`;
}

/** Text report of the non-linearizable keys. */
export function explain(result: CheckResult, maxOps = 12): string {
  const out: string[] = [];
  for (const k of result.keys) {
    if (k.linearizable) continue;
    if (k.problems) {
      out.push(`key ${k.key}: not linearizable (${k.ops} ops):`);
      for (const p of k.problems) out.push(`    ${p}`);
      continue;
    }
    if (k.unknown) {
      out.push(`key ${k.key}: search gave up after ${k.steps} steps (${k.ops} ops): neither proved nor refuted`);
      continue;
    }
    const c = k.counterexample!;
    out.push(`key ${k.key}: not linearizable (${k.ops} ops). Longest linearizable prefix: ${c.linearized.length} ops, ending with value ${describeState(c.state)}:`);
    for (const op of c.linearized.slice(-maxOps)) out.push(`    ${describeOp(op)}`);
    out.push(`  none of these can come next:`);
    for (const op of c.stuck.slice(0, maxOps)) out.push(`    ${describeOp(op)}`);
    if (c.stuck.length > maxOps) out.push(`    ... ${c.stuck.length - maxOps} more`);
    for (const h of c.hints) out.push(`  hint: ${h}`);
  }
  return out.join('\n');
}

/**
 * Availability: for each fault (its start time), the longest time with no
 * acknowledged write (SET, INCR, DEL, RPUSH, SADD, EXEC, ...) from it until the next fault or the end.
 */
export function writeGaps(ops: readonly Op[], faultTimes: readonly number[], end: number): number[] {
  const acks = ops
    // A pop that found nothing wrote nothing.
    .filter((op) => op.outcome === 'ok' && !isRead(op.kind) && op.clientId !== FINAL_CLIENT && !(op.kind === 'dequeue' && op.value === null))
    .map((op) => op.returnAt!)
    .sort((a, b) => a - b);
  return faultTimes.map((at, i) => {
    const until = i + 1 < faultTimes.length ? faultTimes[i + 1] : end;
    const points = [at, ...acks.filter((t) => t > at && t < until), until];
    let gap = 0;
    for (let j = 1; j < points.length; j++) gap = Math.max(gap, points[j] - points[j - 1]);
    return gap;
  });
}

/**
 * Liveness of the workload itself: the clients with no answered operation
 * (ok) in the `windowMs` before `until` (when the clients were told to
 * stop), with the time of their last one (-1: none). A client that cannot
 * reach a running store tests nothing for the rest of the run.
 */
export function idleClients(ops: readonly Op[], until: number, windowMs: number): Array<{ clientId: string; lastOkAt: number }> {
  const last = new Map<string, number>();
  for (const op of ops) {
    if (op.clientId === FINAL_CLIENT) continue;
    const at = op.outcome === 'ok' ? op.returnAt! : -1;
    last.set(op.clientId, Math.max(last.get(op.clientId) ?? -1, at));
  }
  return [...last]
    .filter(([, at]) => at < until - windowMs)
    .map(([clientId, lastOkAt]) => ({ clientId, lastOkAt }))
    .sort((a, b) => a.clientId.localeCompare(b.clientId));
}
