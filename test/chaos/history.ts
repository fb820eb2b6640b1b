// The history a fault run records: one entry per client operation, with the
// times it was invoked and answered and what the client learned. The checker
// reads nothing else, so a history saved as JSON can be checked again later.

export type OpKind = 'read' | 'write' | 'incr';

/**
 * ok: the store answered (the operation took effect exactly once);
 * fail: it answered an error (the operation did not take effect and never will);
 * info: no answer (timeout, connection lost): it may take effect at any time after its invocation, or never.
 */
export type Outcome = 'ok' | 'fail' | 'info';

export interface Op {
  /** Unique within the history. */
  id: number;
  clientId: string;
  kind: OpKind;
  key: string;
  /**
   * write: the value written (unique per key). read (ok): the value read,
   * null for a missing key. incr (ok): the counter's new value, in decimal.
   */
  value?: string | null;
  /** Milliseconds on one monotonic clock (performance.now()). */
  invokeAt: number;
  /** When the answer (or error) arrived; absent for info. */
  returnAt?: number;
  outcome: Outcome;
  /** The error reply or client error, for the record. */
  error?: string;
}

/** The client id of the reads made after every fault healed (the durability check). */
export const FINAL_CLIENT = 'final';

/** Records operations with a monotonic clock. */
export class History {
  readonly ops: Op[] = [];
  private nextId = 0;

  now(): number {
    return performance.now();
  }

  /** Records the invocation; settle the returned op with ok / fail / info. */
  invoke(clientId: string, kind: OpKind, key: string, value?: string): Op {
    const op: Op = { id: this.nextId++, clientId, kind, key, invokeAt: this.now(), outcome: 'info' };
    if (value !== undefined) op.value = value;
    this.ops.push(op);
    return op;
  }

  ok(op: Op, value?: string | null): void {
    op.returnAt = this.now();
    op.outcome = 'ok';
    if (op.kind !== 'write') op.value = value ?? null;
  }

  fail(op: Op, error: string): void {
    op.returnAt = this.now();
    op.outcome = 'fail';
    op.error = error;
  }

  info(op: Op, error: string): void {
    delete op.returnAt;
    op.outcome = 'info';
    op.error = error;
  }

  counts(): { ops: number; ok: number; fail: number; info: number } {
    const c = { ops: this.ops.length, ok: 0, fail: 0, info: 0 };
    for (const op of this.ops) c[op.outcome]++;
    return c;
  }
}
