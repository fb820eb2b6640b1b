// What the command layer needs from a region, whatever replicates it: a
// way to get a write applied (its reply comes back from apply) and a
// linearizable read point. The single-replica LocalRegion and the Raft
// peer both provide it, so commands never know which one they talk to.
import type { Reply, pb } from '@redraft/common';

export interface RegionHandle {
  readonly id: number;
  /** Slots [startSlot, endSlot). */
  readonly startSlot: number;
  readonly endSlot: number;
  /**
   * Resolves with apply's reply once the write is durable and applied. A
   * write in a forwarding session is applied at most once per (session, seq).
   */
  propose(cmd: pb.WriteCommand.$Properties, session?: pb.ForwardSession.$Properties): Promise<Reply>;
  /**
   * Resolves when a read of the local state reflects every write
   * appended before the call (acknowledged or not), with the time (ms)
   * expiry is decided at (region/clock.ts).
   */
  readBarrier(): Promise<number>;
  /**
   * The time readBarrier would resolve with, when a read may run right now
   * (a leader's lease, its last entry applied and on disk); undefined when
   * the read must wait, through readBarrier. A hot read answers in its turn.
   */
  readNow?(): number | undefined;
}
