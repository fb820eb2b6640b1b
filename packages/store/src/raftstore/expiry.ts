// Active expiry and reclaim of stale collection members, on each region's
// leader (docs/expiry.md). Every 100 ms, for every region this store leads:
//
// 1. Expiry. The slots whose hint (data/expiry-hints.ts) says something may
//    be due are range-scanned in the expiry index ('z'|slot|'e'|expireAt|key);
//    the due keys, with the expiry the leader saw, go through Raft in one
//    ExpireKeys entry (at most KEYS_PER_ENTRY). Apply deletes a key only if
//    it is still expired at the entry's time. As in Redis, a region that
//    filled a whole entry (or had more due slots than a round reads) runs
//    again at once (up to FAST_ROUNDS, within FAST_BUDGET_MS), so a burst of
//    expiries drains quickly.
// 2. Sweep. A cursor walks the region's rows a bounded number at a time;
//    the rows of a (key, version) whose key no longer holds that version
//    (DEL, overwrite, expiry) are reclaimed through Raft in a Reclaim entry,
//    which apply checks again and which deletes the rows the sweep saw.
//
// Nothing here decides anything for the replicas: scans read the leader's
// local state, and apply re-checks every key against the replicated state.
import { counterOf, dataRange, decodeCollectionRow, decodeExpireIndexKey, isExpireIndexKey, keySlot, metaKey, slotExpireRange } from '@redraft/common';
import type { Engine, Logger, Registry, Reply, pb } from '@redraft/common';
import { expiryApplied } from '../apply/keys';
import { KeyType, decodeMeta } from '../data/meta';
import { dueSlots, hasUnknownSlots, lowerHint, markSlotsKnown, noteExpiry, resetHint } from '../data/expiry-hints';

/** Keys one ExpireKeys entry carries at most (Redis samples 20 per round; an entry is cheaper than a round trip). */
export const KEYS_PER_ENTRY = 500;
/** Key bytes one entry carries at most. */
const KEY_BYTES_PER_ENTRY = 256 * 1024;
/** Due slots scanned per round at most: each costs a RocksDB iterator, made synchronously at the quiet point (~40 µs). */
const SLOTS_PER_ROUND = 256;
/** Extra rounds in one tick for a region whose round filled a whole entry or left due slots unread. */
const FAST_ROUNDS = 16;
const FAST_BUDGET_MS = 25;
/**
 * Rows the sweep reads per region per tick: few while it finds nothing
 * (each row read costs ~50 µs of a RocksDB thread), more after a tick that
 * found dead rows. One Reclaim entry names at most RECLAIM_BYTES of rows.
 */
const SWEEP_ROWS_IDLE = 512;
const SWEEP_ROWS_BUSY = 4096;
const RECLAIM_BYTES = 512 * 1024;
/** Rows all the sweeps of one tick read together at most (a store may lead hundreds of regions). */
const SWEEP_ROWS_PER_TICK = 8192;
/** Reclaimed rows after which this store compacts their spans (their tombstones would slow scans nearby). */
const COMPACT_AFTER_ROWS = 50_000;
/**
 * A region whose sweep finished a pass finding nothing rests at least this
 * long, and until it applies something: a busy region's sweep then reads at
 * most one pass per rest, not 5k rows a second for ever.
 */
const SWEEP_REST_MS = 5000;

/** Ticks between two clean-ups of the states of regions no longer led here. */
const STATES_CLEANUP_EVERY = 50;

/** What the cycle needs of a region replica (RegionPeer, or the standalone LocalRegion). */
export interface ExpiryRegion {
  readonly id: number;
  readonly startSlot: number;
  readonly endSlot: number;
  readonly isLeader: boolean;
  readonly applied: number;
  propose(cmd: pb.WriteCommand.$Properties): Promise<Reply>;
}

export interface ExpiryHost {
  readonly engine: Engine;
  readonly log: Logger;
  regions(): Iterable<ExpiryRegion>;
  /** Runs `task` when the disk holds every applied write (RaftStore.atQuietMoment). */
  atQuietMoment<T>(task: () => T): Promise<T>;
  /** Told of each key an ExpireKeys entry removed, once applied (keyspace notifications' `expired`). */
  onExpired?(key: Buffer): void;
}

interface RegionState {
  /** Where the next expiry round starts looking (slots are visited in turn). */
  nextSlot: number;
  /** The sweep's next row; null: the start of the region. */
  sweepFrom: Buffer | null;
  /** Rows the next sweep step reads. */
  sweepRows: number;
  /** The slot of the last row the sweep read in this pass (the slots before it were read whole). */
  sweepSlot: number;
  /** When a pass that found nothing ended, and the applied index then. */
  restingSince: number;
  restingApplied: number;
}

export class ExpiryCycle {
  /** Keys this store's leaders removed because they expired (INFO expired_keys). */
  expiredKeys = 0;
  /** Stale member rows this store's leaders reclaimed. */
  reclaimedRows = 0;
  /** Expiry and reclaim entries proposed (each one log entry). */
  entriesProposed = 0;
  private readonly states = new Map<number, RegionState>();
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private stopped = false;

  private readonly intervalMs: number;
  private readonly fastBudgetMs: number;

  constructor(private readonly host: ExpiryHost, opts: { intervalMs?: number; fastBudgetMs?: number } = {}) {
    this.intervalMs = opts.intervalMs ?? 100;
    this.fastBudgetMs = opts.fastBudgetMs ?? FAST_BUDGET_MS;
  }

  start(): void {
    this.timer = setInterval(() => void this.tick(), this.intervalMs);
    this.timer.unref?.();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
  }

  /** One cycle over every led region (skipped while the previous one runs). */
  async tick(): Promise<void> {
    if (this.running || this.stopped) return;
    this.running = true;
    try {
      await this.maybeCompact();
      const led: ExpiryRegion[] = [];
      for (const r of this.host.regions()) if (r.isLeader && r.endSlot > r.startSlot) led.push(r);
      // The states of regions no longer led here go now and then (a set of every led region each tick was a cost of its own).
      if (this.turn % STATES_CLEANUP_EVERY === 0) {
        const ids = new Set(led.map((r) => r.id));
        for (const id of this.states.keys()) if (!ids.has(id)) this.states.delete(id);
      }
      // Regions take turns at the front: the sweep's rows per tick are shared by the whole store.
      this.sweepBudget = SWEEP_ROWS_PER_TICK;
      const first = led.length ? this.turn % led.length : 0;
      this.turn++;
      for (let i = 0; i < led.length; i++) {
        const r = led[(first + i) % led.length];
        if (this.stopped) break;
        // Most regions of a big store have nothing due and a resting sweep:
        // checked here without a call into the async cycle (at 10,000
        // regions those calls were the most of an idle store's CPU).
        if (!this.mayHaveWork(r)) continue;
        try {
          await this.cycleRegion(r);
        } catch (e) {
          // Not leader any more, a split meanwhile, shutting down: the next leader's cycle goes on.
          this.host.log.debug({ regionId: r.id, err: (e as Error).message }, 'expiry cycle round not applied');
        }
      }
    } finally {
      this.running = false;
    }
  }

  private rowsAtLastCompaction = 0;
  /** Rows the sweeps of this tick may still read (all regions together), and whose turn is first. */
  private sweepBudget = 0;
  private turn = 0;

  /**
   * Every replica (leader or not) compacts the spans its applied Reclaim
   * entries emptied, once enough rows went: local housekeeping of RocksDB,
   * no logical change. A scan that ends just before a long run of
   * tombstones would otherwise walk the whole run (the binding gives its
   * iterators no upper bound), e.g. the expiry scans of a big DEL's slot.
   */
  private async maybeCompact(): Promise<void> {
    const spans = expiryApplied.reclaimedSpans;
    if (!this.host.engine.compactRange || expiryApplied.reclaimedRows - this.rowsAtLastCompaction < COMPACT_AFTER_ROWS) return;
    this.rowsAtLastCompaction = expiryApplied.reclaimedRows;
    // The spans of big reclaimed collections only: a few scattered tombstones cost nothing.
    const big = [...spans.values()].filter((x) => x.rows >= COMPACT_AFTER_ROWS / 10);
    spans.clear();
    for (const { lo, hi } of big) {
      const started = Date.now();
      await this.host.engine.compactRange(lo, hi).catch((e) => this.host.log.warn({ err: (e as Error).message }, 'compaction of reclaimed rows failed'));
      this.host.log.info({ ms: Date.now() - started }, 'compacted the span of a reclaimed collection');
    }
  }

  private state(r: ExpiryRegion): RegionState {
    let s = this.states.get(r.id);
    if (!s) this.states.set(r.id, (s = { nextSlot: r.startSlot, sweepFrom: null, sweepRows: SWEEP_ROWS_IDLE, sweepSlot: r.startSlot, restingSince: 0, restingApplied: -1 }));
    return s;
  }

  /** Whether a cycle of this region could do anything: a slot due, or a sweep not resting. */
  private mayHaveWork(r: ExpiryRegion): boolean {
    if (dueSlots(r.startSlot, r.endSlot, Date.now(), r.startSlot, 1).length > 0) return true;
    if (this.sweepBudget <= 0) return false;
    return !this.sweepResting(r);
  }

  /** The sweep has nothing to do now: it found nothing new lately (or nothing was applied since) and every slot was read here. */
  private sweepResting(r: ExpiryRegion): boolean {
    const st = this.state(r);
    return (st.restingApplied === r.applied || Date.now() - st.restingSince < SWEEP_REST_MS) && !hasUnknownSlots(r.startSlot, r.endSlot);
  }

  private async cycleRegion(r: ExpiryRegion): Promise<void> {
    const started = Date.now();
    for (let round = 0; round <= FAST_ROUNDS; round++) {
      const more = await this.expireOnce(r);
      if (!more || Date.now() - started > this.fastBudgetMs || !r.isLeader) break;
    }
    if (r.isLeader && this.sweepBudget > 0) await this.sweepOnce(r);
  }

  /**
   * The keys an applied ExpireKeys entry removed: all of them when the count
   * says so, else those whose metadata row is gone now (apply answers only
   * a count; a key re-created since may be missed, an event is best effort).
   */
  private async tellExpired(keys: Buffer[], removed: number): Promise<void> {
    for (const key of keys) {
      if (removed < keys.length && (await this.host.engine.get(metaKey(keySlot(key), key))) !== undefined) continue;
      this.host.onExpired!(key);
    }
  }

  /** One expiry round: scans due slots, proposes one ExpireKeys entry. True when more may be due (entry full, or slots left unread). */
  async expireOnce(r: ExpiryRegion): Promise<boolean> {
    const st = this.state(r);
    const now = Date.now();
    const slots = dueSlots(r.startSlot, r.endSlot, now, st.nextSlot, SLOTS_PER_ROUND);
    if (slots.length === 0) return false;
    st.nextSlot = Math.max(...slots) + 1;
    // The iterators are made at a quiet point, where the disk holds every
    // applied write: a slot's hint is reset there, so an expiry applied
    // after it lowers the hint again and none is ever lost to a scan that
    // could not see it yet.
    const { engine } = this.host;
    const scans = await this.host.atQuietMoment(() =>
      slots.map((slot) => {
        resetHint(slot);
        const [gte, lt] = slotExpireRange(slot);
        const it = engine.scan({ gte, lt, keysOnly: true, limit: KEYS_PER_ENTRY + 1 })[Symbol.asyncIterator]();
        return { slot, it, first: it.next() }; // next() creates the RocksDB iterator now
      }),
    );
    const keys: Buffer[] = [];
    const expireAtMs: number[] = [];
    let bytes = 0;
    let full = false;
    for (const { slot, it, first } of scans) {
      try {
        if (full) {
          await first;
          lowerHint(slot, 0); // not looked at this round: look again
          continue;
        }
        for (let step = await first; !step.done; step = await it.next()) {
          const row = decodeExpireIndexKey(step.value[0]);
          if (row.expireAt >= now) {
            lowerHint(slot, row.expireAt); // isExpired: a key lives through its expiry millisecond
            break;
          }
          if (keys.length >= KEYS_PER_ENTRY || bytes >= KEY_BYTES_PER_ENTRY) {
            full = true;
            st.nextSlot = slot; // the next round goes on from here
            lowerHint(slot, row.expireAt);
            break;
          }
          keys.push(Buffer.from(row.key));
          expireAtMs.push(row.expireAt);
          bytes += row.key.length;
        }
      } finally {
        await it.return?.();
      }
    }
    const more = full || slots.length >= SLOTS_PER_ROUND;
    if (keys.length === 0) return more;
    try {
      this.entriesProposed++;
      const removed = await r.propose({ proposedAtMs: Date.now(), expireKeys: { keys, expireAtMs } });
      if (typeof removed === 'number') this.expiredKeys += removed;
      if (typeof removed === 'number' && removed > 0 && this.host.onExpired) await this.tellExpired(keys, removed);
    } catch (e) {
      // Not applied (or unknown): the keys stay due; their slots are looked at again.
      for (const k of keys) lowerHint(keySlot(k), 0);
      throw e;
    }
    return more;
  }

  /**
   * One sweep step: reads up to `sweepRows` rows on from the cursor and
   * proposes one Reclaim entry naming the rows of dead collections among
   * them. The cursor always moves on, so no scan walks again over the
   * tombstones of rows already reclaimed; a step that found dead rows makes
   * the next one read more.
   */
  async sweepOnce(r: ExpiryRegion): Promise<void> {
    if (this.sweepResting(r)) return;
    const st = this.state(r);
    const [regionStart, regionEnd] = dataRange(r.startSlot, r.endSlot);
    const resume = st.sweepFrom && Buffer.compare(st.sweepFrom, regionStart) >= 0 && Buffer.compare(st.sweepFrom, regionEnd) < 0;
    const from = resume ? st.sweepFrom! : regionStart;
    if (!resume) st.sweepSlot = r.startSlot;
    const appliedAtStart = r.applied;
    // Busy while some slot was never read here: the sweep is what finds their expiries (expiry-hints.ts).
    const limit = Math.min(this.sweepBudget, hasUnknownSlots(r.startSlot, r.endSlot) ? SWEEP_ROWS_BUSY : st.sweepRows);
    const keys: Buffer[] = [];
    const versions: number[] = [];
    const rowCounts: number[] = [];
    const dead: Buffer[] = [];
    let bytes = 0;
    let last: Buffer | null = null;
    let rows = 0;
    let group: Buffer | null = null;
    let groupDead = false;
    for await (const [k] of this.host.engine.scan({ gte: from, lt: regionEnd, keysOnly: true, limit })) {
      rows++;
      last = k;
      const slot = k.readUInt16BE(1);
      if (slot > st.sweepSlot) {
        markSlotsKnown(st.sweepSlot, slot); // every row of those slots was read in this pass
        st.sweepSlot = slot;
      }
      if (isExpireIndexKey(k)) noteExpiry(slot, decodeExpireIndexKey(k).expireAt);
      const row = decodeCollectionRow(k);
      if (row && (!group || !row.prefix.equals(group))) {
        // A new (key, version) group: its member rows, or its score rows (a zset's come first).
        group = Buffer.from(row.prefix);
        groupDead = !(await this.isLive(row.key, row.slot, row.version));
        if (groupDead) {
          keys.push(Buffer.from(row.key));
          versions.push(row.version);
          rowCounts.push(0);
        }
      }
      if (row && groupDead) {
        dead.push(k);
        rowCounts[rowCounts.length - 1]++;
        bytes += k.length;
        if (bytes >= RECLAIM_BYTES) break;
      }
    }
    this.sweepBudget -= rows;
    st.sweepRows = dead.length > 0 ? SWEEP_ROWS_BUSY : SWEEP_ROWS_IDLE;
    if ((rows >= limit || bytes >= RECLAIM_BYTES) && last) {
      st.sweepFrom = Buffer.concat([last, Buffer.from([0])]);
    } else {
      st.sweepFrom = null; // the end of the region: the next pass starts over
      markSlotsKnown(st.sweepSlot, r.endSlot);
      st.sweepSlot = r.startSlot;
      if (dead.length === 0) {
        // A whole pass found nothing: rest until something is applied.
        st.restingSince = Date.now();
        st.restingApplied = appliedAtStart;
        return;
      }
    }
    if (dead.length === 0) return;
    this.entriesProposed++;
    const reclaimed = await r.propose({ proposedAtMs: Date.now(), reclaim: { keys, versions, rowCounts, rows: dead } });
    if (typeof reclaimed === 'number') this.reclaimedRows += reclaimed;
  }

  /** The key's metadata holds this collection version (the leader's local view; apply checks again). */
  private async isLive(key: Buffer, slot: number, version: number): Promise<boolean> {
    const raw = await this.host.engine.get(metaKey(slot, key));
    if (!raw) return false;
    const meta = decodeMeta(raw);
    return meta.type !== KeyType.String && meta.version === version;
  }
}

/** Prometheus counters of the cycle (this store as leader) and of its entries applied here (every replica). */
export function registerExpiryMetrics(r: Registry, cycle: () => ExpiryCycle | undefined): void {
  counterOf(r, 'redraft_store_expired_keys_total', 'Keys the expiry cycle of this store\'s leaders removed.', () => cycle()?.expiredKeys ?? 0);
  counterOf(r, 'redraft_store_expiry_entries_proposed_total', 'ExpireKeys and Reclaim entries proposed by this store\'s leaders.', () => cycle()?.entriesProposed ?? 0);
  counterOf(r, 'redraft_store_expiry_applied_keys_total', 'Keys removed by applied ExpireKeys entries on this store (every replica).', () => expiryApplied.keys);
  counterOf(r, 'redraft_store_reclaimed_rows_total', 'Stale collection rows removed by applied Reclaim entries on this store (every replica).', () => expiryApplied.reclaimedRows);
}
