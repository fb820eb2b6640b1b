// Apply of the string operations.
import { OK, pb } from '@redraft/common';
import type { Reply } from '@redraft/common';
import type { Appliers } from './apply';
import type { MutableKeyspace } from '../data/keyspace';
import { KeyType, stringMeta } from '../data/meta';
import { wrongType } from '../data/errors';

/** The expiry a write leaves on a key, given the key's current expiry. */
export function expiryAfter(expiry: pb.Expiry | null | undefined, currentExpireAt: number): number {
  if (!expiry || !expiry.kind) return 0;
  if (expiry.kind === 'keep') return currentExpireAt;
  if (expiry.kind === 'persist') return 0;
  return Number(expiry.atMs);
}

async function set(op: pb.SetOp, ks: MutableKeyspace): Promise<Reply> {
  const key = Buffer.from(op.key);
  const needOld = op.get || op.condition !== pb.Condition.ALWAYS || op.expiry?.kind === 'keep';
  const old = needOld ? await ks.lookup(key) : null;
  if (op.get && old && old.type !== KeyType.String) throw wrongType();
  const oldValue: Reply = op.get ? (old ? old.value : null) : null;
  if ((op.condition === pb.Condition.NX && old) || (op.condition === pb.Condition.XX && !old)) return op.get ? oldValue : null;
  ks.putMeta(key, stringMeta(Buffer.from(op.value), expiryAfter(op.expiry, old?.expireAt ?? 0)));
  return op.get ? oldValue : OK;
}

export const STRING_APPLIERS: Appliers = {
  set,
};
