// What a leader knows about each follower, and the quorum arithmetic over it.

export enum ProgressState {
  Probe = 'probe',
  Replicate = 'replicate',
  Snapshot = 'snapshot',
}

/** Sliding window of in-flight MsgApp (by last index), bounded in count and bytes. */
export class Inflights {
  private idx: number[] = [];
  private bytes: number[] = [];
  private totalBytes = 0;

  constructor(
    readonly maxCount: number,
    readonly maxBytes: number,
  ) {}

  add(index: number, bytes: number): void {
    this.idx.push(index);
    this.bytes.push(bytes);
    this.totalBytes += bytes;
  }

  /** Frees every flight whose last index is ≤ to. */
  freeLE(to: number): void {
    let n = 0;
    while (n < this.idx.length && this.idx[n] <= to) {
      this.totalBytes -= this.bytes[n];
      n++;
    }
    if (n > 0) {
      this.idx = this.idx.slice(n);
      this.bytes = this.bytes.slice(n);
    }
  }

  /** Frees the oldest flight (a heartbeat response shows the follower is alive). */
  freeFirstOne(): void {
    if (this.idx.length > 0) this.freeLE(this.idx[0]);
  }

  full(): boolean {
    return this.idx.length >= this.maxCount || (this.maxBytes > 0 && this.totalBytes >= this.maxBytes);
  }

  count(): number {
    return this.idx.length;
  }

  reset(): void {
    this.idx = [];
    this.bytes = [];
    this.totalBytes = 0;
  }
}

export class Progress {
  match = 0;
  /** The commit index carried by the last MsgApp sent (flush skips followers that have it). */
  sentCommit = 0;
  next: number;
  state = ProgressState.Probe;
  /** In Snapshot state: the index of the snapshot being sent. */
  pendingSnapshot = 0;
  /** Heard from it since the last check-quorum round. */
  recentActive = false;
  /** Probe: one MsgApp is out, wait for its answer (or a heartbeat response to a heartbeat sent after it). */
  msgAppFlowPaused = false;
  /** Probe: the leader's lease clock when the last probing MsgApp went out (-1: none yet). */
  probeSentAt = -1;
  /** Lease clock of the newest heartbeat this peer acknowledged in this term. */
  leaseAck = -1;
  inflights: Inflights;
  isLearner: boolean;

  constructor(next: number, maxInflight: number, maxInflightBytes: number, isLearner: boolean) {
    this.next = next;
    this.inflights = new Inflights(maxInflight, maxInflightBytes);
    this.isLearner = isLearner;
  }

  private resetState(state: ProgressState): void {
    this.msgAppFlowPaused = false;
    this.probeSentAt = -1;
    this.pendingSnapshot = 0;
    this.state = state;
    this.inflights.reset();
  }

  becomeProbe(): void {
    if (this.state === ProgressState.Snapshot) {
      const pending = this.pendingSnapshot;
      this.resetState(ProgressState.Probe);
      this.next = Math.max(this.match + 1, pending + 1);
    } else {
      this.resetState(ProgressState.Probe);
      this.next = this.match + 1;
    }
  }

  becomeReplicate(): void {
    this.resetState(ProgressState.Replicate);
    this.next = this.match + 1;
  }

  becomeSnapshot(snapshotIndex: number): void {
    this.resetState(ProgressState.Snapshot);
    this.pendingSnapshot = snapshotIndex;
  }

  /** Records a MsgApp carrying `count` entries (last index `last`, `bytes` bytes). */
  sentEntries(count: number, last: number, bytes: number): void {
    if (this.state === ProgressState.Replicate) {
      if (count > 0) {
        this.next = last + 1;
        this.inflights.add(last, bytes);
      }
    } else if (this.state === ProgressState.Probe) {
      this.msgAppFlowPaused = true;
    }
  }

  /** An acknowledgement up to n; false if it is stale. */
  maybeUpdate(n: number): boolean {
    let updated = false;
    if (this.match < n) {
      this.match = n;
      updated = true;
      this.msgAppFlowPaused = false;
    }
    this.next = Math.max(this.next, n + 1);
    return updated;
  }

  /**
   * A rejection of the MsgApp at `rejected`; `matchHint` is where to probe
   * next. False if the rejection is stale.
   */
  maybeDecrTo(rejected: number, matchHint: number): boolean {
    if (this.state === ProgressState.Replicate) {
      if (rejected <= this.match) return false;
      this.next = this.match + 1;
      return true;
    }
    if (this.next - 1 !== rejected) return false;
    this.next = Math.max(Math.min(rejected, matchHint + 1), this.match + 1);
    this.msgAppFlowPaused = false;
    return true;
  }

  isPaused(): boolean {
    switch (this.state) {
      case ProgressState.Probe:
        return this.msgAppFlowPaused;
      case ProgressState.Replicate:
        return this.inflights.full();
      case ProgressState.Snapshot:
        return true;
    }
  }
}

/** The k-th largest value (1-based) among values: the quorum index for k = majority. */
export function quorumValue(values: number[], k: number): number {
  const n = values.length;
  if (k < 1 || k > n || n > 9) {
    const sorted = values.slice().sort((a, b) => b - a);
    return sorted[k - 1];
  }
  // A group has a few voters: the largest value that k of them reach, with
  // no copy and no sort (the copy and sort were 2 % of a store's CPU under
  // pipelined GETs, a lease check each).
  let best = -Infinity;
  for (let i = 0; i < n; i++) {
    const v = values[i];
    if (v <= best) continue;
    let reach = 0;
    for (let j = 0; j < n; j++) if (values[j] >= v) reach++;
    if (reach >= k) best = v;
  }
  return best;
}

export function majority(n: number): number {
  return Math.floor(n / 2) + 1;
}

export enum VoteResult {
  Pending,
  Lost,
  Won,
}

export function tally(voters: number[], votes: Map<number, boolean>): { granted: number; rejected: number; result: VoteResult } {
  let granted = 0;
  let rejected = 0;
  for (const id of voters) {
    const v = votes.get(id);
    if (v === true) granted++;
    else if (v === false) rejected++;
  }
  const q = majority(voters.length);
  const result = granted >= q ? VoteResult.Won : rejected > voters.length - q ? VoteResult.Lost : VoteResult.Pending;
  return { granted, rejected, result };
}
