// Client sessions of one region (the Raft dissertation, section 6.3): what
// makes a forwarded write exactly-once. A forwarding store gives each write a
// (session, seq); if it loses the answer (the leader's store died, leadership
// moved) it resends the same (session, seq) to the new leader, and the region
// answers the kept reply instead of applying the write again.
//
// The records are replicated state: written in apply's batch, travelling in
// snapshots, expired by the time stamped in the entries (never a local
// clock), so every replica keeps and forgets exactly the same ones. The
// in-memory mirror is rebuilt from disk on load and after a snapshot.
//
// Most kept replies are a few bytes (+OK, :42) and are dropped again a
// moment later, when the forwarder's ackedBelow passes them. A row of its
// own per reply cost two RocksDB writes per forwarded write on every
// replica (its put, then its delete): about 4 µs of a replica's CPU each.
// Small replies therefore ride inline in the session's record row, which
// apply rewrites once per batch anyway; a reply that is large, or that
// finds the inline budget full (ackedBelow held back by a slow write), gets
// its own row as before.
import {
  decodeReply,
  decodeSessionReplyKey,
  encodeReply,
  isSessionKey,
  pb,
  readU64,
  sessionKey,
  sessionRange,
  sessionReplyKey,
  writeU64,
  type Engine,
  type OverlayBatch,
  type Reply,
} from '@redraft/common';

/** A session untouched by any entry for this long (in entry time) is forgotten. */
export const SESSION_TTL_MS = 5 * 60_000;
/** A kept reply up to this size may ride inline in its session's record row (at most 255: its length is one byte there). */
export const INLINE_REPLY_MAX = 128;
/**
 * The bytes of kept replies one record row holds inline, at most. Enough
 * for the replies of a forwarder's 800 writes in flight (50 clients, 16
 * deep) to one region; and a bound on what a stuck seq costs: while one
 * forwarded write waits (an election, at most the 20 s outcome bound), the
 * others' replies pile up here, and the row is rewritten every apply batch.
 */
export const INLINE_BYTES_MAX = 16 * 1024;
const EMPTY = Buffer.alloc(0);

interface Session {
  lastActiveMs: number;
  ackedBelow: number;
  /**
   * Kept replies (RESP3) of writes whose answer the forwarder may not have
   * yet, by seq: those inline in the record row, and those in rows of
   * their own. A seq is in one of the two.
   */
  inline: Map<number, Buffer>;
  rows: Map<number, Buffer>;
  /** The sum of the inline replies' lengths. */
  inlineBytes: number;
}

export type SessionCheck =
  | { kind: 'new' }
  /** Applied before: answer this reply, apply nothing. */
  | { kind: 'duplicate'; reply: Reply }
  /** The forwarder already had the answer: this is an old copy, apply nothing. */
  | { kind: 'stale' };

export class ClientSessions {
  private readonly sessions = new Map<number, Session>();
  /** Sessions whose record changed in the apply batch being built (written once, by writeRecords). */
  private readonly changed = new Set<number>();

  constructor(readonly regionId: number) {}

  static async load(engine: Engine, regionId: number): Promise<ClientSessions> {
    const s = new ClientSessions(regionId);
    const [gte, lt] = sessionRange(regionId);
    for await (const [k, v] of engine.scan({ gte, lt })) s.restore(k, v);
    return s;
  }

  /** Rebuilds the mirror from a snapshot's session records. */
  static fromPairs(regionId: number, pairs: Iterable<[Buffer, Buffer]>): ClientSessions {
    const s = new ClientSessions(regionId);
    for (const [k, v] of pairs) s.restore(k, v);
    return s;
  }

  private restore(k: Buffer, v: Buffer): void {
    if (isSessionKey(k)) {
      const rec = pb.SessionRecord.decode(v);
      const id = readU64(k, 10);
      const s = this.session(id);
      s.lastActiveMs = Number(rec.lastActiveMs);
      s.ackedBelow = Number(rec.ackedBelow);
      unpackInline(Buffer.from(rec.inlineReplies), s);
    } else {
      const { sessionId, seq } = decodeSessionReplyKey(k);
      this.session(sessionId).rows.set(seq, v);
    }
  }

  private session(id: number): Session {
    let s = this.sessions.get(id);
    if (!s) this.sessions.set(id, (s = { lastActiveMs: 0, ackedBelow: 0, inline: new Map(), rows: new Map(), inlineBytes: 0 }));
    return s;
  }

  /**
   * Keeps a reply for (session, seq): inline when it is small and the
   * budget has room, else in its own row (put in `raw`). A function of the
   * session's state alone, so every replica places it alike.
   */
  private keep(id: number, s: Session, seq: number, bytes: Buffer, raw: { put(k: Buffer, v: Buffer): void }): void {
    if (bytes.length <= INLINE_REPLY_MAX && s.inlineBytes + bytes.length <= INLINE_BYTES_MAX) {
      s.inline.set(seq, bytes);
      s.inlineBytes += bytes.length;
    } else {
      s.rows.set(seq, bytes);
      raw.put(sessionReplyKey(this.regionId, id, seq), bytes);
    }
  }

  get size(): number {
    return this.sessions.size;
  }

  check(fs: pb.ForwardSession.$Properties): SessionCheck {
    const s = this.sessions.get(Number(fs.id));
    const seq = Number(fs.seq);
    if (!s) return { kind: 'new' };
    const kept = s.inline.get(seq) ?? s.rows.get(seq);
    if (kept) return { kind: 'duplicate', reply: decodeReply(kept) };
    if (seq < s.ackedBelow) return { kind: 'stale' };
    return { kind: 'new' };
  }

  /**
   * Records the reply of a write applied for (session, seq), forgets the
   * replies the forwarder has had (below ackedBelow), and expires sessions
   * idle for SESSION_TTL_MS of entry time. All in apply's batch; the
   * session's own record row is written once per batch, by writeRecords.
   *
   * These rows go straight into the engine batch, not through the
   * overlay: apply never reads them back (check() answers from memory),
   * and a record comes after its write applied, so no rollback undoes it.
   */
  record(fs: pb.ForwardSession.$Properties, reply: Reply | undefined, entryTimeMs: number, batch: OverlayBatch): void {
    const raw = batch.batch;
    const id = Number(fs.id);
    const s = this.session(id);
    s.lastActiveMs = Math.max(s.lastActiveMs, entryTimeMs);
    const ackedBelow = Number(fs.ackedBelow);
    if (ackedBelow > s.ackedBelow) {
      dropBelow(s.inline, s.ackedBelow, ackedBelow, (_seq, bytes) => (s.inlineBytes -= bytes.length));
      dropBelow(s.rows, s.ackedBelow, ackedBelow, (seq) => raw.del(sessionReplyKey(this.regionId, id, seq)));
      s.ackedBelow = ackedBelow;
    }
    const seq = Number(fs.seq);
    if (reply !== undefined && seq >= s.ackedBelow) this.keep(id, s, seq, encodeReply(reply, 3), raw);
    this.changed.add(id);
    this.expire(entryTimeMs, batch);
  }

  /**
   * Writes the record row (last activity, ackedBelow, inline replies) of every session the
   * batch's writes touched: once per session and apply batch instead of
   * once per write. The rows hold the mirror's state after the batch's
   * last entry, whatever the batching, so every replica's disk agrees at
   * each applied index it writes.
   */
  writeRecords(batch: OverlayBatch): void {
    for (const id of this.changed) {
      const s = this.sessions.get(id);
      if (s) batch.batch.put(sessionKey(this.regionId, id), encodeRecord(s));
    }
    this.changed.clear();
  }

  /**
   * A split: the new region starts with a copy of every session record and
   * kept reply (in the split's batch), so a forwarded write that applied in
   * the parent before the split and is resent to the new region afterwards
   * (its answer was lost) is still answered once, never applied twice.
   * Returns the new region's mirror.
   */
  copyTo(regionId: number, batch: OverlayBatch): ClientSessions {
    const out = new ClientSessions(regionId);
    for (const [id, s] of this.sessions) {
      out.sessions.set(id, { ...s, inline: new Map(s.inline), rows: new Map(s.rows) });
      for (const [seq, bytes] of s.rows) batch.put(sessionReplyKey(regionId, id, seq), bytes);
      batch.put(sessionKey(regionId, id), encodeRecord(s));
    }
    return out;
  }

  /**
   * A merge: the source region's sessions join this (the target's), in the
   * commit's batch, so a forwarded write that applied in the source and is
   * resent to the target after the merge is answered once, never applied
   * twice. A session both know keeps every kept reply and the higher marks.
   */
  absorb(source: ClientSessions, batch: OverlayBatch): void {
    for (const [id, src] of source.sessions) {
      const s = this.session(id);
      s.lastActiveMs = Math.max(s.lastActiveMs, src.lastActiveMs);
      if (src.ackedBelow > s.ackedBelow) {
        dropBelow(s.inline, s.ackedBelow, src.ackedBelow, (_seq, bytes) => (s.inlineBytes -= bytes.length));
        dropBelow(s.rows, s.ackedBelow, src.ackedBelow, (seq) => batch.del(sessionReplyKey(this.regionId, id, seq)));
        s.ackedBelow = src.ackedBelow;
      }
      // In seq order, so that every replica places them alike (a Map's order is its history's).
      for (const [seq, bytes] of sortedBySeq([...src.inline, ...src.rows])) {
        if (seq < s.ackedBelow || s.inline.has(seq) || s.rows.has(seq)) continue;
        this.keep(id, s, seq, bytes, batch);
      }
      batch.put(sessionKey(this.regionId, id), encodeRecord(s));
    }
  }

  private expire(entryTimeMs: number, batch: OverlayBatch): void {
    for (const [id, s] of this.sessions) {
      if (s.lastActiveMs >= entryTimeMs - SESSION_TTL_MS) continue;
      for (const seq of s.rows.keys()) batch.del(sessionReplyKey(this.regionId, id, seq));
      batch.del(sessionKey(this.regionId, id));
      this.sessions.delete(id);
      this.changed.delete(id);
    }
  }
}

function encodeRecord(s: Session): Buffer {
  return pb.SessionRecord.encode({ lastActiveMs: s.lastActiveMs, ackedBelow: s.ackedBelow, inlineReplies: packInline(s) }).finish() as Buffer;
}

/**
 * Drops the kept replies below `to`. Every kept one is at or above `from`
 * (the old mark: kept only from there, all below dropped when it rose), so
 * they are looked up seq by seq in [from, to), or found by a walk over the
 * kept replies when that range is longer. Same deletions either way; a walk
 * over every kept reply per write cost 6 % of a leader's CPU at -P 16.
 */
function dropBelow(kept: Map<number, Buffer>, from: number, to: number, dropped: (seq: number, bytes: Buffer) => void): void {
  if (to - from <= kept.size) {
    for (let seq = from; seq < to; seq++) {
      const bytes = kept.get(seq);
      if (bytes === undefined) continue;
      kept.delete(seq);
      dropped(seq, bytes);
    }
  } else {
    for (const [seq, bytes] of kept) {
      if (seq >= to) continue;
      kept.delete(seq);
      dropped(seq, bytes);
    }
  }
}

function sortedBySeq(pairs: Array<[number, Buffer]>): Array<[number, Buffer]> {
  for (let i = 1; i < pairs.length; i++) if (pairs[i - 1]![0] > pairs[i]![0]) return pairs.sort((a, b) => a[0] - b[0]);
  return pairs;
}

// The inline replies in a record row: seq u64 | length u8 | RESP3 bytes,
// each, in seq order (the same bytes on every replica, whatever order its
// mirror learnt them in).
const INLINE_HEADER = 9;

function packInline(s: Session): Buffer {
  if (s.inline.size === 0) return EMPTY;
  const out = Buffer.allocUnsafe(s.inline.size * INLINE_HEADER + s.inlineBytes);
  let at = 0;
  for (const [seq, bytes] of sortedBySeq([...s.inline])) {
    writeU64(out, at, seq);
    out[at + 8] = bytes.length;
    out.set(bytes, at + INLINE_HEADER);
    at += INLINE_HEADER + bytes.length;
  }
  return out;
}

function unpackInline(packed: Buffer, s: Session): void {
  for (let at = 0; at + INLINE_HEADER <= packed.length; ) {
    const seq = readU64(packed, at);
    const len = packed[at + 8]!;
    const bytes = packed.subarray(at + INLINE_HEADER, at + INLINE_HEADER + len);
    if (bytes.length !== len) throw new Error('corrupt session record: truncated inline reply');
    s.inline.set(seq, bytes);
    s.inlineBytes += len;
    at += INLINE_HEADER + len;
  }
}
