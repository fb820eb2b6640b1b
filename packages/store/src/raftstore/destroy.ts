// Destroying a replica that left its region (conf-change.ts): one synced
// batch deletes its data range and its Raft state (log, hard and apply
// state, client sessions) and writes its local state as a tombstone. After
// it, a restart does not load the replica again, and a stale message for it
// creates nothing (store.ts checks the tombstone's peer id).
//
// The engine has no delete-range operation (the `rocksdb` binding), so the
// batch names each key of the range, as a snapshot install does; the ranges
// are one region's, bounded by the split thresholds.
import { OverlayBatch, dataRange, pb, regionLocalRange, regionStateKey } from '@redraft/common';
import type { Engine } from '@redraft/common';
import type { RegionPeer } from './peer';

/**
 * Deletes what `peer` held and tombstones it; returns how many keys went.
 * The data range is left alone when another replica on this store holds any
 * of its slots (it is then that replica's data, never ours to delete).
 */
export async function destroyReplicaData(engine: Engine, peer: RegionPeer, otherRanges: Array<[number, number]>, opts: { keepData?: boolean } = {}): Promise<number> {
  const batch = new OverlayBatch(engine);
  let keys = 0;
  const stateKey = regionStateKey(peer.id);
  const [lgte, llt] = regionLocalRange(peer.id);
  for await (const [k] of engine.scan({ gte: lgte, lt: llt, keysOnly: true })) {
    if (k.equals(stateKey)) continue;
    batch.batch.del(k);
    keys++;
  }
  const { startSlot, endSlot } = peer;
  const shared = otherRanges.some(([s, e]) => s < endSlot && startSlot < e);
  // A source retired by a merge keeps its data: the target region owns it now.
  if (endSlot > startSlot && !shared && !opts.keepData) {
    const [gte, lt] = dataRange(startSlot, endSlot);
    for await (const [k] of engine.scan({ gte, lt, keysOnly: true })) {
      batch.batch.del(k);
      keys++;
    }
  }
  peer.storage.setRegion(peer.region, batch.batch, pb.PeerState.TOMBSTONE);
  await engine.write(batch.batch, true);
  return keys;
}
