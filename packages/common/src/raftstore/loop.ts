// The multi-raft loop: in one round, for every group that has work,
//   1. take its Ready and send the messages that may go at once;
//   2. put its snapshot, entries and hard state into ONE WriteBatch;
//   3. write the batch with ONE sync (group commit across groups and clients);
//   4. send the messages that had to wait for the write, hand the committed
//      entries to the apply pipeline, advance.
// Rounds run one after another; whatever arrives while one is writing
// (messages, proposals, ticks) is gathered into the next.
//
// Apply runs beside the rounds, as TiKV's apply pool does: it takes the
// committed entries of every group, applies them in order into one batch
// (applied indexes included) and writes it, then answers the clients. A long
// apply (FLUSHDB of a big region) thus never holds back heartbeats and
// elections. The same loop runs the store's many regions and the meta's
// single group.
//
// Quiet points: a task that needs the disk to hold exactly every group's
// applied state (a consistent iterator for a snapshot or a digest) runs
// between two apply writes — right after one lands, before the next batch
// is built — or at once when apply is idle. Rounds never wait for it.
import type { Engine } from '../storage/engine';
import { OverlayBatch } from '../storage/overlay';
import type { Entry, Message, RawNode, Ready, Snapshot } from '../raft';
import type { PeerStorage } from './peer-storage';

export interface LoopGroup {
  readonly id: number;
  readonly node: RawNode;
  readonly storage: PeerStorage;
  /** Writes a received snapshot's data into the batch (the storage records its metadata). */
  installSnapshot(snap: Snapshot, batch: OverlayBatch): Promise<void>;
  /** Applies committed entries (normal and conf change) into the batch, in order. */
  apply(entries: Entry[], batch: OverlayBatch): Promise<void>;
  /** The round's batch is durable: note read states and role changes. */
  afterPersist(rd: Ready): void;
  /** An apply batch with this group's entries is written: answer its clients and reads. */
  afterApply(): void;
}

export interface LoopHost {
  /** Messages of many groups at once, so the host can send one frame per target. */
  send(messages: Array<{ group: LoopGroup; message: Message }>): void;
  /** A round failed to write: the process must stop rather than guess what is on disk. */
  fatal(err: Error): void;
}

export interface LoopStats {
  rounds: number;
  readies: number;
  entriesPersisted: number;
  entriesApplied: number;
  bytesWritten: number;
}

export class RaftLoop {
  private readonly groups = new Map<number, LoopGroup>();
  private running = false;
  private scheduled = false;
  private stopped = false;
  private ticker: NodeJS.Timeout | undefined;
  /** Committed entries waiting for the apply pipeline, in commit order. */
  private applyQueue: Array<[LoopGroup, Entry[]]> = [];
  private applying: Promise<void> | null = null;
  /** Tasks waiting for a quiet point (see atQuietPoint). */
  private quietTasks: Array<() => void> = [];
  /**
   * A round is writing a received snapshot: that group's applied index
   * already says the snapshot's while the disk does not yet, so no quiet
   * point until the write lands.
   */
  private installing = false;
  readonly stats: LoopStats = { rounds: 0, readies: 0, entriesPersisted: 0, entriesApplied: 0, bytesWritten: 0 };

  constructor(
    private readonly engine: Engine,
    private readonly host: LoopHost,
  ) {}

  add(group: LoopGroup): void {
    this.groups.set(group.id, group);
    this.schedule();
  }

  remove(id: number): void {
    this.groups.delete(id);
  }

  get(id: number): LoopGroup | undefined {
    return this.groups.get(id);
  }

  all(): IterableIterator<LoopGroup> {
    return this.groups.values();
  }

  /**
   * One timer ticks every group. Ticks follow the monotonic clock: a timer
   * that fires late (a busy event loop) delivers every tick it missed, so a
   * leader's lease, counted in ticks, never outlasts real time.
   */
  startTicking(tickMs: number): void {
    this.tickMs = tickMs;
    this.lastTickAt = performance.now();
    this.ticker = setInterval(() => this.catchUpTicks(), tickMs);
  }

  private tickMs = 0;
  private lastTickAt = 0;

  /**
   * Delivers every tick real time owes since the last one. The timer calls
   * it, and so does a lease read first: after a stalled event loop, a lease
   * counted on the old tick count would outlast real time.
   */
  catchUpTicks(): void {
    if (!this.tickMs || this.stopped) return;
    const now = performance.now();
    const ticks = Math.floor((now - this.lastTickAt) / this.tickMs);
    if (ticks <= 0) return;
    this.lastTickAt += ticks * this.tickMs;
    for (let i = 0; i < ticks; i++) for (const g of this.groups.values()) g.node.tick();
    this.schedule();
  }

  /** Something changed (a step, a proposal, a tick): run a round soon. */
  schedule(): void {
    if (this.scheduled || this.stopped) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      if (!this.running) void this.round();
    });
  }

  /** Waits for the round in flight, then stops. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.ticker) clearInterval(this.ticker);
    while (this.running) await new Promise((r) => setImmediate(r));
    await this.applying;
  }

  /**
   * Runs `task` at the next quiet point: no apply write in flight or being
   * built and no snapshot install in flight, so what is on disk is exactly
   * every group's applied state (applied indexes, region descriptors and
   * data agree), and a RocksDB iterator made by the task sees that state.
   * That is now if apply is idle, else right after the current apply write
   * lands. Rounds (ticks, heartbeats, elections) go on meanwhile. The task
   * runs synchronously there; it must not throw.
   */
  atQuietPoint(task: () => void): void {
    this.quietTasks.push(task);
    if (!this.applying) this.runQuietTasks();
  }

  private runQuietTasks(): void {
    if (this.installing || this.quietTasks.length === 0) return;
    const tasks = this.quietTasks;
    this.quietTasks = [];
    for (const t of tasks) t();
  }

  /** Runs a group's apply again with no new entries (it held some back: store raftstore/merge.ts). */
  reapply(group: LoopGroup): void {
    if (this.stopped || !this.groups.has(group.id)) return;
    this.applyQueue.push([group, []]);
    this.kickApply();
  }

  /** Starts the apply pipeline if it has work and is idle. */
  private kickApply(): void {
    if (this.applying || this.applyQueue.length === 0) return;
    this.applying = this.applyAll().finally(() => {
      this.applying = null;
      if (this.applyQueue.length && !this.stopped) this.kickApply();
    });
  }

  /** Applies everything queued: one batch, one write (no fsync: the log is durable), then answers. */
  private async applyAll(): Promise<void> {
    try {
      while (this.applyQueue.length) {
        const items = this.applyQueue;
        this.applyQueue = [];
        const batch = new OverlayBatch(this.engine);
        for (const [g, entries] of items) {
          await g.apply(entries, batch);
          this.stats.entriesApplied += entries.length;
        }
        this.stats.bytesWritten += batch.batch.byteSize;
        // No sync: committed entries are durable in the log (on a majority),
        // and the applied index rides in this batch, so a crash re-applies
        // whatever this write lost.
        await this.engine.write(batch.batch, false);
        for (const g of new Set(items.map(([g]) => g))) g.afterApply();
        // The write landed and the next batch is not begun: a quiet point.
        this.runQuietTasks();
      }
    } catch (e) {
      this.stopped = true;
      this.host.fatal(e as Error);
    }
  }

  /** Resolves once every committed entry handed over so far is applied. */
  private async drainApply(): Promise<void> {
    while (this.applying || this.applyQueue.length) {
      this.kickApply();
      await this.applying;
    }
  }

  private async round(): Promise<void> {
    if (this.stopped) return;
    this.running = true;
    try {
      const work: Array<[LoopGroup, Ready]> = [];
      for (const g of this.groups.values()) if (g.node.hasReady()) work.push([g, g.node.ready()]);
      if (work.length === 0) return;
      this.stats.rounds++;
      this.stats.readies += work.length;
      this.sendAll(work, (rd) => rd.messages);

      const batch = new OverlayBatch(this.engine);
      let sync = false;
      for (const [g, rd] of work) {
        if (rd.snapshot && rd.snapshot.meta.index > 0) {
          // Older committed entries go first; the snapshot then replaces the data.
          await this.drainApply();
          this.installing = true;
          await g.installSnapshot(rd.snapshot, batch);
          sync = true;
        }
        if (rd.entries.length) {
          g.storage.append(rd.entries, batch.batch);
          this.stats.entriesPersisted += rd.entries.length;
        }
        if (rd.hardState) g.storage.setHardState(rd.hardState, batch.batch);
        sync ||= rd.mustSync;
      }
      this.stats.bytesWritten += batch.batch.byteSize;
      await this.engine.write(batch.batch, sync);
      if (this.installing) {
        this.installing = false;
        if (!this.applying) this.runQuietTasks();
      }

      this.sendAll(work, (rd) => rd.persistedMessages);
      for (const [g, rd] of work) {
        g.afterPersist(rd);
        if (rd.committedEntries.length) this.applyQueue.push([g, rd.committedEntries]);
        g.node.advance(rd);
      }
      this.kickApply();
    } catch (e) {
      this.stopped = true;
      this.host.fatal(e as Error);
      return;
    } finally {
      this.running = false;
    }
    // Whatever arrived during the write is waiting.
    for (const g of this.groups.values()) {
      if (g.node.hasReady()) {
        this.schedule();
        break;
      }
    }
  }

  private sendAll(work: Array<[LoopGroup, Ready]>, pick: (rd: Ready) => Message[]): void {
    const out: Array<{ group: LoopGroup; message: Message }> = [];
    for (const [group, rd] of work) for (const message of pick(rd)) out.push({ group, message });
    if (out.length) this.host.send(out);
  }
}
