// Region split, on every replica of the parent (docs/decisions.md, "Region
// split"). The split is an admin entry in the parent's log; applying it
//  - shrinks the parent to [start, split slot) and raises its epoch version
//    (peer.ts, applySplit), so commands proposed with the older epoch are
//    refused in apply and routed again;
//  - writes, in the same WriteBatch, the new region's replica on this store:
//    its region state (same stores, peer ids from the meta), Raft state at
//    RAFT_INIT_INDEX/TERM with the apply state there too (as TiKV does: the
//    child's log starts empty, its data is already in place because a
//    region's data is its slot range), and a copy of the parent's client
//    sessions (so a forwarded write resent after the split stays exactly-once).
// Once that batch is on disk the store loads and starts the replica; the one
// on the parent leader's store campaigns at once.
import { PeerStorage, pb } from '@redraft/common';
import type { Logger, OverlayBatch } from '@redraft/common';
import type { RegionPeer } from './peer';

export interface SplitContext {
  storeId: number;
  /** Every region this store has a replica record of. */
  localStates: Map<number, { peerId: number; tombstone: boolean }>;
  /** Regions whose replica is being created: messages for them wait. */
  creating: Set<number>;
  log: Logger;
}

/** A new replica written by a split, to start once the batch is durable. */
export interface SplitChild {
  regionId: number;
  region: pb.Region.$Properties;
  peerId: number;
  /** The parent's replica here led when the split applied: this one campaigns at once. */
  campaign: boolean;
}

export function writeSplitChild(ctx: SplitContext, parent: RegionPeer, child: pb.Region.$Properties, batch: OverlayBatch): SplitChild | undefined {
  const regionId = Number(child.id);
  const mine = (child.peers ?? []).find((p) => Number(p.storeId) === ctx.storeId);
  if (!mine) return undefined;
  if (ctx.localStates.has(regionId)) {
    // Created already (it cannot be, short of a bug): never overwrite a replica's Raft state.
    ctx.log.warn({ regionId }, 'the new region of a split already has a replica here; not created again');
    return undefined;
  }
  PeerStorage.bootstrap(batch.batch, child, Number(mine.id));
  parent.sessions.copyTo(regionId, batch);
  ctx.localStates.set(regionId, { peerId: Number(mine.id), tombstone: false });
  ctx.creating.add(regionId);
  return { regionId, region: child, peerId: Number(mine.id), campaign: parent.isLeader };
}

/** Most messages kept per region, most regions, and how long they stay useful. */
const STASH_PER_REGION = 64;
// Above the most initial regions (16,384): a bootstrap stashes the first messages of every one.
const STASH_REGIONS = 20_000;
const STASH_TTL_MS = 10_000;

/**
 * Raft messages for a region this store is about to create (its parent's
 * split is not applied here yet): the new leader's first votes and appends
 * are delivered once the replica exists, instead of waiting an election
 * timeout for the sender to retry.
 */
export class MessageStash {
  private readonly byRegion = new Map<number, { at: number; messages: pb.RaftMessage[] }>();

  put(regionId: number, m: pb.RaftMessage): void {
    let e = this.byRegion.get(regionId);
    if (!e) {
      if (this.byRegion.size >= STASH_REGIONS) this.byRegion.clear();
      this.byRegion.set(regionId, (e = { at: Date.now(), messages: [] }));
    }
    if (e.messages.length >= STASH_PER_REGION) e.messages.shift();
    e.messages.push(m);
  }

  take(regionId: number): pb.RaftMessage[] {
    const e = this.byRegion.get(regionId);
    this.byRegion.delete(regionId);
    if (!e || Date.now() - e.at > STASH_TTL_MS) return [];
    return e.messages;
  }
}
