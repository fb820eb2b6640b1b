// The Raft core's plain types to and from their protobuf form (proto/raft.proto).
//
// Entries are encoded once per process (docs/decisions.md, "Raft entries
// encoded once"): the bytes made for an entry's log row are the bytes every
// MsgApp carries, and a follower stores the bytes it received. The core
// knows nothing of this: the bytes hang on the entry object under a hidden
// key of this module, and entries are never changed after they are made.
import { Reader, Writer } from 'protobufjs/minimal';
import { redraft as pb } from '../gen/proto';
import type { ConfState, Entry, HardState, Message, Snapshot } from '../raft';
import { bytesFieldLength, varintFieldLength } from '../util/varint';

const EMPTY: Uint8Array = new Uint8Array(0);

export function entryToPb(e: Entry): pb.Entry.$Properties {
  return { term: e.term, index: e.index, type: e.type, data: e.data };
}

export function entryFromPb(e: pb.Entry.$Properties): Entry {
  return { term: Number(e.term ?? 0), index: Number(e.index ?? 0), type: Number(e.type ?? 0), data: e.data ?? EMPTY };
}

/** The protobuf Entry bytes of an entry, made by protobufjs: the reference every cached copy equals. */
export function encodeEntry(e: Entry): Uint8Array {
  return pb.Entry.encode(entryToPb(e)).finish();
}

// ---- entries encoded once ----------------------------------------------------------------

/**
 * The key under which an entry keeps its encodeEntry bytes (a Buffer: RocksDB
 * takes them as they are). Not enumerable: a spread copy of an entry (which
 * might change a field) never carries them, and deepEqual ignores them. A
 * property rather than a WeakMap<Entry, Buffer>, which cost more CPU than
 * encoding again (docs/performance.md, "Entries encoded once").
 */
const ENCODED = Symbol('encodedEntry');
type EntryWithBytes = Entry & { [ENCODED]?: Buffer };

function keepBytes(e: Entry, bytes: Buffer): void {
  Object.defineProperty(e, ENCODED, { value: bytes });
}

/**
 * The bytes `encodeEntry(e)` gives, made at most once per entry object: the
 * log row and every MsgApp that carries the entry share them. Never write
 * into the result.
 */
export function entryBytes(e: Entry): Buffer {
  let bytes = (e as EntryWithBytes)[ENCODED];
  if (bytes === undefined) {
    bytes = asBuffer(encodeEntry(e));
    keepBytes(e, bytes);
    // Data is the encoding's last field: the entry now reads it there, so an
    // entry kept in the in-memory log holds its bytes once, not twice (a
    // leader's log of 10,000 7-KB MSETs was 30 MB more per store).
    if (e.data.length) e.data = bytes.subarray(bytes.length - e.data.length);
  }
  return bytes;
}

/** The bytes an entry keeps, if any (for tests and measurements). */
export function cachedEntryBytes(e: Entry): Buffer | undefined {
  return (e as EntryWithBytes)[ENCODED];
}

function asBuffer(b: Uint8Array): Buffer {
  return Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength);
}

/**
 * Decodes an Entry (a log row, or one entry of a received message). When the
 * bytes are exactly what encodeEntry gives for the result (always so for
 * bytes our encoder made), they are kept as the entry's encoded bytes; a view
 * into `bytes`, not a copy (the entry's data is a view into them already).
 */
export function decodeEntry(bytes: Uint8Array): Entry {
  return readEntry(Reader.create(bytes), bytes.length);
}

/** Field tags (field number << 3 | wire type) of raft.proto's Entry and Message. */
const enum Tag {
  EntryTerm = (1 << 3) | 0,
  EntryIndex = (2 << 3) | 0,
  EntryType = (3 << 3) | 0,
  EntryData = (4 << 3) | 2,
  MsgType = (1 << 3) | 0,
  MsgFrom = (2 << 3) | 0,
  MsgTo = (3 << 3) | 0,
  MsgTerm = (4 << 3) | 0,
  MsgLogTerm = (5 << 3) | 0,
  MsgIndex = (6 << 3) | 0,
  MsgEntries = (7 << 3) | 2,
  MsgCommit = (8 << 3) | 0,
  MsgReject = (9 << 3) | 0,
  MsgRejectHint = (10 << 3) | 0,
  MsgSnapshot = (11 << 3) | 2,
  MsgContext = (12 << 3) | 2,
}

/**
 * Reads an Entry of `length` bytes at the reader's position. Decodes as
 * protobufjs does (unknown fields skipped, the last of a repeated scalar wins,
 * zero means absent); its encoded bytes are kept only if they are canonical:
 * known fields in order, each once, none zero, every varint minimal, which
 * is what protobufjs writes and the one encoding that equals encodeEntry.
 */
function readEntry(r: Reader, length: number): Entry {
  const start = r.pos;
  const end = start + length;
  if (end > r.len) throw new RangeError(`entry of ${length} bytes overruns its message`);
  const outerLen = r.len;
  r.len = end; // nested reads stop at the entry's end
  let term = 0;
  let index = 0;
  let type = 0;
  let data = EMPTY;
  let lastTag = 0;
  let ordered = true;
  while (r.pos < end) {
    const tag = r.tag();
    if (tag <= lastTag) ordered = false;
    lastTag = tag;
    switch (tag) {
      case Tag.EntryTerm:
        term = readU64(r);
        break;
      case Tag.EntryIndex:
        index = readU64(r);
        break;
      case Tag.EntryType:
        type = r.uint32();
        break;
      case Tag.EntryData:
        data = r.bytes();
        break;
      default:
        ordered = false;
        r.skipType(tag & 7, 0, tag >>> 3);
    }
  }
  r.len = outerLen;
  if (r.pos !== end) throw new RangeError('entry overruns its length');
  const e: Entry = { term, index, type, data: data.length ? data : EMPTY };
  if (ordered && length === canonicalEntrySize(term, index, type, data.length)) keepBytes(e, asBuffer(r.raw(start, end)));
  return e;
}

/** The size of an Entry's protobufjs encoding; larger bytes with the same fields are not canonical. */
function canonicalEntrySize(term: number, index: number, type: number, dataLength: number): number {
  // Beyond 2^53 the numbers are rounded: such bytes are never kept (the core refuses such indexes anyway).
  if (term > Number.MAX_SAFE_INTEGER || index > Number.MAX_SAFE_INTEGER) return -1;
  return varintFieldLength(term) + varintFieldLength(index) + varintFieldLength(type) + bytesFieldLength(dataLength);
}

/**
 * A uint64 varint as a number (exact below 2^53, like the generated code's
 * numbers), without protobufjs's LongBits object per field.
 */
function readU64(r: Reader): number {
  const buf = r.buf;
  let pos = r.pos;
  let value = 0;
  let scale = 1;
  for (let i = 0; i < 10; i++) {
    if (pos >= r.len) throw new RangeError(`index out of range: ${pos} + 1 > ${r.len}`);
    const b = buf[pos++];
    value += (b & 0x7f) * scale;
    if (b < 0x80) {
      r.pos = pos;
      return value;
    }
    scale *= 128;
  }
  throw new Error('invalid varint encoding');
}

/** Writes a uint64 field unless it is zero (proto3); under 2^32 as a uint32, which is the same varint. */
function writeU64(w: Writer, tag: number, n: number): void {
  if (n === 0) return;
  w.uint32(tag);
  if (n <= 0xffffffff) w.uint32(n);
  else w.uint64(n);
}

export function encodeHardState(h: HardState): Uint8Array {
  return pb.HardState.encode(h).finish();
}

export function decodeHardState(bytes: Uint8Array): HardState {
  const h = pb.HardState.decode(bytes);
  return { term: Number(h.term), vote: Number(h.vote), commit: Number(h.commit) };
}

export function confStateToPb(c: ConfState): pb.ConfState.$Properties {
  return { voters: c.voters, learners: c.learners };
}

export function confStateFromPb(c: pb.ConfState.$Properties | null | undefined): ConfState {
  return { voters: (c?.voters ?? []).map(Number), learners: (c?.learners ?? []).map(Number) };
}

function snapshotToPb(s: Snapshot): pb.Snapshot.$Properties {
  return {
    meta: { index: s.meta.index, term: s.meta.term, confState: confStateToPb(s.meta.confState) },
    data: s.data,
  };
}

function snapshotFromPb(s: pb.Snapshot.$Properties): Snapshot {
  return {
    meta: {
      index: Number(s.meta?.index ?? 0),
      term: Number(s.meta?.term ?? 0),
      confState: confStateFromPb(s.meta?.confState),
    },
    data: s.data ?? EMPTY,
  };
}

// ---- messages ---------------------------------------------------------------------------

/**
 * Writes a Raft message as raft.proto's Message: the very bytes
 * `pb.Message.encode(messageToPb(m))` gives, fields in number order, but
 * each entry's bytes come from entryBytes (made once, then copied in)
 * rather than being encoded again for every message and every target.
 */
export function writeMessage(m: Message, w: Writer): Writer {
  if (m.type !== 0) w.uint32(Tag.MsgType).uint32(m.type);
  writeU64(w, Tag.MsgFrom, m.from);
  writeU64(w, Tag.MsgTo, m.to);
  writeU64(w, Tag.MsgTerm, m.term);
  writeU64(w, Tag.MsgLogTerm, m.logTerm);
  writeU64(w, Tag.MsgIndex, m.index);
  // An embedded message is a length-delimited field: tag, length, bytes.
  for (const e of m.entries) w.uint32(Tag.MsgEntries).bytes(entryBytes(e));
  writeU64(w, Tag.MsgCommit, m.commit);
  if (m.reject) w.uint32(Tag.MsgReject).bool(true);
  writeU64(w, Tag.MsgRejectHint, m.rejectHint);
  if (m.snapshot) pb.Snapshot.encode(snapshotToPb(m.snapshot), w.uint32(Tag.MsgSnapshot).fork()).ldelim();
  if (m.context && m.context.length) w.uint32(Tag.MsgContext).bytes(m.context);
  return w;
}

export function encodeMessage(m: Message): Uint8Array {
  return writeMessage(m, Writer.create()).finish();
}

/**
 * Decodes raft.proto's Message into the core's Message, as
 * messageFromPb(pb.Message.decode(bytes)) would; each entry keeps its
 * received bytes (see decodeEntry). Throws on bytes that are not a Message.
 */
export function decodeMessage(bytes: Uint8Array): Message {
  const r = Reader.create(bytes);
  const m: Message = { type: 0, from: 0, to: 0, term: 0, logTerm: 0, index: 0, entries: [], commit: 0, reject: false, rejectHint: 0 };
  while (r.pos < r.len) {
    const tag = r.tag();
    switch (tag) {
      case Tag.MsgType:
        m.type = r.uint32();
        break;
      case Tag.MsgFrom:
        m.from = readU64(r);
        break;
      case Tag.MsgTo:
        m.to = readU64(r);
        break;
      case Tag.MsgTerm:
        m.term = readU64(r);
        break;
      case Tag.MsgLogTerm:
        m.logTerm = readU64(r);
        break;
      case Tag.MsgIndex:
        m.index = readU64(r);
        break;
      case Tag.MsgEntries:
        m.entries.push(readEntry(r, r.uint32()));
        break;
      case Tag.MsgCommit:
        m.commit = readU64(r);
        break;
      case Tag.MsgReject:
        m.reject = r.bool();
        break;
      case Tag.MsgRejectHint:
        m.rejectHint = readU64(r);
        break;
      case Tag.MsgSnapshot: {
        const s = pb.Snapshot.decode(r, r.uint32());
        if (s.meta) m.snapshot = snapshotFromPb(s);
        break;
      }
      case Tag.MsgContext: {
        const c = r.bytes();
        if (c.length) m.context = c;
        else delete m.context;
        break;
      }
      default:
        r.skipType(tag & 7, 0, tag >>> 3);
    }
  }
  return m;
}

/** The generated codec's form of a message (the reference writeMessage and decodeMessage are tested against). */
export function messageToPb(m: Message): pb.Message.$Properties {
  return {
    type: m.type,
    from: m.from,
    to: m.to,
    term: m.term,
    logTerm: m.logTerm,
    index: m.index,
    entries: m.entries.map(entryToPb),
    commit: m.commit,
    reject: m.reject,
    rejectHint: m.rejectHint,
    snapshot: m.snapshot ? snapshotToPb(m.snapshot) : undefined,
    context: m.context,
  };
}

/** The core's message from the generated codec's form. */
export function messageFromPb(m: pb.Message.$Properties): Message {
  const out: Message = {
    type: Number(m.type ?? 0),
    from: Number(m.from ?? 0),
    to: Number(m.to ?? 0),
    term: Number(m.term ?? 0),
    logTerm: Number(m.logTerm ?? 0),
    index: Number(m.index ?? 0),
    entries: (m.entries ?? []).map(entryFromPb),
    commit: Number(m.commit ?? 0),
    reject: !!m.reject,
    rejectHint: Number(m.rejectHint ?? 0),
  };
  if (m.snapshot && m.snapshot.meta) out.snapshot = snapshotFromPb(m.snapshot);
  if (m.context && m.context.length > 0) out.context = m.context;
  return out;
}

/**
 * A store-to-store RaftMessage (cluster.proto) carrying `m`: the envelope's
 * fields by the generated code, then the message written in place as field
 * 7 (the same bytes as `{ ...envelope, message: encodeMessage(m) }`, one copy
 * fewer). `envelope.message` must be unset.
 */
export function encodeRaftMessage(envelope: pb.RaftMessage.$Properties, m: Message): Uint8Array {
  const w = pb.RaftMessage.encode(envelope);
  writeMessage(m, w.uint32(RAFT_MESSAGE_TAG).fork()).ldelim();
  return w.finish();
}

/** cluster.proto RaftMessage.message: field 7, length-delimited. */
const RAFT_MESSAGE_TAG = (7 << 3) | 2;
