// ReadIndex requests waiting for a heartbeat round (ReadOnlyOption.Safe).
import { Message } from './types';

export enum ReadOnlyOption {
  /** Every read confirms leadership with a heartbeat round to a quorum. */
  Safe = 'safe',
  /** Reads are answered at once while the leader's lease holds, else as Safe. */
  LeaseBased = 'lease',
}

interface ReadIndexStatus {
  req: Message;
  index: number;
  acks: Set<number>;
}

export function ctxKey(ctx: Uint8Array | undefined): string {
  if (!ctx) return '';
  let s = '';
  for (let i = 0; i < ctx.length; i++) s += String.fromCharCode(ctx[i]);
  return s;
}

export class ReadOnly {
  private pending = new Map<string, ReadIndexStatus>();
  private queue: string[] = [];

  constructor(readonly option: ReadOnlyOption) {}

  /** Queues a read at the leader's read index (its last index); duplicates are ignored. */
  addRequest(index: number, m: Message): void {
    const key = ctxKey(m.context);
    if (this.pending.has(key)) return;
    this.pending.set(key, { req: m, index, acks: new Set() });
    this.queue.push(key);
  }

  /** Records an ack for ctx; returns the acknowledging ids, or undefined if unknown. */
  recvAck(id: number, ctx: Uint8Array | undefined): Set<number> | undefined {
    const rs = this.pending.get(ctxKey(ctx));
    if (!rs) return undefined;
    rs.acks.add(id);
    return rs.acks;
  }

  /** Releases ctx's request and every request queued before it. */
  advance(ctx: Uint8Array | undefined): { req: Message; index: number }[] {
    const key = ctxKey(ctx);
    const at = this.queue.indexOf(key);
    if (at < 0) return [];
    const out: { req: Message; index: number }[] = [];
    for (const k of this.queue.slice(0, at + 1)) {
      const rs = this.pending.get(k)!;
      out.push({ req: rs.req, index: rs.index });
      this.pending.delete(k);
    }
    this.queue = this.queue.slice(at + 1);
    return out;
  }

  lastPendingContext(): Uint8Array | undefined {
    if (this.queue.length === 0) return undefined;
    return this.pending.get(this.queue[this.queue.length - 1])!.req.context;
  }

  pendingCount(): number {
    return this.queue.length;
  }
}
