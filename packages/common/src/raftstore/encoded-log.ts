// The bytes of a replica's live Raft log, kept in memory without an object
// per entry.
//
// The core reads the log synchronously, so every live entry must be in
// memory (RocksDB reads are asynchronous). Kept as Entry objects, each one
// lived for thousands of entries (until log GC) and so survived V8's young
// generation: every entry was copied twice and promoted, then freed by a
// full GC, about a tenth of a store's main thread under pipelined writes.
// Here an entry's encoded bytes (the same bytes as its log row) are copied
// into chunks and located by numbers in a ring of typed arrays (off
// V8's heap once large, and never reallocated but to grow); an entry is
// decoded again only if it is asked for after its object was let go (see
// PeerStorage).

/**
 * A log's first chunk is small and each new one twice the last, up to the
 * largest size: a store may hold thousands of regions whose logs are a few
 * entries. An entry larger than the next chunk gets a chunk of its own size.
 */
const FIRST_CHUNK_BYTES = 1024;
const MAX_CHUNK_BYTES = 256 * 1024;

/** Numbers per entry in the ring: term, chunk id, offset, length. */
const FIELDS = 4;

export class EncodedLog {
  /** The index of the first entry held (when there are none: of the next one appended). */
  private first: number;
  /**
   * Per entry, in a ring of `capacity` slots starting at `head`, FIELDS
   * numbers: its term, and where its bytes are (chunk id, offset, length).
   */
  private slots = new Float64Array(16 * FIELDS);
  private capacity = 16;
  private head = 0;
  private count = 0;
  /** chunks[i] has chunk id chunkBase + i; the last one is being filled. */
  private chunks: Buffer[] = [];
  private chunkBase = 0;
  /** Bytes used in the last chunk. */
  private used = 0;
  private nextChunkBytes = FIRST_CHUNK_BYTES;

  constructor(firstIndex: number) {
    this.first = firstIndex;
  }

  /** Entries held. */
  get length(): number {
    return this.count;
  }

  get firstIndex(): number {
    return this.first;
  }

  /** The index after the last entry held. */
  get end(): number {
    return this.first + this.count;
  }

  /** Adds entry `index` (which must be `end`) with its encoded bytes (copied). */
  append(index: number, term: number, bytes: Uint8Array): void {
    if (index !== this.end) throw new Error(`encoded log: append of ${index} where ${this.end} is next`);
    let chunk = this.chunks[this.chunks.length - 1];
    if (!chunk || this.used + bytes.length > chunk.length) {
      chunk = Buffer.allocUnsafeSlow(Math.max(this.nextChunkBytes, bytes.length));
      this.nextChunkBytes = Math.min(MAX_CHUNK_BYTES, this.nextChunkBytes * 2);
      this.chunks.push(chunk);
      this.used = 0;
    }
    chunk.set(bytes, this.used);
    if (this.count === this.capacity) this.grow();
    const at = ((this.head + this.count) % this.capacity) * FIELDS;
    this.slots[at] = term;
    this.slots[at + 1] = this.chunkBase + this.chunks.length - 1;
    this.slots[at + 2] = this.used;
    this.slots[at + 3] = bytes.length;
    this.count++;
    this.used += bytes.length;
  }

  term(index: number): number {
    return this.slots[this.slot(index)];
  }

  /** The bytes of entry `index`: a view into its chunk (never write into it). */
  bytes(index: number): Buffer {
    const at = this.slot(index);
    const chunk = this.chunks[this.slots[at + 1] - this.chunkBase];
    const offset = this.slots[at + 2];
    return chunk.subarray(offset, offset + this.slots[at + 3]);
  }

  /** Drops entry `index` and every later one (a conflicting suffix). Their chunk space is not reused. */
  truncateFrom(index: number): void {
    const keep = Math.max(0, index - this.first);
    if (keep >= this.count) return;
    this.count = keep;
    if (keep === 0) this.first = index;
  }

  /** Drops every entry up to and including `index` (log GC), and the chunks only they used. */
  dropThrough(index: number): void {
    const n = Math.min(this.count, index - this.first + 1);
    if (n <= 0) return;
    this.head = (this.head + n) % this.capacity;
    this.count -= n;
    this.first = index + 1;
    // The chunk being filled stays; older ones go once no entry is in them.
    const lowest = this.count > 0 ? this.slots[this.head * FIELDS + 1] : this.chunkBase + this.chunks.length - 1;
    const unused = Math.max(0, lowest - this.chunkBase);
    if (unused > 0) {
      this.chunks.splice(0, unused);
      this.chunkBase += unused;
    }
  }

  /** Drops everything; the next entry appended is `firstIndex`. */
  reset(firstIndex: number): void {
    this.first = firstIndex;
    this.head = 0;
    this.count = 0;
    this.chunkBase += this.chunks.length;
    this.chunks = [];
    this.used = 0;
    this.nextChunkBytes = FIRST_CHUNK_BYTES;
  }

  /** Bytes of the chunks held (for tests and measurements). */
  get chunkBytes(): number {
    let n = 0;
    for (const c of this.chunks) n += c.length;
    return n;
  }

  private slot(index: number): number {
    const p = index - this.first;
    if (p < 0 || p >= this.count) throw new RangeError(`encoded log: entry ${index} not in [${this.first}, ${this.end})`);
    return ((this.head + p) % this.capacity) * FIELDS;
  }

  /** Twice the slots, the entries moved to the start in order. */
  private grow(): void {
    const capacity = this.capacity * 2;
    const slots = new Float64Array(capacity * FIELDS);
    for (let p = 0; p < this.count; p++) {
      const from = ((this.head + p) % this.capacity) * FIELDS;
      slots.set(this.slots.subarray(from, from + FIELDS), p * FIELDS);
    }
    this.slots = slots;
    this.capacity = capacity;
    this.head = 0;
  }
}
