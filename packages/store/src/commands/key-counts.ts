// The key counts INFO keyspace shows. Counting keys is a scan of every
// region at its leader (keys-fanout.ts), as DBSIZE does: seconds with a
// million keys, and as long as the slowest region takes to answer. INFO is
// also what client libraries send on every connect (ioredis's ready check
// waits for it), so a connect must not wait for the whole cluster's keys.
//
// So INFO waits for a count at most INFO_COUNT_BUDGET_MS. A count that does
// not finish in time goes on in the background, and INFO shows the last one
// that finished, with its age, as Kvrocks's INFO shows its last DBSIZE
// SCAN. When the last count found BIG_COUNT keys or more, INFO does not
// start another until RECOUNT_FACTOR times that count's duration has
// passed, so that clients connecting in a loop do not keep a store scanning
// (a small count is cheap however long an unreachable region made it take).
// DBSIZE always counts afresh (it is a linearizable read) and its result
// becomes the last count.

export interface KeyCount {
  keys: number;
  expires: number;
}

/** What INFO shows: a count, and, when it is not one made for this INFO, how old it is. */
export interface InfoKeyCount {
  count: KeyCount | undefined;
  /** ms since the shown count started; undefined when it finished while this INFO waited. */
  ageMs: number | undefined;
  /** A count is under way (the one shown is older). */
  counting: boolean;
}

export const INFO_COUNT_BUDGET_MS = 500;
export const BIG_COUNT = 100_000;
const RECOUNT_FACTOR = 10;

interface Finished extends KeyCount {
  startedAt: number;
  tookMs: number;
}

export class KeyCounts {
  private last: Finished | undefined;
  private running: Promise<KeyCount> | undefined;

  constructor(
    private readonly onError: (err: unknown) => void = () => {},
    private readonly now: () => number = Date.now,
  ) {}

  /** DBSIZE: counts now; the result is also kept for INFO. */
  async fresh(count: () => Promise<KeyCount>): Promise<KeyCount> {
    const startedAt = this.now();
    const c = await count();
    // Two counts may overlap: the one started later holds the newer state.
    if (this.last === undefined || startedAt >= this.last.startedAt) {
      this.last = { keys: c.keys, expires: c.expires, startedAt, tookMs: this.now() - startedAt };
    }
    return c;
  }

  /** INFO keyspace: a count finished within `budgetMs`, else the last one. */
  async forInfo(count: () => Promise<KeyCount>, budgetMs = INFO_COUNT_BUDGET_MS): Promise<InfoKeyCount> {
    const last = this.last;
    const due = last === undefined || last.keys < BIG_COUNT || this.now() - last.startedAt >= RECOUNT_FACTOR * last.tookMs;
    if (this.running === undefined && due) {
      const run = this.fresh(count);
      this.running = run;
      run.then(
        () => this.settle(run),
        (e) => {
          this.settle(run);
          this.onError(e);
        },
      );
    }
    const running = this.running;
    if (running !== undefined) {
      let timer: NodeJS.Timeout | undefined;
      const inTime = await Promise.race([
        running.then(
          (c) => c,
          () => undefined,
        ),
        new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), budgetMs))),
      ]);
      clearTimeout(timer);
      if (inTime !== undefined) return { count: inTime, ageMs: undefined, counting: false };
    }
    const shown = this.last;
    return {
      count: shown && { keys: shown.keys, expires: shown.expires },
      ageMs: shown && this.now() - shown.startedAt,
      counting: this.running !== undefined,
    };
  }

  private settle(run: Promise<KeyCount>): void {
    if (this.running === run) this.running = undefined;
  }
}
