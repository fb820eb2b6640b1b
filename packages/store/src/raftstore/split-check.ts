// The split check: a region's leader measures its region now and then (keys
// = metadata rows, counted by a keys-only scan of its data range, memtable
// included; bytes = RocksDB's estimate of its files, or the scanned key bytes
// if more) and finds the slot that halves its keys. The
// numbers ride in the heartbeat (approximate_keys, approximate_bytes,
// split_slot_hint); the meta's split-checker scheduler decides whether to
// split (packages/meta/src/schedulers.ts). A region is measured again only
// when it applied something since, and at most once per interval.
import { dataRange, isMetaKey } from '@redraft/common';
import type { Engine } from '@redraft/common';
import type { RegionPeer } from './peer';

export interface RegionSize {
  keys: number;
  bytes: number;
  /** The first slot at which half of the keys lie before it (0: none inside the region). */
  splitSlot: number;
  /** The replica's applied index and epoch version when measured. */
  applied: number;
  version: number;
}

/** Counts a region's keys and bytes by scanning its data range, and finds the slot halving its keys. */
export async function measureRegion(engine: Engine, startSlot: number, endSlot: number): Promise<Omit<RegionSize, 'applied' | 'version'>> {
  const [gte, lt] = dataRange(startSlot, endSlot);
  const perSlot = new Uint32Array(Math.max(0, endSlot - startSlot));
  let keys = 0;
  let bytes = 0;
  for await (const [k] of engine.scan({ gte, lt, keysOnly: true })) {
    bytes += k.length;
    if (isMetaKey(k)) {
      keys++;
      perSlot[k.readUInt16BE(1) - startSlot]++;
    }
  }
  let splitSlot = 0;
  let seen = 0;
  for (let i = 0; i < perSlot.length; i++) {
    if (seen * 2 >= keys && i > 0 && keys > 0) {
      splitSlot = startSlot + i;
      break;
    }
    seen += perSlot[i];
  }
  bytes = Math.max(bytes, await engine.approximateSize(gte, lt).catch(() => 0));
  return { keys, bytes, splitSlot };
}

export class SplitChecker {
  private readonly sizes = new Map<number, RegionSize>();
  private running = false;

  constructor(private readonly engine: Engine) {}

  /** The last measure of a region, if it is still of the region's current shape. */
  sizeOf(peer: RegionPeer): RegionSize | undefined {
    const s = this.sizes.get(peer.id);
    return s && s.version === peer.epoch.version ? s : undefined;
  }

  /** Measures every led region that applied something since its last measure (one at a time). */
  async run(peers: Iterable<RegionPeer>): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      for (const p of [...peers]) {
        if (!p.isLeader || !p.region.peers?.length) continue;
        const last = this.sizeOf(p);
        if (last && last.applied === p.applied) continue;
        const applied = p.applied;
        const version = p.epoch.version;
        const m = await measureRegion(this.engine, p.startSlot, p.endSlot);
        this.sizes.set(p.id, { ...m, applied, version });
      }
    } finally {
      this.running = false;
    }
  }

  forget(regionId: number): void {
    this.sizes.delete(regionId);
  }
}
