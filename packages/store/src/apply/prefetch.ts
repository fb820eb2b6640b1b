// The point reads a batch of entries will make, read before apply in one
// trip to RocksDB's thread pool (OverlayBatch.prefetch) instead of one trip
// per read, one entry after another. A hint only: a key missed here is read
// as before, a key read for nothing costs a little; the replies and writes
// do not depend on it.
import { keySlot, metaKey, subKey, pb } from '@redraft/common';
import type { OverlayBatch } from '@redraft/common';
import { KeyType, decodeMeta } from '../data/meta';

/** The keys of an operation whose metadata apply reads ([] for a blind write). */
function keysRead(cmd: pb.WriteCommand): Uint8Array[] {
  const name = cmd.op;
  if (!name || name === 'transaction' || name === 'flush') return [];
  if (name === 'set') {
    const op = cmd.set!;
    const readsOld = op.get || op.condition !== pb.Condition.ALWAYS || op.expiry?.kind === 'keep';
    return readsOld && op.key ? [op.key] : [];
  }
  if (name === 'mset') return (cmd.mset!.nx && cmd.mset!.keys) || [];
  const op = cmd[name] as { key?: Uint8Array; keys?: Uint8Array[]; source?: Uint8Array; destination?: Uint8Array };
  const keys: Uint8Array[] = [];
  if (op.key?.length) keys.push(op.key);
  if (op.source?.length) keys.push(op.source);
  if (op.destination?.length) keys.push(op.destination);
  if (Array.isArray(op.keys)) keys.push(...op.keys);
  return keys;
}

/** Hash fields apply reads (HSET, HDEL, HINCRBY...), once the metadata is known. */
function fieldsRead(cmd: pb.WriteCommand): { key: Uint8Array; fields: Uint8Array[] } | undefined {
  const name = cmd.op; // a getter that walks the message's fields: read once
  if (name !== 'hset' && name !== 'hdel' && name !== 'hincrBy' && name !== 'hincrByFloat') return undefined;
  const op = cmd[name] as { key?: Uint8Array | null; fields?: Uint8Array[] | null; field?: Uint8Array | null };
  if (!op.key) return undefined;
  return { key: op.key, fields: op.fields ?? (op.field ? [op.field] : []) };
}

const asBuffer = (b: Uint8Array): Buffer => (Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.length));

/**
 * Reads, in two trips, the metadata and the hash fields that these commands'
 * apply will read. Each distinct key is encoded and looked at once: a round
 * of writes to one hot key costs one read, not one per write.
 */
export async function prefetchReads(cmds: pb.WriteCommand[], batch: OverlayBatch): Promise<void> {
  const metas = new Map<string, { key: Buffer; slot: number; row: Buffer; fields: Uint8Array[] }>();
  for (const c of cmds) {
    const keys = keysRead(c);
    if (keys.length === 0) continue;
    const f = fieldsRead(c);
    for (const k of keys) {
      const key = asBuffer(k);
      const id = key.toString('latin1');
      let m = metas.get(id);
      if (!m) {
        const slot = keySlot(key);
        m = { key, slot, row: metaKey(slot, key), fields: [] };
        metas.set(id, m);
      }
      if (f && f.key === k) for (const field of f.fields) m.fields.push(field);
    }
  }
  if (metas.size === 0) return;
  await batch.prefetch([...metas.values()].map((m) => m.row));
  const members: Buffer[] = [];
  for (const m of metas.values()) {
    if (m.fields.length === 0) continue;
    const raw = await batch.get(m.row);
    if (!raw) continue;
    const meta = decodeMeta(raw);
    if (meta.type !== KeyType.Hash) continue;
    for (const field of m.fields) members.push(subKey(m.slot, m.key, meta.version, asBuffer(field)));
  }
  if (members.length) await batch.prefetch(members);
}
