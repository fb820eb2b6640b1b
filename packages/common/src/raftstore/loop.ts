// The multi-raft loop: in one round, for every group that has work,
//   1. take its Ready and send the messages that may go at once;
//   2. put its snapshot, entries and hard state into ONE WriteBatch;
//   3. write the batch with ONE sync (group commit across groups and clients);
//   4. send the messages that had to wait for the write, hand the committed
//      entries to the apply pipeline, advance.
// Writes go to disk one at a time, but rounds do not wait for them: what
// arrives while one is writing (messages, proposals, ticks) is taken in
// further rounds at once — a leader's new entries go to its followers
// before its own write — and gathered into the next batch, written as soon
// as the previous one lands (etcd's asynchronous storage writes).
//
// Apply runs beside the rounds, as TiKV's apply pool does: it takes the
// committed entries of every group, applies them in order into one batch
// (applied indexes included) and writes it, then answers the clients. While
// a round's write is in flight the apply batch rides in the batch the rounds
// gather (one RocksDB write instead of two: each costs tens of µs of CPU on
// the JS thread); else it is written alone at once. A long
// apply (FLUSHDB of a big region) thus never holds back heartbeats and
// elections. The same loop runs the store's many regions and the meta's
// single group.
//
// Quiet points: a task that needs the disk to hold exactly every group's
// applied state (a consistent iterator for a snapshot or a digest) runs
// between two apply writes — right after one lands, before the next batch
// is built — or at once when apply is idle. Rounds never wait for it.
import { WriteBatch, type Engine } from '../storage/engine';
import { OverlayBatch } from '../storage/overlay';
import { MessageType, type Entry, type Message, type RawNode, type Ready, type Snapshot } from '../raft';
import type { PeerStorage } from './peer-storage';
import { trace, traceEvent } from '../util/trace';

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
  /**
   * Optional: this group's committed entries are applied into the batch,
   * which is not written yet. Their outcome is decided (the entries are
   * durable on a majority and apply is deterministic: a crash now re-applies
   * them to the same result), so writers may be answered here. Reads wait
   * for afterApply: they read the engine.
   */
  appliedInBatch?(): void;
  /** An apply batch with this group's entries is written: answer its reads (and writers not answered in applied). */
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
  /** Ticks delivered to groups (a hibernating group takes none). */
  groupTicks: number;
  /** Apply batches that rode in a round's write instead of a write of their own. */
  applyRides: number;
  /** Engine writes issued (round writes, lone apply writes, snapshot installs; empty batches not counted). */
  writes: number;
  /** Raft messages handed to the transport. */
  messagesSent: number;
  /** Of those, MsgApps without entries (they carry only a commit index, or probe). */
  emptyAppendsSent: number;
  /** Readys found only by the periodic walk over every group: a RawNode call that did not report activity (should stay 0). */
  lateReadies: number;
}

/** A batch the rounds gather while a write is in flight. */
interface OpenBatch {
  batch: WriteBatch;
  work: Array<[LoopGroup, Ready]>;
  sync: boolean;
  /** Apply batches riding in this one: told when it lands (or fails). */
  riders: Array<{ resolve: () => void; reject: (e: Error) => void }>;
}

/** Timer firings per walk over the groups while all of them sleep (RaftLoop.onTickTimer). */
const IDLE_WALK_EVERY = 5;
/** Tick walks between two rounds that ask every group for a Ready (see RaftLoop.active). */
const SAFETY_WALK_TICKS = 250;

export class RaftLoop {
  private readonly groups = new Map<number, LoopGroup>();
  /** A snapshot round is under way: no other round runs until it is written. */
  private running = false;
  /** The batch the rounds gather into while a write is in flight (null: nothing gathered). */
  private open: OpenBatch | null = null;
  /** A write is in flight. */
  private writing = false;
  /** A write failed: nothing more is written. */
  private failed = false;
  /** Readys whose committed entries went to apply before their write (applyEarly). */
  private readonly queuedEarly = new Set<Ready>();
  /** Per group, Readys in flight whose committed entries wait for their write. */
  private readonly waitingCommitted = new Map<LoopGroup, number>();
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
  /** The write in flight settles (resolved either way): what stop() waits on. */
  private writeSettled: Promise<void> | null = null;
  readonly stats: LoopStats = { rounds: 0, readies: 0, entriesPersisted: 0, entriesApplied: 0, bytesWritten: 0, groupTicks: 0, applyRides: 0, writes: 0, messagesSent: 0, emptyAppendsSent: 0, lateReadies: 0 };

  constructor(
    private readonly engine: Engine,
    private readonly host: LoopHost,
  ) {}

  add(group: LoopGroup): void {
    this.groups.set(group.id, group);
    group.node.onActivity = () => this.active.add(group);
    this.active.add(group);
    this.schedule();
  }

  remove(id: number): void {
    const g = this.groups.get(id);
    if (g) this.active.delete(g);
    this.groups.delete(id);
  }

  get(id: number): LoopGroup | undefined {
    return this.groups.get(id);
  }

  all(): IterableIterator<LoopGroup> {
    return this.groups.values();
  }

  /**
   * One timer ticks every group, one tick per firing. A leader's lease
   * follows the monotonic clock: when the timer fires late (a busy event
   * loop), the ticks it missed go to the leader's lease clock, so a lease
   * never outlasts real time. Election clocks only run slow, which is safe
   * (a follower waits longer before voting anew; a leader steps down later,
   * and its lease does not depend on that). Were they caught up, every group
   * of an overloaded store would time out at once after each stall: followers
   * campaigned together, leaders stepped down before reading the answers
   * waiting in their sockets, and with thousands of regions at start-up
   * nothing stayed elected.
   */
  startTicking(tickMs: number): void {
    this.tickMs = tickMs;
    this.lastTickAt = performance.now();
    this.ticker = setInterval(() => this.onTickTimer(), tickMs);
  }

  private tickMs = 0;
  private lastTickAt = 0;
  /**
   * Every group slept at the last walk and nothing was scheduled since: the
   * timer walks only every IDLE_WALK_EVERY firings (10,000 sleeping groups
   * walked 50 times a second were the most of an idle store's CPU). A
   * group that wakes comes with a schedule(), and the walk after it gives
   * its lease clock the time missed, as after a stall.
   */
  private allAsleep = false;
  /**
   * Groups touched since the last round (RawNode.onActivity: a step, tick,
   * proposal, advance...): only they can have a Ready, so a round asks only
   * them. Walking 10,000 mostly sleeping groups per round cost a busy store
   * 12-25 % of its time. Every SAFETY_WALK_TICKS tick walks, every group is
   * asked anyway (stats.lateReadies counts what only that found: a missed
   * hook).
   */
  private active = new Set<LoopGroup>();
  private tickWalks = 0;
  private safetyWalk = false;
  private scheduledSinceWalk = false;
  private skippedWalks = 0;

  private onTickTimer(): void {
    if (this.allAsleep && !this.scheduledSinceWalk && ++this.skippedWalks < IDLE_WALK_EVERY) return;
    this.catchUpTicks();
  }

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
    let ticked = 0;
    for (const g of this.groups.values()) {
      // A hibernating group counts no time (raft.ts, hibernation): no tick, and no round for it.
      if (g.node.hibernating) continue;
      g.node.tick();
      ticked++;
      if (ticks > 1) g.node.elapseLease(ticks - 1);
    }
    this.stats.groupTicks += ticked;
    this.allAsleep = ticked === 0;
    if (++this.tickWalks % SAFETY_WALK_TICKS === 0) this.safetyWalk = true;
    this.scheduledSinceWalk = false;
    this.skippedWalks = 0;
    if (ticked > 0) this.schedule();
  }

  /** Something changed (a step, a proposal, a tick): run a round soon. */
  schedule(): void {
    this.scheduledSinceWalk = true;
    if (this.scheduled || this.stopped) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.round();
    });
  }

  /**
   * Stops taking new rounds and drains what is under way: Readys already
   * taken are written (their messages may be out), their committed entries
   * applied and written. Draining makes more work (a landed write hands
   * entries to apply, an apply batch rides in the next write), so it loops
   * until nothing is in flight, gathered or queued. Once it resolves the
   * loop makes no engine call of its own, and the engine may be closed.
   */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.ticker) clearInterval(this.ticker);
    for (;;) {
      if (!this.failed) {
        this.kickWrite();
        this.kickApply();
      }
      // After a failed write nothing more is written (fail() told the riders).
      const writes = !this.failed && (this.writing || this.open !== null || this.applyQueue.length > 0);
      if (this.applying) await this.applying;
      else if (this.writeSettled) await this.writeSettled;
      else if (this.running || writes) await new Promise((r) => setTimeout(r, 1));
      else break;
    }
    // Apply is idle for good: the disk holds every applied state.
    this.runQuietTasks();
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
    if (this.applying || this.applyQueue.length === 0 || this.failed) return;
    this.applying = this.applyAll().finally(() => {
      this.applying = null;
      if (this.applyQueue.length && !this.stopped) this.kickApply();
    });
  }

  /** Applies everything queued: one batch, one write (no fsync: the log is durable), then answers. */
  private async applyAll(): Promise<void> {
    try {
      while (this.applyQueue.length && !this.failed) {
        const items = this.applyQueue;
        this.applyQueue = [];
        const batch = new OverlayBatch(this.engine);
        for (const [g, entries] of items) {
          await g.apply(entries, batch);
          this.stats.entriesApplied += entries.length;
        }
        const groups = new Set(items.map(([g]) => g));
        for (const g of groups) g.appliedInBatch?.();
        if (trace.on) traceEvent('applied');
        // The writers just answered reach their sockets first (the RESP server
        // writes in a nextTick that their promise reactions queue, and Node
        // runs queued ticks before the microtask that resumes this function):
        // handing the batch to RocksDB's thread costs this thread syscalls.
        await new Promise<void>((resolve) => process.nextTick(resolve));
        // No sync needed: committed entries are durable in the log (on a
        // majority), and the applied index rides in this batch, so a crash
        // re-applies whatever this write lost.
        await this.writeApplied(batch.batch);
        for (const g of groups) g.afterApply();
        // The write landed and the next batch is not begun: a quiet point.
        this.runQuietTasks();
      }
    } catch (e) {
      this.fail(e as Error);
    }
  }

  /**
   * Writes an apply batch. With a round's write in flight it joins the batch
   * the rounds gather (written, atomically, as soon as the one in flight
   * lands); else it goes alone at once, unsynced. Riding is safe: the
   * entries it applies are already on disk here (a follower applies only
   * after its Ready's write, a leader only what its log holds durably), the
   * round's ops (log entries, hard states) and apply's (data, applied and
   * truncated index, log compaction of applied entries) touch different
   * keys, and apply builds its next batch only after this one landed.
   */
  private writeApplied(batch: WriteBatch): Promise<void> {
    if (batch.length === 0) return Promise.resolve();
    if (this.failed) return Promise.reject(new Error('the raft loop stopped after a failed write'));
    if (!this.writing) {
      this.stats.bytesWritten += batch.byteSize;
      this.stats.writes++;
      return this.engine.write(batch, false);
    }
    const open = (this.open ??= newOpenBatch());
    open.batch.append(batch);
    this.stats.applyRides++;
    return new Promise((resolve, reject) => open.riders.push({ resolve, reject }));
  }

  /** Resolves once every committed entry handed over so far is applied. */
  private async drainApply(): Promise<void> {
    while (this.applying || (this.applyQueue.length && !this.failed)) {
      this.kickApply();
      await this.applying;
    }
  }

  /**
   * One round: takes the Ready of every group with work, sends at once what
   * may go before the write (a leader's entries to its followers: it counts
   * itself toward the quorum only once its own write lands), and adds the
   * entries and hard states to the open batch. Writes go out one at a time
   * (RocksDB's threads could reorder two writes in flight, and a hard state
   * or a truncated log suffix must never land under an older one); while
   * one is in flight, further rounds gather into the next batch, which goes
   * out, with one sync, as soon as the previous lands.
   */
  private round(): void {
    if (this.stopped || this.running) return;
    const work: Array<[LoopGroup, Ready]> = [];
    const active = this.active;
    this.active = new Set();
    for (const g of active) {
      if (this.groups.get(g.id) === g && g.node.hasReady()) work.push([g, g.node.ready()]);
    }
    if (this.safetyWalk) {
      this.safetyWalk = false;
      for (const g of this.groups.values()) {
        if (active.has(g) || !g.node.hasReady()) continue;
        this.stats.lateReadies++;
        work.push([g, g.node.ready()]);
      }
    }
    if (work.length === 0) return;
    this.stats.rounds++;
    if (trace.on) traceRound(work);
    this.stats.readies += work.length;
    this.sendAll(work, (rd) => rd.messages);
    if (work.some(([, rd]) => rd.snapshot && rd.snapshot.meta.index > 0)) {
      void this.snapshotRound(work);
      return;
    }
    const open = (this.open ??= newOpenBatch());
    for (const [g, rd] of work) {
      if (rd.entries.length) {
        g.storage.append(rd.entries, open.batch);
        this.stats.entriesPersisted += rd.entries.length;
      }
      // A Ready that moves only the commit index writes nothing (see
      // PeerStorage.setCommit): its round then costs no RocksDB call unless
      // another group or an apply batch puts something in the batch.
      if (rd.hardState && (rd.entries.length || rd.mustSync)) g.storage.setHardState(rd.hardState, open.batch);
      else if (rd.hardState) g.storage.setCommit(rd.hardState, open.batch);
      else if (rd.entries.length && g.storage.commitUnsaved) g.storage.setHardState(g.storage.hardState, open.batch);
      open.sync ||= rd.mustSync;
      open.work.push([g, rd]);
      this.applyEarly(g, rd);
    }
    this.kickApply();
    this.kickWrite();
  }

  /**
   * Committed entries that are already on disk here (always so on a leader,
   * which commits only what it wrote) need not wait for this Ready's write:
   * they go to apply now, unless an older Ready of the group still holds
   * committed entries (apply keeps log order).
   */
  private applyEarly(g: LoopGroup, rd: Ready): void {
    const ents = rd.committedEntries;
    if (ents.length === 0) return;
    if (!this.waitingCommitted.has(g) && ents[ents.length - 1].index <= g.node.raft.log.stableLastIndex()) {
      this.applyQueue.push([g, ents]);
      this.queuedEarly.add(rd);
    } else {
      this.waitingCommitted.set(g, (this.waitingCommitted.get(g) ?? 0) + 1);
    }
  }

  /** Writes the open batch if no write is in flight. */
  private kickWrite(): void {
    if (this.writing || !this.open || this.failed) return;
    const w = this.open;
    this.open = null;
    this.writing = true;
    this.stats.bytesWritten += w.batch.byteSize;
    // A batch with nothing in it (Readys that only moved a commit index or
    // carried messages) makes no engine call; it still lands in order.
    if (w.batch.length) this.stats.writes++;
    if (trace.on) traceEvent(`write-start ops=${w.batch.length} sync=${w.sync}`);
    const written = w.batch.length ? this.engine.write(w.batch, w.sync) : Promise.resolve();
    this.writeSettled = written.then(
      () => {
        if (trace.on) traceEvent('write-landed');
        this.writing = false;
        this.writeSettled = null;
        for (const r of w.riders) r.resolve();
        // The next batch goes to disk at once; this one's followers-up run meanwhile.
        this.kickWrite();
        this.afterWrite(w.work);
        // Whatever arrived during the write is waiting; the round finds it
        // (one pass over the groups, not one here and one there).
        this.schedule();
      },
      (e: Error) => {
        this.writeSettled = null;
        for (const r of w.riders) r.reject(e);
        this.fail(e);
      },
    );
  }

  /** A write landed: send what waited for it, queue committed entries for apply, advance (in Ready order). */
  private afterWrite(work: Array<[LoopGroup, Ready]>): void {
    try {
      this.sendAll(work, (rd) => rd.persistedMessages);
      for (const [g, rd] of work) {
        g.afterPersist(rd);
        if (rd.committedEntries.length && !this.queuedEarly.delete(rd)) {
          this.applyQueue.push([g, rd.committedEntries]);
          const n = (this.waitingCommitted.get(g) ?? 1) - 1;
          if (n > 0) this.waitingCommitted.set(g, n);
          else this.waitingCommitted.delete(g);
        }
        g.node.advance(rd);
      }
      this.kickApply();
    } catch (e) {
      this.fail(e as Error);
    }
  }

  /**
   * A round with a received snapshot: the writes in flight land first, then
   * older committed entries are applied, then the snapshot replaces the
   * data in one synced write. No other round runs meanwhile.
   */
  private async snapshotRound(work: Array<[LoopGroup, Ready]>): Promise<void> {
    this.running = true;
    try {
      await this.flushWrites();
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
        if (rd.committedEntries.length) this.waitingCommitted.set(g, (this.waitingCommitted.get(g) ?? 0) + 1);
      }
      this.stats.bytesWritten += batch.batch.byteSize;
      this.stats.writes++;
      await this.engine.write(batch.batch, sync);
      if (this.installing) {
        this.installing = false;
        if (!this.applying) this.runQuietTasks();
      }
      this.afterWrite(work);
    } catch (e) {
      this.fail(e as Error);
      return;
    } finally {
      this.running = false;
    }
    this.schedule();
  }

  /** Resolves once no write is in flight or gathered. */
  private async flushWrites(): Promise<void> {
    while ((this.writing || this.open) && !this.failed) {
      this.kickWrite();
      await new Promise((r) => setImmediate(r));
    }
  }

  private fail(e: Error): void {
    if (this.failed) return;
    this.failed = true;
    this.stopped = true;
    // The gathered batch is never written: its riders (apply batches) fail with it.
    const open = this.open;
    this.open = null;
    for (const r of open?.riders ?? []) r.reject(e);
    this.host.fatal(e);
  }

  private sendAll(work: Array<[LoopGroup, Ready]>, pick: (rd: Ready) => Message[]): void {
    const out: Array<{ group: LoopGroup; message: Message }> = [];
    for (const [group, rd] of work) {
      for (const message of pick(rd)) {
        out.push({ group, message });
        if (message.type === MessageType.App && message.entries.length === 0) this.stats.emptyAppendsSent++;
      }
    }
    this.stats.messagesSent += out.length;
    if (out.length) this.host.send(out);
  }
}

function traceRound(work: Array<[LoopGroup, Ready]>): void {
  let entries = 0;
  let committed = 0;
  for (const [, rd] of work) {
    entries += rd.entries.length;
    committed += rd.committedEntries.length;
  }
  traceEvent(`round readies=${work.length} entries=${entries} committed=${committed}`);
}

function newOpenBatch(): OpenBatch {
  return { batch: new WriteBatch(), work: [], sync: false, riders: [] };
}
