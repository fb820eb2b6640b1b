// A region's epoch and the one staleness rule every part uses: at message
// intake, at proposal, in apply, in routing and in the meta. `version` rises
// on every split or merge, `confVer` on every membership change.
import type { redraft as pb } from '../gen/proto';

export interface Epoch {
  version: number;
  confVer: number;
}

/** The epoch every region created by the meta's bootstrap starts with (no split, no membership change yet). */
export const BOOTSTRAP_EPOCH: Readonly<Epoch> = Object.freeze({ version: 1, confVer: 1 });

/** A plain epoch from a decoded or partly filled protobuf one (absent fields are 0). */
export function epochOf(e: pb.RegionEpoch.$Properties | null | undefined): Epoch {
  return { version: Number(e?.version ?? 0), confVer: Number(e?.confVer ?? 0) };
}

/** -1, 0, 1: `a` older than, equal to, newer than `b` (version first, then confVer). */
export function compareEpoch(a: Epoch, b: Epoch): number {
  if (a.version !== b.version) return a.version < b.version ? -1 : 1;
  if (a.confVer !== b.confVer) return a.confVer < b.confVer ? -1 : 1;
  return 0;
}

export function sameEpoch(a: Epoch, b: Epoch): boolean {
  return a.version === b.version && a.confVer === b.confVer;
}

/**
 * Whether something that carries epoch `carried` is stale against the epoch
 * `current` it meets. `check` says which halves count: 'range' for commands
 * (only a split or merge moves keys), 'both' for admin steps and region
 * descriptors (a membership change matters too).
 */
export function isEpochStale(carried: Epoch, current: Epoch, check: 'range' | 'conf' | 'both' = 'both'): boolean {
  if ((check === 'range' || check === 'both') && carried.version < current.version) return true;
  if ((check === 'conf' || check === 'both') && carried.confVer < current.confVer) return true;
  return false;
}
