// Per-command call counts of this store (INFO commandstats), counted by the
// dispatcher as commands arrive (a forwarded command counts on both stores).
// Process-wide, like Redis's per-server table. Timings and failures are not
// measured (usec, rejected_calls and failed_calls print 0): counting them
// would cost every command a step on the hot path.

interface CommandStat {
  calls: number;
}

const stats = new Map<string, CommandStat>();

/** A command (its full name, e.g. `client|list`) was called. */
export function countCall(fullName: string): void {
  const s = stats.get(fullName);
  if (s) s.calls++;
  else stats.set(fullName, { calls: 1 });
}

/** INFO commandstats lines, in Redis 7.0's format (timings are not measured: 0). */
export function commandStatsFields(): Array<[string, string]> {
  return [...stats.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, s]) => [`cmdstat_${name}`, `calls=${s.calls},usec=0,usec_per_call=0.00,rejected_calls=0,failed_calls=0`]);
}
