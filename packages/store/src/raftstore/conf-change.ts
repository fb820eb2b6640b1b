// Membership change of a region, one voter at a time (docs/decisions.md,
// "Replica moves"). A move is four operator steps, each one conf change entry
// in the region's log, proposed by its leader:
//   add learner  — the new replica on the target store is created by the
//                  leader's first message (store.ts) and catches up by the
//                  streamed snapshot (snapshot.ts); a learner does not vote,
//                  so a slow catch-up never costs the region its quorum;
//   promote      — proposed only once the learner is caught up;
//   remove       — of the old peer; a leader asked to remove itself first
//                  hands its leadership to a caught-up voter (the step then
//                  comes back to the new leader);
// and on apply of a remove, the removed replica is destroyed: its data and
// Raft state are deleted and its local state tombstoned (store.ts).
//
// Single-step (one voter added or removed per entry) rather than joint
// consensus: with one voter changed at a time, every majority of the old
// voters overlaps every majority of the new, so no two leaders can be elected;
// the Raft core applies a change when its entry applies and refuses a second
// while one is unapplied. A move passes through 4 voters, never 2.
//
// Every change raises the region's conf_ver. The entry carries the epoch its
// proposer saw: apply refuses it when the epoch has moved on since (a
// duplicate proposal, or one made before a split), the same on every replica.
import { pb, raft } from '@redraft/common';
import type { OverlayBatch } from '@redraft/common';
import type { RegionPeer } from './peer';
import { TRANSFER_MAX_LAG, transferLeaderStep } from './transfer-leader';

const { ConfChangeType } = raft;

/** The three membership steps an operator hands the leader. */
export function isConfChangeStep(ins: pb.Instruction.$Properties): boolean {
  return !!(ins.addLearner || ins.promoteLearner || ins.removePeer);
}

function peersOf(peer: RegionPeer): pb.Peer.$Properties[] {
  return peer.region.peers ?? [];
}

/**
 * How far a peer's log lags the leader's: Infinity when the leader tracks no
 * progress for it, or the peer never acknowledged an entry (match 0: a
 * learner still waiting for its snapshot, whose store may be cut off — in a
 * young region the log is shorter than TRANSFER_MAX_LAG, so the lag alone
 * would call it caught up and promote an empty replica to voter).
 */
function lagOf(peer: RegionPeer, peerId: number): number {
  const r = peer.node.raft;
  const pr = r.progressStatus().get(peerId);
  return pr && pr.match > 0 ? r.log.lastIndex() - pr.match : Infinity;
}

/**
 * Carries out one membership step on the leader `peer`. A step already done
 * (the region shows it) or not yet possible (the learner still catching up,
 * an earlier change unapplied) does nothing: the operator hands it again with
 * the next heartbeat. Throws REFUSED when it can never succeed as asked.
 */
export function confChangeStep(peer: RegionPeer, ins: pb.Instruction.$Properties): void {
  const peers = peersOf(peer);
  if (ins.addLearner) {
    const target = ins.addLearner;
    const id = Number(target.id);
    const storeId = Number(target.storeId);
    if (peers.some((p) => Number(p.id) === id)) return; // added already
    const other = peers.find((p) => Number(p.storeId) === storeId);
    if (other) throw new Error(`REFUSED region ${peer.id} already has peer ${Number(other.id)} on store ${storeId}`);
    propose(peer, ConfChangeType.AddLearner, { id, storeId, role: pb.PeerRole.LEARNER });
  } else if (ins.promoteLearner) {
    const id = Number(ins.promoteLearner.id);
    const p = peers.find((x) => Number(x.id) === id);
    if (!p) throw new Error(`REFUSED region ${peer.id} has no peer ${id} to promote`);
    if (p.role !== pb.PeerRole.LEARNER) return; // promoted already
    // A voter that cannot vote yet would only weaken the quorum: wait until it has caught up.
    if (lagOf(peer, id) > TRANSFER_MAX_LAG) return;
    propose(peer, ConfChangeType.AddNode, { id, storeId: Number(p.storeId), role: pb.PeerRole.VOTER });
  } else if (ins.removePeer) {
    const id = Number(ins.removePeer.id);
    const p = peers.find((x) => Number(x.id) === id);
    if (!p) return; // removed already
    if (id === peer.peerId) {
      // A leader never removes itself: it hands its leadership to a caught-up voter first.
      handOverLeadership(peer);
      return;
    }
    const voters = peers.filter((x) => x.role !== pb.PeerRole.LEARNER && Number(x.id) !== id);
    if (voters.length === 0) throw new Error(`REFUSED removing peer ${id} would leave region ${peer.id} without voters`);
    propose(peer, ConfChangeType.RemoveNode, { id, storeId: Number(p.storeId), role: p.role ?? pb.PeerRole.VOTER });
  }
}

/** Leadership to the most caught-up other voter, if one is caught up enough. */
function handOverLeadership(peer: RegionPeer): void {
  const others = peersOf(peer)
    .filter((p) => Number(p.id) !== peer.peerId && p.role !== pb.PeerRole.LEARNER)
    .map((p) => ({ id: Number(p.id), lag: lagOf(peer, Number(p.id)) }))
    .sort((a, b) => a.lag - b.lag);
  for (const o of others) {
    try {
      transferLeaderStep(peer, o.id);
      peer.log.info({ to: o.id }, 'leader asked to remove itself: transferring the leadership first');
      return;
    } catch {
      // not caught up: the next one, or the next heartbeat
    }
  }
}

function propose(peer: RegionPeer, type: raft.ConfChangeType, target: pb.Peer.$Properties): void {
  const context = pb.ConfChangeContext.encode({ peer: target, epoch: peer.epoch }).finish();
  try {
    peer.node.proposeConfChange({ type, nodeId: Number(target.id), context });
  } catch (e) {
    // Dropped (another change unapplied, a leader transfer under way): the next heartbeat hands the step again.
    peer.log.debug({ err: (e as Error).message }, 'membership change not proposed now');
  }
}

/** What applying a conf change entry did. */
export interface ConfChangeApplied {
  /** The new region descriptor (unchanged when the entry was refused). */
  region: pb.Region.$Properties;
  /** This replica is no longer a member: it is destroyed once the batch is on disk. */
  removedSelf: boolean;
  changed: boolean;
}

/**
 * Applies a conf change entry of `peer`'s region: decides from the entry and
 * the region alone (every replica decides the same), tells the Raft core,
 * and writes the new region (conf_ver + 1) into the apply batch.
 */
export function applyConfChange(peer: RegionPeer, e: raft.Entry, batch: OverlayBatch, plain: (r: pb.Region.$Properties) => pb.Region.$Properties): ConfChangeApplied {
  const region = plain(peer.region);
  let cc: raft.ConfChange;
  let ctx: pb.ConfChangeContext;
  try {
    cc = raft.decodeConfChange(e.data);
    ctx = pb.ConfChangeContext.decode(cc.context ?? new Uint8Array(0));
  } catch (err) {
    peer.log.warn({ index: e.index, err: (err as Error).message }, 'conf change entry does not decode; ignored');
    return { region, removedSelf: false, changed: false };
  }
  const epoch = peer.epoch;
  const at = { version: Number(ctx.epoch?.version ?? 0), confVer: Number(ctx.epoch?.confVer ?? 0) };
  if (at.version !== epoch.version || at.confVer !== epoch.confVer || !ctx.peer || Number(ctx.peer.id) !== cc.nodeId) {
    peer.log.info({ index: e.index, proposedAt: at, epoch }, 'conf change made for another epoch of the region; not applied');
    return { region, removedSelf: false, changed: false };
  }
  const id = cc.nodeId;
  const storeId = Number(ctx.peer.storeId);
  let peers = region.peers ?? [];
  if (cc.type === ConfChangeType.AddLearner) {
    peers = [...peers.filter((p) => Number(p.id) !== id), { id, storeId, role: pb.PeerRole.LEARNER }];
  } else if (cc.type === ConfChangeType.AddNode) {
    const had = peers.some((p) => Number(p.id) === id);
    peers = had ? peers.map((p) => (Number(p.id) === id ? { ...p, role: pb.PeerRole.VOTER } : p)) : [...peers, { id, storeId, role: pb.PeerRole.VOTER }];
  } else {
    peers = peers.filter((p) => Number(p.id) !== id);
  }
  peer.node.applyConfChange(cc);
  const next = { ...region, peers, epoch: { version: epoch.version, confVer: epoch.confVer + 1 } };
  peer.storage.setRegion(next, batch.batch);
  peer.log.info({ type: ConfChangeType[cc.type], peerId: id, storeId, confVer: next.epoch.confVer }, 'membership change applied');
  return { region: next, removedSelf: cc.type === ConfChangeType.RemoveNode && id === peer.peerId, changed: true };
}
