// Hot rows kept in memory in front of the engine, so that a point read of
// one finds it without a trip to RocksDB's thread pool (a GET is one
// metadata row). The cache never says anything the engine would not: at
// every moment a cached row holds exactly what a read of the engine would
// return. That holds because every change of the engine goes through
// Engine.write, and
//  - a write drops its rows from the cache when it is issued and again when
//    it lands, so a row never comes from the cache while a write to it is
//    on its way;
//  - a read fills the cache only if no write was on its way when the read
//    was issued (RocksDB reads from a snapshot taken then) and none was
//    issued before it landed: then what it read is still what the engine
//    holds;
//  - a write that was the only one in flight from its issue to its landing
//    leaves its rows in the cache (it cannot have been reordered with
//    another), but only rows that were cached when it was issued: a write
//    does not fill the cache with rows nobody reads.
// Nothing here depends on Raft, apply order or leases: it is a property of
// the engine alone, so reads through it are exactly as linearizable as
// before. Bounded by bytes, oldest rows out first.

/** Rows `write` touched, for writeDone. */
export interface WriteTicket {
  keys: string[];
  /** The rows (value or null for a delete) to keep once written, if it stays alone. */
  keep: Map<string, Buffer | null>;
  /** writeSeq after this write was issued. */
  seq: number;
  /** No other cached-row write was in flight when it was issued. */
  alone: boolean;
}

/** About the size of a Map entry, its string key header and a Buffer object. */
const ENTRY_OVERHEAD = 160;

export class RowCache {
  /** Cached rows by key (latin1): the value, or null when the engine has no such row. */
  private readonly rows = new Map<string, Buffer | null>();
  private bytes = 0;
  /** Writes touching cacheable rows that have not landed. */
  private inFlight = 0;
  /** Writes touching cacheable rows issued so far. */
  private writeSeq = 0;
  readonly stats = { hits: 0, misses: 0, fills: 0, skippedFills: 0 };

  constructor(
    /** Which rows may be cached (the store: key metadata rows). */
    private readonly cacheable: (key: Buffer) => boolean,
    private readonly maxBytes: number,
  ) {}

  get size(): number {
    return this.rows.size;
  }

  /** The cached row (null: known absent), or undefined when the engine must be asked. */
  lookup(key: Buffer): Buffer | null | undefined {
    if (!this.cacheable(key)) return undefined;
    const hit = this.rows.get(key.toString('latin1'));
    if (hit === undefined) this.stats.misses++;
    else this.stats.hits++;
    return hit;
  }

  /** Call right before a read goes to the engine: whether its answer may fill the cache (pass it to readDone). */
  readStarted(): number {
    return this.inFlight === 0 ? this.writeSeq : -1;
  }

  /** A read issued at `token` landed: its rows fill the cache if no write could have changed them meanwhile. */
  readDone(token: number, keys: Buffer[], values: Array<Buffer | undefined>): void {
    if (token < 0 || token !== this.writeSeq) {
      this.stats.skippedFills++;
      return;
    }
    for (let i = 0; i < keys.length; i++) {
      if (!this.cacheable(keys[i])) continue;
      this.put(keys[i].toString('latin1'), values[i] ?? null);
      this.stats.fills++;
    }
  }

  /** Call right before a write goes to the engine; undefined when it touches no cacheable row. */
  writeStarted(ops: ReadonlyArray<{ type: 'put' | 'del'; key: Buffer; value?: Buffer }>): WriteTicket | undefined {
    let ticket: WriteTicket | undefined;
    for (const op of ops) {
      if (!this.cacheable(op.key)) continue;
      ticket ??= { keys: [], keep: new Map(), seq: 0, alone: this.inFlight === 0 };
      const k = op.key.toString('latin1');
      ticket.keys.push(k);
      if (this.rows.has(k) || ticket.keep.has(k)) ticket.keep.set(k, op.type === 'put' ? op.value! : null);
      this.drop(k);
    }
    if (!ticket) return undefined;
    this.inFlight++;
    ticket.seq = ++this.writeSeq;
    return ticket;
  }

  /** The write landed (ok) or failed (its effect unknown): its rows are dropped, or kept if it was alone throughout. */
  writeDone(ticket: WriteTicket | undefined, ok: boolean): void {
    if (!ticket) return;
    this.inFlight--;
    for (const k of ticket.keys) this.drop(k);
    if (!ok || !ticket.alone || ticket.seq !== this.writeSeq) return;
    // Copied: a value of the batch may be a view into a larger buffer (a decoded entry).
    for (const [k, v] of ticket.keep) this.put(k, v === null ? null : Buffer.from(v));
  }

  private put(k: string, v: Buffer | null): void {
    this.drop(k);
    const size = ENTRY_OVERHEAD + k.length + (v?.length ?? 0);
    if (size > this.maxBytes / 8) return; // a huge value would push out many small hot rows
    this.rows.set(k, v);
    this.bytes += size;
    // Oldest first (Map keeps insertion order).
    for (const old of this.rows.keys()) {
      if (this.bytes <= this.maxBytes) break;
      this.drop(old);
    }
  }

  private drop(k: string): void {
    const v = this.rows.get(k);
    if (v === undefined) return;
    this.rows.delete(k);
    this.bytes -= ENTRY_OVERHEAD + k.length + (v?.length ?? 0);
  }
}
