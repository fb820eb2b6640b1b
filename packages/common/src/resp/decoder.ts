// Incremental RESP request decoder for the server side.
//
// Accepts what redis-server accepts from a client: multibulk requests
// (`*N\r\n$len\r\nbytes\r\n...`) and inline commands (`SET k v\r\n`, split like
// Redis's sdssplitargs). `write(chunk)` returns every command the chunk
// completes, as argument vectors (`Buffer[]`); partial frames are held across
// chunks.
//
// Costs: bytes that arrive in one chunk are never copied (arguments are
// `subarray` views of the socket's chunk); an element split across chunks is
// copied exactly once when its last byte arrives. A declared bulk length is
// never preallocated: memory follows the bytes actually received.
//
// Errors reproduce Redis 7's messages and the decoder stops at the first one:
// `write` still returns the commands decoded before the bad bytes, and
// `error` is set. Further input is ignored.

/** Redis's proto-max-bulk-len default: 512 MB. */
export const DEFAULT_MAX_BULK_LEN = 512 * 1024 * 1024;
/** Redis 7 accepts a multibulk count up to INT_MAX (Redis ≤ 6.2: 1024*1024). */
export const DEFAULT_MAX_MULTIBULK_LEN = 2147483647;
/** Redis's PROTO_INLINE_MAX_SIZE: 64 KB, for inline requests and count lines. */
export const DEFAULT_MAX_INLINE_LEN = 64 * 1024;
/** Redis's client-query-buffer-limit default: 1 GB, here for one incomplete command. */
export const DEFAULT_MAX_QUERY_BUFFER_LEN = 1024 * 1024 * 1024;
/**
 * Bytes charged to the query buffer for every argument on top of its length: an
 * argument costs a JS object (a Buffer view measures ~110 bytes on Node 20),
 * so a flood of empty arguments (`$0\r\n\r\n`) is bounded too.
 */
export const ARG_OVERHEAD = 128;

export interface DecoderOptions {
  /** Largest bulk argument accepted (`$len`); larger is "invalid bulk length". */
  maxBulkLen?: number;
  /** Largest argument count accepted (`*N`); larger is "invalid multibulk length". */
  maxMultibulkLen?: number;
  /** Longest inline request, `*N` line or `$len` line. */
  maxInlineLen?: number;
  /**
   * Bytes one incomplete command may hold (arguments decoded so far, each plus
   * ARG_OVERHEAD, and bytes waiting to complete the next one).
   */
  maxQueryBufferLen?: number;
}

/** Why a decoder stopped. `message` is the error reply without its "ERR " prefix. */
export class ProtocolError extends Error {
  constructor(
    message: string,
    /** 'protocol': malformed input; 'querybuf': the query buffer limit was exceeded. */
    readonly kind: 'protocol' | 'querybuf' = 'protocol',
  ) {
    super(message);
    this.name = 'ProtocolError';
  }
  /** The reply line a server sends before closing: "ERR Protocol error: ...". */
  get reply(): string {
    return 'ERR ' + this.message;
  }
}

/** Chunks smaller than this count as small for pushPending. */
const SMALL_CHUNK = 1024;
/** This many small chunks in a row are merged into one. */
const SMALL_RUN = 64;

const CR = 13;
const LF = 10;
const STAR = 42;
const DOLLAR = 36;

const enum Pend {
  None,
  /** an inline request line: waiting for '\n' */
  Inline,
  /** a `*N` line: waiting for '\r' and one byte after it */
  MbCount,
  /** a `$len` line: waiting for '\r' and one byte after it */
  BulkCount,
  /** the bytes of a bulk argument and its 2 trailing bytes */
  Bulk,
}

/**
 * Parses a decimal integer the way Redis's string2ll does: optional '-', no
 * '+', no leading zeros, no spaces, at most 20 characters, within int64.
 * Returns NaN when Redis would refuse it. Values beyond 2^53 come back
 * rounded to the nearest double, which is harmless: callers only compare them
 * with limits far below that (and sign); the int64 bounds are checked exactly.
 */
export function parseRedisInt(b: Uint8Array, start: number, end: number): number {
  const len = end - start;
  if (len <= 0 || len >= 21) return NaN;
  let p = start;
  let neg = false;
  if (b[p] === 45 /* - */) {
    neg = true;
    p++;
    if (p === end) return NaN;
  }
  const first = b[p];
  if (first === 48 /* 0 */) return len === 1 ? 0 : NaN;
  if (first < 49 || first > 57) return NaN;
  let v = 0;
  for (; p < end; p++) {
    const c = b[p] - 48;
    if (c < 0 || c > 9) return NaN;
    v = v * 10 + c;
  }
  if (end - start - (neg ? 1 : 0) >= 19) {
    // Close to the int64 bounds: decide exactly.
    let big = 0n;
    for (let q = neg ? start + 1 : start; q < end; q++) big = big * 10n + BigInt(b[q] - 48);
    if (neg ? big > 9223372036854775808n : big > 9223372036854775807n) return NaN;
    return neg ? -Number(big) : Number(big);
  }
  return neg ? -v : v;
}


export class RequestDecoder {
  readonly maxBulkLen: number;
  readonly maxMultibulkLen: number;
  readonly maxInlineLen: number;
  readonly maxQueryBufferLen: number;

  private err: ProtocolError | null = null;

  // The multibulk command being read.
  private args: Buffer[] | null = null;
  private argsLeft = 0;
  private argIdx = 0;
  private bulkLen = -1;
  /** bytes charged to the current command for arguments already decoded */
  private argBytes = 0;

  // An element that started in an earlier chunk.
  private pend = Pend.None;
  private pendBufs: Buffer[] = [];
  private pendLen = 0;
  /** for MbCount/BulkCount: the pending bytes end with '\r' (the line is complete but for one byte) */
  private pendCr = false;
  /** the trailing run of small chunks in pendBufs: where it starts, its bytes */
  private runFrom = 0;
  private runBytes = 0;

  constructor(opts: DecoderOptions = {}) {
    this.maxBulkLen = opts.maxBulkLen ?? DEFAULT_MAX_BULK_LEN;
    this.maxMultibulkLen = opts.maxMultibulkLen ?? DEFAULT_MAX_MULTIBULK_LEN;
    this.maxInlineLen = opts.maxInlineLen ?? DEFAULT_MAX_INLINE_LEN;
    this.maxQueryBufferLen = opts.maxQueryBufferLen ?? DEFAULT_MAX_QUERY_BUFFER_LEN;
  }

  /** The error that stopped this decoder, or null. */
  get error(): ProtocolError | null {
    return this.err;
  }

  /** Bytes held for the incomplete command (the "query buffer"), overhead included. */
  get pendingBytes(): number {
    return this.argBytes + this.pendLen;
  }

  /** True when no partial command is held. */
  get idle(): boolean {
    return this.pend === Pend.None && this.args === null;
  }

  /** Forgets any partial command and any error. */
  reset(): void {
    this.err = null;
    this.args = null;
    this.argsLeft = 0;
    this.bulkLen = -1;
    this.argBytes = 0;
    this.clearPending();
  }

  /**
   * Feeds bytes. Returns the commands they complete, in order (empty commands
   * — blank inline lines, `*0`, `*-1` — are skipped as Redis does). After a
   * protocol error `error` is set and this returns only what came before it.
   */
  write(chunk: Buffer): Buffer[][] {
    if (this.err !== null || chunk.length === 0) return [];
    const out: Buffer[][] = [];
    let pos = 0;
    if (this.pend !== Pend.None) {
      pos = this.continuePending(chunk, out);
      if (pos < 0) return out;
    }
    this.parse(chunk, pos, out);
    return out;
  }

  // ---------------------------------------------------------------- internals

  private fail(message: string, kind: 'protocol' | 'querybuf' = 'protocol'): void {
    this.err = new ProtocolError(message, kind);
    this.args = null;
    this.argsLeft = 0;
    this.bulkLen = -1;
    this.argBytes = 0;
    this.clearPending();
  }

  private clearPending(): void {
    this.pend = Pend.None;
    this.pendBufs = [];
    this.pendLen = 0;
    this.pendCr = false;
    this.runFrom = 0;
    this.runBytes = 0;
  }

  private stash(kind: Pend, b: Buffer, from: number, cr: boolean): void {
    this.pend = kind;
    this.pendBufs = [b.subarray(from)];
    this.pendLen = b.length - from;
    this.pendCr = cr;
    this.runFrom = 1;
    this.runBytes = 0;
  }

  /**
   * Appends a chunk to the pending element. Runs of small chunks (a peer
   * trickling bytes) are merged now and then, so that the held memory stays
   * close to the bytes received rather than one object per tiny read; each
   * byte is merged at most once.
   */
  private pushPending(chunk: Buffer): void {
    const bufs = this.pendBufs;
    bufs.push(chunk);
    this.pendLen += chunk.length;
    if (chunk.length >= SMALL_CHUNK) {
      this.runFrom = bufs.length;
      this.runBytes = 0;
      return;
    }
    this.runBytes += chunk.length;
    if (bufs.length - this.runFrom >= SMALL_RUN) {
      const merged = Buffer.concat(bufs.slice(this.runFrom), this.runBytes);
      bufs.length = this.runFrom;
      bufs.push(merged);
      this.runFrom = bufs.length;
      this.runBytes = 0;
    }
  }

  /** Checks the size of a pending line that has no terminator yet. */
  private checkPendingLine(): boolean {
    // An inline line's length excludes a trailing '\r' (it may be the start of "\r\n");
    // a count line marked pendCr ends with its '\r'.
    let lineLen = this.pendLen;
    if (this.pendCr) lineLen -= 1;
    else if (this.pend === Pend.Inline) {
      const last = this.pendBufs[this.pendBufs.length - 1];
      if (last[last.length - 1] === CR) lineLen -= 1;
    }
    if (lineLen > this.maxInlineLen) {
      this.fail(
        this.pend === Pend.Inline
          ? 'Protocol error: too big inline request'
          : this.pend === Pend.MbCount
            ? 'Protocol error: too big mbulk count string'
            : 'Protocol error: too big bulk count string',
      );
      return false;
    }
    return this.checkQueryBuffer();
  }

  private checkQueryBuffer(): boolean {
    if (this.argBytes + this.pendLen > this.maxQueryBufferLen) {
      this.fail('Protocol error: query buffer limit exceeded', 'querybuf');
      return false;
    }
    return true;
  }

  /**
   * Completes the pending element with bytes from `chunk`. Returns where
   * parsing resumes in `chunk`, or -1 when the chunk was absorbed (or an error
   * stopped the decoder).
   */
  private continuePending(chunk: Buffer, out: Buffer[][]): number {
    const kind = this.pend;
    if (kind === Pend.Bulk) {
      const need = this.bulkLen + 2 - this.pendLen;
      if (chunk.length < need) {
        this.pushPending(chunk);
        this.checkQueryBuffer();
        return -1;
      }
      const bulkLen = this.bulkLen;
      const have = this.pendLen;
      let arg: Buffer;
      const first = this.pendBufs.length > 0 ? this.pendBufs[0] : chunk;
      if (first.length >= bulkLen) arg = first.subarray(0, bulkLen);
      else {
        const parts = this.pendBufs;
        if (have < bulkLen) parts.push(chunk.subarray(0, bulkLen - have));
        arg = Buffer.concat(parts, bulkLen);
      }
      this.clearPending();
      if (!this.addArg(arg, out)) return -1;
      return need;
    }

    // A line.
    let end: number; // index in chunk where the terminator (or the byte after '\r') is
    let resume: number;
    if (kind === Pend.Inline) {
      const nl = chunk.indexOf(LF);
      if (nl < 0) {
        this.pushPending(chunk);
        this.checkPendingLine();
        return -1;
      }
      end = nl;
      resume = nl + 1;
    } else if (this.pendCr) {
      end = -1; // the '\r' is the last pending byte; chunk[0] is the byte after it
      resume = 1;
    } else {
      const cr = chunk.indexOf(CR);
      if (cr < 0 || cr === chunk.length - 1) {
        this.pushPending(chunk);
        this.pendCr = cr >= 0;
        this.checkPendingLine();
        return -1;
      }
      end = cr;
      resume = cr + 2;
    }
    // Assemble the line (terminator excluded).
    const parts = this.pendBufs;
    if (end > 0) parts.push(chunk.subarray(0, end));
    const line = parts.length === 1 ? parts[0] : Buffer.concat(parts);
    let lineEnd = line.length;
    if (end < 0) lineEnd -= 1; // drop the pending '\r'
    this.clearPending();
    if (kind === Pend.Inline) {
      if (lineEnd > 0 && line[lineEnd - 1] === CR) lineEnd -= 1;
      if (!this.inlineLine(line, 0, lineEnd, out)) return -1;
    } else if (kind === Pend.MbCount) {
      if (!this.mbCountLine(line, 0, lineEnd)) return -1;
    } else {
      if (!this.bulkCountLine(line, 0, lineEnd)) return -1;
      // The bulk may already be complete in the rest of this chunk: parse() handles it.
    }
    return resume;
  }

  /** Handles an inline request line [start, end). Returns false on error. */
  private inlineLine(b: Buffer, start: number, end: number, out: Buffer[][]): boolean {
    if (end - start > this.maxInlineLen) {
      this.fail('Protocol error: too big inline request');
      return false;
    }
    const argv = splitArgs(b, start, end);
    if (argv === null) {
      this.fail('Protocol error: unbalanced quotes in request');
      return false;
    }
    if (argv.length > 0) out.push(argv);
    return true;
  }

  /** Handles a `*N` line [start, end) (start at the '*'). Returns false on error. */
  private mbCountLine(b: Buffer, start: number, end: number): boolean {
    if (end - start > this.maxInlineLen) {
      this.fail('Protocol error: too big mbulk count string');
      return false;
    }
    const n = parseRedisInt(b, start + 1, end);
    if (Number.isNaN(n) || n > this.maxMultibulkLen) {
      this.fail('Protocol error: invalid multibulk length');
      return false;
    }
    if (n <= 0) return true; // `*0`, `*-1`: nothing to do
    // Preallocate small argument arrays only: a declared count is not trusted.
    this.args = n <= 256 ? new Array<Buffer>(n) : [];
    this.argIdx = 0;
    this.argsLeft = n;
    this.bulkLen = -1;
    this.argBytes = 0;
    return true;
  }

  /** Handles a `$len` line [start, end). Returns false on error. */
  private bulkCountLine(b: Buffer, start: number, end: number): boolean {
    if (end - start > this.maxInlineLen) {
      this.fail('Protocol error: too big bulk count string');
      return false;
    }
    if (b[start] !== DOLLAR) {
      // Redis formats the byte with %c; an empty line shows its '\r' (which the
      // error reply turns into a space).
      const c = start < end ? b[start] : CR;
      this.fail(`Protocol error: expected '$', got '${String.fromCharCode(c)}'`);
      return false;
    }
    const n = parseRedisInt(b, start + 1, end);
    if (Number.isNaN(n) || n < 0 || n > this.maxBulkLen) {
      this.fail('Protocol error: invalid bulk length');
      return false;
    }
    this.bulkLen = n;
    return true;
  }

  /** Adds a decoded argument; pushes the command when it is complete. */
  private addArg(arg: Buffer, out: Buffer[][]): boolean {
    this.args![this.argIdx++] = arg;
    this.bulkLen = -1;
    if (--this.argsLeft === 0) {
      out.push(this.args!);
      this.args = null;
      this.argBytes = 0;
      return true;
    }
    this.argBytes += arg.length + ARG_OVERHEAD;
    return this.checkQueryBuffer();
  }

  private parse(b: Buffer, pos: number, out: Buffer[][]): void {
    const n = b.length;
    while (pos < n) {
      if (this.args === null) {
        // The start of a request.
        if (b[pos] === STAR) {
          // A JS scan beats indexOf's native call on such short lines.
          let cr = pos + 1;
          while (cr < n && b[cr] !== CR) cr++;
          if (cr >= n - 1) {
            if (cr === n) cr = -1;
            this.stash(Pend.MbCount, b, pos, cr >= 0);
            this.checkPendingLine();
            return;
          }
          if (!this.mbCountLine(b, pos, cr)) return;
          pos = cr + 2;
          if (this.args === null) continue;
        } else {
          const nl = b.indexOf(LF, pos);
          if (nl < 0) {
            this.stash(Pend.Inline, b, pos, false);
            this.checkPendingLine();
            return;
          }
          const end = nl > pos && b[nl - 1] === CR ? nl - 1 : nl;
          if (!this.inlineLine(b, pos, end, out)) return;
          pos = nl + 1;
          continue;
        }
      }
      // Arguments of a multibulk request.
      while (this.argsLeft > 0) {
        if (this.bulkLen < 0) {
          if (pos >= n) return;
          let cr = pos;
          while (cr < n && b[cr] !== CR) cr++;
          if (cr >= n - 1) {
            if (cr === n) cr = -1;
            this.stash(Pend.BulkCount, b, pos, cr >= 0);
            this.checkPendingLine();
            return;
          }
          if (!this.bulkCountLine(b, pos, cr)) return;
          pos = cr + 2;
        }
        const len = this.bulkLen;
        if (n - pos >= len + 2) {
          const arg = b.subarray(pos, pos + len);
          pos += len + 2;
          if (!this.addArg(arg, out)) return;
        } else {
          if (pos < n) {
            this.stash(Pend.Bulk, b, pos, false);
            this.checkQueryBuffer();
          }
          return;
        }
      }
    }
  }
}

// C's isspace in the "C" locale.
function isSpace(c: number): boolean {
  return c === 32 || (c >= 9 && c <= 13);
}

function isHex(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 97 && c <= 102) || (c >= 65 && c <= 70);
}

function hexVal(c: number): number {
  return c <= 57 ? c - 48 : c <= 70 ? c - 55 : c - 87;
}

/**
 * Splits an inline request like Redis's sdssplitargs: blanks separate
 * arguments; "double quotes" take \xHH, \n, \r, \t, \b, \a and \<any>;
 * 'single quotes' take \'; a closing quote must be followed by a blank or the
 * end. Returns null for unbalanced quotes. As in C, a NUL byte ends the line.
 */
export function splitArgs(b: Uint8Array, start: number, end: number): Buffer[] | null {
  const zero = b.indexOf(0, start);
  if (zero >= 0 && zero < end) end = zero;
  const at = (i: number): number => (i < end ? b[i] : 0);
  const out: Buffer[] = [];
  let p = start;
  for (;;) {
    while (p < end && isSpace(b[p])) p++;
    if (p >= end) return out;
    // Fast path: a plain token without quotes.
    let q = p;
    while (q < end) {
      const c = b[q];
      if (c === 32 || c === 10 || c === 13 || c === 9 || c === 34 || c === 39) break;
      q++;
    }
    if (q >= end || b[q] !== 34 && b[q] !== 39) {
      out.push(Buffer.from(b.buffer, b.byteOffset + p, q - p));
      p = q;
      if (p < end) p++; // the separator
      continue;
    }
    // General path, mirroring the C state machine.
    const cur: number[] = [];
    let inq = false;
    let insq = false;
    let done = false;
    while (!done) {
      const c = at(p);
      if (inq) {
        if (c === 92 /* \ */ && at(p + 1) === 120 /* x */ && isHex(at(p + 2)) && isHex(at(p + 3))) {
          cur.push(hexVal(at(p + 2)) * 16 + hexVal(at(p + 3)));
          p += 3;
        } else if (c === 92 && at(p + 1) !== 0) {
          p++;
          const e = at(p);
          cur.push(e === 110 ? 10 : e === 114 ? 13 : e === 116 ? 9 : e === 98 ? 8 : e === 97 ? 7 : e);
        } else if (c === 34) {
          const nx = at(p + 1);
          if (nx !== 0 && !isSpace(nx)) return null;
          done = true;
        } else if (c === 0) {
          return null;
        } else {
          cur.push(c);
        }
      } else if (insq) {
        if (c === 92 && at(p + 1) === 39) {
          p++;
          cur.push(39);
        } else if (c === 39) {
          const nx = at(p + 1);
          if (nx !== 0 && !isSpace(nx)) return null;
          done = true;
        } else if (c === 0) {
          return null;
        } else {
          cur.push(c);
        }
      } else {
        switch (c) {
          case 32:
          case 10:
          case 13:
          case 9:
          case 0:
            done = true;
            break;
          case 34:
            inq = true;
            break;
          case 39:
            insq = true;
            break;
          default:
            cur.push(c);
        }
      }
      if (c !== 0) p++;
    }
    out.push(Buffer.from(cur));
  }
}
