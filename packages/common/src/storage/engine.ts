// The engine interface: every RocksDB call of the project goes through it, so
// the binding (`rocksdb` 5.2.1, unmaintained upstream) can be replaced in one
// place. Keys and values are Buffers; ranges are [gte, lt).

export type WriteOp = { type: 'put'; key: Buffer; value: Buffer } | { type: 'del'; key: Buffer };

/** An ordered list of puts and deletes, written atomically. */
export class WriteBatch {
  readonly ops: WriteOp[] = [];
  private bytes = 0;

  put(key: Buffer, value: Buffer): this {
    this.ops.push({ type: 'put', key, value });
    this.bytes += key.length + value.length;
    return this;
  }

  del(key: Buffer): this {
    this.ops.push({ type: 'del', key });
    this.bytes += key.length;
    return this;
  }

  append(other: WriteBatch): this {
    for (const op of other.ops) this.ops.push(op);
    this.bytes += other.bytes;
    return this;
  }

  get length(): number {
    return this.ops.length;
  }

  get byteSize(): number {
    return this.bytes;
  }
}

export interface ScanOptions {
  gte: Buffer;
  lt: Buffer;
  reverse?: boolean;
  limit?: number;
  /** Skip reading values (key-only scans such as DBSIZE). */
  keysOnly?: boolean;
}

export interface KvReader {
  get(key: Buffer): Promise<Buffer | undefined>;
  /**
   * The row as `get` would resolve it, when it is known in memory now (null:
   * no such row); undefined when only `get` can tell. Lets a hot read answer
   * in the turn it arrived, without a promise.
   */
  getCached?(key: Buffer): Buffer | null | undefined;
  /** Entries in key order (or reverse) within [gte, lt); reads one consistent view. */
  scan(opts: ScanOptions): AsyncIterable<[Buffer, Buffer]>;
}

export interface Engine extends KvReader {
  /** Writes the batch atomically; with `sync` it is on disk (fsync) before the promise resolves. */
  write(batch: WriteBatch, sync: boolean): Promise<void>;
  getMany(keys: Buffer[]): Promise<Array<Buffer | undefined>>;
  approximateSize(gte: Buffer, lt: Buffer): Promise<number>;
  /**
   * Compacts [gte, lt] now: drops the tombstones of deleted rows there (a
   * scan that ends before a long run of them would otherwise walk it, the
   * binding having no upper bound for iterators). Local: no logical change.
   */
  compactRange?(gte: Buffer, lt: Buffer): Promise<void>;
  close(): Promise<void>;
}

/** Cuts a batch back to its first `length` operations (undo of a failed command in apply). */
export function truncateBatch(batch: WriteBatch, length: number): void {
  const removed = batch.ops.splice(length);
  (batch as unknown as { bytes: number }).bytes -= removed.reduce(
    (n, op) => n + op.key.length + (op.type === 'put' ? op.value.length : 0),
    0,
  );
}
