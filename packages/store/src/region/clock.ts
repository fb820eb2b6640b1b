// The time of a region's operations (docs/decisions.md, "One clock per
// region"). Expiry makes time part of the state: apply decides whether a key
// is alive at its entry's time, a read at the time it is served at. For the
// history to be one order, times must rise along it:
//  - entries: the leader stamps each at the moment it appends it, from a
//    clock that never goes back (so times rise in log order), never at the
//    command's arrival (a forwarded or queued command would carry a time
//    older than entries appended before it);
//  - reads: a read waits for every entry appended before it began (its read
//    index is the leader's last index, not its commit index), then is served
//    at the later of its start and the time of the newest entry on disk.
// Then every entry a read sees has a time at or before the read's, and
// every entry it does not see one at or after it: an entry proposed before
// a key expired can no longer apply after a read found the key gone.
export class RegionClock {
  /** The newest time handed out or seen in an applied entry. */
  private last = 0;
  /** The newest entry time applied into the batch being built. */
  private applied = 0;
  /** The newest entry time on disk: the state reads are served from. */
  private durable = 0;

  /** Now, never before a time handed out or applied here. */
  now(): number {
    const t = Date.now();
    if (t > this.last) this.last = t;
    return this.last;
  }

  /** An entry with this time was applied (into the batch being built). */
  applyEntry(ms: number): void {
    if (ms > this.applied) this.applied = ms;
    if (ms > this.last) this.last = ms;
  }

  /** The entries applied so far are on disk (or those up to the time `upToMs`, when later ones are still being written). */
  persisted(upToMs = this.applied): void {
    if (upToMs > this.durable) this.durable = upToMs;
  }

  /**
   * The time a read that began at `startMs` is served at, once every entry
   * appended before it began is on disk: entries applied since then may
   * carry later times, and the read sees them.
   */
  readAt(startMs: number): number {
    return Math.max(startMs, this.durable);
  }
}
