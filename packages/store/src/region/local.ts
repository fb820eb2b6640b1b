// A region with one replica and no Raft: the store of the single-replica
// issue. It is the sequencer Raft will replace: writes get consecutive
// indexes, are applied by the same apply() in one batch per round with the
// applied index, synced, then answered (group commit).
//
// Rounds pipeline (DESIGN.md, "The store's loop"): while one round's synced
// write is in flight, the next round is gathered and applied into its own
// batch, reading through the batch in flight; its write starts the moment
// the previous one is on disk (never earlier: two writes in flight could
// reach RocksDB in either order). Nobody is answered before their round is
// synced.
import { OverlayBatch, applyStateKey, pb, u64, readU64 } from '@redraft/common';
import type { Engine, KvReader, Reply, ScanOptions } from '@redraft/common';
import type { Logger } from 'pino';
import { applyCommand } from '../apply/apply';
import { prefetchReads } from '../apply/prefetch';
import { asLogged } from '../apply/entry';
import type { RegionHandle } from './region';
import { RegionClock } from './clock';

interface Pending {
  cmd: pb.WriteCommand;
  resolve: (r: Reply) => void;
  reject: (e: Error) => void;
}

/**
 * What a round's apply reads: the round before it while that one is not
 * yet on disk (its writes are the hottest keys, and must be seen), then the
 * engine. Cut to the engine once the round before is on disk, so the chain
 * stays at most two batches long.
 */
class RoundBase implements KvReader {
  constructor(
    private readonly engine: Engine,
    public before: OverlayBatch | null,
  ) {}

  get(key: Buffer): Promise<Buffer | undefined> {
    return this.before ? this.before.get(key) : this.engine.get(key);
  }

  scan(opts: ScanOptions): AsyncIterable<[Buffer, Buffer]> {
    return this.before ? this.before.scan(opts) : this.engine.scan(opts);
  }
}

interface Round {
  items: Pending[];
  replies: Reply[];
  batch: OverlayBatch;
  base: RoundBase;
  /** The index of the round's last write. */
  lastIndex: number;
  /** The time of the round's last write. */
  lastStamp: number;
}

export class LocalRegion implements RegionHandle {
  private queue: Pending[] = [];
  private scheduled = false;
  /** Writes being applied (apply awaits reads). */
  private applying = false;
  /** The round whose synced write is in flight. */
  private writing: Round | null = null;
  /**
   * The round gathering while a write is in flight: each turn applies what
   * arrived into it, and its write starts when the one in flight is done.
   */
  private open: Round | null = null;
  /** The index of the newest write sequenced (stamped, then applied in memory; `applied` is the one on disk). */
  private lastIndex: number;
  private quietWaiters: Array<() => void> = [];
  /** Reads waiting for the writes applied before they began to be on disk. */
  private readWaiters: Array<{ index: number; startMs: number; resolve: (atMs: number) => void; reject: (e: Error) => void }> = [];
  /** Writes are stamped as they are applied, in order; reads are served after them (clock.ts). */
  private readonly clock = new RegionClock();
  private failed: Error | null = null;

  private constructor(
    readonly id: number,
    readonly startSlot: number,
    readonly endSlot: number,
    private readonly engine: Engine,
    private readonly log: Logger,
    private appliedIndex: number,
  ) {
    this.lastIndex = appliedIndex;
  }

  static async open(engine: Engine, log: Logger, id = 1, startSlot = 0, endSlot = 16384): Promise<LocalRegion> {
    const raw = await engine.get(applyStateKey(id));
    const applied = raw ? readU64(raw, 0) : 0;
    return new LocalRegion(id, startSlot, endSlot, engine, log.child({ regionId: id }), applied);
  }

  /** The index of the last write on disk. */
  get applied(): number {
    return this.appliedIndex;
  }

  propose(cmd: pb.WriteCommand.$Properties): Promise<Reply> {
    if (this.failed) return Promise.reject(this.failed);
    // What a replica would decode from the log entry: apply sees exactly
    // what it sees in the replicated store, defaults and all.
    const logged = asLogged(cmd);
    return new Promise((resolve, reject) => {
      this.queue.push({ cmd: logged, resolve, reject });
      this.schedule();
    });
  }

  /**
   * Resolves when every applied write is on disk and none is in flight, so
   * the disk holds exactly the state at `applied`. While a caller waits, no
   * new round is applied; the task after it runs before the next round
   * (rounds start from setImmediate, never from a microtask).
   */
  quiet(): Promise<void> {
    if (this.isQuiet()) return Promise.resolve();
    return new Promise((resolve) => this.quietWaiters.push(resolve));
  }

  /** Now, once every write applied before the call is on disk (clock.ts). */
  readBarrier(): Promise<number> {
    const startMs = this.clock.now();
    if (this.appliedIndex >= this.lastIndex) return Promise.resolve(startMs);
    if (this.failed) return Promise.reject(this.failed);
    return new Promise((resolve, reject) => this.readWaiters.push({ index: this.lastIndex, startMs, resolve, reject }));
  }

  readNow(): number | undefined {
    return this.appliedIndex >= this.lastIndex ? this.clock.now() : undefined;
  }

  private isQuiet(): boolean {
    return !this.applying && !this.writing && !this.open;
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.applyQueued();
    });
  }

  /** Applies what is queued: into the open round while a write is in flight, else into a new round written at once. */
  private applyQueued(): void {
    if (this.failed || this.applying || this.queue.length === 0) return;
    if (this.quietWaiters.length && !this.isQuiet()) return; // resumed once quiet
    const items = this.queue;
    this.queue = [];
    this.applying = true;
    const round = this.open ?? this.newRound();
    this.open = round;
    void this.applyInto(round, items);
  }

  private newRound(): Round {
    // Only the round in flight may hold writes the disk does not have yet.
    const base = new RoundBase(this.engine, this.writing?.batch ?? null);
    return { items: [], replies: [], batch: new OverlayBatch(base), base, lastIndex: this.lastIndex, lastStamp: 0 };
  }

  private async applyInto(round: Round, items: Pending[]): Promise<void> {
    // Indexed and stamped in order before anything awaits, as the sequencer
    // appends them: a read that begins from now on waits for them (clock.ts).
    let index = this.lastIndex;
    this.lastIndex += items.length;
    for (const p of items) {
      p.cmd.proposedAtMs = round.lastStamp = this.clock.now();
      this.clock.applyEntry(round.lastStamp);
    }
    try {
      // The point reads of all these writes in one or two trips to RocksDB's thread pool.
      await prefetchReads(
        items.map((p) => p.cmd),
        round.batch,
      );
      for (const p of items) {
        round.replies.push(await applyCommand(p.cmd, ++index, round.batch));
        round.items.push(p);
      }
      round.lastIndex = index;
    } catch (e) {
      // A storage failure or a bug: none of the round is written (the
      // round in flight still ends as its write does).
      this.applying = false;
      this.open = null;
      this.fail(e as Error, [round, items]);
      return;
    }
    this.applying = false;
    if (this.failed) {
      // The write in flight failed meanwhile: this round is never written.
      for (const p of items) p.reject(this.failed);
      return;
    }
    if (!this.writing) this.write(round);
    if (this.queue.length) this.schedule();
  }

  /** The round's one synced write; then its answers, and the open round's write. */
  private write(round: Round): void {
    if (this.open === round) this.open = null;
    this.writing = round;
    round.batch.put(applyStateKey(this.id), u64(round.lastIndex));
    this.engine.write(round.batch.batch, true).then(
      () => {
        this.writing = null;
        this.appliedIndex = round.lastIndex;
        this.clock.persisted(round.lastStamp);
        this.releaseReads();
        // The round before is on disk too: read the engine instead.
        round.base.before = null;
        // The open round's write starts now, unless writes are still being applied into it.
        if (this.open && !this.applying) this.write(this.open);
        for (let i = 0; i < round.items.length; i++) round.items[i].resolve(round.replies[i]);
        if (this.isQuiet()) this.releaseQuietWaiters();
        if (this.queue.length) this.schedule();
      },
      (e: Error) => {
        this.writing = null;
        const open = this.open;
        this.open = null;
        this.fail(e, open ? [round, open] : [round]);
      },
    );
  }

  /**
   * A storage failure: nothing not yet synced is acknowledged, and the
   * region refuses further writes rather than guess what is on disk.
   */
  private fail(e: Error, refused: Array<Round | Pending[]>): void {
    this.failed = e;
    this.log.error({ err: e }, 'apply failed; region stopped');
    for (const r of refused) for (const p of Array.isArray(r) ? r : r.items) p.reject(e);
    for (const p of this.queue) p.reject(e);
    this.queue = [];
    for (const r of this.readWaiters) r.reject(e);
    this.readWaiters = [];
    this.releaseQuietWaiters();
  }

  private releaseReads(): void {
    if (this.readWaiters.length === 0) return;
    const waiting = this.readWaiters;
    this.readWaiters = [];
    for (const r of waiting) {
      if (r.index <= this.appliedIndex) r.resolve(this.clock.readAt(r.startMs));
      else this.readWaiters.push(r);
    }
  }

  private releaseQuietWaiters(): void {
    const waiters = this.quietWaiters;
    this.quietWaiters = [];
    for (const w of waiters) w();
  }
}
