// The RocksDB engine on the `rocksdb` binding (leveldown API). Its writes run
// off the JS thread, so several synced batches in flight are grouped by RocksDB.
import { mkdirSync } from 'node:fs';
import type { Engine, ScanOptions, WriteBatch } from './engine';
import { RowCache } from './row-cache';

// The binding has no types of its own; this is the part of its API we use.
interface RocksIterator {
  next(cb: (err: Error | null, key?: Buffer, value?: Buffer) => void): void;
  end(cb: (err?: Error | null) => void): void;
}
interface RocksDb {
  open(opts: object, cb: (err?: Error | null) => void): void;
  close(cb: (err?: Error | null) => void): void;
  get(key: Buffer, opts: object, cb: (err: (Error & { notFound?: boolean }) | null, value?: Buffer) => void): void;
  getMany(keys: Buffer[], opts: object, cb: (err: Error | null, values?: Array<Buffer | undefined>) => void): void;
  batch(ops: unknown[], opts: object, cb: (err?: Error | null) => void): void;
  iterator(opts: object): RocksIterator;
  approximateSize(start: Buffer, end: Buffer, cb: (err: Error | null, size?: number) => void): void;
  compactRange(start: Buffer, end: Buffer, cb: (err?: Error | null) => void): void;
}
// eslint-disable-next-line @typescript-eslint/no-var-requires
const rocksdb = require('rocksdb') as (location: string) => RocksDb & { context: unknown };

/**
 * The binding's native write batch (what its ChainedBatch wraps), called
 * directly. The array form, `db.batch(ops)`, reads `type`, `key` and
 * `value` of every op through N-API by name (a dozen calls an op, each
 * making a V8 string of the name); `batch_put` takes the two buffers as
 * arguments. Measured on this project's round shapes (48 ops of 24-byte keys
 * and 60-byte values): 1.0 µs of JS-thread time an op against 1.9.
 */
interface NativeBatch {
  readonly __nativeBatch: unique symbol;
}
interface NativeBatchApi {
  batch_init(dbContext: unknown): NativeBatch;
  batch_put(batch: NativeBatch, key: Buffer, value: Buffer): void;
  batch_del(batch: NativeBatch, key: Buffer): void;
  batch_clear(batch: NativeBatch): void;
  batch_write(batch: NativeBatch, opts: { sync: boolean }, cb: (err?: Error | null) => void): void;
}
// eslint-disable-next-line @typescript-eslint/no-var-requires
const native = require('rocksdb/binding') as NativeBatchApi;
const SYNC = { sync: true };
const NO_SYNC = { sync: false };
/**
 * A cleared native batch keeps its buffer's capacity, so only batches up to
 * this size are kept for reuse; bigger ones (snapshot installs, range
 * deletes) take the array form, whose native batch is freed when written.
 */
const REUSE_MAX_BYTES = 1 << 20;
/** Native batches kept for reuse (writes in flight at once are few: the loop's, apply's, a local region's). */
const REUSE_MAX_BATCHES = 8;

export interface RocksOptions {
  /** Block cache and write buffer sizes; defaults suit a laptop-sized playground. */
  cacheSize?: number;
  writeBufferSize?: number;
  /** Keep hot rows that `cacheable` accepts in memory, up to `maxBytes` (row-cache.ts). */
  rowCache?: { cacheable: (key: Buffer) => boolean; maxBytes: number };
}

/** A call after close(): the binding would reach freed native state (a crash), so it is refused here. */
export const ENGINE_CLOSED = 'the storage engine is closed';

export class RocksEngine implements Engine {
  /** Set when close() begins: from then on no call reaches the binding (it does not check for writes). */
  private closed = false;
  /** Hot rows, always equal to what the engine holds (row-cache.ts); undefined: no cache. */
  readonly cache: RowCache | undefined;
  /** Cleared native batches, ready for the next write. */
  private readonly freeBatches: NativeBatch[] = [];
  private constructor(private readonly db: RocksDb & { context: unknown }, readonly location: string, options: RocksOptions) {
    this.cache = options.rowCache ? new RowCache(options.rowCache.cacheable, options.rowCache.maxBytes) : undefined;
  }

  static async open(location: string, options: RocksOptions = {}): Promise<RocksEngine> {
    mkdirSync(location, { recursive: true });
    const db = rocksdb(location);
    await new Promise<void>((resolve, reject) =>
      db.open(
        {
          createIfMissing: true,
          cacheSize: options.cacheSize ?? 64 * 1024 * 1024,
          writeBufferSize: options.writeBufferSize ?? 16 * 1024 * 1024,
          maxOpenFiles: 1000,
        },
        (err) => (err ? reject(err) : resolve()),
      ),
    );
    return new RocksEngine(db, location, options);
  }

  /** Point reads of this event-loop turn, sent as one getMany (one trip to the thread pool). */
  private pendingGets: Array<{ key: Buffer; resolve: (v: Buffer | undefined) => void; reject: (e: Error) => void }> = [];

  getCached(key: Buffer): Buffer | null | undefined {
    return this.closed ? undefined : this.cache?.lookup(key);
  }

  get(key: Buffer): Promise<Buffer | undefined> {
    const hit = this.getCached(key);
    if (hit !== undefined) return Promise.resolve(hit ?? undefined);
    return new Promise((resolve, reject) => {
      this.pendingGets.push({ key, resolve, reject });
      if (this.pendingGets.length === 1) setImmediate(() => this.flushGets());
    });
  }

  private flushGets(): void {
    const batch = this.pendingGets;
    this.pendingGets = [];
    this.readMany(batch.map((g) => g.key)).then(
      (values) => batch.forEach((g, i) => g.resolve(values[i])),
      (e: Error) => batch.forEach((g) => g.reject(e)),
    );
  }

  getMany(keys: Buffer[]): Promise<Array<Buffer | undefined>> {
    const cache = this.cache;
    if (!cache || this.closed) return this.readMany(keys);
    const values: Array<Buffer | undefined> = new Array(keys.length);
    const missing: number[] = [];
    for (let i = 0; i < keys.length; i++) {
      const hit = cache.lookup(keys[i]);
      if (hit === undefined) missing.push(i);
      else values[i] = hit ?? undefined;
    }
    if (missing.length === 0) return Promise.resolve(values);
    return this.readMany(missing.map((i) => keys[i])).then((read) => {
      for (let j = 0; j < missing.length; j++) values[missing[j]] = read[j];
      return values;
    });
  }

  /** Keys the cache did not have, read in one getMany (and filled into the cache when that is safe). */
  private readMany(keys: Buffer[]): Promise<Array<Buffer | undefined>> {
    if (this.closed) return closedError();
    if (keys.length === 0) return Promise.resolve([]);
    const cache = this.cache;
    const token = cache ? cache.readStarted() : -1;
    return new Promise((resolve, reject) =>
      this.db.getMany(keys, { asBuffer: true }, (err, values) => {
        if (err) return reject(err);
        cache?.readDone(token, keys, values ?? []);
        resolve(values ?? []);
      }),
    );
  }

  write(batch: WriteBatch, sync: boolean): Promise<void> {
    if (this.closed) return closedError();
    if (batch.length === 0) return Promise.resolve();
    if (batch.byteSize > REUSE_MAX_BYTES) return this.written(batch, (done) => this.db.batch(batch.ops, { sync }, done));
    // The array form refuses an empty key (abstract-leveldown); so does this one.
    for (const op of batch.ops) if (op.key.length === 0) return Promise.reject(new Error('key cannot be an empty Buffer'));
    const nb = this.freeBatches.pop() ?? native.batch_init(this.db.context);
    for (const op of batch.ops) {
      if (op.type === 'put') native.batch_put(nb, op.key, op.value);
      else native.batch_del(nb, op.key);
    }
    return this.written(batch, (done) =>
      native.batch_write(nb, sync ? SYNC : NO_SYNC, (err) => {
        native.batch_clear(nb);
        if (this.freeBatches.length < REUSE_MAX_BATCHES) this.freeBatches.push(nb);
        done(err);
      }),
    );
  }

  /** Issues a write (`start`) between the row cache's start and end marks; resolves when it lands. */
  private written(batch: WriteBatch, start: (done: (err?: Error | null) => void) => void): Promise<void> {
    const cache = this.cache;
    const ticket = cache?.writeStarted(batch.ops);
    return new Promise((resolve, reject) =>
      start((err) => {
        cache?.writeDone(ticket, !err);
        if (err) reject(err);
        else resolve();
      }),
    );
  }

  async *scan(opts: ScanOptions): AsyncIterable<[Buffer, Buffer]> {
    if (this.closed) throw new Error(ENGINE_CLOSED);
    if (Buffer.compare(opts.gte, opts.lt) >= 0) return;
    const it = this.db.iterator({
      gte: opts.gte,
      lt: opts.lt,
      reverse: opts.reverse ?? false,
      limit: opts.limit ?? -1,
      keys: true,
      values: !opts.keysOnly,
      keyAsBuffer: true,
      valueAsBuffer: true,
      fillCache: false,
    });
    try {
      for (;;) {
        const entry = await new Promise<[Buffer, Buffer] | undefined>((resolve, reject) =>
          it.next((err, key, value) => {
            if (err) reject(err);
            else if (key === undefined) resolve(undefined);
            else resolve([key, value ?? EMPTY]);
          }),
        );
        if (!entry) return;
        yield entry;
      }
    } finally {
      await new Promise<void>((resolve) => it.end(() => resolve()));
    }
  }

  approximateSize(gte: Buffer, lt: Buffer): Promise<number> {
    if (this.closed) return closedError();
    return new Promise((resolve, reject) =>
      this.db.approximateSize(gte, lt, (err, size) => (err ? reject(err) : resolve(size ?? 0))),
    );
  }

  compactRange(gte: Buffer, lt: Buffer): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise((resolve, reject) => this.db.compactRange(gte, lt, (err) => (err ? reject(err) : resolve())));
  }

  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.closed = true;
    return new Promise((resolve, reject) => this.db.close((err) => (err ? reject(err) : resolve())));
  }
}

const EMPTY = Buffer.alloc(0);

function closedError<T>(): Promise<T> {
  return Promise.reject(new Error(ENGINE_CLOSED));
}
