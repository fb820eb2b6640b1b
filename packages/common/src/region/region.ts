// The region type every part shares: a range of slots [startSlot, endSlot),
// its epoch and its peers, as plain numbers (the protobuf form, pb.Region,
// is for the wire and the disk).
import { redraft as pb } from '../gen/proto';
import { epochOf, type Epoch } from './epoch';

export interface PeerDesc {
  id: number;
  storeId: number;
  role: pb.PeerRole;
}

export interface RegionDesc {
  id: number;
  startSlot: number;
  /** Exclusive. */
  endSlot: number;
  epoch: Epoch;
  peers: PeerDesc[];
}

const n = (v: number | null | undefined): number => Number(v ?? 0);

export function regionFromPb(r: pb.Region.$Properties): RegionDesc {
  return {
    id: n(r.id),
    startSlot: n(r.startSlot),
    endSlot: n(r.endSlot),
    epoch: epochOf(r.epoch),
    peers: (r.peers ?? []).map((p) => ({ id: n(p.id), storeId: n(p.storeId), role: (p.role ?? pb.PeerRole.VOTER) as pb.PeerRole })),
  };
}

export function regionToPb(r: RegionDesc): pb.Region.$Properties {
  return {
    id: r.id,
    startSlot: r.startSlot,
    endSlot: r.endSlot,
    epoch: { version: r.epoch.version, confVer: r.epoch.confVer },
    peers: r.peers.map((p) => ({ id: p.id, storeId: p.storeId, role: p.role })),
  };
}

/** Whether two regions' slot ranges share a slot. */
export function regionsOverlap(a: { startSlot: number; endSlot: number }, b: { startSlot: number; endSlot: number }): boolean {
  return a.startSlot < b.endSlot && b.startSlot < a.endSlot;
}
