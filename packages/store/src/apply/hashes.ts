// Apply of the hash operations.
import type { Reply } from '@redraft/common';
import { pb } from '@redraft/common';
import type { Appliers } from './apply';
import type { MutableKeyspace } from '../data/keyspace';
import { KeyType } from '../data/meta';

async function hset(op: pb.HSetOp, ks: MutableKeyspace): Promise<Reply> {
  const key = Buffer.from(op.key);
  const hash = (await ks.lookupTyped(key, KeyType.Hash)) ?? ks.newCollection(key, KeyType.Hash);
  let added = 0;
  for (let i = 0; i < op.fields.length; i++) {
    const field = Buffer.from(op.fields[i]);
    const exists = (await ks.getMember(hash, field)) !== undefined;
    if (exists && op.nx) continue;
    if (!exists) added++;
    ks.putMember(hash, field, Buffer.from(op.values[i]));
  }
  hash.size += added;
  if (hash.size > 0) ks.putMeta(key, hash);
  return added;
}

export const HASH_APPLIERS: Appliers = {
  hset,
};
