// Which two regions may merge (store raftstore/merge.ts applies merges, the
// meta plans them): the one rule both sides check.
import { redraft as pb } from '../gen/proto';

type Region = pb.Region.$Properties;

/** The stores holding the region's replicas, sorted; learners make a region unfit to merge. */
function storesOf(r: Region): number[] | undefined {
  const peers = r.peers ?? [];
  if (peers.length === 0 || peers.some((p) => p.role === pb.PeerRole.LEARNER)) return undefined;
  return peers.map((p) => Number(p.storeId)).sort((a, b) => a - b);
}

/** Why two regions cannot merge, or undefined when they can (adjacent, all voters, the same stores). */
export function mergeRefusal(source: Region, target: Region): string | undefined {
  if (Number(source.id) === Number(target.id)) return 'a region cannot merge into itself';
  const adjacent = Number(source.endSlot) === Number(target.startSlot) || Number(target.endSlot) === Number(source.startSlot);
  if (!adjacent) return `regions ${Number(source.id)} and ${Number(target.id)} are not adjacent`;
  const a = storesOf(source);
  const b = storesOf(target);
  if (!a || !b) return 'a region with a learner (a move under way) cannot merge';
  if (a.length !== b.length || a.some((s, i) => s !== b[i])) return `regions ${Number(source.id)} and ${Number(target.id)} are not on the same stores`;
  return undefined;
}

