// Per-command call counts of this store (INFO commandstats), counted by the
// dispatcher as commands arrive. Process-wide, like Redis's per-server table.

interface CommandStat {
  calls: number;
  failed: number;
}

const stats = new Map<string, CommandStat>();

/** A command (its full name, e.g. `client|list`) was called; `failed` when it answered an error. */
export function countCall(fullName: string, failed = false): void {
  let s = stats.get(fullName);
  if (!s) stats.set(fullName, (s = { calls: 0, failed: 0 }));
  s.calls++;
  if (failed) s.failed++;
}

/** INFO commandstats lines, in Redis 7.0's format (timings are not measured: 0). */
export function commandStatsFields(): Array<[string, string]> {
  return [...stats.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, s]) => [`cmdstat_${name}`, `calls=${s.calls},usec=0,usec_per_call=0.00,rejected_calls=0,failed_calls=${s.failed}`]);
}
