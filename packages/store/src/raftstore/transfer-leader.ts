// Leader transfer asked by a meta operator: TimeoutNow to a voter that is
// caught up. A target that is not a voter, or lags too far, is refused with
// the reason (the meta cancels the operator and tells the caller).
import { pb } from '@redraft/common';
import type { RegionPeer } from './peer';

/** Entries a target may lag behind the leader's last index and still be handed the leadership (TiKV's default is 128). */
export const TRANSFER_MAX_LAG = 128;

/** Starts the transfer on the leader `peer`, or throws REFUSED / NOT_CAUGHT_UP with the reason. */
export function transferLeaderStep(peer: RegionPeer, toPeerId: number): void {
  if (toPeerId === peer.peerId) return; // leads already
  const target = (peer.region.peers ?? []).find((p) => Number(p.id) === toPeerId);
  if (!target) throw new Error(`REFUSED region ${peer.id} has no peer ${toPeerId}`);
  if (target.role === pb.PeerRole.LEARNER) throw new Error(`REFUSED peer ${toPeerId} of region ${peer.id} is a learner, not a voter`);
  const raft = peer.node.raft;
  const pr = raft.progressStatus().get(toPeerId);
  const last = raft.log.lastIndex();
  const lag = pr ? last - pr.match : last;
  if (!pr || lag > TRANSFER_MAX_LAG) {
    throw new Error(`NOT_CAUGHT_UP peer ${toPeerId} of region ${peer.id} on store ${Number(target.storeId)} is ${lag} entries behind the leader (at most ${TRANSFER_MAX_LAG})`);
  }
  peer.node.transferLeader(toPeerId);
}
