// The meta's schedulers: they look at the map on the leader and create
// operators (creator "scheduler"), nothing else — the operators carry the
// work out as for a script (docs/meta.md, "Schedulers").
//
//   split-checker  — a region past split-max-keys or split-max-bytes (from its
//                    leader's heartbeat) is split at the slot that halves its
//                    keys (the leader's hint), else at its middle slot;
//   load-split     — a region serving more than load-split-qps commands a
//                    second and more than load-split-share % of its leader
//                    store's commands, for load-split-seconds in a row, is
//                    split (at the keys' halving slot, else the middle);
//   leader-balance — when the up store that leads the most regions leads more
//                    than leader-balance-tolerance above the one that leads
//                    the fewest, one leader moves from the first to the second;
//   replica-checker  — a replica on a dead store (silent for longer than
//                    store-down-seconds), a draining one (STORE REMOVE) or a
//                    removed one is moved to the best up store: the one with
//                    the fewest replicas that has none of the region;
//   region-balance   — when the up store with the most replicas holds more
//                    than region-balance-tolerance above the one with the
//                    fewest (a store that just joined), a replica moves from
//                    the first to the second;
//   merge-checker    — two adjacent regions on the same stores, both under
//                    merge-max-keys and merge-max-bytes (and together under the
//                    split thresholds, so the merged region is not split
//                    again), neither hot, are merged: the smaller into the other.
// Replica moves run at most store-move-limit at once per store (as source or
// target), so a repair, drain or rebalance never floods one store with snapshots.
import { mergeRefusal, pb } from '@redraft/common';
import { SCHEDULERS, type SchedulerName } from './config';
import type { MetaStateMachine, RegionRec, StoreRec } from './state';

/** Split operators one round may create at most. */
const SPLITS_PER_ROUND = 4;
/** Replica moves one round may create at most. */
const MOVES_PER_ROUND = 4;
/** Merge operators one round may create at most. */
const MERGES_PER_ROUND = 2;

/** Why a store cannot keep its replicas: dead (silent too long), draining or removed; undefined if healthy. */
export function storeLeaving(s: StoreRec | undefined, nowMs: number, downMs: number, leaderForMs: number): string | undefined {
  if (!s || s.state === pb.StoreState.TOMBSTONE) return 'removed';
  if (s.draining) return 'draining';
  if (leaderForMs >= downMs && nowMs - s.lastHeartbeatMs > downMs) return `silent for ${Math.round((nowMs - s.lastHeartbeatMs) / 1000)} s`;
  return undefined;
}

/** Running replica moves per store (as source or target). */
function movesPerStore(sm: MetaStateMachine): Map<number, number> {
  const out = new Map<number, number>();
  const add = (id: number) => out.set(id, (out.get(id) ?? 0) + 1);
  for (const o of sm.operatorList()) {
    if (o.state !== pb.OperatorState.OP_RUNNING || o.kind !== pb.OperatorKind.OP_MOVE_REGION) continue;
    for (const s of o.steps) {
      if (s.addLearner) add(Number(s.addLearner.storeId));
      if (s.removePeer) add(Number(s.removePeer.storeId));
    }
  }
  return out;
}

export interface SchedulerContext {
  sm: MetaStateMachine;
  /** How long this replica has led: a store's silence means something only after it has had time to hear from it. */
  leaderForMs(): number;
  /** Voters per region (--replicas). */
  replicas(): number;
  /** Proposes a CreateOperator; resolves when applied (or rejects). */
  create(op: pb.CreateOperator.$Properties): Promise<unknown>;
  log(obj: object, msg: string): void;
}

export function schedulerEnabled(sm: MetaStateMachine, name: SchedulerName): boolean {
  return sm.setting(SCHEDULERS[name]) === 'on';
}

/** The slot a size split cuts at: the leader's hint if it is inside the region, else the middle. */
export function splitSlotFor(r: RegionRec): number {
  const { startSlot, endSlot } = r.region;
  const hint = r.splitSlotHint;
  return hint > startSlot && hint < endSlot ? hint : Math.floor((startSlot + endSlot) / 2);
}

export class Schedulers {
  /** Regions with a proposal of ours in flight (not yet applied). */
  private readonly proposing = new Set<number>();

  constructor(private readonly ctx: SchedulerContext) {}

  /** One round on the leader. */
  run(): void {
    if (!this.ctx.sm.bootstrapped) return;
    if (schedulerEnabled(this.ctx.sm, 'split-checker')) this.checkSplits();
    if (schedulerEnabled(this.ctx.sm, 'load-split')) this.checkLoad(Date.now());
    else this.hotSince.clear();
    if (schedulerEnabled(this.ctx.sm, 'leader-balance')) this.balanceLeaders();
    const moves = { created: 0, perStore: movesPerStore(this.ctx.sm) };
    if (schedulerEnabled(this.ctx.sm, 'replica-checker')) this.checkReplicas(Date.now(), moves);
    if (schedulerEnabled(this.ctx.sm, 'region-balance')) this.balanceRegions(Date.now(), moves);
    if (schedulerEnabled(this.ctx.sm, 'merge-checker')) this.checkMerges();
  }

  /** Adjacent small regions on the same stores: the smaller merges into the other (docs/decisions.md, "Region merge"). */
  private checkMerges(): void {
    const sm = this.ctx.sm;
    const maxKeys = Number(sm.setting('merge-max-keys'));
    const maxBytes = Number(sm.setting('merge-max-bytes'));
    const splitKeys = Number(sm.setting('split-max-keys'));
    const splitBytes = Number(sm.setting('split-max-bytes'));
    const hotQps = Number(sm.setting('load-split-qps'));
    const free = (r: RegionRec) => !!r.leaderStoreId && !this.proposing.has(r.region.id) && !sm.runningOperatorOf(r.region.id);
    const small = (r: RegionRec) => r.approximateKeys < maxKeys && r.approximateBytes < maxBytes && !(hotQps > 0 && r.qps > hotQps);
    const regions = [...sm.regionList()].sort((a, b) => a.region.startSlot - b.region.startSlot);
    let created = 0;
    for (let i = 0; i + 1 < regions.length && created < MERGES_PER_ROUND; i++) {
      const [a, b] = [regions[i], regions[i + 1]];
      if (!free(a) || !free(b) || !small(a) || !small(b) || mergeRefusal(a.region, b.region)) continue;
      if (splitKeys > 0 && a.approximateKeys + b.approximateKeys >= splitKeys) continue;
      if (splitBytes > 0 && a.approximateBytes + b.approximateBytes >= splitBytes) continue;
      const [source, target] = a.approximateBytes <= b.approximateBytes ? [a, b] : [b, a];
      this.propose(source.region.id, { kind: pb.OperatorKind.OP_MERGE, mergeTarget: target.region.id }, `regions ${a.region.id} and ${b.region.id} are small (${a.approximateKeys}+${b.approximateKeys} keys, ${a.approximateBytes}+${b.approximateBytes} bytes)`, [target.region.id]);
      created++;
      i++; // b is taken
    }
  }

  /** Up stores that may take a replica, with their replica counts in the map. */
  private targets(nowMs: number): Map<number, number> {
    const sm = this.ctx.sm;
    const downMs = Number(sm.setting('store-down-seconds')) * 1000;
    const out = new Map<number, number>();
    for (const s of sm.storeList()) {
      if (s.state !== pb.StoreState.UP || storeLeaving(s, nowMs, downMs, this.ctx.leaderForMs())) continue;
      out.set(s.id, sm.replicaCount(s.id));
    }
    return out;
  }

  /** A move of `regionId`'s replica from → to, if neither store is at its limit; counts it. */
  private proposeMove(regionId: number, from: number, to: number, moves: { created: number; perStore: Map<number, number> }, why: string): boolean {
    const limit = Math.max(1, Number(this.ctx.sm.setting('store-move-limit')));
    if ((moves.perStore.get(from) ?? 0) >= limit || (moves.perStore.get(to) ?? 0) >= limit) return false;
    moves.perStore.set(from, (moves.perStore.get(from) ?? 0) + 1);
    moves.perStore.set(to, (moves.perStore.get(to) ?? 0) + 1);
    moves.created++;
    this.propose(regionId, { kind: pb.OperatorKind.OP_MOVE_REGION, fromStore: from, toStore: to }, why);
    return true;
  }

  /**
   * Replicas on dead, draining or removed stores move to the up store with
   * the fewest replicas. A replica too many (a learner, or a voter above
   * --replicas, left by a move that timed out or was cancelled) is removed.
   */
  private checkReplicas(nowMs: number, moves: { created: number; perStore: Map<number, number> }): void {
    const sm = this.ctx.sm;
    const downMs = Number(sm.setting('store-down-seconds')) * 1000;
    const targets = this.targets(nowMs);
    for (const r of sm.regionList()) {
      if (moves.created >= MOVES_PER_ROUND) return;
      const id = r.region.id;
      if (!r.leaderStoreId || this.proposing.has(id) || sm.runningOperatorOf(id)) continue;
      const extra = this.extraPeer(r);
      if (extra) {
        moves.created++;
        this.propose(id, { kind: pb.OperatorKind.OP_REMOVE_PEER, fromStore: extra.storeId }, `an extra ${extra.role === pb.PeerRole.LEARNER ? 'learner' : 'voter'} on store ${extra.storeId}`);
        continue;
      }
      for (const p of r.region.peers) {
        const why = storeLeaving(sm.store(p.storeId), nowMs, downMs, this.ctx.leaderForMs());
        if (!why) continue;
        const to = [...targets].filter(([s]) => !r.region.peers.some((q) => q.storeId === s)).sort((a, b) => a[1] - b[1] || a[0] - b[0])[0];
        if (to && this.proposeMove(id, p.storeId, to[0], moves, `replica on store ${p.storeId} (${why})`)) targets.set(to[0], to[1] + 1);
        break; // one move per region at a time
      }
    }
  }

  /** A learner with no operator to promote it, or a voter above the replica count (not the leader; the fullest store's). */
  private extraPeer(r: RegionRec): { storeId: number; role: pb.PeerRole } | undefined {
    const learner = r.region.peers.find((p) => p.role === pb.PeerRole.LEARNER);
    if (learner) return learner;
    const voters = r.region.peers.filter((p) => p.role === pb.PeerRole.VOTER);
    if (voters.length <= this.ctx.replicas()) return undefined;
    return voters.filter((p) => p.storeId !== r.leaderStoreId).sort((a, b) => this.ctx.sm.replicaCount(b.storeId) - this.ctx.sm.replicaCount(a.storeId) || b.storeId - a.storeId)[0];
  }

  /** A replica from the up store with the most to the one with the fewest, while they differ by more than the tolerance. */
  private balanceRegions(nowMs: number, moves: { created: number; perStore: Map<number, number> }): void {
    const sm = this.ctx.sm;
    const counts = this.targets(nowMs);
    if (counts.size < 2) return;
    const tolerance = Math.max(1, Number(sm.setting('region-balance-tolerance')));
    const downMs = Number(sm.setting('store-down-seconds')) * 1000;
    while (moves.created < MOVES_PER_ROUND) {
      const byCount = [...counts].sort((a, b) => a[1] - b[1] || a[0] - b[0]);
      const [minStore, min] = byCount[0];
      const [maxStore, max] = byCount[byCount.length - 1];
      if (max - min <= tolerance) return;
      // A region on the fullest store, not on the emptiest, every replica healthy (the checker repairs the others).
      const region = sm.regionList().find(
        (r) =>
          r.leaderStoreId &&
          !this.proposing.has(r.region.id) &&
          !sm.runningOperatorOf(r.region.id) &&
          r.region.peers.some((p) => p.storeId === maxStore) &&
          !r.region.peers.some((p) => p.storeId === minStore) &&
          r.region.peers.every((p) => !storeLeaving(sm.store(p.storeId), nowMs, downMs, this.ctx.leaderForMs())),
      );
      if (!region || !this.proposeMove(region.region.id, maxStore, minStore, moves, `replicas ${max} on store ${maxStore} vs ${min} on store ${minStore}`)) return;
      counts.set(maxStore, max - 1);
      counts.set(minStore, min + 1);
    }
  }

  /** Creates the operator; `regionId` (and `alsoBusy`: a merge's target) take no other one meanwhile. */
  private propose(regionId: number, op: pb.CreateOperator.$Properties, why: string, alsoBusy: number[] = []): void {
    const ids = [regionId, ...alsoBusy];
    for (const id of ids) this.proposing.add(id);
    this.ctx
      .create({ ...op, regionId, creator: pb.OperatorCreator.BY_SCHEDULER })
      .then(() => this.ctx.log({ regionId, why }, 'scheduler created an operator'))
      .catch((e) => this.ctx.log({ regionId, err: (e as Error).message }, 'scheduler operator not created'))
      .finally(() => {
        for (const id of ids) this.proposing.delete(id);
      });
  }

  private checkSplits(): void {
    const sm = this.ctx.sm;
    const maxKeys = Number(sm.setting('split-max-keys'));
    const maxBytes = Number(sm.setting('split-max-bytes'));
    let created = 0;
    for (const r of sm.regionList()) {
      if (created >= SPLITS_PER_ROUND) break;
      const id = r.region.id;
      if (r.region.endSlot - r.region.startSlot < 2 || !r.leaderStoreId || this.proposing.has(id) || sm.runningOperatorOf(id)) continue;
      const byKeys = maxKeys > 0 && r.approximateKeys > maxKeys;
      const byBytes = maxBytes > 0 && r.approximateBytes > maxBytes;
      if (!byKeys && !byBytes) continue;
      const slot = splitSlotFor(r);
      this.propose(id, { kind: pb.OperatorKind.OP_SPLIT, splitSlot: slot }, byKeys ? `${r.approximateKeys} keys > ${maxKeys}` : `${r.approximateBytes} bytes > ${maxBytes}`);
      created++;
    }
  }

  /** Since when each region has been hot (leader-local memory: a new leader starts counting again). */
  private readonly hotSince = new Map<number, number>();

  private checkLoad(now: number): void {
    const sm = this.ctx.sm;
    const minQps = Number(sm.setting('load-split-qps'));
    const share = Number(sm.setting('load-split-share')) / 100;
    const holdMs = Number(sm.setting('load-split-seconds')) * 1000;
    const storeQps = new Map<number, number>();
    for (const r of sm.regionList()) storeQps.set(r.leaderStoreId, (storeQps.get(r.leaderStoreId) ?? 0) + r.qps);
    const hot = new Set<number>();
    for (const r of sm.regionList()) {
      const id = r.region.id;
      const total = storeQps.get(r.leaderStoreId) ?? 0;
      if (!r.leaderStoreId || r.qps <= minQps || r.qps <= share * total || r.region.endSlot - r.region.startSlot < 2) continue;
      hot.add(id);
      const since = this.hotSince.get(id) ?? now;
      this.hotSince.set(id, since);
      if (now - since < holdMs || this.proposing.has(id) || sm.runningOperatorOf(id)) continue;
      this.hotSince.delete(id);
      this.propose(id, { kind: pb.OperatorKind.OP_SPLIT, splitSlot: splitSlotFor(r) }, `${r.qps} commands/s, ${Math.round((100 * r.qps) / Math.max(1, total))}% of store ${r.leaderStoreId}'s, for ${Math.round((now - since) / 1000)} s`);
    }
    for (const id of [...this.hotSince.keys()]) if (!hot.has(id)) this.hotSince.delete(id);
  }

  private balanceLeaders(): void {
    const sm = this.ctx.sm;
    // One move at a time: the next is decided on the map that shows the last one.
    if (this.proposing.size > 0) return;
    if (sm.operatorList().some((o) => o.state === pb.OperatorState.OP_RUNNING && o.kind === pb.OperatorKind.OP_TRANSFER_LEADER && o.creator === pb.OperatorCreator.BY_SCHEDULER)) return;
    const up = sm.storeList().filter((s) => s.state === pb.StoreState.UP);
    if (up.length < 2) return;
    const led = new Map<number, RegionRec[]>(up.map((s) => [s.id, []]));
    for (const r of sm.regionList()) led.get(r.leaderStoreId)?.push(r);
    const byCount = [...led].sort((a, b) => a[1].length - b[1].length || a[0] - b[0]);
    const tolerance = Math.max(1, Number(sm.setting('leader-balance-tolerance')));
    const [minStore, minLed] = byCount[0];
    const [, maxLed] = byCount[byCount.length - 1];
    if (maxLed.length - minLed.length <= tolerance) return;
    const region = maxLed.find(
      (r) => !sm.runningOperatorOf(r.region.id) && r.region.peers.some((p) => p.storeId === minStore && p.role === pb.PeerRole.VOTER),
    );
    if (!region) return;
    this.propose(region.region.id, { kind: pb.OperatorKind.OP_TRANSFER_LEADER, transferToStore: minStore }, `leaders ${maxLed.length} vs ${minLed.length} on store ${minStore}`);
  }
}
