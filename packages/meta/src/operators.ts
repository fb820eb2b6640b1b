// Operators: what the meta asks of a region, one step at a time (docs/meta.md,
// "Operators"). They live in the meta's replicated state, so a meta leader
// change keeps them; like the rest of the state machine they read no clock
// (time is the applied commands' proposed_at_ms) and take their ids from the
// meta's allocator, so every meta replica holds the same operators.
//
// A step is handed to the store that leads the region in its heartbeat reply
// (and nudged at once by the admin command); the store proposes it to the
// region's Raft group; the region's next heartbeats show it finished.
import { pb, regionFromPb, regionToPb } from '@redraft/common';
import type { RegionRec } from './state';

export const OperatorKind = pb.OperatorKind;
export const OperatorState = pb.OperatorState;
export const OperatorCreator = pb.OperatorCreator;

/** An operator as the state machine holds it (plain numbers, like the rest of the map). */
export interface OperatorRec {
  id: number;
  regionId: number;
  kind: pb.OperatorKind;
  creator: pb.OperatorCreator;
  startMs: number;
  timeoutMs: number;
  state: pb.OperatorState;
  endMs: number;
  reason: string;
  regionEpoch: { version: number; confVer: number };
  steps: pb.Instruction.$Properties[];
  step: number;
  /** OP_MERGE: stores whose source replica reported the frozen descriptor (state.ts, advanceMerge). */
  preparedStores: number[];
}

export const DEFAULT_TIMEOUT_MS: Record<pb.OperatorKind, number> = {
  [pb.OperatorKind.OP_SPLIT]: 60_000,
  [pb.OperatorKind.OP_TRANSFER_LEADER]: 30_000,
  // A move copies the region by snapshot: minutes for a region at the split threshold on a busy machine.
  [pb.OperatorKind.OP_MOVE_REGION]: 300_000,
  [pb.OperatorKind.OP_REMOVE_PEER]: 60_000,
  // Only the prepare step times out (then the source is rolled back); a handed-out commit is never abandoned.
  [pb.OperatorKind.OP_MERGE]: 60_000,
};

/** Finished operators kept for OPERATOR LIST/SHOW (the oldest are forgotten first). */
export const FINISHED_KEPT = 200;

export function kindName(k: pb.OperatorKind): string {
  if (k === pb.OperatorKind.OP_MOVE_REGION) return 'move-region';
  if (k === pb.OperatorKind.OP_REMOVE_PEER) return 'remove-peer';
  if (k === pb.OperatorKind.OP_MERGE) return 'merge';
  return k === pb.OperatorKind.OP_SPLIT ? 'split' : 'transfer-leader';
}

export function stateName(s: pb.OperatorState): string {
  switch (s) {
    case pb.OperatorState.OP_RUNNING:
      return 'running';
    case pb.OperatorState.OP_DONE:
      return 'done';
    case pb.OperatorState.OP_TIMED_OUT:
      return 'timed-out';
    default:
      return 'cancelled';
  }
}

export function creatorName(c: pb.OperatorCreator): string {
  return c === pb.OperatorCreator.BY_SCHEDULER ? 'scheduler' : 'script';
}

/** One step as text, for OPERATOR SHOW and the scripts. */
export function describeStep(s: pb.Instruction.$Properties): string {
  if (s.split) return `split region ${Number(s.regionId)} at slot ${Number(s.split.splitSlot)} into new region ${Number(s.split.newRegionId)} (peers ${(s.split.newPeerIds ?? []).map(Number).join(',')})`;
  if (s.transferLeaderTo) return `transfer the leader of region ${Number(s.regionId)} to peer ${Number(s.transferLeaderTo)}`;
  const r = Number(s.regionId);
  if (s.prepareMerge) return `freeze region ${r} for a merge into region ${Number(s.prepareMerge.target?.id)} (every replica applies the prepare)`;
  if (s.commitMerge) return `region ${r} takes over region ${Number(s.commitMerge.source?.id)} (slots ${Number(s.commitMerge.source?.startSlot)}-${Number(s.commitMerge.source?.endSlot) - 1})`;
  if (s.rollbackMerge) return `unfreeze region ${r} (its merge into region ${Number(s.rollbackMerge.targetRegionId)} rolled back)`;
  if (s.addLearner) return `add learner ${Number(s.addLearner.id)} of region ${r} on store ${Number(s.addLearner.storeId)}`;
  if (s.promoteLearner) return `promote learner ${Number(s.promoteLearner.id)} of region ${r} on store ${Number(s.promoteLearner.storeId)} to voter`;
  if (s.removePeer) return `remove peer ${Number(s.removePeer.id)} of region ${r} from store ${Number(s.removePeer.storeId)} (its leadership handed over first)`;
  return 'unknown step';
}

/**
 * Is this step finished, by the map? A split when the new region is in the
 * map with a known leader (so routing can serve it); a transfer when the
 * target peer leads.
 */
export function stepFinished(step: pb.Instruction.$Properties, region: (id: number) => RegionRec | undefined): boolean {
  if (step.split) {
    const child = region(Number(step.split.newRegionId));
    return !!child && child.leaderStoreId !== 0;
  }
  if (step.transferLeaderTo) return region(Number(step.regionId))?.leaderPeerId === Number(step.transferLeaderTo);
  if (step.commitMerge) {
    // The source is gone from the map and the target covers its slots.
    const source = step.commitMerge.source!;
    const target = region(Number(step.regionId));
    return !region(Number(source.id)) && !!target && target.region.startSlot <= Number(source.startSlot) && Number(source.endSlot) <= target.region.endSlot;
  }
  if (step.prepareMerge || step.rollbackMerge) return false; // state.ts decides (per-store reports)
  // Membership steps: when the region's descriptor (from its heartbeats) shows the change.
  const peers = region(Number(step.regionId))?.region.peers;
  if (!peers) return false;
  if (step.addLearner) return peers.some((p) => p.id === Number(step.addLearner!.id));
  if (step.promoteLearner) return peers.some((p) => p.id === Number(step.promoteLearner!.id) && p.role === pb.PeerRole.VOTER);
  if (step.removePeer) return !peers.some((p) => p.id === Number(step.removePeer!.id));
  return true;
}

export function operatorToPb(o: OperatorRec): pb.Operator.$Properties {
  return { ...o, regionEpoch: { version: o.regionEpoch.version, confVer: o.regionEpoch.confVer }, preparedStores: [...o.preparedStores] };
}

export function operatorFromPb(o: pb.Operator.$Properties): OperatorRec {
  const n = (v: number | null | undefined): number => Number(v ?? 0);
  return {
    id: n(o.id),
    regionId: n(o.regionId),
    kind: (o.kind ?? pb.OperatorKind.OP_SPLIT) as pb.OperatorKind,
    creator: (o.creator ?? pb.OperatorCreator.BY_SCRIPT) as pb.OperatorCreator,
    startMs: n(o.startMs),
    timeoutMs: n(o.timeoutMs),
    state: (o.state ?? pb.OperatorState.OP_RUNNING) as pb.OperatorState,
    endMs: n(o.endMs),
    reason: o.reason ?? '',
    regionEpoch: { version: n(o.regionEpoch?.version), confVer: n(o.regionEpoch?.confVer) },
    steps: (o.steps ?? []).map(cloneStep),
    step: n(o.step),
    preparedStores: (o.preparedStores ?? []).map(Number),
  };
}

/** A step as a plain object (decoded messages keep their defaults on a prototype). */
export function cloneStep(s: pb.Instruction.$Properties): pb.Instruction.$Properties {
  const out: pb.Instruction.$Properties = {
    regionId: Number(s.regionId ?? 0),
    operatorId: Number(s.operatorId ?? 0),
    regionEpoch: { version: Number(s.regionEpoch?.version ?? 0), confVer: Number(s.regionEpoch?.confVer ?? 0) },
  };
  if (s.split) out.split = { splitSlot: Number(s.split.splitSlot ?? 0), newRegionId: Number(s.split.newRegionId ?? 0), newPeerIds: (s.split.newPeerIds ?? []).map(Number) };
  if (s.transferLeaderTo) out.transferLeaderTo = Number(s.transferLeaderTo);
  const peer = (p: pb.Peer.$Properties): pb.Peer.$Properties => ({ id: Number(p.id ?? 0), storeId: Number(p.storeId ?? 0), role: p.role ?? pb.PeerRole.VOTER });
  if (s.addLearner) out.addLearner = peer(s.addLearner);
  if (s.promoteLearner) out.promoteLearner = peer(s.promoteLearner);
  if (s.removePeer) out.removePeer = peer(s.removePeer);
  if (s.destroyPeer) out.destroyPeer = peer(s.destroyPeer);
  if (s.prepareMerge) out.prepareMerge = { target: plainRegionPb(s.prepareMerge.target!) };
  if (s.commitMerge) out.commitMerge = { source: plainRegionPb(s.commitMerge.source!) };
  if (s.rollbackMerge) out.rollbackMerge = { targetRegionId: Number(s.rollbackMerge.targetRegionId ?? 0) };
  return out;
}

/** A region descriptor of a merge step as a plain object, its merge state kept. */
function plainRegionPb(r: pb.Region.$Properties): pb.Region.$Properties {
  const out = regionToPb(regionFromPb(r));
  if (r.merging && Number(r.merging.targetRegionId)) out.merging = { targetRegionId: Number(r.merging.targetRegionId), prepareIndex: Number(r.merging.prepareIndex ?? 0) };
  return out;
}
