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
  type Engine,
  type OverlayBatch,
  type Reply,
} from '@redraft/common';

/** A session untouched by any entry for this long (in entry time) is forgotten. */
export const SESSION_TTL_MS = 5 * 60_000;

interface Session {
  lastActiveMs: number;
  ackedBelow: number;
  /** Kept replies (RESP3) of writes whose answer the forwarder may not have yet. */
  replies: Map<number, Buffer>;
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
    } else {
      const { sessionId, seq } = decodeSessionReplyKey(k);
      this.session(sessionId).replies.set(seq, v);
    }
  }

  private session(id: number): Session {
    let s = this.sessions.get(id);
    if (!s) this.sessions.set(id, (s = { lastActiveMs: 0, ackedBelow: 0, replies: new Map() }));
    return s;
  }

  get size(): number {
    return this.sessions.size;
  }

  check(fs: pb.ForwardSession.$Properties): SessionCheck {
    const s = this.sessions.get(Number(fs.id));
    const seq = Number(fs.seq);
    if (!s) return { kind: 'new' };
    const kept = s.replies.get(seq);
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
      // Every kept reply is at or above the old mark (kept only from there,
      // all below dropped when it rose), so the ones to drop lie in
      // [old mark, new mark): look them up there, or walk the kept replies
      // when that range is longer. Same deletions either way; a scan of
      // every kept reply per write cost 6 % of a leader's CPU at -P 16.
      if (ackedBelow - s.ackedBelow <= s.replies.size) {
        for (let seq = s.ackedBelow; seq < ackedBelow; seq++) {
          if (s.replies.delete(seq)) raw.del(sessionReplyKey(this.regionId, id, seq));
        }
      } else {
        for (const seq of s.replies.keys()) {
          if (seq < ackedBelow) {
            s.replies.delete(seq);
            raw.del(sessionReplyKey(this.regionId, id, seq));
          }
        }
      }
      s.ackedBelow = ackedBelow;
    }
    const seq = Number(fs.seq);
    if (reply !== undefined && seq >= s.ackedBelow) {
      const bytes = encodeReply(reply, 3);
      s.replies.set(seq, bytes);
      raw.put(sessionReplyKey(this.regionId, id, seq), bytes);
    }
    this.changed.add(id);
    this.expire(entryTimeMs, batch);
  }

  /**
   * Writes the record row (last activity, ackedBelow) of every session the
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
      out.sessions.set(id, { lastActiveMs: s.lastActiveMs, ackedBelow: s.ackedBelow, replies: new Map(s.replies) });
      for (const [seq, bytes] of s.replies) batch.put(sessionReplyKey(regionId, id, seq), bytes);
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
      s.ackedBelow = Math.max(s.ackedBelow, src.ackedBelow);
      for (const [seq, bytes] of src.replies) {
        if (seq < s.ackedBelow || s.replies.has(seq)) continue;
        s.replies.set(seq, bytes);
        batch.put(sessionReplyKey(this.regionId, id, seq), bytes);
      }
      batch.put(sessionKey(this.regionId, id), encodeRecord(s));
    }
  }

  private expire(entryTimeMs: number, batch: OverlayBatch): void {
    for (const [id, s] of this.sessions) {
      if (s.lastActiveMs >= entryTimeMs - SESSION_TTL_MS) continue;
      for (const seq of s.replies.keys()) batch.del(sessionReplyKey(this.regionId, id, seq));
      batch.del(sessionKey(this.regionId, id));
      this.sessions.delete(id);
      this.changed.delete(id);
    }
  }
}

function encodeRecord(s: Session): Buffer {
  return pb.SessionRecord.encode({ lastActiveMs: s.lastActiveMs, ackedBelow: s.ackedBelow }).finish() as Buffer;
}
