// The workload of a fault run: N clients, each a loop of one operation at a
// time on a small key space, recorded into a History.
//
// Clients of three kinds, spread over every store:
//   plain    — an ioredis connection to one store (the store forwards to the leader);
//   readonly — the same, having sent READONLY on every (re)connect; it only reads
//              (follower reads, which must stay linearizable);
//   cluster  — an ioredis Cluster client, routing by CLUSTER SLOTS.
// Keys (their kinds and commands are in key-kinds.ts): registers (SET of
// values unique in the run, GET), counters (INCR, GET), both also deleted
// now and then (DEL) and also living inside other types (CELLS: hash
// fields, sorted set scores, set members), registers whose values expire
// (SET PX, PEXPIRE), collections (COLLECTIONS: lists, sets, hashes and
// sorted sets, each grown by one element unique in the run and read
// whole), pairs, queues (RPUSH; LPOP, BLPOP) and move queues (RPUSH;
// LMOVE, BLMOVE into a second list; LREM from it by the mover). A
// collection that reaches COLLECTION_MAX_ELEMENTS is left as it is and a new
// key takes its place, so reads stay short however long the run. A pair is two
// counters in one slot, incremented together by MULTI / INCR / INCR / EXEC
// and read together by MGET: the history records it as one counter whose
// value is both halves' when they agree, and "a|b" when they do not (a torn
// transaction), which no counter can hold, so the checker rejects it.
//
// What a client learns decides the outcome: a reply → ok; an error reply →
// fail (the store promises it was not applied); no reply within the deadline,
// or a lost connection → info (may or may not have happened). The ioredis
// options make sure a command is sent at most once: no offline queue, no
// resend of unanswered commands after a reconnect, no retry on a closed
// connection (a resend would be an operation the history does not know).
import Redis, { Cluster } from 'ioredis';
import { FINAL_CLIENT, History, type Op } from './history';
import { respMany } from '../support/simple-resp';
import type { ChaosNode } from './cluster';
import { between, pick, type Rng } from './random';
import { EXPIRY_SLACK_MS } from './checker';
import { CELLS, COLLECTIONS, cellNames, cellPlace, moveQueueLists, pairHalves, pairValue, type AnyClient, type CellName, type CellType, type CollectionName, type CollectionType } from './key-kinds';

export type ClientKind = 'plain' | 'readonly' | 'cluster';

export interface WorkloadOptions {
  stores: ChaosNode[];
  clients: number;
  /** Register keys (SET/GET). */
  registers: number;
  /** Counter keys (INCR/GET). */
  counters: number;
  /** Registers and counters inside other types (CELLS), e.g. { 'hash-field': 4 }. */
  cells?: Partial<Record<CellName, number>>;
  /** Share of a register's or counter's writes that delete it (DEL, HDEL, ZREM, SREM; default 0). */
  deleteShare?: number;
  /** Keys in use at a time of each collection type (COLLECTIONS), e.g. { list: 4, set: 3 }. */
  collections?: Partial<Record<CollectionName, number>>;
  /** Pairs of counters (MULTI/INCR/INCR/EXEC, MGET). */
  pairs?: number;
  /** Queues (RPUSH; LPOP or BLPOP), not picked by readonly clients. */
  queues?: number;
  /** Move queues (RPUSH; LMOVE or BLMOVE to a second list; LREM from it), not picked by readonly clients. */
  moveQueues?: number;
  /** An operation with no answer after this long is recorded as info. */
  opTimeoutMs: number;
  /** Share of reads among the operations of plain and cluster clients (default 0.5). */
  readShare?: number;
  /** Client kinds in turn (default plain, readonly, cluster). */
  kinds?: ClientKind[];
  rnd: Rng;
  log: (line: string) => void;
}


const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A collection this long is retired for a new key (its reads, and the checker's, stay cheap). */
const COLLECTION_MAX_ELEMENTS = 200;

/** Share of pops on odd queues. */
const POP_HEAVY = 0.75;

/** How long a BLPOP or BLMOVE waits for an element; well inside the op timeout. */
const BLPOP_TIMEOUT_S = 1;

/** Shares of a move queue's operations: pushes; then LREMs of moved elements (when the client has one); the rest moves. */
const MOVE_QUEUE_PUSH = 0.4;
const MOVE_QUEUE_ACK = 0.5;

/**
 * Reads at random times find few values in the moment they expire. So after
 * half of its acknowledged writes with a short time to live (PROBE_MAX_TTL_MS),
 * a client reads the key once more, just before the earliest time the
 * value may expire (it must be there) or just after the latest (it must be
 * gone, unless written again): a store that expires keys late or early by
 * more than the checker's slack is caught at once.
 */
const PROBE_MAX_TTL_MS = 300;

function expiryProbe(write: Op, type: CellKeys, rnd: Rng): { key: string; type: CellKeys; at: number } | undefined {
  if (write.ttlMs! > PROBE_MAX_TTL_MS || rnd() < 0.5) return undefined;
  const early = write.invokeAt + write.ttlMs! - EXPIRY_SLACK_MS - between(rnd, 15, 30);
  const late = write.returnAt! + write.ttlMs! + EXPIRY_SLACK_MS + between(rnd, 1, 10);
  return { key: write.key, type, at: rnd() < 0.5 ? early : late };
}

/** Share of an expiring register's writes that are PEXPIRE (a new time to live for the value there). */
const EXPIRE_SHARE = 0.2;

/** Of those, the share that are PERSIST (the value stays for good), and the share that are GETEX PX (read it and give it a new one); the rest PEXPIRE. */
const PERSIST_SHARE = 0.25;
const GETEX_SHARE = 0.25;

/** Of the writes to an expiring register that set no time to live, the share that keep the old one (SET ... KEEPTTL). */
const KEEPTTL_SHARE = 0.5;

/** Share of an expiring register's reads that ask for its time to live (PTTL) instead of its value. */
const PTTL_SHARE = 0.25;

/** One write in this many to an expiring register sets no time to live. */
const TTL_CLEARS = 4;

/** One cell type's cells, by history name. */
interface CellKeys {
  type: CellType;
  names: string[];
}

const LIST = COLLECTIONS.find((c) => c.name === 'list')!;

/** One collection type's keys: those in use, and every one used (the final reads cover them all). */
interface CollectionKeys {
  type: CollectionType;
  current: string[];
  all: string[];
  /** Acknowledged adds per key (SADD, HSET and ZADD answer how many they added, not the size). */
  sizes: Map<string, number>;
}

/** Ops that never reached a server: definitely not applied. */
function neverSent(message: string): boolean {
  // ioredis refuses before writing anything: not connected and no offline queue, or the client was closed.
  return /enableOfflineQueue options is false|Stream isn't writeable|Cluster is ended/.test(message);
}

/** An error reply from a server (ioredis ReplyError) or a chain of them (redirections). */
function isErrorReply(e: unknown): boolean {
  const err = e as Error;
  return err?.name === 'ReplyError' || /^Too many Cluster redirections/.test(err?.message ?? '');
}

class TimeoutError extends Error {}

function withDeadline<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new TimeoutError(`no answer within ${ms} ms`)), ms);
    }),
  ]);
}

export class Workload {
  readonly history = new History();
  private running = false;
  private loops: Promise<void>[] = [];
  private readonly live = new Set<AnyClient>();
  private readonly lastError = new WeakMap<AnyClient, string>();
  private writeSeq = 0;
  private readonly cells: CellKeys[];
  private readonly collections: CollectionKeys[];
  /** Pairs, by the name the history uses (pairHalves gives their keys). */
  readonly pairKeys: string[];
  /** Queues and move queues, by the name the history uses (moveQueueLists gives a move queue's keys). */
  readonly queueKeys: string[];
  private readonly moveQueueKeys: string[];
  /** The elements each client moved and has not removed yet (it removes them oldest first). */
  private readonly moved = new Map<string, string[]>();

  constructor(private readonly opts: WorkloadOptions) {
    const cellCounts: Record<CellName, number> = { register: opts.registers, counter: opts.counters, expiring: 0, 'hash-field': 0, 'hash-counter': 0, 'zset-score': 0, 'set-member': 0, ...opts.cells };
    this.cells = CELLS.map((type) => ({ type, names: cellNames(type, cellCounts[type.name]) }));
    this.collections = COLLECTIONS.map((type) => {
      const current = Array.from({ length: opts.collections?.[type.name] ?? 0 }, (_, i) => `${type.prefix}${i}`);
      return { type, current, all: [...current], sizes: new Map<string, number>() };
    });
    this.pairKeys = Array.from({ length: opts.pairs ?? 0 }, (_, i) => `chaos:t${i}`);
    this.moveQueueKeys = Array.from({ length: opts.moveQueues ?? 0 }, (_, i) => `chaos:m${i}`);
    this.queueKeys = [...Array.from({ length: opts.queues ?? 0 }, (_, i) => `chaos:q${i}`), ...this.moveQueueKeys];
  }

  /** Every name the history uses: cells, collection keys (each one used), pairs, queues. */
  get keys(): string[] {
    return [...this.cells.flatMap((c) => c.names), ...this.collections.flatMap((c) => c.all), ...this.pairKeys, ...this.queueKeys];
  }

  /** The cell type of a history name, if it is a cell's. */
  cellOf(name: string): CellType | undefined {
    return this.cells.find((c) => c.names.includes(name))?.type;
  }

  /** The collection type of a key, if it is one's. */
  collectionOf(key: string): CollectionType | undefined {
    return this.collections.find((c) => c.all.includes(key))?.type;
  }

  /** After an acknowledged add: a collection grown long is replaced by a new key. */
  private grew(c: CollectionKeys, key: string): void {
    const size = (c.sizes.get(key) ?? 0) + 1;
    c.sizes.set(key, size);
    const i = c.current.indexOf(key);
    if (i < 0 || size < COLLECTION_MAX_ELEMENTS) return;
    const next = `${c.type.prefix}${i}.g${c.all.length}`;
    c.current[i] = next;
    c.all.push(next);
  }

  /** A key for the next operation: cells, collections, pairs and queues in proportion to their counts. */
  private pickKey(rnd: Rng, readonly: boolean): { key: string; type: 'pair' | 'queue' | CellKeys | CollectionKeys } {
    const kinds: Array<{ keys: string[]; type: 'pair' | 'queue' | CellKeys | CollectionKeys }> = [
      ...this.cells.map((c) => ({ keys: c.names, type: c })),
      ...this.collections.map((c) => ({ keys: c.current, type: c })),
      { keys: this.pairKeys, type: 'pair' },
      // Every queue operation writes.
      { keys: readonly ? [] : this.queueKeys, type: 'queue' },
    ];
    const nonEmpty = kinds.filter((k) => k.keys.length > 0);
    let x = rnd() * nonEmpty.reduce((n, k) => n + k.keys.length, 0);
    for (const k of nonEmpty) {
      if (x < k.keys.length) return { key: pick(rnd, k.keys), type: k.type };
      x -= k.keys.length;
    }
    const last = nonEmpty[nonEmpty.length - 1]; // x at the very end: rounding
    return { key: pick(rnd, last.keys), type: last.type };
  }

  /** One operation on a cell: a read, a delete (deleteShare of the writes), or a write (a new value, or +1). */
  private cellOp(client: AnyClient, id: string, name: string, type: CellType, read: boolean, rnd: Rng): { op: Op; p: Promise<unknown> } {
    const [key, field] = cellPlace(name);
    let op: Op;
    let args: (string | number)[];
    if (read && type.ttlMs && rnd() < PTTL_SHARE) {
      op = this.history.invoke(id, 'pttl', name);
      op.command = 'PTTL';
      args = ['PTTL', key];
    } else if (read) {
      op = this.history.invoke(id, 'read', name);
      args = type.readArgs(key, field);
    } else if (rnd() < (this.opts.deleteShare ?? 0)) {
      op = this.history.invoke(id, 'del', name);
      args = type.delArgs(key, field);
    } else if (type.model === 'counter') {
      op = this.history.invoke(id, 'incr', name);
      args = type.writeArgs(key, field, '');
    } else if (type.ttlMs && rnd() < EXPIRE_SHARE) {
      // A new time to live for whatever value is there (PEXPIRE; GETEX, which also reads it), or none (PERSIST).
      const which = rnd();
      const command = which < PERSIST_SHARE ? 'PERSIST' : which < PERSIST_SHARE + GETEX_SHARE ? 'GETEX' : 'PEXPIRE';
      op = this.history.invoke(id, command === 'GETEX' ? 'getex' : 'expire', name);
      op.command = command;
      if (command === 'PERSIST') args = ['PERSIST', key];
      else {
        op.ttlMs = between(rnd, type.ttlMs[0], type.ttlMs[1]);
        args = command === 'GETEX' ? ['GETEX', key, 'PX', op.ttlMs] : ['PEXPIRE', key, op.ttlMs];
      }
    } else {
      op = this.history.invoke(id, 'write', name, type.fixedValue ?? `${id}.${this.writeSeq++}`);
      args = type.writeArgs(key, field, op.value!);
      if (type.ttlMs && rnd() >= 1 / TTL_CLEARS) {
        op.ttlMs = between(rnd, type.ttlMs[0], type.ttlMs[1]);
        args.push('PX', op.ttlMs);
      } else if (type.ttlMs && rnd() < KEEPTTL_SHARE) {
        op.keepTtl = true;
        args.push('KEEPTTL');
      }
    }
    if (type.commands) op.command = String(args[0]);
    const [command, ...rest] = args;
    const p = client.call(String(command), ...rest);
    return { op, p: read && type.readValue ? p.then(type.readValue) : p };
  }

  /**
   * A queue operation: a push of an element unique in the run, or a pop,
   * half of them BLPOP, which waits up to BLPOP_TIMEOUT_S for an element:
   * its answer, the element or nil. Even queues grow (as many pushes as
   * pops: a queue under faults holds elements to pop in order); odd ones
   * are popped POP_HEAVY of the time, so they are mostly empty and their
   * BLPOPs wait for a push, or time out.
   */
  private queueOp(client: AnyClient, id: string, key: string, rnd: Rng): { op: Op; p: Promise<unknown> } {
    if (this.moveQueueKeys.includes(key)) return this.moveQueueOp(client, id, key, rnd);
    const pop = rnd() < (this.queueKeys.indexOf(key) % 2 === 0 ? 0.5 : POP_HEAVY);
    if (!pop) {
      const op = this.history.invoke(id, 'enqueue', key, `${id}.${this.writeSeq++}`);
      return { op, p: client.rpush(key, op.value!) };
    }
    const op = this.history.invoke(id, 'dequeue', key);
    if (rnd() < 0.5) {
      op.command = 'LPOP';
      return { op, p: client.lpop(key) };
    }
    op.command = 'BLPOP';
    return { op, p: client.blpop(key, BLPOP_TIMEOUT_S).then((r) => (r ? r[1] : null)) };
  }

  /**
   * A move queue operation: a push to its first list; an LREM from its
   * second list of an element this client moved there (the oldest such,
   * whatever the answer: it is never removed twice); or a move, half LMOVE
   * and half BLMOVE, from the first list's head to the second's tail.
   */
  private moveQueueOp(client: AnyClient, id: string, key: string, rnd: Rng): { op: Op; p: Promise<unknown> } {
    const [from, to] = moveQueueLists(key);
    if (rnd() < MOVE_QUEUE_PUSH) {
      const op = this.history.invoke(id, 'enqueue', key, `${id}.${this.writeSeq++}`);
      return { op, p: client.rpush(from, op.value!) };
    }
    const mine = this.moved.get(id) ?? [];
    if (mine.length > 0 && rnd() < MOVE_QUEUE_ACK) {
      const op = this.history.invoke(id, 'ack', key, mine.shift()!);
      return { op, p: client.lrem(to, 1, op.value!) };
    }
    const op = this.history.invoke(id, 'dequeue', key);
    const remember = (e: string | null) => {
      if (e !== null) this.moved.set(id, [...(this.moved.get(id) ?? []), e]);
      return e;
    };
    if (rnd() < 0.5) {
      op.command = 'LMOVE';
      return { op, p: client.lmove(from, to, 'LEFT', 'RIGHT').then(remember) };
    }
    op.command = 'BLMOVE';
    return { op, p: client.blmove(from, to, 'LEFT', 'RIGHT', BLPOP_TIMEOUT_S).then(remember) };
  }

  /** MULTI, INCR both halves, EXEC: the pair's new value, or an error reply when neither INCR ran. */
  private async incrPair(client: AnyClient, key: string): Promise<string | null> {
    const [a, b] = pairHalves(key);
    const res = await client.multi().incr(a).incr(b).exec();
    // nil: a WATCH failed; this workload watches nothing.
    if (!res) throw new Error('EXEC answered nil with no WATCH');
    const [[ea, va], [eb, vb]] = res;
    // Both refused inside EXEC: nothing ran, as an error reply says.
    if (ea && eb) throw ea;
    return pairValue(ea ? `ERR ${ea.message}` : String(va), eb ? `ERR ${eb.message}` : String(vb));
  }

  /** Which client i is: its kind, and its store for plain and readonly clients. */
  describeClient(i: number): { kind: ClientKind; store: ChaosNode | undefined; id: string } {
    const kinds = this.opts.kinds ?? ['plain', 'readonly', 'cluster'];
    const kind = kinds[i % kinds.length];
    const store = kind === 'cluster' ? undefined : this.opts.stores[Math.floor(i / kinds.length) % this.opts.stores.length];
    return { kind, store, id: `c${i}-${kind}${store ? `@${store.name}` : ''}` };
  }

  private connect(kind: ClientKind, store: ChaosNode | undefined): AnyClient {
    const common = {
      enableOfflineQueue: false,
      autoResendUnfulfilledCommands: false,
      maxRetriesPerRequest: 0,
      retryStrategy: () => 100,
      connectTimeout: this.opts.opTimeoutMs,
      lazyConnect: false,
    };
    let c: AnyClient;
    if (kind === 'cluster') {
      c = new Cluster(
        this.opts.stores.map((s) => ({ host: s.host, port: s.port })),
        {
          enableOfflineQueue: false,
          redisOptions: common,
          clusterRetryStrategy: () => 200,
          retryDelayOnFailover: 0, // never resend a command whose connection closed
          retryDelayOnTryAgain: 100,
          retryDelayOnClusterDown: 100,
          retryDelayOnMoved: 0,
          slotsRefreshTimeout: 2000,
        },
      );
    } else {
      c = new Redis({ host: store!.host, port: store!.port, ...common, readOnly: kind === 'readonly' });
    }
    // Reconnects are expected and failures show in the history; the last error explains a client that cannot connect.
    c.on('error', (e: Error) => this.lastError.set(c, e.message));
    this.live.add(c);
    return c;
  }

  /**
   * Waits (at most opTimeoutMs) for a new client to connect, so its first
   * ops are not refused at once. Says so when it did not, with the client's
   * state: a client that cannot connect to a store that runs tests nothing.
   */
  private async connected(c: AnyClient, id: string): Promise<void> {
    if (c.status === 'ready') return;
    const ready = await new Promise<boolean>((resolve) => {
      const done = (ok: boolean) => {
        clearTimeout(timer);
        c.removeListener('ready', onReady);
        resolve(ok);
      };
      const onReady = () => done(true);
      const timer = setTimeout(() => done(false), this.opts.opTimeoutMs);
      c.once('ready', onReady);
    });
    if (!ready) this.opts.log(`client ${id}: not ready after ${this.opts.opTimeoutMs} ms (ioredis status ${c.status}; last error: ${this.lastError.get(c) ?? 'none'})`);
  }

  private drop(c: AnyClient): void {
    this.live.delete(c);
    c.disconnect();
  }

  start(): void {
    this.running = true;
    this.loops = Array.from({ length: this.opts.clients }, (_, i) => this.clientLoop(i));
  }

  /**
   * The durability reads: every key once more, through a plain connection
   * to one store after another (a linearizable read), until one answers;
   * recorded as the FINAL_CLIENT's. Throws when none has in 30 s.
   */
  async finalReads(stores: ReadonlyArray<{ host: string; port: number }>): Promise<void> {
    const h = this.history;
    const isValue = (v: unknown): v is string | null => v === null || typeof v === 'string';
    // Each key's final reads: one, or a move queue's two lists (the op's value says which).
    const reads = this.keys.flatMap((key): Array<{ key: string; list: string; which: 'in' | 'out' | undefined }> =>
      this.moveQueueKeys.includes(key) ? moveQueueLists(key).map((list, i) => ({ key, list, which: i === 0 ? 'in' : 'out' })) : [{ key, list: key, which: undefined }],
    );
    for (const { key, list, which } of reads) {
      const deadline = Date.now() + 30_000;
      // A queue's remaining elements are read as a list's.
      const collection = this.queueKeys.includes(key) ? LIST : this.collectionOf(key);
      const pair = this.pairKeys.includes(key);
      const cell = this.cellOf(key);
      const command = collection ? collection.readArgs(list) : pair ? ['MGET', ...pairHalves(key)] : cell!.readArgs(...cellPlace(key));
      for (let attempt = 0; ; attempt++) {
        const s = stores[attempt % stores.length];
        const op = h.invoke(FINAL_CLIENT, collection ? collection.readKind : 'read', key, which);
        if (collection) op.command = collection.readCommand;
        else if (cell?.commands) op.command = cell.commands.read;
        try {
          const [v] = await respMany(s.port, [command], { host: s.host, timeoutMs: 5000 });
          if (collection && Array.isArray(v) && v.every((e) => typeof e === 'string')) {
            h.okList(op, v as string[]);
            break;
          }
          if (pair && Array.isArray(v) && v.length === 2 && v.every(isValue)) {
            h.ok(op, pairValue(v[0], v[1]));
            break;
          }
          const value = cell?.readValue ? cell.readValue(v) : v;
          if (!collection && !pair && isValue(value)) {
            h.ok(op, value);
            break;
          }
          h.fail(op, String(v));
        } catch (e) {
          h.info(op, (e as Error).message);
        }
        if (Date.now() > deadline) throw new Error(`final read of ${key}: no store answered within 30 s`);
        await sleep(200);
      }
    }
  }

  /** Stops every client after its current operation, and closes them. */
  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
    for (const c of [...this.live]) this.drop(c);
  }

  private async clientLoop(i: number): Promise<void> {
    const { kind, store, id } = this.describeClient(i);
    let client = this.connect(kind, store);
    await this.connected(client, id);
    const rnd = this.opts.rnd;
    const readShare = this.opts.readShare ?? 0.5;
    /** A read timed against the expiry of a value this client wrote (expiryProbe). */
    let probe: { key: string; type: CellKeys; at: number } | undefined;
    while (this.running) {
      const picked = probe ?? this.pickKey(rnd, kind === 'readonly');
      const { key, type } = picked;
      const read = probe !== undefined || kind === 'readonly' || rnd() < readShare;
      if (probe) await sleep(Math.max(0, probe.at - this.history.now()));
      probe = undefined;
      let op: Op;
      let p: Promise<unknown>;
      if (type === 'queue') {
        ({ op, p } = this.queueOp(client, id, key, rnd));
      } else if (read && type === 'pair') {
        op = this.history.invoke(id, 'read', key);
        p = client.mget(...pairHalves(key)).then(([a, b]) => pairValue(a, b));
      } else if (type === 'pair') {
        op = this.history.invoke(id, 'incr', key);
        p = this.incrPair(client, key);
      } else if ('names' in type) {
        ({ op, p } = this.cellOp(client, id, key, type.type, read, rnd));
      } else if (read) {
        const [command, ...args] = type.type.readArgs(key);
        op = this.history.invoke(id, type.type.readKind, key);
        op.command = type.type.readCommand;
        p = client.call(String(command), ...args);
      } else {
        const seq = this.writeSeq++;
        op = this.history.invoke(id, type.type.addKind, key, `${id}.${seq}`);
        op.command = type.type.addCommand;
        p = type.type.add(client, key, op.value!, seq);
      }
      try {
        const reply = await withDeadline(p, this.opts.opTimeoutMs);
        if (op.kind === 'write' || op.kind === 'del' || op.kind === 'expire') {
          // SET answers OK; HSET, DEL, HDEL and ZREM how many fields or keys they added or removed, PEXPIRE whether the key was there.
          if (reply === 'OK' && op.kind === 'write') this.history.ok(op);
          else if (typeof reply === 'number') this.history.okAdd(op, reply);
          else this.history.info(op, `unexpected reply ${JSON.stringify(reply)}`);
          const timed = op.outcome === 'ok' && op.ttlMs !== undefined && (op.kind === 'write' || op.length === 1);
          if (timed && typeof type === 'object' && 'names' in type) probe = expiryProbe(op, type, rnd);
        } else if (op.kind === 'enqueue' || op.kind === 'ack') this.history.okAdd(op, Number(reply));
        else if (typeof type === 'object' && 'current' in type && op.kind === type.type.addKind) {
          this.history.okAdd(op, Number(reply));
          this.grew(type, key);
        } else if (typeof type === 'object' && 'current' in type) this.history.okList(op, (reply as unknown[]).map(String));
        else if (op.kind === 'incr') this.history.ok(op, String(reply));
        else this.history.ok(op, reply === null ? null : String(reply));
      } catch (e) {
        const message = (e as Error).message ?? String(e);
        if (isErrorReply(e) || neverSent(message)) this.history.fail(op, message);
        else this.history.info(op, message);
        if (!isErrorReply(e)) {
          // The connection is in an unknown state: start afresh so the next op
          // does not queue behind an unanswered one.
          p.catch(() => {});
          this.drop(client);
          client = this.connect(kind, store);
          await this.connected(client, id);
        }
        await sleep(50); // no busy loop while there is no leader
      }
    }
  }
}
