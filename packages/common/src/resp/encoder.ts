// RESP2 / RESP3 reply encoder.
//
// Replies are written into a slab (a large Buffer handed out in consecutive
// views, like Node's own Buffer pool): headers and small payloads are copied
// into it, payloads of BIG_PAYLOAD bytes or more are emitted as their own
// chunk without a copy. `take()` returns the chunks written since the last
// take — typically one — ready for `socket.write` / writev. Nothing is built
// by repeated concatenation.

import {
  BigNumberReply,
  BoolReply,
  DoubleReply,
  ErrorReply,
  MapReply,
  NullArray,
  OK,
  PushReply,
  RawReply,
  Reply,
  SetReply,
  SimpleString,
  VerbatimReply,
} from './reply';

export type Protocol = 2 | 3;

/** Payloads this large are passed through as their own chunk instead of copied. */
export const BIG_PAYLOAD = 16 * 1024;
const DEFAULT_SLAB = 64 * 1024;

/**
 * Formats a double as Redis 7.0 does in replies (C's `%.17g`), with `inf`,
 * `-inf` and `nan` spelled out: 1.5 → "1.5", 3 → "3", 0.1 →
 * "0.10000000000000001", 1e20 → "1e+20".
 */
export function formatDouble(d: number): string {
  if (Number.isNaN(d)) return 'nan';
  if (d === Infinity) return 'inf';
  if (d === -Infinity) return '-inf';
  if (d === 0) return Object.is(d, -0) ? '-0' : '0';
  const exp = d.toExponential(16); // d.dddddddddddddddde±X, correctly rounded to 17 digits
  const e = exp.indexOf('e');
  const x = Number(exp.slice(e + 1));
  if (x < -4 || x >= 17) {
    let mant = exp.slice(0, e);
    if (mant.indexOf('.') >= 0) mant = mant.replace(/0+$/, '').replace(/\.$/, '');
    const ax = Math.abs(x);
    return `${mant}e${x < 0 ? '-' : '+'}${ax < 10 ? '0' : ''}${ax}`;
  }
  let s = d.toFixed(16 - x);
  if (s.indexOf('.') >= 0) s = s.replace(/0+$/, '').replace(/\.$/, '');
  return s;
}

/** Redis replaces CR and LF with spaces in status and error lines. */
function oneLine(s: string): string {
  return /[\r\n]/.test(s) ? s.replace(/[\r\n]/g, ' ') : s;
}

/** A position in an encoder, to undo a reply that failed halfway. */
export interface EncoderMark {
  slab: Buffer;
  start: number;
  pos: number;
  chunks: number;
  length: number;
}

export class ReplyEncoder {
  private slab: Buffer;
  private start = 0; // first byte of the slab not yet handed out
  private pos = 0; // next byte to write
  private chunks: Buffer[] = [];
  private len = 0; // bytes in chunks (not counting the slab's [start, pos))

  constructor(private readonly slabSize = DEFAULT_SLAB) {
    this.slab = Buffer.allocUnsafeSlow(slabSize);
  }

  /** Bytes encoded and not yet taken. */
  get length(): number {
    return this.len + this.pos - this.start;
  }

  /** Returns the chunks encoded since the last take (possibly none). */
  take(): Buffer[] {
    this.cut();
    const out = this.chunks;
    this.chunks = [];
    this.len = 0;
    return out;
  }

  /** Like take(), as one Buffer. */
  takeBuffer(): Buffer {
    const parts = this.take();
    return parts.length === 1 ? parts[0] : Buffer.concat(parts);
  }

  mark(): EncoderMark {
    return { slab: this.slab, start: this.start, pos: this.pos, chunks: this.chunks.length, length: this.len };
  }

  /** Forgets everything written since `m` (no take() in between). */
  rollback(m: EncoderMark): void {
    this.chunks.length = m.chunks;
    this.len = m.length;
    this.slab = m.slab;
    this.start = m.start;
    this.pos = m.pos;
  }

  /**
   * Appends the encoding of `reply`, or nothing if it cannot be encoded:
   * then returns the error (as `encode` would throw it), else undefined.
   * Like mark/encode/rollback, without allocating a mark per reply.
   */
  tryEncode(reply: Reply, protocol: Protocol): unknown {
    const slab = this.slab;
    const start = this.start;
    const pos = this.pos;
    const chunks = this.chunks.length;
    const len = this.len;
    try {
      this.encode(reply, protocol);
      return undefined;
    } catch (e) {
      this.rollback({ slab, start, pos, chunks, length: len });
      return e;
    }
  }

  /** Appends the encoding of `reply`. Throws TypeError on a value that is not a Reply. */
  encode(reply: Reply, protocol: Protocol): void {
    if (reply === OK) {
      // The commonest reply: five bytes, no string to check or encode.
      this.ensure(5);
      const s = this.slab;
      s[this.pos] = 43; // '+'
      s[this.pos + 1] = 79; // 'O'
      s[this.pos + 2] = 75; // 'K'
      s[this.pos + 3] = 13;
      s[this.pos + 4] = 10;
      this.pos += 5;
    } else if (reply === null) {
      this.ascii(protocol === 3 ? '_\r\n' : '$-1\r\n');
    } else if (typeof reply === 'string') {
      this.bulkString(reply);
    } else if (typeof reply === 'number') {
      if (!Number.isInteger(reply)) throw new TypeError(`integer reply is not an integer: ${reply}`);
      this.ascii(`:${reply}\r\n`);
    } else if (Buffer.isBuffer(reply)) {
      this.bulk(reply);
    } else if (Array.isArray(reply)) {
      this.ascii(`*${reply.length}\r\n`);
      for (let i = 0; i < reply.length; i++) this.encode(reply[i], protocol);
    } else if (typeof reply === 'bigint') {
      if (reply > 9223372036854775807n || reply < -9223372036854775808n) {
        throw new TypeError(`integer reply out of int64 range: ${reply}`);
      }
      this.ascii(`:${reply}\r\n`);
    } else if (reply instanceof SimpleString) {
      this.line('+', reply.value);
    } else if (reply instanceof ErrorReply) {
      this.line('-', reply.message);
    } else if (reply instanceof MapReply) {
      const entries = reply.entries;
      this.ascii(protocol === 3 ? `%${entries.length}\r\n` : `*${entries.length * 2}\r\n`);
      for (let i = 0; i < entries.length; i++) {
        this.encode(entries[i][0], protocol);
        this.encode(entries[i][1], protocol);
      }
    } else if (reply instanceof SetReply) {
      const items = reply.items;
      this.ascii(`${protocol === 3 ? '~' : '*'}${items.length}\r\n`);
      for (let i = 0; i < items.length; i++) this.encode(items[i], protocol);
    } else if (reply instanceof DoubleReply) {
      const s = formatDouble(reply.value);
      this.ascii(protocol === 3 ? `,${s}\r\n` : `$${s.length}\r\n${s}\r\n`);
    } else if (reply instanceof BoolReply) {
      this.ascii(protocol === 3 ? (reply.value ? '#t\r\n' : '#f\r\n') : reply.value ? ':1\r\n' : ':0\r\n');
    } else if (reply instanceof VerbatimReply) {
      if (protocol === 3) {
        if (reply.format.length !== 3) throw new TypeError(`verbatim format must be 3 characters: ${reply.format}`);
        const n = Buffer.byteLength(reply.text);
        this.ascii(`=${n + 4}\r\n${reply.format}:`);
        this.payload(reply.text, n);
      } else {
        this.bulkString(reply.text);
      }
    } else if (reply instanceof NullArray) {
      this.ascii(protocol === 3 ? '_\r\n' : '*-1\r\n');
    } else if (reply instanceof PushReply) {
      const items = reply.items;
      this.ascii(`${protocol === 3 ? '>' : '*'}${items.length}\r\n`);
      for (let i = 0; i < items.length; i++) this.encode(items[i], protocol);
    } else if (reply instanceof BigNumberReply) {
      if (!/^-?[0-9]+$/.test(reply.value)) throw new TypeError(`big number is not an integer: ${reply.value}`);
      if (protocol === 3) this.ascii(`(${reply.value}\r\n`);
      else this.ascii(`$${reply.value.length}\r\n${reply.value}\r\n`);
    } else if (reply instanceof RawReply) {
      this.raw(reply.bytes);
    } else {
      throw new TypeError(`not a reply: ${describe(reply)}`);
    }
  }

  // ---------------------------------------------------------------- writing

  private ensure(n: number): void {
    if (this.slab.length - this.pos >= n) return;
    this.cut();
    this.slab = Buffer.allocUnsafeSlow(Math.max(this.slabSize, n));
    this.start = 0;
    this.pos = 0;
  }

  /** Moves the written part of the slab into chunks. */
  private cut(): void {
    if (this.pos > this.start) {
      this.chunks.push(this.slab.subarray(this.start, this.pos));
      this.len += this.pos - this.start;
      this.start = this.pos;
    }
  }

  /** Writes a string of 1-byte characters (headers, numbers, doubles). */
  private ascii(s: string): void {
    this.ensure(s.length);
    this.pos += this.slab.write(s, this.pos, 'latin1');
  }

  private line(prefix: string, text: string): void {
    const t = oneLine(text);
    const n = Buffer.byteLength(t);
    this.ensure(n + 3);
    this.slab[this.pos++] = prefix.charCodeAt(0);
    this.pos += this.slab.write(t, this.pos, 'utf8');
    this.slab[this.pos++] = 13;
    this.slab[this.pos++] = 10;
  }

  private bulk(b: Buffer): void {
    const n = b.length;
    if (n >= BIG_PAYLOAD) {
      this.ascii(`$${n}\r\n`);
      this.cut();
      this.chunks.push(b);
      this.len += n;
      this.ascii('\r\n');
      return;
    }
    this.ensure(n + 16);
    const s = this.slab;
    let p = this.pos;
    p += s.write(`$${n}\r\n`, p, 'latin1');
    b.copy(s, p);
    p += n;
    s[p++] = 13;
    s[p++] = 10;
    this.pos = p;
  }

  private bulkString(str: string): void {
    // Short strings: at most 3 bytes per UTF-16 unit, so a bound is cheap.
    if (str.length < 1024) {
      const bound = str.length * 3;
      this.ensure(bound + 16);
      const n = Buffer.byteLength(str);
      const s = this.slab;
      let p = this.pos;
      p += s.write(`$${n}\r\n`, p, 'latin1');
      p += s.write(str, p, 'utf8');
      s[p++] = 13;
      s[p++] = 10;
      this.pos = p;
      return;
    }
    const n = Buffer.byteLength(str);
    this.ascii(`$${n}\r\n`);
    this.payload(str, n);
  }

  /** Writes `n` bytes of UTF-8 text and the trailing CRLF. */
  private payload(str: string, n: number): void {
    if (n >= BIG_PAYLOAD) {
      this.cut();
      this.chunks.push(Buffer.from(str, 'utf8'));
      this.len += n;
      this.ascii('\r\n');
      return;
    }
    this.ensure(n + 2);
    this.pos += this.slab.write(str, this.pos, 'utf8');
    this.slab[this.pos++] = 13;
    this.slab[this.pos++] = 10;
  }

  private raw(b: Buffer): void {
    if (b.length >= BIG_PAYLOAD) {
      this.cut();
      this.chunks.push(b);
      this.len += b.length;
      return;
    }
    this.ensure(b.length);
    b.copy(this.slab, this.pos);
    this.pos += b.length;
  }
}

function describe(v: unknown): string {
  if (v === undefined) return 'undefined';
  if (typeof v === 'object') return (v as object).constructor?.name ?? 'object';
  return typeof v;
}

// encodeReply's encoder, shared: a new encoder per call allocated a slab of
// its own (allocUnsafeSlow) for every forwarded command and every kept
// session reply. What it hands out are views of its slab that later calls
// never write over (a full slab is replaced, not reused).
const sharedEncoder = new ReplyEncoder(16 * 1024);

/** Encodes one reply into one Buffer. */
export function encodeReply(reply: Reply, protocol: Protocol = 2): Buffer {
  const m = sharedEncoder.mark();
  try {
    sharedEncoder.encode(reply, protocol);
  } catch (e) {
    sharedEncoder.rollback(m);
    throw e;
  }
  return sharedEncoder.takeBuffer();
}
