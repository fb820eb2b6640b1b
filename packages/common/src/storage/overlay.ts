// A WriteBatch you can read back: apply runs many entries into one batch, and
// each entry must see the writes of the entries before it. Reads check the
// batch's pending writes first, then the engine. Each entry can be undone
// (a command that fails halfway writes nothing).
import type { KvReader, ScanOptions } from './engine';
import { WriteBatch, truncateBatch } from './engine';

const DELETED = null;

export class OverlayBatch implements KvReader {
  readonly batch = new WriteBatch();
  private readonly pending = new Map<string, Buffer | null>();
  /** Values read ahead from the base (prefetch): what the base holds while this batch is built. */
  private readonly fetched = new Map<string, Buffer | null>();
  private undo: Array<[string, Buffer | null | undefined]> = [];
  private markOps = 0;

  constructor(private readonly base: KvReader) {}

  async get(key: Buffer): Promise<Buffer | undefined> {
    const k = key.toString('latin1');
    const hit = this.pending.get(k);
    if (hit !== undefined) return hit === DELETED ? undefined : hit;
    const ahead = this.fetched.get(k);
    if (ahead !== undefined) return ahead ?? undefined;
    return this.base.get(key);
  }

  /**
   * Reads these keys from the base now, together (the engine sends the
   * point reads of one turn as one getMany), so that later get()s of them
   * need no trip to the disk. Valid because nothing else writes the
   * keys apply reads while its batch is built.
   */
  async prefetch(keys: Buffer[]): Promise<void> {
    const wanted = new Map<string, Buffer>();
    for (const key of keys) {
      const k = key.toString('latin1');
      if (!this.pending.has(k) && !this.fetched.has(k)) wanted.set(k, key);
    }
    if (wanted.size === 0) return;
    const values = await Promise.all([...wanted.values()].map((key) => this.base.get(key)));
    let i = 0;
    for (const k of wanted.keys()) this.fetched.set(k, values[i++] ?? null);
  }

  put(key: Buffer, value: Buffer): void {
    const k = key.toString('latin1');
    this.remember(k);
    this.pending.set(k, value);
    this.batch.put(key, value);
  }

  del(key: Buffer): void {
    const k = key.toString('latin1');
    this.remember(k);
    this.pending.set(k, DELETED);
    this.batch.del(key);
  }

  /** Starts a new undo scope (one log entry). */
  mark(): void {
    this.undo = [];
    this.markOps = this.batch.length;
  }

  /** Drops every write since the last mark(). */
  rollback(): void {
    for (let i = this.undo.length - 1; i >= 0; i--) {
      const [k, prev] = this.undo[i];
      if (prev === undefined) this.pending.delete(k);
      else this.pending.set(k, prev);
    }
    this.undo = [];
    truncateBatch(this.batch, this.markOps);
  }

  private remember(k: string): void {
    this.undo.push([k, this.pending.get(k)]);
  }

  /** The engine's entries merged with the pending writes, in key order. */
  async *scan(opts: ScanOptions): AsyncIterable<[Buffer, Buffer]> {
    const lo = opts.gte.toString('latin1');
    const hi = opts.lt.toString('latin1');
    const mine: Array<[string, Buffer | null]> = [];
    for (const [k, v] of this.pending) if (k >= lo && k < hi) mine.push([k, v]);
    // latin1 strings compare like the bytes they hold.
    mine.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    if (opts.reverse) mine.reverse();
    const before = (a: string, b: string): boolean => (opts.reverse ? a > b : a < b);
    let i = 0;
    let emitted = 0;
    const limit = opts.limit ?? -1;
    const emit = function* (k: Buffer, v: Buffer): Generator<[Buffer, Buffer]> {
      emitted++;
      yield [k, v];
    };
    for await (const [k, v] of this.base.scan({ ...opts, limit: -1 })) {
      const ks = k.toString('latin1');
      while (i < mine.length && before(mine[i][0], ks)) {
        const [mk, mv] = mine[i++];
        if (mv !== DELETED) yield* emit(Buffer.from(mk, 'latin1'), mv);
        if (limit >= 0 && emitted >= limit) return;
      }
      if (i < mine.length && mine[i][0] === ks) {
        const mv = mine[i++][1];
        if (mv !== DELETED) yield* emit(k, mv);
      } else {
        yield* emit(k, v);
      }
      if (limit >= 0 && emitted >= limit) return;
    }
    while (i < mine.length) {
      const [mk, mv] = mine[i++];
      if (mv !== DELETED) yield* emit(Buffer.from(mk, 'latin1'), mv);
      if (limit >= 0 && emitted >= limit) return;
    }
  }
}
