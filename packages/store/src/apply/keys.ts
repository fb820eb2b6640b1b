// Apply of the keyspace operations (DEL, EXPIRE, RENAME, COPY, FLUSH...).
// Written over any key type: strings carry their value inline, collections
// are copied member by member (ks.members), so sets, lists and zsets work
// here as soon as they exist.
import { OK, SLOT_COUNT, dataRange, decodeCollectionRow, expireIndexKey, metaKey, keySlot, pb } from '@redraft/common';
import type { Reply } from '@redraft/common';
import type { Appliers } from './apply';
import { VERSIONS_PER_ENTRY, type FoundKey, type MutableKeyspace } from '../data/keyspace';
import { KeyType, decodeMeta, isExpired } from '../data/meta';
import { CommandError, NO_SUCH_KEY } from '../data/errors';
import { decodeScore, zsetIndexKey } from '../data/zset';

async function del(op: pb.DelOp, ks: MutableKeyspace): Promise<Reply> {
  let n = 0;
  for (const k of op.keys) {
    const key = Buffer.from(k);
    if (await ks.lookup(key)) {
      ks.deleteKey(key);
      n++;
    }
  }
  return n;
}

/** Rewrites a key's metadata with a new expiry (0 = none), whatever its type. */
function setExpireAt(ks: MutableKeyspace, found: FoundKey, expireAt: number): void {
  ks.putMeta(found.key, { ...found, expireAt });
}

/** EXPIRE family: at_ms is absolute; at or before the entry's time deletes the key. Redis 7 NX/XX/GT/LT. */
async function expire(op: pb.ExpireOp, ks: MutableKeyspace): Promise<Reply> {
  const key = Buffer.from(op.key);
  const found = await ks.lookup(key);
  if (!found) return 0;
  const when = Number(op.atMs);
  const current = found.expireAt === 0 ? -1 : found.expireAt;
  if (op.xx && current === -1) return 0;
  switch (op.condition) {
    case pb.Condition.NX:
      if (current !== -1) return 0;
      break;
    case pb.Condition.XX:
      if (current === -1) return 0;
      break;
    case pb.Condition.GT:
      // No expiry counts as an infinite TTL: GT never beats it.
      if (current === -1 || when <= current) return 0;
      break;
    case pb.Condition.LT:
      if (current !== -1 && when >= current) return 0;
      break;
    default:
      break;
  }
  if (when <= ks.now) ks.deleteKey(key);
  else setExpireAt(ks, found, when);
  return 1;
}

async function persist(op: pb.PersistOp, ks: MutableKeyspace): Promise<Reply> {
  const found = await ks.lookup(Buffer.from(op.key));
  if (!found || found.expireAt === 0) return 0;
  setExpireAt(ks, found, 0);
  return 1;
}

/**
 * Writes `src`'s value under `dest` with `expireAt`. A collection gets a new
 * version (this entry's index) and its members copied; the caller has
 * removed whatever `dest` held.
 */
async function copyValue(ks: MutableKeyspace, src: FoundKey, dest: Buffer, expireAt: number): Promise<void> {
  if (src.type === KeyType.String) {
    ks.putMeta(dest, { type: KeyType.String, expireAt, version: 0, size: 0, value: Buffer.from(src.value) });
    return;
  }
  const target = ks.newCollection(dest, src.type, expireAt);
  let size = 0;
  for await (const [member, value] of ks.members(src)) {
    ks.putMember(target, Buffer.from(member), Buffer.from(value));
    // A sorted set's score index comes along (its member rows hold the scores).
    if (src.type === KeyType.ZSet) ks.batch.put(zsetIndexKey(target, decodeScore(value), Buffer.from(member)), Buffer.alloc(0));
    size++;
  }
  target.size = size;
  target.head = src.head; // lists: the members keep their indexes
  ks.putMeta(dest, target);
}

/** RENAME / RENAMENX: the source's expiry moves with it; the destination's is dropped. */
async function rename(op: pb.RenameOp, ks: MutableKeyspace): Promise<Reply> {
  const source = Buffer.from(op.source);
  const destination = Buffer.from(op.destination);
  const src = await ks.lookup(source);
  if (!src) throw new CommandError(NO_SUCH_KEY);
  if (source.equals(destination)) return op.nx ? 0 : OK;
  if (await ks.lookup(destination)) {
    if (op.nx) return 0;
    ks.deleteKey(destination);
  }
  await copyValue(ks, src, destination, src.expireAt);
  ks.deleteKey(source);
  return op.nx ? 1 : OK;
}

/** COPY source destination [REPLACE]: 1 if copied, 0 if the source is missing or the destination exists. */
async function copy(op: pb.CopyOp, ks: MutableKeyspace): Promise<Reply> {
  const source = Buffer.from(op.source);
  const destination = Buffer.from(op.destination);
  if (source.equals(destination)) throw new CommandError('ERR source and destination objects are the same');
  const src = await ks.lookup(source);
  if (!src) return 0;
  if (await ks.lookup(destination)) {
    if (!op.replace) return 0;
    ks.deleteKey(destination);
  }
  await copyValue(ks, src, destination, src.expireAt);
  return 1;
}

/**
 * FLUSHDB / FLUSHALL of one region: every data row (metadata and members) of
 * its slots [start_slot, end_slot); end_slot 0 means every slot.
 */
async function flush(op: pb.FlushOp, ks: MutableKeyspace): Promise<Reply> {
  const start = op.startSlot ?? 0;
  const end = op.endSlot ? op.endSlot : SLOT_COUNT;
  const [gte, lt] = dataRange(start, end);
  const rows: Buffer[] = [];
  for await (const [k] of ks.batch.scan({ gte, lt, keysOnly: true })) rows.push(k);
  for (const k of rows) ks.batch.del(k);
  return OK;
}

/**
 * What the expiry cycle's entries removed on this replica (every replica
 * counts), and the spans of rows reclaimed since the store last compacted
 * them (raftstore/expiry.ts compacts them locally: tombstones only).
 */
export const expiryApplied = { keys: 0, staleIndexRows: 0, reclaimedRows: 0, reclaimedSpans: new Map<string, { lo: Buffer; hi: Buffer; rows: number }>() };

/**
 * Removal of keys the leader's expiry cycle found due in its expiry index:
 * a key goes only if it is still expired at the entry's time (one given a
 * new TTL or re-created since the scan survives), and the index row the
 * leader saw goes unless it still describes the key's live expiry.
 */
async function expireKeys(op: pb.ExpireKeysOp, ks: MutableKeyspace): Promise<Reply> {
  let n = 0;
  for (let i = 0; i < op.keys.length; i++) {
    const key = Buffer.from(op.keys[i]);
    const slot = keySlot(key);
    const raw = await ks.batch.get(metaKey(slot, key));
    const meta = raw ? decodeMeta(raw) : null;
    const expired = !!meta && isExpired(meta, ks.now);
    if (expired) {
      ks.deleteKey(key);
      ks.batch.del(expireIndexKey(slot, meta!.expireAt, key));
      n++;
    }
    const seen = i < op.expireAtMs.length ? Number(op.expireAtMs[i]) : 0;
    if (seen === 0) continue; // an entry from before the index: nothing to drop
    if (!expired && meta && meta.expireAt === seen) continue; // still the key's live expiry
    if (!expired || meta!.expireAt !== seen) expiryApplied.staleIndexRows++;
    ks.batch.del(expireIndexKey(slot, seen, key));
  }
  expiryApplied.keys += n;
  return n;
}

/**
 * Deletes the member and score-index rows the leader's sweep saw of
 * collection versions no key holds any more. Whether a version is dead is
 * decided here, from the state: versions are never reused (entry index *
 * 1024 + n), so one that is not its key's current version can never become
 * visible again. A row that is not of its group's version is left alone.
 */
async function reclaim(op: pb.ReclaimOp, ks: MutableKeyspace): Promise<Reply> {
  let n = 0;
  let next = 0;
  for (let i = 0; i < op.keys.length && i < op.versions.length; i++) {
    const rows = op.rows.slice(next, next + (op.rowCounts[i] ?? 0));
    next += rows.length;
    const key = Buffer.from(op.keys[i]);
    const version = Number(op.versions[i]);
    if (version >= ks.entryIndex * VERSIONS_PER_ENTRY) continue; // not created yet: never garbage
    const slot = keySlot(key);
    const raw = await ks.batch.get(metaKey(slot, key));
    if (raw) {
      const meta = decodeMeta(raw);
      if (meta.type !== KeyType.String && meta.version === version) continue; // live (even if expired: its key goes first)
    }
    for (const r of rows) {
      const row = Buffer.from(r);
      const of = decodeCollectionRow(row);
      if (!of || of.slot !== slot || of.version !== version || !of.key.equals(key)) continue;
      ks.batch.del(row);
      n++;
      // Where this group's reclaimed rows lie, for the store's local compaction.
      const id = of.prefix.toString('latin1');
      const span = expiryApplied.reclaimedSpans.get(id);
      if (!span) expiryApplied.reclaimedSpans.set(id, { lo: row, hi: row, rows: 1 });
      else {
        if (Buffer.compare(row, span.lo) < 0) span.lo = row;
        if (Buffer.compare(row, span.hi) > 0) span.hi = row;
        span.rows++;
      }
    }
  }
  expiryApplied.reclaimedRows += n;
  return n;
}

export const KEY_APPLIERS: Appliers = {
  del,
  expire,
  persist,
  rename,
  copy,
  flush,
  expireKeys,
  reclaim,
};
