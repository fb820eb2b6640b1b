// The wire format of the peer transport: `u32 length (big-endian) |
// PeerEnvelope`. The envelope is encoded by hand (seven fields: cheaper than
// protobufjs's writer) with the body field (6) last, so a large body (a
// snapshot chunk) is handed to the socket as it is, never copied into a new
// buffer. Protobuf allows fields in any order, so any decoder reads it.
// Decoding uses protobufjs.
import { redraft as pb } from '../gen/proto';
import { bytesFieldLength, varintFieldLength, varintLength } from '../util/varint';

export const Kind = pb.PeerEnvelope.Kind;
export type Kind = pb.PeerEnvelope.Kind;

/** Default maximum frame size (the length field), 64 MiB. */
export const DEFAULT_MAX_FRAME_BYTES = 64 * 1024 * 1024;
/** Bytes of the length prefix. */
export const FRAME_HEADER_BYTES = 4;

export interface FrameHead {
  kind: Kind;
  fromStore?: number;
  toStore?: number;
  requestId?: number;
  type?: string;
  error?: string;
}

/** One encoded frame: the parts to write in order and their total length (prefix included). */
export interface EncodedFrame {
  parts: Uint8Array[];
  bytes: number;
}

const BODY_TAG = (6 << 3) | 2; // field 6, length-delimited
// Bodies up to this size are copied next to the header (one part, one
// buffer); larger ones are written as their own part without a copy.
const INLINE_BODY_BYTES = 4096;

function writeVarint(buf: Buffer, off: number, n: number): number {
  while (n >= 0x80) {
    buf[off++] = (n % 128) | 0x80;
    n = Math.floor(n / 128);
  }
  buf[off++] = n;
  return off;
}

/**
 * Encodes one frame. The envelope is written by hand, fields 1-5 and 7 in
 * order, then the body field; proto3 rules: default (zero, empty) fields are
 * left out. frame.test.ts checks it against protobufjs's decoder.
 */
export function encodeFrame(head: FrameHead, body: Uint8Array | null | undefined): EncodedFrame {
  const kind = head.kind ?? 0;
  const fromStore = head.fromStore ?? 0;
  const toStore = head.toStore ?? 0;
  const requestId = head.requestId ?? 0;
  const type = head.type ?? '';
  const error = head.error ?? '';
  const typeLen = type ? Buffer.byteLength(type) : 0;
  const errorLen = error ? Buffer.byteLength(error) : 0;
  const headLen =
    varintFieldLength(fromStore) +
    varintFieldLength(toStore) +
    varintFieldLength(requestId) +
    varintFieldLength(kind) +
    bytesFieldLength(typeLen) +
    bytesFieldLength(errorLen);
  const bodyLen = body ? body.length : 0;
  const bodyFieldHead = bodyLen > 0 ? 1 + varintLength(bodyLen) : 0;
  const frameLen = headLen + bodyFieldHead + bodyLen;
  const inline = bodyLen > 0 && bodyLen <= INLINE_BODY_BYTES;
  const first = Buffer.allocUnsafe(FRAME_HEADER_BYTES + headLen + bodyFieldHead + (inline ? bodyLen : 0));
  first.writeUInt32BE(frameLen >>> 0, 0);
  let off = FRAME_HEADER_BYTES;
  if (fromStore) {
    first[off++] = (1 << 3) | 0;
    off = writeVarint(first, off, fromStore);
  }
  if (toStore) {
    first[off++] = (2 << 3) | 0;
    off = writeVarint(first, off, toStore);
  }
  if (requestId) {
    first[off++] = (3 << 3) | 0;
    off = writeVarint(first, off, requestId);
  }
  if (kind) {
    first[off++] = (4 << 3) | 0;
    off = writeVarint(first, off, kind);
  }
  if (typeLen) {
    first[off++] = (5 << 3) | 2;
    off = writeVarint(first, off, typeLen);
    off += first.write(type, off, 'utf8');
  }
  if (errorLen) {
    first[off++] = (7 << 3) | 2;
    off = writeVarint(first, off, errorLen);
    off += first.write(error, off, 'utf8');
  }
  if (bodyLen > 0) {
    first[off++] = BODY_TAG;
    off = writeVarint(first, off, bodyLen);
    if (inline) first.set(body!, off);
  }
  const parts: Uint8Array[] = [first];
  if (bodyLen > 0 && !inline) parts.push(body!);
  return { parts, bytes: FRAME_HEADER_BYTES + frameLen };
}

/** A decoded envelope with plain numbers and defaults filled in. */
export interface Envelope {
  kind: Kind;
  fromStore: number;
  toStore: number;
  requestId: number;
  type: string;
  /** a view into the received frame (no copy) */
  body: Uint8Array;
  error: string;
}

const EMPTY = new Uint8Array(0);

interface LongLike {
  toNumber(): number;
}

/** A decoded 64-bit field as a number (exact up to 2^53), whether protobufjs gave a number or a Long. */
function u64(v: number | LongLike | null | undefined): number {
  if (typeof v === 'number') return v;
  return v ? v.toNumber() : 0;
}

/**
 * Decodes an envelope (the frame without its prefix); throws on garbage.
 * protobufjs hands out 64-bit fields as Long objects when the `long` package
 * is present (it is a dependency of protobufjs 8), whatever --force-number
 * says; u64() turns both forms into numbers.
 */
export function decodeEnvelope(frame: Buffer): Envelope {
  const m = pb.PeerEnvelope.decode(frame);
  return {
    kind: m.kind,
    fromStore: u64(m.fromStore),
    toStore: u64(m.toStore),
    requestId: u64(m.requestId),
    type: m.type,
    body: m.body && m.body.length > 0 ? m.body : EMPTY,
    error: m.error,
  };
}

/**
 * Checks the generic rules of an envelope: a known kind, a request id on
 * requests and responses, a type on messages and requests. Returns why the
 * envelope is invalid, or null.
 */
export function envelopeProblem(env: Envelope): string | null {
  switch (env.kind) {
    case Kind.MESSAGE:
      return env.type ? null : 'message without a type';
    case Kind.REQUEST:
      if (!env.type) return 'request without a type';
      return env.requestId > 0 ? null : 'request without a request id';
    case Kind.RESPONSE:
      return env.requestId > 0 ? null : 'response without a request id';
    default:
      return `unknown envelope kind ${String(env.kind)}`;
  }
}

/**
 * Splits a byte stream into frames. Memory stays bounded: a declared length
 * over the maximum (or zero) is refused as soon as its prefix is read, and a
 * partial frame holds only the bytes received so far (at most the maximum).
 */
export class FrameDecoder {
  private readonly header = Buffer.alloc(FRAME_HEADER_BYTES);
  private headerFill = 0;
  private need = -1; // length of the frame being read, -1 while reading a prefix
  private parts: Buffer[] = [];
  private fill = 0;

  constructor(private readonly maxFrameBytes: number) {}

  /** Bytes of an incomplete frame (prefix included) held right now. */
  get pendingBytes(): number {
    return this.headerFill + (this.need >= 0 ? FRAME_HEADER_BYTES + this.fill : 0);
  }

  /**
   * Feeds one chunk. Calls `onFrame` for each complete frame, in order; when
   * it returns false (the connection was closed) the rest is ignored.
   * Returns why the stream is refused, or null.
   */
  push(chunk: Buffer, onFrame: (frame: Buffer) => boolean): string | null {
    let off = 0;
    const n = chunk.length;
    while (off < n) {
      if (this.need < 0) {
        let len: number;
        if (this.headerFill === 0 && n - off >= FRAME_HEADER_BYTES) {
          len = chunk.readUInt32BE(off);
          off += FRAME_HEADER_BYTES;
        } else {
          const take = Math.min(FRAME_HEADER_BYTES - this.headerFill, n - off);
          chunk.copy(this.header, this.headerFill, off, off + take);
          this.headerFill += take;
          off += take;
          if (this.headerFill < FRAME_HEADER_BYTES) break;
          len = this.header.readUInt32BE(0);
          this.headerFill = 0;
        }
        if (len === 0) return 'zero frame length';
        if (len > this.maxFrameBytes) return `declared frame length ${len} over the maximum ${this.maxFrameBytes}`;
        if (n - off >= len) {
          // The whole frame is in this chunk. A small frame is copied out so
          // that a body kept by the handler does not pin the whole chunk.
          const view = chunk.subarray(off, off + len);
          off += len;
          const frame = len * 2 < n ? Buffer.from(view) : view;
          if (!onFrame(frame)) return null;
          continue;
        }
        this.need = len;
        this.parts.push(chunk.subarray(off));
        this.fill = n - off;
        off = n;
      } else {
        const take = Math.min(this.need - this.fill, n - off);
        this.parts.push(chunk.subarray(off, off + take));
        this.fill += take;
        off += take;
        if (this.fill === this.need) {
          const frame = this.parts.length === 1 ? Buffer.from(this.parts[0]) : Buffer.concat(this.parts, this.need);
          this.parts = [];
          this.fill = 0;
          this.need = -1;
          if (!onFrame(frame)) return null;
        }
      }
    }
    return null;
  }

  /** Drops any partial frame. */
  reset(): void {
    this.parts = [];
    this.fill = 0;
    this.need = -1;
    this.headerFill = 0;
  }
}
