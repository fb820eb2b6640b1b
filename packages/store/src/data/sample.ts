// Random choices of collection members (HRANDFIELD, SRANDMEMBER, SPOP,
// ZRANDMEMBER): positions in the collection's key order. `random(n)` gives a
// uniform integer in [0, n): Math.random on a read, a generator seeded by the
// entry in apply, so every replica picks alike.

/** `count` distinct positions out of [0, size), in random order (Floyd's sampling, then a shuffle). */
export function samplePositions(size: number, count: number, random: (n: number) => number): number[] {
  const chosen = new Set<number>();
  for (let j = size - count; j < size; j++) {
    const t = random(j + 1);
    chosen.add(chosen.has(t) ? j : t);
  }
  const order = [...chosen];
  for (let i = order.length - 1; i > 0; i--) {
    const j = random(i + 1);
    [order[i], order[j]] = [order[j], order[i]];
  }
  return order;
}

/**
 * A small seeded generator (mulberry32), uniform in [0, 1): apply may draw
 * "random" numbers only from a seed carried by the entry (SPOP's seed, a
 * transaction's index), so every replica draws the same ones.
 */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** An integer in [0, n) from a uniform [0, 1) source. */
export function uniformInt(random: () => number): (n: number) => number {
  return (n) => Math.floor(random() * n);
}
