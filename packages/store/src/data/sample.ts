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
