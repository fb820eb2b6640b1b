// The meta group's state machine: the cluster map. Pure and deterministic:
// apply() reads nothing but the command and the state (time comes from the
// command's proposed_at_ms, ids from the state's own allocator), so every meta
// replica that applies the same log holds the same map.
//
// What it holds: stores (id, addresses, up/down, stats, last heartbeat),
// regions (descriptor with the newest epoch seen, leader, stats), the id
// allocator, whether the cluster is bootstrapped, and `version`, which rises
// on every change a router cares about (see docs/meta.md).
import { BOOTSTRAP_EPOCH, SLOT_COUNT, SlotMap, compareEpoch, epochOf, isEpochStale, mergeRefusal, pb, regionFromPb, regionToPb, regionsOverlap } from '@redraft/common';
import type { Epoch, PeerDesc, RegionDesc } from '@redraft/common';
import { MetaError } from './errors';
import { SETTINGS, checkSetting } from './config';
import { DEFAULT_TIMEOUT_MS, FINISHED_KEPT, cloneStep, kindName, operatorFromPb, operatorToPb, stateName, stepFinished, type OperatorRec } from './operators';

export const StoreState = pb.StoreState;
export type StoreState = pb.StoreState;

// The region type and its epoch live in common (region/), shared with the stores.
export type { Epoch, PeerDesc, RegionDesc };
export { compareEpoch, epochOf, regionFromPb, regionToPb };

export interface StoreRec {
  id: number;
  peerAddr: string;
  clientAddr: string;
  state: pb.StoreState;
  lastHeartbeatMs: number;
  capacityBytes: number;
  usedBytes: number;
  regionCount: number;
  leaderCount: number;
  startedAtMs: number;
  heartbeatCount: number;
  /** STORE REMOVE: its replicas are moved away, then it is removed (TOMBSTONE). */
  draining: boolean;
}

export interface RegionRec {
  region: RegionDesc;
  leaderPeerId: number;
  leaderStoreId: number;
  term: number;
  approximateKeys: number;
  approximateBytes: number;
  updatedAtMs: number;
  /** The slot that halves the region's keys, from its leader's split check (0: unknown). */
  splitSlotHint: number;
  /** Commands per second its leader served, from its last report. */
  qps: number;
}

/** Most ids one alloc_ids command hands out. */
export const MAX_ALLOC_COUNT = 100_000;
/** Most regions a bootstrap may pre-split into. */
export const MAX_INITIAL_REGIONS = SLOT_COUNT;

export { MetaError } from './errors';

export type ApplyResult =
  | { kind: 'register'; storeId: number }
  | { kind: 'heartbeat'; storeId: number }
  | { kind: 'alloc'; first: number; count: number }
  | { kind: 'bootstrap'; regionIds: number[] }
  | { kind: 'down'; storeId: number; marked: boolean }
  | { kind: 'operator'; operator: OperatorRec }
  | { kind: 'noop' }
  | { kind: 'error'; error: MetaError };

// ---- conversions -------------------------------------------------------------

const n = (v: number | null | undefined): number => Number(v ?? 0);

export function storeFromPb(s: pb.StoreInfo.$Properties): StoreRec {
  return {
    id: n(s.id),
    peerAddr: s.peerAddr ?? '',
    clientAddr: s.clientAddr ?? '',
    state: (s.state ?? pb.StoreState.UP) as pb.StoreState,
    lastHeartbeatMs: n(s.lastHeartbeatMs),
    capacityBytes: n(s.capacityBytes),
    usedBytes: n(s.usedBytes),
    regionCount: n(s.regionCount),
    leaderCount: n(s.leaderCount),
    startedAtMs: n(s.startedAtMs),
    heartbeatCount: n(s.heartbeatCount),
    draining: !!s.draining,
  };
}

export function storeToPb(s: StoreRec): pb.StoreInfo.$Properties {
  return { ...s };
}

export function regionInfoFromPb(r: pb.RegionInfo.$Properties): RegionRec {
  return {
    region: regionFromPb(r.region ?? {}),
    leaderPeerId: n(r.leaderPeerId),
    leaderStoreId: n(r.leaderStoreId),
    term: n(r.term),
    approximateKeys: n(r.approximateKeys),
    approximateBytes: n(r.approximateBytes),
    updatedAtMs: n(r.updatedAtMs),
    splitSlotHint: n(r.splitSlotHint),
    qps: n(r.qps),
  };
}

export function regionInfoToPb(r: RegionRec): pb.RegionInfo.$Properties {
  return {
    region: regionToPb(r.region),
    leaderPeerId: r.leaderPeerId,
    leaderStoreId: r.leaderStoreId,
    term: r.term,
    approximateKeys: r.approximateKeys,
    approximateBytes: r.approximateBytes,
    updatedAtMs: r.updatedAtMs,
    splitSlotHint: r.splitSlotHint,
    qps: r.qps,
  };
}

function sameRegion(a: RegionDesc, b: RegionDesc): boolean {
  if (a.id !== b.id || a.startSlot !== b.startSlot || a.endSlot !== b.endSlot || compareEpoch(a.epoch, b.epoch) !== 0) return false;
  if (a.peers.length !== b.peers.length) return false;
  return a.peers.every((p, i) => p.id === b.peers[i].id && p.storeId === b.peers[i].storeId && p.role === b.peers[i].role);
}

function cloneRegion(r: RegionDesc): RegionDesc {
  return { ...r, epoch: { ...r.epoch }, peers: r.peers.map((p) => ({ ...p })) };
}

/** The slot ranges bootstrap cuts [0, 16384) into. */
export function splitSlots(count: number): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (let i = 0; i < count; i++) out.push([Math.floor((i * SLOT_COUNT) / count), Math.floor(((i + 1) * SLOT_COUNT) / count)]);
  return out;
}

// ---- the state machine -----------------------------------------------------------

export class MetaStateMachine {
  private nextId = 1;
  private readonly stores = new Map<number, StoreRec>();
  private readonly regions = new Map<number, RegionRec>();
  private _version = 0;
  private _bootstrapped = false;
  private clockMs = 0;
  /** Regions by slot; rebuilt lazily after a change. */
  private sorted: SlotMap<RegionRec> | null = null;
  /** Operators by id: the running ones and the last FINISHED_KEPT finished ones. */
  private readonly operators = new Map<number, OperatorRec>();
  /** Scheduling settings that differ from their defaults (config.ts). */
  private readonly config = new Map<string, string>();

  /** A scheduling setting: its value, or its default. */
  setting(name: string): string {
    return this.config.get(name) ?? SETTINGS.find((s) => s.name === name)?.default ?? '';
  }

  get version(): number {
    return this._version;
  }

  get bootstrapped(): boolean {
    return this._bootstrapped;
  }

  /** The largest proposed_at_ms applied so far. */
  get clock(): number {
    return this.clockMs;
  }

  /** The next id the allocator will hand out. */
  get peekNextId(): number {
    return this.nextId;
  }

  // ---- reads -------------------------------------------------------------------

  store(id: number): StoreRec | undefined {
    return this.stores.get(id);
  }

  region(id: number): RegionRec | undefined {
    return this.regions.get(id);
  }

  /** Stores in id order. */
  storeList(): StoreRec[] {
    return [...this.stores.values()].sort((a, b) => a.id - b.id);
  }

  /** Regions in slot order. */
  regionList(): RegionRec[] {
    return this.slotMap().list() as RegionRec[];
  }

  /** The region whose range holds `slot`, if any. */
  regionForSlot(slot: number): RegionRec | undefined {
    return this.slotMap().find(slot);
  }

  private slotMap(): SlotMap<RegionRec> {
    return (this.sorted ??= new SlotMap(this.regions.values(), (r) => r.region, (a, b) => a.region.id - b.region.id));
  }

  /** Slots covered by some region. */
  slotsAssigned(): number {
    let total = 0;
    for (const r of this.regions.values()) total += Math.max(0, r.region.endSlot - r.region.startSlot);
    return total;
  }

  /** The leader's store of a region, if known and the store is registered. */
  leaderStore(r: RegionRec): StoreRec | undefined {
    return r.leaderStoreId ? this.stores.get(r.leaderStoreId) : undefined;
  }

  view(): pb.ClusterView.$Properties {
    return {
      version: this._version,
      bootstrapped: this._bootstrapped,
      stores: this.storeList().map(storeToPb),
      regions: this.regionList().map(regionInfoToPb),
    };
  }

  /**
   * What a heartbeat's reply tells the store to do: create each peer the map
   * places on it that it did not report, as long as its region still has the
   * bootstrap epoch (a store learns its initial replicas this way; later
   * replicas come from Raft messages or operators).
   */
  createPeerInstructions(storeId: number, reportedRegionIds: Iterable<number>): pb.Instruction.$Properties[] {
    const reported = new Set(reportedRegionIds);
    const out: pb.Instruction.$Properties[] = [];
    for (const r of this.regionList()) {
      const d = r.region;
      if (reported.has(d.id) || compareEpoch(d.epoch, BOOTSTRAP_EPOCH) !== 0) continue;
      if (!d.peers.some((p) => p.storeId === storeId)) continue;
      out.push({ regionId: d.id, createPeer: regionToPb(d) });
    }
    return out;
  }

  // ---- operators ------------------------------------------------------------------

  operator(id: number): OperatorRec | undefined {
    return this.operators.get(id);
  }

  /** Every operator kept, in id order. */
  operatorList(): OperatorRec[] {
    return [...this.operators.values()].sort((a, b) => a.id - b.id);
  }

  /** The running operator of a region, if any (at most one); a running merge into it counts too. */
  runningOperatorOf(regionId: number): OperatorRec | undefined {
    for (const o of this.operators.values()) {
      if (o.state !== pb.OperatorState.OP_RUNNING) continue;
      if (o.regionId === regionId || mergeTargetOf(o) === regionId) return o;
    }
    return undefined;
  }

  /**
   * The neighbour region `regionId` would merge into: `preferred` if given,
   * else the one after it (then the one before) that can take it. Throws
   * a MetaError that says why not.
   */
  mergeTarget(regionId: number, preferred = 0): RegionRec {
    const rec = this.regions.get(regionId);
    if (!rec) throw new MetaError('NO_REGION', `region ${regionId} is not in the map`);
    const d = rec.region;
    const neighbours = preferred
      ? [this.regions.get(preferred)]
      : [d.endSlot < SLOT_COUNT ? this.regionForSlot(d.endSlot) : undefined, d.startSlot > 0 ? this.regionForSlot(d.startSlot - 1) : undefined];
    let why = `region ${regionId} has no neighbour`;
    for (const t of neighbours) {
      if (!t) continue;
      const refusal = mergeRefusal(d, t.region);
      if (!refusal) return t;
      why = refusal;
    }
    if (preferred && !this.regions.get(preferred)) why = `region ${preferred} is not in the map`;
    throw new MetaError('INVALID', why);
  }

  /** The current steps of the running operators whose region this store leads (heartbeat replies). */
  operatorSteps(storeId: number): pb.Instruction.$Properties[] {
    const out: pb.Instruction.$Properties[] = [];
    for (const o of this.operators.values()) {
      if (o.state !== pb.OperatorState.OP_RUNNING) continue;
      if (o.step >= o.steps.length) continue;
      // A step goes to the leader of the region it names (a merge commit: the target's).
      const r = this.regions.get(n(o.steps[o.step].regionId) || o.regionId);
      if (r && r.leaderStoreId === storeId) out.push(cloneStep(o.steps[o.step]));
    }
    for (const ins of this.rollbackSteps()) if (this.regions.get(n(ins.regionId))?.leaderStoreId === storeId) out.push(ins);
    return out;
  }

  /**
   * Rollbacks for sources left frozen by a merge that ended undone. Such a
   * merge ended in its prepare step (a handed-out commit is never abandoned,
   * see operatorsTimedOut), so no commit for that frozen source exists: it
   * is safe to unfreeze. The map shows the source frozen when its version is
   * the prepared one (the prepare raised it by one; a rollback raises it again).
   */
  rollbackSteps(): pb.Instruction.$Properties[] {
    const out: pb.Instruction.$Properties[] = [];
    for (const o of this.operators.values()) {
      if (o.kind !== pb.OperatorKind.OP_MERGE || o.state === pb.OperatorState.OP_RUNNING || o.state === pb.OperatorState.OP_DONE) continue;
      const r = this.regions.get(o.regionId);
      if (!r || this.runningOperatorOf(o.regionId)) continue;
      const prepared = o.steps[0].prepareMerge!;
      if (r.region.epoch.version !== o.regionEpoch.version + 1 || r.region.epoch.confVer !== o.regionEpoch.confVer) continue;
      out.push({ regionId: o.regionId, operatorId: o.id, regionEpoch: { ...r.region.epoch }, rollbackMerge: { targetRegionId: n(prepared.target?.id) } });
    }
    return out;
  }

  /**
   * Replicas a store reports that the map shows removed: the region's
   * descriptor in the map has a newer conf_ver and no longer lists the
   * reported peer. Only initialized replicas (a learner still waiting for its
   * snapshot reports epoch 0/0, and may not be in the map yet).
   */
  stalePeerInstructions(storeId: number, reports: pb.RegionStats.$Properties[]): pb.Instruction.$Properties[] {
    const out: pb.Instruction.$Properties[] = [];
    for (const rep of reports) {
      const peerId = n(rep.peerId);
      const reported = regionFromPb(rep.region ?? {});
      const rec = this.regions.get(reported.id);
      if (!peerId || !rec || reported.peers.length === 0 || reported.epoch.confVer === 0) continue;
      if (rec.region.epoch.confVer <= reported.epoch.confVer || rec.region.peers.some((p) => p.id === peerId)) continue;
      out.push({ regionId: reported.id, regionEpoch: { ...rec.region.epoch }, destroyPeer: { id: peerId, storeId, role: pb.PeerRole.VOTER } });
    }
    return out;
  }

  /** Running operators past their timeout at `nowMs` (the leader proposes FinishOperator for them). */
  operatorsTimedOut(nowMs: number): OperatorRec[] {
    // A merge whose commit was handed out is never abandoned: it may apply any time, so the source is never rolled back.
    return [...this.operators.values()].filter((o) => o.state === pb.OperatorState.OP_RUNNING && nowMs > o.startMs + o.timeoutMs && !mergeCommitting(o));
  }

  /** Stores the leader should mark down at `nowMs`: UP and silent for longer than `downAfterMs`. */
  storesToMarkDown(nowMs: number, downAfterMs: number): StoreRec[] {
    return this.storeList().filter((s) => s.state === pb.StoreState.UP && nowMs - s.lastHeartbeatMs > downAfterMs);
  }

  // ---- apply ---------------------------------------------------------------------

  apply(cmd: pb.MetaCommand.$Properties): ApplyResult {
    const now = Math.max(this.clockMs, n(cmd.proposedAtMs));
    this.clockMs = now;
    try {
      if (cmd.registerStore) return this.register(cmd.registerStore, now);
      if (cmd.storeHeartbeat) return this.heartbeat(cmd.storeHeartbeat, now);
      if (cmd.allocIds) return this.alloc(n(cmd.allocIds.count));
      if (cmd.bootstrap) return this.bootstrap(cmd.bootstrap, now);
      if (cmd.markStoreDown) return this.markDown(cmd.markStoreDown);
      if (cmd.createOperator) return this.createOperator(cmd.createOperator, now);
      if (cmd.finishOperator) return this.finishOperator(cmd.finishOperator, now);
      if (cmd.setConfig) return this.setConfig(cmd.setConfig);
      if (cmd.removeStore) return this.removeStore(cmd.removeStore);
      return { kind: 'noop' };
    } catch (e) {
      if (e instanceof MetaError) return { kind: 'error', error: e };
      throw e;
    }
  }

  private bump(): void {
    this._version++;
  }

  private allocId(): number {
    const id = this.nextId;
    this.nextId++;
    return id;
  }

  private alloc(count: number): ApplyResult {
    if (!Number.isSafeInteger(count) || count < 1 || count > MAX_ALLOC_COUNT) {
      throw new MetaError('INVALID', `alloc_ids count must be in [1, ${MAX_ALLOC_COUNT}], got ${count}`);
    }
    const first = this.nextId;
    this.nextId += count;
    return { kind: 'alloc', first, count };
  }

  private register(req: pb.RegisterStoreRequest.$Properties, now: number): ApplyResult {
    const peerAddr = req.peerAddr ?? '';
    const clientAddr = req.clientAddr ?? '';
    if (!peerAddr || !clientAddr) throw new MetaError('INVALID', 'register needs peer_addr and client_addr');
    let id = n(req.storeId);
    for (const s of this.stores.values()) {
      if (s.id === id || s.peerAddr !== peerAddr || s.state !== pb.StoreState.UP) continue;
      // A first registration retried (its answer was lost, say in a leader
      // change): the store it created never heard back and never
      // heartbeated, so it is this store. Hand out the same id.
      if (id === 0 && s.heartbeatCount === 0 && s.clientAddr === clientAddr) {
        s.lastHeartbeatMs = now;
        return { kind: 'register', storeId: s.id };
      }
      // Another live store at this address is a misconfiguration (or a wiped
      // data dir): refuse, so two ids never answer at one address.
      throw new MetaError('ADDR_IN_USE', `peer address ${peerAddr} belongs to store ${s.id}, which is up`);
    }
    const existing = id ? this.stores.get(id) : undefined;
    if (existing) {
      if (existing.state === pb.StoreState.TOMBSTONE) throw new MetaError('STORE_TOMBSTONE', `store ${id} was removed`);
      const changed = existing.peerAddr !== peerAddr || existing.clientAddr !== clientAddr || existing.state !== pb.StoreState.UP;
      existing.peerAddr = peerAddr;
      existing.clientAddr = clientAddr;
      existing.state = pb.StoreState.UP;
      existing.lastHeartbeatMs = now;
      existing.startedAtMs = now;
      if (changed) this.bump();
      return { kind: 'register', storeId: id };
    }
    if (id === 0) id = this.allocId();
    else if (id >= this.nextId) this.nextId = id + 1; // a store from a lost meta: keep its id, never hand it out again
    this.stores.set(id, {
      id,
      peerAddr,
      clientAddr,
      state: pb.StoreState.UP,
      lastHeartbeatMs: now,
      capacityBytes: 0,
      usedBytes: 0,
      regionCount: 0,
      leaderCount: 0,
      startedAtMs: now,
      heartbeatCount: 0,
      draining: false,
    });
    this.bump();
    return { kind: 'register', storeId: id };
  }

  private heartbeat(req: pb.StoreHeartbeatRequest.$Properties, now: number): ApplyResult {
    const id = n(req.store?.id);
    const s = this.stores.get(id);
    if (!s) throw new MetaError('STORE_UNKNOWN', `store ${id} is not registered`);
    if (s.state === pb.StoreState.TOMBSTONE) throw new MetaError('STORE_TOMBSTONE', `store ${id} was removed`);
    let changed = false;
    if (s.state !== pb.StoreState.UP) {
      s.state = pb.StoreState.UP;
      changed = true;
    }
    const reports = req.regions ?? [];
    s.lastHeartbeatMs = now;
    s.heartbeatCount++;
    s.capacityBytes = n(req.store?.capacityBytes);
    s.usedBytes = n(req.store?.usedBytes);
    if (req.store?.startedAtMs) s.startedAtMs = n(req.store.startedAtMs);
    s.regionCount = reports.length;
    s.leaderCount = reports.filter((r) => r.isLeader).length;
    for (const rep of reports) {
      if (this.applyRegionReport(id, rep, now)) changed = true;
      if (rep.region?.merging) this.notePrepared(id, rep);
    }
    if (changed) this.bump();
    this.advanceOperators(now);
    return { kind: 'heartbeat', storeId: id };
  }

  // ---- operators (apply) ----------------------------------------------------------------

  private createOperator(cmd: pb.CreateOperator.$Properties, now: number): ApplyResult {
    const regionId = n(cmd.regionId);
    const rec = this.regions.get(regionId);
    if (!rec) throw new MetaError('NO_REGION', `region ${regionId} is not in the map`);
    const busy = this.runningOperatorOf(regionId);
    if (busy) throw new MetaError('BUSY', `region ${regionId} already has operator ${busy.id} (${kindName(busy.kind)}) running`);
    if (cmd.kind === pb.OperatorKind.OP_MERGE) return this.createMerge(cmd, rec, now);
    const kind = (cmd.kind ?? pb.OperatorKind.OP_SPLIT) as pb.OperatorKind;
    const d = rec.region;
    const epoch = { ...d.epoch };
    const timeoutMs = n(cmd.timeoutMs) || DEFAULT_TIMEOUT_MS[kind];
    let step: pb.Instruction.$Properties;
    let id: number;
    if (kind === pb.OperatorKind.OP_SPLIT) {
      const at = n(cmd.splitSlot);
      if (at <= d.startSlot || at >= d.endSlot) throw new MetaError('INVALID', `split slot ${at} is not inside region ${regionId} (slots ${d.startSlot}-${d.endSlot - 1}); it must be in ${d.startSlot + 1}-${d.endSlot - 1}`);
      // Ids in apply: every meta replica hands out the same ones.
      id = this.allocId();
      const newRegionId = this.allocId();
      const newPeerIds = d.peers.map(() => this.allocId());
      step = { regionId, operatorId: id, regionEpoch: epoch, split: { splitSlot: at, newRegionId, newPeerIds } };
    } else if (kind === pb.OperatorKind.OP_TRANSFER_LEADER) {
      const storeId = n(cmd.transferToStore);
      const peer = d.peers.find((p) => p.storeId === storeId);
      if (!peer) throw new MetaError('INVALID', `region ${regionId} has no replica on store ${storeId}`);
      if (peer.role !== pb.PeerRole.VOTER) throw new MetaError('INVALID', `the replica of region ${regionId} on store ${storeId} is a learner, not a voter`);
      const st = this.stores.get(storeId);
      if (!st || st.state !== pb.StoreState.UP) throw new MetaError('INVALID', `store ${storeId} is not up`);
      id = this.allocId();
      step = { regionId, operatorId: id, regionEpoch: epoch, transferLeaderTo: peer.id };
    } else if (kind === pb.OperatorKind.OP_MOVE_REGION) {
      const from = n(cmd.fromStore);
      const to = n(cmd.toStore);
      const old = d.peers.find((p) => p.storeId === from);
      if (!old) throw new MetaError('INVALID', `region ${regionId} has no replica on store ${from}`);
      if (from === to) throw new MetaError('INVALID', `the source and target store are the same (${from})`);
      if (d.peers.some((p) => p.storeId === to)) throw new MetaError('INVALID', `region ${regionId} already has a replica on store ${to}`);
      const st = this.stores.get(to);
      if (!st || st.state !== pb.StoreState.UP) throw new MetaError('INVALID', `store ${to} is not ${st ? 'up' : 'registered'}`);
      id = this.allocId();
      const newPeer = { id: this.allocId(), storeId: to };
      // One voter at a time: learner, promotion, removal (conf-change.ts on the store).
      const base = { regionId, operatorId: id, regionEpoch: epoch };
      const steps: pb.Instruction.$Properties[] = [
        { ...base, addLearner: { ...newPeer, role: pb.PeerRole.LEARNER } },
        { ...base, promoteLearner: { ...newPeer, role: pb.PeerRole.VOTER } },
        { ...base, removePeer: { id: old.id, storeId: from, role: old.role } },
      ];
      return this.startOperator({ id, regionId, kind, cmd, now, timeoutMs, epoch, steps });
    } else if (kind === pb.OperatorKind.OP_REMOVE_PEER) {
      const from = n(cmd.fromStore);
      const old = d.peers.find((p) => p.storeId === from);
      if (!old) throw new MetaError('INVALID', `region ${regionId} has no replica on store ${from}`);
      if (old.role === pb.PeerRole.VOTER && d.peers.filter((p) => p.role === pb.PeerRole.VOTER).length < 2) throw new MetaError('INVALID', `store ${from} holds the last voter of region ${regionId}`);
      id = this.allocId();
      step = { regionId, operatorId: id, regionEpoch: epoch, removePeer: { id: old.id, storeId: from, role: old.role } };
    } else {
      throw new MetaError('INVALID', `unknown operator kind ${kind}`);
    }
    return this.startOperator({ id, regionId, kind, cmd, now, timeoutMs, epoch, steps: [step] });
  }

  /**
   * A merge of `source` into an adjacent region on the same stores
   * (docs/decisions.md, "Region merge"): prepare in the source, then, once
   * every source replica reported it frozen, commit in the target.
   */
  private createMerge(cmd: pb.CreateOperator.$Properties, source: RegionRec, now: number): ApplyResult {
    const target = this.mergeTarget(source.region.id, n(cmd.mergeTarget));
    const busy = this.runningOperatorOf(target.region.id);
    if (busy) throw new MetaError('BUSY', `region ${target.region.id} (the merge target) already has operator ${busy.id} (${kindName(busy.kind)}) running`);
    const d = source.region;
    const epoch = { ...d.epoch };
    const id = this.allocId();
    const prepared = { ...regionToPb(d), epoch: { version: epoch.version + 1, confVer: epoch.confVer }, merging: { targetRegionId: target.region.id, prepareIndex: 0 } };
    const steps: pb.Instruction.$Properties[] = [
      { regionId: d.id, operatorId: id, regionEpoch: epoch, prepareMerge: { target: regionToPb(target.region) } },
      { regionId: target.region.id, operatorId: id, regionEpoch: { ...target.region.epoch }, commitMerge: { source: prepared } },
    ];
    const timeoutMs = n(cmd.timeoutMs) || DEFAULT_TIMEOUT_MS[pb.OperatorKind.OP_MERGE];
    return this.startOperator({ id, regionId: d.id, kind: pb.OperatorKind.OP_MERGE, cmd, now, timeoutMs, epoch, steps });
  }

  /** A heartbeat's report of a merge's source replica: frozen at the prepared descriptor? */
  private notePrepared(storeId: number, rep: pb.RegionStats.$Properties): void {
    const regionId = n(rep.region?.id);
    for (const o of this.operators.values()) {
      if (o.kind !== pb.OperatorKind.OP_MERGE || o.state !== pb.OperatorState.OP_RUNNING || o.regionId !== regionId || o.step !== 0) continue;
      const want = o.steps[1].commitMerge!.source!;
      const got = rep.region!;
      const frozen = n(got.merging?.targetRegionId) === n(want.merging?.targetRegionId);
      const same = n(got.epoch?.version) === n(want.epoch?.version) && n(got.startSlot) === n(want.startSlot) && n(got.endSlot) === n(want.endSlot);
      if (frozen && same && !o.preparedStores.includes(storeId)) o.preparedStores.push(storeId);
    }
  }

  private startOperator(o: { id: number; regionId: number; kind: pb.OperatorKind; cmd: pb.CreateOperator.$Properties; now: number; timeoutMs: number; epoch: Epoch; steps: pb.Instruction.$Properties[] }): ApplyResult {
    const { id, regionId, kind, cmd, now, timeoutMs, epoch, steps } = o;
    const op: OperatorRec = {
      id,
      regionId,
      kind,
      creator: (cmd.creator ?? pb.OperatorCreator.BY_SCRIPT) as pb.OperatorCreator,
      startMs: now,
      timeoutMs,
      state: pb.OperatorState.OP_RUNNING,
      endMs: 0,
      reason: '',
      regionEpoch: epoch,
      steps,
      step: 0,
      preparedStores: [],
    };
    this.operators.set(id, op);
    this.advanceOperators(now); // a transfer to the store that already leads is done at once
    return { kind: 'operator', operator: op };
  }

  /** Regions with a replica on the store, in the map. */
  replicaCount(storeId: number): number {
    let count = 0;
    for (const r of this.regions.values()) if (r.region.peers.some((p) => p.storeId === storeId)) count++;
    return count;
  }

  private removeStore(cmd: pb.RemoveStore.$Properties): ApplyResult {
    const id = n(cmd.storeId);
    const s = this.stores.get(id);
    if (!s) throw new MetaError('STORE_UNKNOWN', `store ${id} is not registered`);
    if (s.state === pb.StoreState.TOMBSTONE) throw new MetaError('STORE_TOMBSTONE', `store ${id} was removed already`);
    if (!cmd.finish) {
      if (!s.draining) {
        s.draining = true;
        this.bump();
      }
      return { kind: 'noop' };
    }
    const left = this.replicaCount(id);
    if (left > 0) throw new MetaError('NOT_DRAINED', `store ${id} still holds ${left} replicas`);
    s.state = pb.StoreState.TOMBSTONE;
    s.draining = false;
    this.bump();
    return { kind: 'noop' };
  }

  private setConfig(cmd: pb.SetConfig.$Properties): ApplyResult {
    const [name, value] = checkSetting(cmd.name ?? '', cmd.value ?? '');
    if (value === SETTINGS.find((s) => s.name === name)!.default) this.config.delete(name);
    else this.config.set(name, value);
    return { kind: 'noop' };
  }

  private finishOperator(cmd: pb.FinishOperator.$Properties, now: number): ApplyResult {
    const id = n(cmd.operatorId);
    const op = this.operators.get(id);
    if (!op) throw new MetaError('NO_OPERATOR', `operator ${id} does not exist`);
    if (op.state !== pb.OperatorState.OP_RUNNING) throw new MetaError('NOT_RUNNING', `operator ${id} is already ${stateName(op.state)}`);
    if (mergeCommitting(op)) throw new MetaError('COMMITTING', `operator ${id} has handed out its merge commit; it can no longer be cancelled`);
    const state = cmd.state === pb.OperatorState.OP_TIMED_OUT ? pb.OperatorState.OP_TIMED_OUT : pb.OperatorState.OP_CANCELLED;
    this.endOperator(op, state, cmd.reason || (state === pb.OperatorState.OP_TIMED_OUT ? `not finished within ${op.timeoutMs} ms` : 'cancelled'), now);
    return { kind: 'operator', operator: op };
  }

  /** Moves running operators on as the map shows their steps finished. */
  private advanceOperators(now: number): void {
    for (const op of this.operators.values()) {
      if (op.state !== pb.OperatorState.OP_RUNNING) continue;
      if (op.kind === pb.OperatorKind.OP_MERGE && op.step === 0 && this.mergePrepared(op)) op.step = 1;
      while (op.step < op.steps.length && stepFinished(op.steps[op.step], (id) => this.regions.get(id))) op.step++;
      if (op.step >= op.steps.length) this.endOperator(op, pb.OperatorState.OP_DONE, '', now);
    }
  }

  /** Every source replica (on every store of the prepared descriptor) reported itself frozen. */
  private mergePrepared(op: OperatorRec): boolean {
    const peers = op.steps[1].commitMerge!.source!.peers ?? [];
    return peers.length > 0 && peers.every((p) => op.preparedStores.includes(n(p.storeId)));
  }

  private endOperator(op: OperatorRec, state: pb.OperatorState, reason: string, now: number): void {
    op.state = state;
    op.reason = reason;
    op.endMs = now;
    // Keep the newest finished ones only.
    const finished = [...this.operators.values()].filter((o) => o.state !== pb.OperatorState.OP_RUNNING).sort((a, b) => a.id - b.id);
    for (let i = 0; i < finished.length - FINISHED_KEPT; i++) this.operators.delete(finished[i].id);
  }

  /** One region of a heartbeat; true if the routing view changed. */
  private applyRegionReport(storeId: number, rep: pb.RegionStats.$Properties, now: number): boolean {
    if (!rep.region) return false;
    const desc = regionFromPb(rep.region);
    if (desc.id <= 0 || desc.startSlot >= desc.endSlot || desc.endSlot > SLOT_COUNT) return false;
    const term = n(rep.term);
    let rec = this.regions.get(desc.id);
    let changed = false;
    if (!rec || compareEpoch(desc.epoch, rec.region.epoch) > 0) {
      // A newer descriptor (or a region the map has not seen: a split's new half).
      // Regions it overlaps must be older versions of the same slots; if any is
      // newer, or as new, this report is the stale one.
      const overlapping = [...this.regions.values()].filter((o) => o.region.id !== desc.id && regionsOverlap(o.region, desc));
      if (overlapping.some((o) => !isEpochStale(o.region.epoch, desc.epoch, 'range'))) return false;
      for (const o of overlapping) this.regions.delete(o.region.id);
      if (overlapping.length) changed = true;
      if (!rec) {
        rec = { region: desc, leaderPeerId: 0, leaderStoreId: 0, term: 0, approximateKeys: 0, approximateBytes: 0, updatedAtMs: now, splitSlotHint: 0, qps: 0 };
        this.regions.set(desc.id, rec);
        changed = true;
      } else if (!sameRegion(rec.region, desc)) {
        rec.region = desc;
        changed = true;
        // The leader we knew may no longer be a member.
        if (rec.leaderPeerId && !desc.peers.some((p) => p.id === rec!.leaderPeerId)) {
          rec.leaderPeerId = 0;
          rec.leaderStoreId = 0;
        }
      }
      this.sorted = null;
    } else if (compareEpoch(desc.epoch, rec.region.epoch) < 0) {
      return false; // stale: an older epoch never overwrites the map
    }
    // Leader: a report of leadership at a term at least the map's wins; a
    // follower's report at a newer term names the leader it follows.
    const reportedLeader = rep.isLeader ? this.peerOnStore(rec.region, storeId) : n(rep.leaderPeerId);
    if (term > rec.term || (term === rec.term && rep.isLeader) || (term === rec.term && rec.leaderStoreId === storeId && !rep.isLeader)) {
      const leaderPeer = reportedLeader ? rec.region.peers.find((p) => p.id === reportedLeader) : undefined;
      const leaderPeerId = leaderPeer ? leaderPeer.id : 0;
      const leaderStoreId = leaderPeer ? leaderPeer.storeId : 0;
      // A report at the map's term that knows no leader does not erase one that another store reported.
      if (!(term === rec.term && leaderPeerId === 0 && rec.leaderStoreId !== storeId)) {
        if (leaderPeerId !== rec.leaderPeerId || leaderStoreId !== rec.leaderStoreId) changed = true;
        rec.leaderPeerId = leaderPeerId;
        rec.leaderStoreId = leaderStoreId;
        rec.term = term;
      }
    }
    if (rep.isLeader && rec.leaderStoreId === storeId) {
      rec.approximateKeys = n(rep.approximateKeys);
      rec.approximateBytes = n(rep.approximateBytes);
      rec.splitSlotHint = n(rep.splitSlotHint);
      rec.qps = n(rep.qps);
    }
    rec.updatedAtMs = now;
    return changed;
  }

  private peerOnStore(r: RegionDesc, storeId: number): number {
    return r.peers.find((p) => p.storeId === storeId)?.id ?? 0;
  }

  private bootstrap(cmd: pb.BootstrapCommand.$Properties, now: number): ApplyResult {
    if (this._bootstrapped) throw new MetaError('BOOTSTRAPPED', 'the cluster is already bootstrapped');
    const storeIds = (cmd.storeIds ?? []).map(Number);
    const count = n(cmd.initialRegions) || 1;
    if (storeIds.length === 0) throw new MetaError('INVALID', 'bootstrap needs at least one store');
    if (new Set(storeIds).size !== storeIds.length) throw new MetaError('INVALID', 'bootstrap stores must be distinct');
    for (const id of storeIds) {
      const s = this.stores.get(id);
      if (!s || s.state !== pb.StoreState.UP) throw new MetaError('INVALID', `bootstrap store ${id} is not registered and up`);
    }
    if (!Number.isSafeInteger(count) || count < 1 || count > MAX_INITIAL_REGIONS) {
      throw new MetaError('INVALID', `initial_regions must be in [1, ${MAX_INITIAL_REGIONS}], got ${count}`);
    }
    const regionIds: number[] = [];
    for (const [startSlot, endSlot] of splitSlots(count)) {
      const id = this.allocId();
      const peers = storeIds.map((storeId) => ({ id: this.allocId(), storeId, role: pb.PeerRole.VOTER }));
      this.regions.set(id, {
        region: { id, startSlot, endSlot, epoch: { ...BOOTSTRAP_EPOCH }, peers },
        leaderPeerId: 0,
        leaderStoreId: 0,
        term: 0,
        approximateKeys: 0,
        approximateBytes: 0,
        updatedAtMs: now,
        splitSlotHint: 0,
        qps: 0,
      });
      regionIds.push(id);
    }
    this.sorted = null;
    this._bootstrapped = true;
    this.bump();
    return { kind: 'bootstrap', regionIds };
  }

  private markDown(cmd: pb.MarkStoreDown.$Properties): ApplyResult {
    const id = n(cmd.storeId);
    const s = this.stores.get(id);
    if (!s) throw new MetaError('STORE_UNKNOWN', `store ${id} is not registered`);
    // Only if no heartbeat arrived since the leader decided (compare-and-set).
    if (s.state !== pb.StoreState.UP || s.lastHeartbeatMs !== n(cmd.lastHeartbeatMs)) return { kind: 'down', storeId: id, marked: false };
    s.state = pb.StoreState.DOWN;
    // Leaders on a down store are unknown until another replica reports.
    for (const r of this.regions.values()) {
      if (r.leaderStoreId === id) {
        r.leaderPeerId = 0;
        r.leaderStoreId = 0;
      }
    }
    this.bump();
    return { kind: 'down', storeId: id, marked: true };
  }

  // ---- snapshot ----------------------------------------------------------------------

  snapshot(): pb.MetaState.$Properties {
    return {
      nextId: this.nextId,
      stores: this.storeList().map(storeToPb),
      regions: [...this.regions.values()].sort((a, b) => a.region.id - b.region.id).map(regionInfoToPb),
      version: this._version,
      bootstrapped: this._bootstrapped,
      clockMs: this.clockMs,
      operators: this.operatorList().map(operatorToPb),
      config: Object.fromEntries([...this.config].sort(([a], [b]) => (a < b ? -1 : 1))),
    };
  }

  encodeSnapshot(): Uint8Array {
    return pb.MetaState.encode(this.snapshot()).finish();
  }

  restore(s: pb.MetaState.$Properties): void {
    this.nextId = Math.max(1, n(s.nextId));
    this.stores.clear();
    for (const st of s.stores ?? []) {
      const rec = storeFromPb(st);
      this.stores.set(rec.id, rec);
    }
    this.regions.clear();
    for (const r of s.regions ?? []) {
      const rec = regionInfoFromPb(r);
      rec.region = cloneRegion(rec.region);
      this.regions.set(rec.region.id, rec);
    }
    this._version = n(s.version);
    this._bootstrapped = !!s.bootstrapped;
    this.clockMs = n(s.clockMs);
    this.config.clear();
    for (const [k, v] of Object.entries(s.config ?? {})) this.config.set(k, v);
    this.operators.clear();
    for (const o of s.operators ?? []) {
      const op = operatorFromPb(o);
      this.operators.set(op.id, op);
    }
    this.sorted = null;
  }

  static decode(bytes: Uint8Array): MetaStateMachine {
    const m = new MetaStateMachine();
    m.restore(pb.MetaState.decode(bytes));
    return m;
  }
}

/** The region a merge operator merges into (0 for other operators). */
function mergeTargetOf(o: OperatorRec): number {
  return o.kind === pb.OperatorKind.OP_MERGE ? n(o.steps[1]?.regionId) : 0;
}

/** A merge past its prepare: its commit is handed out and may apply any time. */
function mergeCommitting(o: OperatorRec): boolean {
  return o.kind === pb.OperatorKind.OP_MERGE && o.step >= 1;
}
