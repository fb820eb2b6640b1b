// Region snapshots, both ends (docs/decisions.md, "Snapshots").
//
// Leader: when Raft asks for a snapshot, one is made at the next quiet point
// of the apply pipeline: its metadata (applied index, term, region) and a
// RocksDB iterator over the region's data range, whose implicit snapshot is
// exactly the state at that index. Each snapshot is sent once, to one
// follower: the iterator is read as the stream goes, chunk by chunk, with at
// most STREAM_WINDOW chunk requests in flight (each answered only once the
// follower has written it), so neither side ever holds more than a few
// chunks of it. The last request carries the Raft MsgSnap itself.
//
// Follower: each chunk is written as it arrives to a staging area in the
// same RocksDB (keys.ts: snapshotStagingKey), apart from every region's
// data. When the MsgSnap arrives after the last chunk, Raft decides; the
// staged data stays bound to that exact snapshot (id, index, term): Raft's
// Ready hands install() the snapshot it accepted, and install() copies the
// data staged for that snapshot and nothing else. A snapshot Raft rejected
// is dropped from staging at once.
import {
  allSnapshotStagingRange,
  confStateOf,
  dataRange,
  sessionRange,
  pb,
  raft,
  snapshotStagingKey,
  snapshotStagingRange,
  SNAPSHOT_CHUNK_BYTES,
  WriteBatch,
} from '@redraft/common';
import type { Engine, Logger, OverlayBatch } from '@redraft/common';
import type { RegionPeer } from './peer';

/** Chunk requests of one stream in flight at once. */
const STREAM_WINDOW = 2;
/** Snapshot streams a store sends at once; more wait (Raft asks again). */
const MAX_OUTGOING_STREAMS = 4;
/** A chunk not acknowledged within this long fails its stream (Raft retries later). */
const CHUNK_TIMEOUT_MS = 30_000;
/** A stream that sends nothing for this long is dropped with its staged data (its leader died, say). */
const STALLED_STREAM_MS = 60_000;
/** A snapshot made but not claimed by a MsgSnap within this long is dropped (its iterator pins RocksDB files). */
const UNCLAIMED_SNAPSHOT_MS = 10_000;

/** What the snapshot code needs from its store. */
export interface SnapshotHost {
  readonly engine: Engine;
  readonly log: Logger;
  /** Runs a task when the disk holds exactly every region's applied state (RaftLoop.atQuietPoint). */
  atQuietPoint(task: () => void): void;
  /** A request to another store over the peer transport. */
  request(storeId: number, type: string, body: Uint8Array, timeoutMs: number): Promise<Uint8Array>;
  /** Handles a Raft message as if it had arrived from the network (the MsgSnap after its data). */
  deliver(m: pb.RaftMessage): void;
  /** The local replica of a region, if any. */
  peer(regionId: number): RegionPeer | undefined;
  schedule(): void;
}

/** A snapshot made for a follower: its metadata and the iterator its data comes from. */
interface Outgoing {
  id: number;
  regionId: number;
  snap: raft.Snapshot;
  /** The first step of the iterator, taken when it was made (that created the RocksDB iterator). */
  first: Promise<IteratorResult<[Buffer, Buffer]>>;
  iter: AsyncIterator<[Buffer, Buffer]>;
  timer: NodeJS.Timeout;
}

/** A snapshot being received or received, staged on disk. */
interface Staged {
  id: number;
  index: number;
  term: number;
  nextSeq: number;
  /** The last chunk arrived: every chunk is staged. */
  complete: boolean;
  /** Raft accepted its MsgSnap: install() will want it. */
  accepted: boolean;
  /** The staging writes of this snapshot, one after the other. */
  writes: Promise<void>;
  /** Bytes of chunk bodies staged. */
  bytes: number;
  /** Drops the stream if it stalls (unset once Raft accepted it). */
  stallTimer?: NodeJS.Timeout;
}

const EMPTY = Buffer.alloc(0);

/** A fresh snapshot id: random, so ids from different leaders (or restarts) do not meet. */
function newSnapshotId(): number {
  return 1 + Math.floor(Math.random() * (Number.MAX_SAFE_INTEGER - 1));
}

/** A decoded bytes field as a Buffer, without a copy when it already is one. */
function asBuffer(b: Uint8Array | null | undefined): Buffer {
  if (!b) return EMPTY;
  return Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.length);
}

function snapshotIdOf(snap: raft.Snapshot): number {
  return Number(pb.SnapshotData.decode(snap.data).snapshotId ?? 0);
}

/**
 * The key/value pairs of an iterator as chunks of about `maxBytes` (one key
 * over it); a value larger than a chunk is cut into pieces (`more` set on all
 * but the last), so no chunk and no frame grows with the largest value.
 */
export async function* snapshotChunks(
  first: Promise<IteratorResult<[Buffer, Buffer]>>,
  iter: AsyncIterator<[Buffer, Buffer]>,
  maxBytes: number,
): AsyncGenerator<pb.KeyValue.$Properties[]> {
  let kvs: pb.KeyValue.$Properties[] = [];
  let bytes = 0;
  for (let r = await first; !r.done; r = await iter.next()) {
    const [key, value] = r.value;
    let off = 0;
    do {
      const pieceKey = off === 0 ? key : EMPTY; // only the first piece names the key
      const piece = value.subarray(off, off + maxBytes);
      off += piece.length;
      const more = off < value.length;
      const size = pieceKey.length + piece.length;
      if (kvs.length > 0 && bytes + size > maxBytes) {
        yield kvs;
        kvs = [];
        bytes = 0;
      }
      kvs.push(more ? { key: pieceKey, value: piece, more } : { key: pieceKey, value: piece });
      bytes += size;
    } while (off < value.length);
  }
  if (kvs.length > 0) yield kvs;
}

/**
 * One iterator over several key ranges in turn. Every range's RocksDB
 * iterator (and its implicit snapshot) is created now, synchronously, so all
 * of them see the same state.
 */
function chainedScan(engine: Engine, ranges: Array<[Buffer, Buffer]>): AsyncIterator<[Buffer, Buffer]> {
  const parts = ranges.map(([gte, lt]) => {
    const iter = engine.scan({ gte, lt })[Symbol.asyncIterator]();
    const first = iter.next(); // creates the RocksDB iterator, and its snapshot, now
    first.catch(() => undefined); // read (and its error handled) below
    return { iter, first };
  });
  async function* chained(): AsyncGenerator<[Buffer, Buffer]> {
    let i = 0;
    try {
      for (; i < parts.length; i++) {
        const { iter, first } = parts[i];
        for (let r = await first; !r.done; r = await iter.next()) yield r.value;
      }
    } finally {
      // Given up early (a stream that failed): close the iterators not read to the end.
      for (; i < parts.length; i++) await parts[i].iter.return?.().catch(() => undefined);
    }
  }
  return chained();
}

export class Snapshots {
  /** Made and not yet asked for, per region. */
  private readonly ready = new Map<number, Outgoing>();
  /** Handed to Raft, waiting for its MsgSnap, by snapshot id. */
  private readonly handedOut = new Map<number, Outgoing>();
  /** Regions with a snapshot waiting for a quiet point. */
  private readonly building = new Set<number>();
  private outgoingStreams = 0;
  /** Received snapshots on disk, per region, by snapshot id. */
  private readonly staged = new Map<number, Map<number, Staged>>();
  private stopped = false;
  readonly stats = { built: 0, sent: 0, sendFailures: 0, received: 0, installed: 0, rejected: 0 };

  constructor(private readonly host: SnapshotHost) {}

  // ---- leader side --------------------------------------------------------------

  /**
   * Raft's storage asks for a snapshot for a follower (peer-storage's
   * snapshot source). Hands out one made at a quiet point if there is one
   * recent enough, else asks for one and answers undefined ("temporarily
   * unavailable": Raft asks again on a later heartbeat response).
   */
  forFollower(peer: RegionPeer): raft.Snapshot | undefined {
    const made = this.ready.get(peer.id);
    if (made) {
      this.ready.delete(peer.id);
      if (made.snap.meta.index >= peer.storage.applyState.truncatedIndex) {
        this.handedOut.set(made.id, made);
        return made.snap;
      }
      this.close(made);
    }
    if (!this.building.has(peer.id) && this.outgoingStreams + this.handedOut.size < MAX_OUTGOING_STREAMS && !this.stopped) {
      this.building.add(peer.id);
      this.host.atQuietPoint(() => this.build(peer));
    }
    return undefined;
  }

  /** At a quiet point: the metadata at the applied index and an iterator over exactly that state. */
  private build(peer: RegionPeer): void {
    this.building.delete(peer.id);
    if (this.stopped || this.host.peer(peer.id) !== peer) return;
    try {
      const index = peer.applied;
      const id = newSnapshotId();
      const meta = { index, term: peer.storage.term(index), confState: confStateOf(peer.region) };
      const data = pb.SnapshotData.encode({ region: peer.region, snapshotId: id }).finish();
      // The region's data, then its sessions (replicated state kept beside it).
      const iter = chainedScan(this.host.engine, [dataRange(peer.startSlot, peer.endSlot), sessionRange(peer.id)]);
      const first = iter.next();
      first.catch(() => undefined); // read (and its error handled) by the stream
      const made: Outgoing = { id, regionId: peer.id, snap: { meta, data }, first, iter, timer: undefined as unknown as NodeJS.Timeout };
      made.timer = setTimeout(() => this.dropUnclaimed(made), UNCLAIMED_SNAPSHOT_MS);
      made.timer.unref();
      const old = this.ready.get(peer.id);
      if (old) this.close(old);
      this.ready.set(peer.id, made);
      this.stats.built++;
      peer.log.info({ index, snapshotId: id }, 'snapshot made');
    } catch (e) {
      peer.log.error({ err: e }, 'snapshot could not be made');
    }
    this.host.schedule();
  }

  private dropUnclaimed(made: Outgoing): void {
    if (this.ready.get(made.regionId) === made) this.ready.delete(made.regionId);
    else if (this.handedOut.get(made.id) === made) this.handedOut.delete(made.id);
    else return;
    this.close(made);
  }

  private close(made: Outgoing): void {
    clearTimeout(made.timer);
    void made.iter.return?.().catch(() => undefined);
  }

  /**
   * Raft sent a MsgSnap (`m` is its wire form, addressed to `storeId`):
   * streams the snapshot's data, then the message; reports the outcome to Raft.
   */
  send(peer: RegionPeer, storeId: number, m: pb.RaftMessage.$Properties, snapshot: raft.Snapshot): void {
    const to = Number(m.toPeer?.id ?? 0);
    const made = this.handedOut.get(snapshotIdOf(snapshot));
    if (!made) {
      peer.node.reportSnapshot(to, false);
      return;
    }
    this.handedOut.delete(made.id);
    clearTimeout(made.timer);
    this.outgoingStreams++;
    void this.stream(peer, storeId, m, made).then((ok) => {
      this.outgoingStreams--;
      if (ok) this.stats.sent++;
      else this.stats.sendFailures++;
      // Raft learns how it went: on failure it probes again and asks for a new snapshot.
      if (this.host.peer(peer.id) === peer) peer.node.reportSnapshot(to, ok);
      this.host.schedule();
    });
  }

  private async stream(peer: RegionPeer, storeId: number, m: pb.RaftMessage.$Properties, made: Outgoing): Promise<boolean> {
    const { index, term } = made.snap.meta;
    const head = { regionId: peer.id, toPeer: Number(m.toPeer?.id ?? 0), snapshotId: made.id, index, term };
    const started = Date.now();
    let seq = 0;
    let bytes = 0;
    const inflight: Array<Promise<void>> = [];
    const request = (chunk: pb.SnapshotChunk.$Properties): Promise<void> => {
      const p = this.host.request(storeId, 'raft.snapshot_chunk', pb.SnapshotChunk.encode(chunk).finish(), CHUNK_TIMEOUT_MS).then(() => undefined);
      p.catch(() => undefined); // awaited below; never an unhandled rejection meanwhile
      return p;
    };
    try {
      for await (const kvs of snapshotChunks(made.first, made.iter, SNAPSHOT_CHUNK_BYTES)) {
        if (this.stopped || this.host.peer(peer.id) !== peer) throw new Error('the replica is gone');
        // Flow control: wait for the oldest chunk's answer before a new one goes out.
        if (inflight.length >= STREAM_WINDOW) await inflight.shift();
        for (const kv of kvs) bytes += (kv.key?.length ?? 0) + (kv.value?.length ?? 0);
        inflight.push(request({ ...head, seq: seq++, kvs }));
      }
      for (const p of inflight.splice(0)) await p;
      await request({ ...head, seq: seq++, last: true, message: m });
      peer.log.info({ index, snapshotId: made.id, toStore: storeId, chunks: seq, bytes, ms: Date.now() - started }, 'snapshot sent');
      return true;
    } catch (e) {
      peer.log.warn({ index, snapshotId: made.id, toStore: storeId, err: (e as Error).message }, 'snapshot stream failed');
      return false;
    } finally {
      this.close(made);
    }
  }

  // ---- follower side ------------------------------------------------------------

  /** Drops everything staged (at start: nothing there belongs to a live stream). */
  async clearStaging(): Promise<void> {
    const [gte, lt] = allSnapshotStagingRange();
    await this.deleteRange(gte, lt);
  }

  private async deleteRange(gte: Buffer, lt: Buffer): Promise<void> {
    const batch = new WriteBatch();
    for await (const [k] of this.host.engine.scan({ gte, lt, keysOnly: true })) batch.del(k);
    await this.host.engine.write(batch, false);
  }

  /** One chunk request: resolves once the chunk is staged (and, for the last one, its MsgSnap stepped). */
  async onChunk(c: pb.SnapshotChunk, body: Uint8Array): Promise<void> {
    const regionId = Number(c.regionId);
    const id = Number(c.snapshotId);
    if (!regionId || !id) throw new Error('snapshot chunk without region or snapshot id');
    let region = this.staged.get(regionId);
    if (!region) this.staged.set(regionId, (region = new Map()));
    let s = region.get(id);
    if (c.seq === 0 && !s) {
      // A new stream: what else is staged for the region and not waiting
      // for its install is from a stream that broke off, or was superseded.
      for (const other of [...region.values()]) if (!other.accepted) this.drop(regionId, other);
      s = { id, index: Number(c.index), term: Number(c.term), nextSeq: 0, complete: false, accepted: false, writes: Promise.resolve(), bytes: 0 };
      region.set(id, s);
    }
    if (!s || s.complete || c.seq !== s.nextSeq || Number(c.index) !== s.index || Number(c.term) !== s.term) {
      if (s) this.drop(regionId, s);
      throw new Error(`snapshot ${id} of region ${regionId}: chunk ${c.seq} out of order`);
    }
    s.nextSeq++;
    const staged = s;
    clearTimeout(staged.stallTimer);
    staged.stallTimer = setTimeout(() => this.drop(regionId, staged), STALLED_STREAM_MS);
    staged.stallTimer.unref();
    if (!c.last) {
      staged.bytes += body.length;
      const batch = new WriteBatch().put(snapshotStagingKey(regionId, id, c.seq), Buffer.from(body.buffer, body.byteOffset, body.length));
      staged.writes = staged.writes.then(() => this.host.engine.write(batch, false));
      try {
        await staged.writes;
      } catch (e) {
        this.drop(regionId, staged);
        throw e;
      }
      return;
    }
    await staged.writes;
    if (this.staged.get(regionId)?.get(id) !== staged) throw new Error(`snapshot ${id} of region ${regionId} was dropped while it was received`);
    staged.complete = true;
    this.stats.received++;
    if (!c.message) {
      this.drop(regionId, staged);
      throw new Error(`snapshot ${id} of region ${regionId}: last chunk without its message`);
    }
    this.host.deliver(c.message as pb.RaftMessage);
    // Raft took it if its pending snapshot is now this one (same id, index, term).
    const pending = this.host.peer(regionId)?.node.pendingSnapshot();
    if (pending && pending.meta.index === staged.index && pending.meta.term === staged.term && snapshotIdOf(pending) === id) {
      staged.accepted = true;
      clearTimeout(staged.stallTimer);
    } else {
      this.stats.rejected++;
      this.host.log.info({ regionId, snapshotId: id, index: staged.index }, 'snapshot refused by raft; its staged data dropped');
      this.drop(regionId, staged);
    }
  }

  /** Forgets a staged snapshot and deletes its chunks (after any write still under way). */
  private drop(regionId: number, s: Staged): void {
    const region = this.staged.get(regionId);
    if (region?.get(s.id) !== s) return;
    clearTimeout(s.stallTimer);
    region.delete(s.id);
    if (region.size === 0) this.staged.delete(regionId);
    const [gte, lt] = snapshotStagingRange(regionId, s.id);
    void s.writes
      .catch(() => undefined)
      .then(() => this.deleteRange(gte, lt))
      .catch((e: Error) => this.host.log.warn({ regionId, snapshotId: s.id, err: e.message }, 'could not drop a staged snapshot'));
  }

  /**
   * Installs the snapshot Raft accepted (from its Ready) into the round's
   * batch: the region's data range is cleared and refilled from the data
   * staged for exactly this snapshot, the staging is deleted, and the apply
   * and region state follow — one batch, so a crash leaves all or nothing.
   */
  async install(peer: RegionPeer, snap: raft.Snapshot, batch: OverlayBatch): Promise<Array<[Buffer, Buffer]>> {
    const regionId = peer.id;
    const id = snapshotIdOf(snap);
    const s = this.staged.get(regionId)?.get(id);
    if (!s || !s.accepted || s.index !== snap.meta.index || s.term !== snap.meta.term) {
      // Only a bug gets here: Raft accepts a MsgSnap only through onChunk, after its data.
      throw new Error(`region ${regionId}: no staged data for snapshot ${id} at index ${snap.meta.index} term ${snap.meta.term}`);
    }
    const region = pb.SnapshotData.decode(snap.data).region!;
    const [gte, lt] = dataRange(Number(region.startSlot), Number(region.endSlot));
    // Raw batch writes, not the overlay's: nothing reads them back in this
    // round, and the overlay would keep a second copy of every key in memory.
    const out = batch.batch;
    const [sessGte, sessLt] = sessionRange(regionId);
    for (const range of [{ gte, lt }, { gte: sessGte, lt: sessLt }]) {
      for await (const [k] of this.host.engine.scan({ ...range, keysOnly: true })) out.del(k);
    }
    const sessionPairs: Array<[Buffer, Buffer]> = [];
    let keys = 0;
    let pendingKey: Buffer | undefined;
    let pendingParts: Buffer[] = [];
    const [sgte, slt] = snapshotStagingRange(regionId, id);
    for await (const [stagingKey, body] of this.host.engine.scan({ gte: sgte, lt: slt })) {
      const chunk = pb.SnapshotChunk.decode(body);
      for (const kv of chunk.kvs) {
        const piece = asBuffer(kv.value);
        const key = pendingKey ?? asBuffer(kv.key);
        if (kv.more) {
          pendingKey = key;
          pendingParts.push(piece);
          continue;
        }
        const value = pendingParts.length ? Buffer.concat([...pendingParts, piece]) : piece;
        pendingKey = undefined;
        pendingParts = [];
        const inRange = (lo: Buffer, hi: Buffer): boolean => Buffer.compare(key, lo) >= 0 && Buffer.compare(key, hi) < 0;
        if (inRange(sessGte, sessLt)) sessionPairs.push([key, value]);
        else if (!inRange(gte, lt)) throw new Error(`region ${regionId}: snapshot ${id} holds a key outside its range`);
        out.put(key, value);
        keys++;
      }
      out.del(stagingKey);
    }
    if (pendingKey) throw new Error(`region ${regionId}: snapshot ${id} ends inside a value`);
    peer.storage.applySnapshot(snap, region, out);
    // Snapshots staged before this one and waiting are superseded by it.
    this.staged.get(regionId)?.delete(id);
    for (const other of [...(this.staged.get(regionId)?.values() ?? [])]) if (other.accepted && other.index <= s.index) this.drop(regionId, other);
    if (this.staged.get(regionId)?.size === 0) this.staged.delete(regionId);
    this.stats.installed++;
    peer.log.info({ index: snap.meta.index, snapshotId: id, keys, bytes: s.bytes }, 'snapshot installed');
    return sessionPairs;
  }

  stop(): void {
    this.stopped = true;
    for (const made of [...this.ready.values(), ...this.handedOut.values()]) this.close(made);
    this.ready.clear();
    this.handedOut.clear();
  }
}
