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
//                    the fewest, one leader moves from the first to the second.
import { pb } from '@redraft/common';
import { SCHEDULERS, type SchedulerName } from './config';
import type { MetaStateMachine, RegionRec } from './state';

/** Split operators one round may create at most. */
const SPLITS_PER_ROUND = 4;

export interface SchedulerContext {
  sm: MetaStateMachine;
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
  }

  private propose(regionId: number, op: pb.CreateOperator.$Properties, why: string): void {
    this.proposing.add(regionId);
    this.ctx
      .create({ ...op, regionId, creator: pb.OperatorCreator.BY_SCHEDULER })
      .then(() => this.ctx.log({ regionId, why }, 'scheduler created an operator'))
      .catch((e) => this.ctx.log({ regionId, err: (e as Error).message }, 'scheduler operator not created'))
      .finally(() => this.proposing.delete(regionId));
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
