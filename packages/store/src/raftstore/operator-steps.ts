// The meta's operator steps on a store (docs/meta.md, "Operators"): one
// `Instruction` at a time, from a heartbeat reply or a direct nudge, handed
// to the module of its operation — create a replica (life), destroy one the
// map shows removed, a membership change (conf-change.ts), a split
// (split.ts), a leader transfer (transfer-leader.ts), a merge step
// (merge.ts). A step this store cannot take now (not the leader, another
// epoch) is skipped: the meta hands it to whichever store leads.
import { pb } from '@redraft/common';
import type { Logger } from '@redraft/common';
import { epochOf, sameEpoch } from '@redraft/common';
import type { RegionPeer } from './peer';
import { transferLeaderStep } from './transfer-leader';
import { confChangeStep, isConfChangeStep } from './conf-change';

/** A split or merge step proposed this long ago and still asked for is proposed again. */
export const STEP_REPROPOSE_MS = 5000;

/** What a step needs of the store. */
export interface StepHost {
  peer(regionId: number): RegionPeer | undefined;
  /** Creates the first replica of a new region here (the meta's bootstrap). */
  bootstrapPeer(region: pb.Region.$Properties): Promise<void>;
  /** Destroys a replica this store holds (data, Raft state; tombstoned). */
  destroyPeer(peer: RegionPeer, why: string): void;
  schedule(): void;
  log(): Logger;
}

export class OperatorSteps {
  /** The split or merge step each region's leader last proposed, and when (not proposed again on every heartbeat). */
  private readonly proposed = new Map<number, { operatorId: number; at: number }>();

  constructor(private readonly host: StepHost) {}

  /**
   * Carries out one step. Throws (REFUSED / NOT_CAUGHT_UP ...) when the step
   * can never succeed as asked, so a nudge can report why.
   */
  async execute(ins: pb.Instruction, nudged: boolean): Promise<void> {
    const regionId = Number(ins.regionId);
    if (ins.createPeer) {
      await this.host.bootstrapPeer(ins.createPeer);
      return;
    }
    const peer = this.host.peer(regionId);
    if (ins.destroyPeer) {
      // The meta's map shows this replica removed at a newer epoch than it knows (it missed its removal).
      const behind = peer && Number(ins.regionEpoch?.confVer ?? 0) > peer.epoch.confVer;
      if (peer && behind && peer.peerId === Number(ins.destroyPeer.id) && !peer.isLeader) this.host.destroyPeer(peer, `the meta's map shows it removed at conf_ver ${Number(ins.regionEpoch?.confVer ?? 0)}`);
      return;
    }
    if (!peer || !peer.isLeader) return;
    if (isConfChangeStep(ins)) {
      // Checked against the region itself (a step already done does nothing), not the operator's epoch.
      confChangeStep(peer, ins);
      this.host.schedule();
      return;
    }
    if (ins.regionEpoch && !sameEpoch(peer.epoch, epochOf(ins.regionEpoch))) {
      if (nudged) this.host.log().info({ regionId, have: peer.epoch, step: ins.regionEpoch }, 'operator step for another epoch of the region skipped');
      return;
    }
    if (ins.split) {
      // Proposed a moment ago: wait for it to apply. Later (the proposal may
      // have been lost to a leader change) it is proposed again; a duplicate
      // carries the old epoch, which apply refuses.
      if (!nudged && this.proposedRecently(regionId, ins)) return;
      if (peer.proposeSplit(ins.split)) this.noteProposed(regionId, ins);
    } else if (ins.transferLeaderTo) {
      transferLeaderStep(peer, Number(ins.transferLeaderTo));
    } else if (ins.prepareMerge || ins.commitMerge || ins.rollbackMerge) {
      // Like a split: proposed again only after a while; a duplicate is refused in apply by its epoch.
      if (!nudged && this.proposedRecently(regionId, ins)) return;
      const admin = ins.prepareMerge ? { prepareMerge: ins.prepareMerge } : ins.commitMerge ? { commitMerge: ins.commitMerge } : { rollbackMerge: ins.rollbackMerge };
      if (peer.proposeMerge(admin)) this.noteProposed(regionId, ins);
    }
    this.host.schedule();
  }

  private proposedRecently(regionId: number, ins: pb.Instruction): boolean {
    const last = this.proposed.get(regionId);
    return !!last && last.operatorId === Number(ins.operatorId) && Date.now() - last.at < STEP_REPROPOSE_MS;
  }

  private noteProposed(regionId: number, ins: pb.Instruction): void {
    this.proposed.set(regionId, { operatorId: Number(ins.operatorId), at: Date.now() });
  }
}
