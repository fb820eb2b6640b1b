// The sorted slot → region map: regions (or anything with a slot range) in
// start-slot order, found by binary search. The store's routing and the
// meta's cluster map both keep theirs in one of these.
import { SLOT_COUNT } from '../keys';

export interface SlotRange {
  startSlot: number;
  /** Exclusive. */
  endSlot: number;
}

export class SlotMap<T> {
  private readonly items: T[];
  private readonly ranges: SlotRange[];

  /** `items` in start-slot order; equal starts keep `tieBreak`'s order (default: the given order). */
  constructor(items: Iterable<T>, range: (t: T) => SlotRange, tieBreak?: (a: T, b: T) => number) {
    const withRange = [...items].map((item) => ({ item, r: range(item) }));
    withRange.sort((a, b) => a.r.startSlot - b.r.startSlot || (tieBreak ? tieBreak(a.item, b.item) : 0));
    this.items = withRange.map((x) => x.item);
    this.ranges = withRange.map((x) => x.r);
  }

  /**
   * A map without overlaps from candidates that may overlap (two shapes of
   * the same slots around a split): a candidate whose slots a newer one
   * (higher `version`) already holds is left out; at equal versions the
   * earlier candidate wins.
   */
  static newestWins<T>(candidates: T[], range: (t: T) => SlotRange, version: (t: T) => number): SlotMap<T> {
    const order = candidates.map((c, i) => ({ c, i, v: version(c) })).sort((a, b) => b.v - a.v || a.i - b.i);
    const taken = new Uint8Array(SLOT_COUNT);
    const kept: T[] = [];
    for (const { c } of order) {
      const r = range(c);
      const start = Math.max(0, r.startSlot);
      const end = Math.min(SLOT_COUNT, r.endSlot);
      if (end <= start || taken.subarray(start, end).includes(1)) continue;
      taken.fill(1, start, end);
      kept.push(c);
    }
    return new SlotMap(kept, range);
  }

  get size(): number {
    return this.items.length;
  }

  /** Every item in start-slot order. */
  list(): readonly T[] {
    return this.items;
  }

  /** The item whose range holds `slot`, if any. */
  find(slot: number): T | undefined {
    let lo = 0;
    let hi = this.ranges.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const r = this.ranges[mid];
      if (slot < r.startSlot) hi = mid - 1;
      else if (slot >= r.endSlot) lo = mid + 1;
      else return this.items[mid];
    }
    return undefined;
  }
}
