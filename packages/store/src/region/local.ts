// A region with one replica and no Raft: the store of the single-replica
// issue. It is the sequencer Raft will replace: writes get consecutive
// indexes, are applied by the same apply() in one batch per event-loop turn
// with the applied index, synced, then answered (group commit).
import { OverlayBatch, applyStateKey, pb, u64, readU64 } from '@redraft/common';
import type { Engine, Reply } from '@redraft/common';
import type { Logger } from 'pino';
import { apply } from '../apply/apply';
import type { RegionHandle } from './region';

interface Pending {
  data: Uint8Array;
  resolve: (r: Reply) => void;
  reject: (e: Error) => void;
}

export class LocalRegion implements RegionHandle {
  private queue: Pending[] = [];
  private flushing = false;
  private scheduled = false;
  private failed: Error | null = null;

  private constructor(
    readonly id: number,
    readonly startSlot: number,
    readonly endSlot: number,
    private readonly engine: Engine,
    private readonly log: Logger,
    private appliedIndex: number,
  ) {}

  static async open(engine: Engine, log: Logger, id = 1, startSlot = 0, endSlot = 16384): Promise<LocalRegion> {
    const raw = await engine.get(applyStateKey(id));
    const applied = raw ? readU64(raw, 0) : 0;
    return new LocalRegion(id, startSlot, endSlot, engine, log.child({ regionId: id }), applied);
  }

  get applied(): number {
    return this.appliedIndex;
  }

  propose(cmd: pb.WriteCommand.$Properties): Promise<Reply> {
    if (this.failed) return Promise.reject(this.failed);
    if (!cmd.proposedAtMs) cmd.proposedAtMs = Date.now();
    const data = pb.WriteCommand.encode(cmd).finish();
    return new Promise((resolve, reject) => {
      this.queue.push({ data, resolve, reject });
      this.schedule();
    });
  }

  /**
   * Resolves when no apply write is in flight, so the disk holds exactly the
   * state at `applied` (flushes start from setImmediate, never in between).
   */
  async quiet(): Promise<void> {
    while (this.flushing) await new Promise((r) => setImmediate(r));
  }

  readBarrier(): Promise<number> {
    return Promise.resolve(Date.now());
  }

  private schedule(): void {
    if (this.scheduled || this.flushing) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      void this.flush();
    });
  }

  /** One round: apply everything queued into one batch, one synced write, then answer. */
  private async flush(): Promise<void> {
    if (this.flushing || this.queue.length === 0) return;
    this.flushing = true;
    const round = this.queue;
    this.queue = [];
    const batch = new OverlayBatch(this.engine);
    const replies: Reply[] = [];
    let index = this.appliedIndex;
    try {
      for (const p of round) replies.push(await apply({ index: ++index, data: p.data }, batch));
      batch.put(applyStateKey(this.id), u64(index));
      await this.engine.write(batch.batch, true);
      this.appliedIndex = index;
      round.forEach((p, i) => p.resolve(replies[i]));
    } catch (e) {
      // A storage failure: nothing of this round is acknowledged, and the
      // region refuses further writes rather than guess what is on disk.
      this.failed = e as Error;
      this.log.error({ err: e }, 'apply failed; region stopped');
      round.forEach((p) => p.reject(this.failed!));
      this.queue.forEach((p) => p.reject(this.failed!));
      this.queue = [];
    } finally {
      this.flushing = false;
    }
    if (this.queue.length) this.schedule();
  }
}
