// The history a fault run records: one entry per client operation, with the
// times it was invoked and answered and what the client learned. The checker
// reads nothing else, so a history saved as JSON can be checked again later.

/**
 * Registers: read (GET), write (SET, SET PX, SET KEEPTTL), del (DEL), expire
 * (PEXPIRE; PERSIST when it carries no ttlMs), pttl (PTTL), getex (GETEX PX:
 * a read that gives the value it finds a new time to live). Counters: read, incr
 * (INCR), del. The same for registers and counters inside other types (a
 * hash field: HGET, HSET, HINCRBY, HDEL; a sorted set member's score:
 * ZSCORE, ZINCRBY, ZREM; a set member: SISMEMBER, SADD, SREM; key-kinds.ts,
 * CELLS). Lists:
 * append (RPUSH of one element unique in the run), lread (LRANGE 0 -1).
 * Sets, and hashes and sorted sets checked as sets: sadd (SADD, HSET or ZADD
 * of one member unique in the run), sread (SMEMBERS, HKEYS or ZRANGE 0 -1).
 * Queues: enqueue (RPUSH of one element unique in the run), dequeue (LPOP or
 * BLPOP), and one lread at the end. Move queues (key-kinds.ts,
 * moveQueueLists): enqueue (RPUSH to the first list), dequeue (LMOVE or
 * BLMOVE from the first list's head to the second's tail), ack (LREM of one
 * moved element from the second list, by the client that moved it), and an
 * lread of each list at the end.
 */
export type OpKind = 'read' | 'write' | 'incr' | 'del' | 'expire' | 'pttl' | 'getex' | 'append' | 'lread' | 'sadd' | 'sread' | 'enqueue' | 'dequeue' | 'ack';

/** The kinds that only read. */
export const isRead = (kind: OpKind): boolean => kind === 'read' || kind === 'pttl' || kind === 'lread' || kind === 'sread';

/**
 * ok: the store answered (the operation took effect exactly once);
 * fail: it answered an error (the operation did not take effect and never will);
 * info: no answer (timeout, connection lost): it may take effect at any time after its invocation, or never.
 */
export type Outcome = 'ok' | 'fail' | 'info';

export interface Op {
  /** Unique within the history. */
  id: number;
  clientId: string;
  kind: OpKind;
  key: string;
  /**
   * write: the value written (unique per key). read (ok): the value read,
   * null for a missing key (getex too). incr (ok): the counter's new value, in decimal.
   * append, sadd, enqueue: the element added (unique in the run). dequeue
   * (ok): the element popped, null when there was none. pttl (ok): PTTL's
   * answer in decimal: ms left, -1 (no time to live) or -2 (no key). ack: the element
   * LREM removes. The final lread of a move queue: which list, "in" or "out".
   */
  value?: string | null;
  /**
   * append (ok): the list's length after it, as RPUSH answered; sadd (ok):
   * the members SADD added; del (ok): the keys or fields it removed; expire
   * (ok): 1 if the key was there, else 0; ack (ok): the elements LREM
   * removed; write
   * (ok) of a hash field: the fields HSET added (SET answers OK: none).
   */
  length?: number;
  /** lread, sread (ok): the elements read, in order ([] for a missing key). */
  list?: string[];
  /**
   * write, expire, getex: the time to live it set, in ms (SET key value PX ttl,
   * PEXPIRE key ttl, GETEX key PX ttl); absent on a write: none (a SET clears the key's,
   * unless keepTtl); absent on an expire: PERSIST.
   */
  ttlMs?: number;
  /** write: SET ... KEEPTTL (the key keeps the time to live it had). */
  keepTtl?: boolean;
  /**
   * The command sent, for reports, where the kind does not tell it: sadd and
   * sread stand for HSET / HKEYS and ZADD / ZRANGE too, and read, write, incr
   * and del for a hash field's or a score's commands (absent: GET, SET, INCR, DEL).
   */
  command?: string;
  /** Milliseconds on one monotonic clock (performance.now()). */
  invokeAt: number;
  /** When the answer (or error) arrived; absent for info. */
  returnAt?: number;
  outcome: Outcome;
  /** The error reply or client error, for the record. */
  error?: string;
}

/** The client id of the reads made after every fault healed (the durability check). */
export const FINAL_CLIENT = 'final';

/** Records operations with a monotonic clock. */
export class History {
  readonly ops: Op[] = [];
  private nextId = 0;

  now(): number {
    return performance.now();
  }

  /** Records the invocation; settle the returned op with ok / fail / info. */
  invoke(clientId: string, kind: OpKind, key: string, value?: string): Op {
    const op: Op = { id: this.nextId++, clientId, kind, key, invokeAt: this.now(), outcome: 'info' };
    if (value !== undefined) op.value = value;
    this.ops.push(op);
    return op;
  }

  ok(op: Op, value?: string | null): void {
    op.returnAt = this.now();
    op.outcome = 'ok';
    if (op.kind !== 'write' && op.kind !== 'append' && op.kind !== 'sadd' && op.kind !== 'enqueue' && op.kind !== 'ack') op.value = value ?? null;
  }

  /** An RPUSH, SADD, DEL, HSET or LREM answered with its integer. */
  okAdd(op: Op, length: number): void {
    op.returnAt = this.now();
    op.outcome = 'ok';
    op.length = length;
  }

  /** An LRANGE or SMEMBERS answered with the elements. */
  okList(op: Op, list: string[]): void {
    op.returnAt = this.now();
    op.outcome = 'ok';
    op.list = list;
  }

  fail(op: Op, error: string): void {
    op.returnAt = this.now();
    op.outcome = 'fail';
    op.error = error;
  }

  info(op: Op, error: string): void {
    delete op.returnAt;
    op.outcome = 'info';
    op.error = error;
  }

  counts(): { ops: number; ok: number; fail: number; info: number } {
    const c = { ops: this.ops.length, ok: 0, fail: 0, info: 0 };
    for (const op of this.ops) c[op.outcome]++;
    return c;
  }
}
