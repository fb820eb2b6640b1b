// Forwarded commands, batched per target store: the commands this store
// forwards to one store during one event-loop turn travel in one request
// frame ('store.forwardBatch') and come back in one response frame, instead
// of one request (frame, envelope, pending entry, timer) per command.
//
// What stays per command:
//  - its order: commands join a batch in the order they were forwarded, and
//    the receiver starts them in that order (as it did one frame after the
//    other), so one client's pipelined writes keep their log order;
//  - its session: a write carries its own (session, seq), so a resend after
//    a lost answer is applied at most once (raftstore/sessions.ts);
//  - its result: a reply, or its own error (typed errors stay typed:
//    NOT_LEADER routes that command again, OUTCOME_UNKNOWN resends it);
//  - a leader move: a command whose slot's leader moved away from the target
//    while it was in flight is given up alone, as an answer lost.
// A failure of the whole frame (disconnected, timed out, never sent) is
// every command's own failure, judged by each as before.
//
// Reads and writes go in separate batches: a batch is answered when all its
// commands are, and a read should not wait for a write's fsync.
import { TransportError, decodeRpcError, encodeRpcError, pb } from '@redraft/common';

/** Sends one encoded ForwardBatchRequest to a store and resolves with its encoded ForwardBatchResponse. */
export type BatchSender = (peerAddr: string, body: Uint8Array, timeoutMs: number) => Promise<Uint8Array>;

export interface ForwardBatcherOptions {
  send: BatchSender;
  /** A batch without an answer within this long fails as an answer lost. */
  timeoutMs: number;
  /** The peer address of the store leading a slot now, if known (the leader watch). */
  leaderOf?(slot: number): string | undefined;
  /** How often commands in flight check their slot's leader; default 100 ms. */
  watchMs?: number;
  /** At most this many commands per batch; default 512. */
  maxCommands?: number;
  /** At most about this many argument bytes per batch; a larger command travels alone. Default 1 MiB. */
  maxBytes?: number;
}

/** One command waiting in a batch or in flight. */
interface Waiter {
  req: pb.ForwardRequest.$Properties;
  bytes: number;
  peerAddr: string;
  slot: number;
  done: boolean;
  resolve(reply: Buffer): void;
  reject(err: Error): void;
}

interface OpenBatch {
  peerAddr: string;
  waiters: Waiter[];
  bytes: number;
  /** Once sent: its commands not settled yet. */
  unsettled: number;
  /** Sent before the end of its turn, having reached maxCommands or maxBytes. */
  full: boolean;
}

/**
 * What a batch holds once every command in it has its answer. A settled
 * batch lets go of its commands at once, because V8 may keep it reachable
 * for a while: a Map's or Set's hash table replaced by clear() or by a
 * rehash keeps its old entries, and once the collection is in the old
 * generation so are its new tables. Until the next full GC, such a dead
 * table keeps a batch, and through it every command's arguments, request
 * and promise, alive across young-generation GCs, which then copy and
 * promote them. Under forwarded GETs at -P 16, half of what the forwarding
 * store allocated survived each scavenge, and scavenges took a third of its
 * time (docs/performance.md, step 23).
 */
const NO_WAITERS: Waiter[] = [];

export class ForwardBatcher {
  /**
   * The batches being gathered this turn, by target store: reads and writes
   * apart. Entries stay (one per store ever forwarded to) and only their
   * fields change: see NO_WAITERS for why nothing here churns.
   */
  private readonly open = new Map<string, { read?: OpenBatch; write?: OpenBatch }>();
  /** This turn's batches, in the order they were opened: sent by flush(). */
  private toFlush: OpenBatch[] = [];
  /** Batches sent with a command not settled yet (per batch, not per command: one Set entry for up to 512 commands). */
  private readonly inFlight = new Set<OpenBatch>();
  private flushScheduled = false;
  private watch: NodeJS.Timeout | undefined;
  private readonly maxCommands: number;
  private readonly maxBytes: number;
  /** Batches and commands sent (for tests and the metrics). */
  readonly stats = { batches: 0, commands: 0 };

  constructor(private readonly opts: ForwardBatcherOptions) {
    this.maxCommands = opts.maxCommands ?? 512;
    this.maxBytes = opts.maxBytes ?? 1024 * 1024;
  }

  /**
   * Forwards one command; resolves with its reply bytes, or rejects with its
   * own error (a typed RpcError, or the frame's TransportError).
   */
  forward(peerAddr: string, req: pb.ForwardRequest.$Properties, slot: number, write: boolean): Promise<Buffer> {
    let bytes = 16;
    for (const a of req.args ?? []) bytes += a.length + 4;
    return new Promise<Buffer>((resolve, reject) => {
      const w: Waiter = { req, bytes, peerAddr, slot, done: false, resolve, reject };
      if (bytes >= this.maxBytes) {
        // Alone: a frame too large then fails this command only (TOO_LARGE, nothing sent).
        this.sendBatch({ peerAddr, waiters: [w], bytes, unsettled: 0, full: true });
        return;
      }
      let target = this.open.get(peerAddr);
      if (!target) this.open.set(peerAddr, (target = {}));
      let b = write ? target.write : target.read;
      if (b && (b.waiters.length >= this.maxCommands || b.bytes + bytes > this.maxBytes)) {
        b.full = true; // flush() skips it
        this.sendBatch(b);
        b = undefined;
      }
      if (!b) {
        b = { peerAddr, waiters: [], bytes: 0, unsettled: 0, full: false };
        if (write) target.write = b;
        else target.read = b;
        this.toFlush.push(b);
      }
      b.waiters.push(w);
      b.bytes += bytes;
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        // After every socket read of this turn has dispatched its commands.
        setImmediate(() => this.flush());
      }
    });
  }

  /** Sends every open batch now. */
  flush(): void {
    this.flushScheduled = false;
    const batches = this.toFlush;
    this.toFlush = [];
    for (const target of this.open.values()) target.read = target.write = undefined;
    for (const b of batches) if (!b.full) this.sendBatch(b);
  }

  /** Commands sent and not yet answered. */
  get pending(): number {
    let n = 0;
    for (const b of this.inFlight) n += b.unsettled;
    return n;
  }

  private sendBatch(b: OpenBatch): void {
    const { peerAddr, waiters } = b;
    let body: Uint8Array;
    try {
      body = pb.ForwardBatchRequest.encode({ commands: waiters.map((w) => w.req) }).finish();
    } catch (e) {
      for (const w of waiters) w.reject(e as Error);
      return;
    }
    this.stats.batches++;
    this.stats.commands += waiters.length;
    b.unsettled = waiters.length;
    this.inFlight.add(b);
    this.startWatch();
    let sent: Promise<Uint8Array>;
    try {
      sent = this.opts.send(peerAddr, body, this.opts.timeoutMs);
    } catch (e) {
      sent = Promise.reject(e);
    }
    sent.then(
      (resBody) => {
        let res: pb.ForwardBatchResponse;
        try {
          res = pb.ForwardBatchResponse.decode(resBody);
        } catch (e) {
          // The commands ran there, but their answers are unreadable: answers lost.
          const err = new TransportError('REMOTE', `undecodable forward batch answer from ${peerAddr}: ${(e as Error).message}`, peerAddr);
          for (const w of waiters) this.settle(b, w, err);
          return;
        }
        for (let i = 0; i < waiters.length; i++) {
          const r = res.results[i];
          if (!r) this.settle(b, waiters[i], new TransportError('REMOTE', `no answer for command ${i} of a forward batch from ${peerAddr}`, peerAddr));
          else if (r.error) this.settle(b, waiters[i], decodeRpcError(r.error, r.typedError ?? new Uint8Array(0), peerAddr));
          else this.settle(b, waiters[i], undefined, asBuffer(r.reply));
        }
      },
      (err: Error) => {
        for (const w of waiters) this.settle(b, w, err);
      },
    );
  }

  private settle(b: OpenBatch, w: Waiter, err: Error | undefined, reply?: Buffer): void {
    if (w.done) return;
    w.done = true;
    if (--b.unsettled === 0) {
      this.inFlight.delete(b);
      if (this.inFlight.size === 0) this.stopWatch();
      b.waiters = NO_WAITERS;
    }
    if (err) w.reject(err);
    else w.resolve(reply!);
  }

  /**
   * One timer for every command in flight: a command whose slot's leader
   * moved to another store is given up at once, as an answer lost (a read
   * is routed again, a write resent in its session), so a failover costs
   * an election, not the batch's timeout.
   */
  private startWatch(): void {
    const leaderOf = this.opts.leaderOf;
    if (this.watch || !leaderOf) return;
    this.watch = setInterval(() => {
      for (const b of [...this.inFlight]) {
        for (const w of b.waiters) {
          if (w.done) continue;
          const leader = leaderOf(w.slot);
          if (leader && leader !== w.peerAddr) this.settle(b, w, new Error(`the leader of slot ${w.slot} moved from ${w.peerAddr} to ${leader} while the forward was in flight`));
        }
      }
    }, this.opts.watchMs ?? 100);
  }

  private stopWatch(): void {
    if (this.watch) clearInterval(this.watch);
    this.watch = undefined;
  }
}

/**
 * The receiving side: runs each command of a batch (in order) and answers
 * each with its reply or its own error. A reply ready at once (a cached
 * GET under a lease) costs no promise: only the others are waited for.
 */
export function serveForwardBatch(body: Uint8Array, run: (req: pb.ForwardRequest) => Uint8Array | Promise<Uint8Array>): Promise<Uint8Array> {
  const commands = pb.ForwardBatchRequest.decode(body).commands as pb.ForwardRequest[];
  const results = new Array<pb.ForwardResult.$Properties>(commands.length);
  let waiting = 0;
  // Set below, before any answer can come (they come in later microtasks).
  let allAnswered: (() => void) | undefined;
  const settled = (): void => {
    if (--waiting === 0) allAnswered!();
  };
  // Started one after the other, in the forwarder's order, then awaited together.
  for (let i = 0; i < commands.length; i++) {
    let r: Uint8Array | Promise<Uint8Array>;
    try {
      r = run(commands[i]);
    } catch (e) {
      results[i] = errorResult(e);
      continue;
    }
    if (!(r instanceof Promise)) {
      results[i] = { reply: r };
      continue;
    }
    waiting++;
    r.then(
      (reply) => {
        results[i] = { reply };
        settled();
      },
      (e) => {
        results[i] = errorResult(e);
        settled();
      },
    );
  }
  const encode = (): Uint8Array => pb.ForwardBatchResponse.encode({ results }).finish();
  if (waiting === 0) return Promise.resolve(encode());
  return new Promise((resolve, reject) => {
    allAnswered = () => {
      try {
        resolve(encode());
      } catch (e) {
        reject(e); // to the transport, which answers the batch with its error
      }
    };
  });
}

/**
 * Decoded bytes as a Buffer, without a copy: decoded from a Buffer, they
 * are one already (a view into the frame, which nothing reuses).
 */
export function asBuffer(bytes: Uint8Array | null | undefined): Buffer {
  if (!bytes) return Buffer.alloc(0);
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** A command's own error, typed where it has a type (rpc-errors.ts). */
function errorResult(e: unknown): pb.ForwardResult.$Properties {
  return { error: (e instanceof Error ? e.message : String(e)) || 'error', typedError: encodeRpcError(e as Error) ?? undefined };
}
