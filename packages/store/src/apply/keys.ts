// Apply of the keyspace operations (DEL, EXPIRE, RENAME, ...).
import type { Reply } from '@redraft/common';
import { pb } from '@redraft/common';
import type { Appliers } from './apply';
import type { MutableKeyspace } from '../data/keyspace';

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

export const KEY_APPLIERS: Appliers = {
  del,
};
