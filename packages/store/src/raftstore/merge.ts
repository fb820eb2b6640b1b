// Region merge, in the style of TiKV's PrepareMerge/CommitMerge, simplified
// (docs/decisions.md, "Region merge"). Source and target are adjacent and
// have their replicas on the same stores, so the source's data is already in
// every target replica's RocksDB (a region's data is its slot range): no
// data is copied.
//  1. PrepareMerge, an admin entry in the source's log: on apply every source
//     replica freezes (`merging` set in its descriptor: proposals and reads
//     are refused with a retryable error) and its version rises, so commands
//     proposed before it are refused in apply and routed again.
//  2. The meta waits until every source replica reports the frozen
//     descriptor (so each one has applied everything the source will ever
//     apply), then hands CommitMerge to the target's leader. On apply each
//     target replica extends its range over the source's and raises its
//     version past both; the local source replica is retired in the same
//     batch: tombstoned, its data kept (the target owns it now), its client
//     sessions carried into the target's.
//  3. A merge that cannot commit (the operator timed out or was cancelled
//     while waiting in step 1) is rolled back: RollbackMerge in the source
//     unfreezes it and raises its version again.
// These functions decide from the entry and the region alone, so every
// replica decides the same; the local source replica's readiness is the one
// local input, and it only decides how this replica gets the merged data
// (in place, or by a snapshot from the target's leader), never the outcome.
import { epochOf, mergeRefusal, pb } from '@redraft/common';

type Region = pb.Region.$Properties;

/** The region's merge in progress (it is frozen), if any. */
export function mergingOf(r: Region): { targetRegionId: number; prepareIndex: number } | undefined {
  const m = r.merging;
  if (!m || !Number(m.targetRegionId)) return undefined;
  return { targetRegionId: Number(m.targetRegionId), prepareIndex: Number(m.prepareIndex ?? 0) };
}

export type MergeDecision = { region: Region } | { refused: string };

/** PrepareMerge at log index `index` in the source: frozen, version + 1. */
export function decidePrepareMerge(source: Region, req: pb.PrepareMergeRequest.$Properties, index: number): MergeDecision {
  if (mergingOf(source)) return { refused: 'already frozen for a merge' };
  if (!req.target) return { refused: 'no target region' };
  const why = mergeRefusal(source, req.target);
  if (why) return { refused: why };
  const epoch = epochOf(source.epoch);
  return {
    region: { ...source, epoch: { version: epoch.version + 1, confVer: epoch.confVer }, merging: { targetRegionId: Number(req.target.id), prepareIndex: index } },
  };
}

/**
 * CommitMerge in the target: the union of both ranges, a version above both
 * (so the meta and every router see the source's descriptor as stale).
 */
export function decideCommitMerge(target: Region, req: pb.CommitMergeRequest.$Properties): MergeDecision {
  const source = req.source;
  if (!source) return { refused: 'no source region' };
  if (mergingOf(target)) return { refused: 'the target is itself frozen for a merge' };
  const m = mergingOf(source);
  if (!m || m.targetRegionId !== Number(target.id)) return { refused: 'the source is not prepared for a merge into this region' };
  const why = mergeRefusal(source, target);
  if (why) return { refused: why };
  const t = epochOf(target.epoch);
  const s = epochOf(source.epoch);
  return {
    region: {
      ...target,
      startSlot: Math.min(Number(target.startSlot), Number(source.startSlot)),
      endSlot: Math.max(Number(target.endSlot), Number(source.endSlot)),
      epoch: { version: Math.max(t.version, s.version) + 1, confVer: t.confVer },
      merging: null,
    },
  };
}

/**
 * Is this store's source replica ready to hand its data over in place? It
 * must be the very replica the commit names: frozen for this target at the
 * prepared descriptor's epoch and range (it has then applied all the source
 * will ever apply; the entries after the prepare are refused or empty).
 */
export function localSourceReady(local: Region | undefined, committed: Region): boolean {
  if (!local) return false;
  const m = mergingOf(local);
  const want = mergingOf(committed);
  if (!m || !want || m.targetRegionId !== want.targetRegionId) return false;
  const a = epochOf(local.epoch);
  const b = epochOf(committed.epoch);
  return a.version === b.version && Number(local.startSlot) === Number(committed.startSlot) && Number(local.endSlot) === Number(committed.endSlot);
}

/** RollbackMerge in the source: unfrozen, version + 1 (a commit made for the frozen epoch can no longer match it). */
export function decideRollbackMerge(source: Region, req: pb.RollbackMergeRequest.$Properties): MergeDecision {
  const m = mergingOf(source);
  if (!m || m.targetRegionId !== Number(req.targetRegionId)) return { refused: 'not frozen for a merge into that region' };
  const epoch = epochOf(source.epoch);
  return { region: { ...source, epoch: { version: epoch.version + 1, confVer: epoch.confVer }, merging: null } };
}
