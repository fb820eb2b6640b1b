// Apply of the bit operations.
import type { Reply } from '@redraft/common';
import { pb } from '@redraft/common';
import type { Appliers } from './apply';
import type { MutableKeyspace } from '../data/keyspace';
import { KeyType, stringMeta } from '../data/meta';

async function setBit(op: pb.SetBitOp, ks: MutableKeyspace): Promise<Reply> {
  const key = Buffer.from(op.key);
  const found = await ks.lookupTyped(key, KeyType.String);
  const offset = Number(op.offset);
  const byte = Math.floor(offset / 8);
  const old = found ? found.value : Buffer.alloc(0);
  const value = Buffer.alloc(Math.max(old.length, byte + 1));
  old.copy(value);
  const mask = 1 << (7 - (offset % 8));
  const previous = value[byte] & mask ? 1 : 0;
  value[byte] = op.value ? value[byte] | mask : value[byte] & ~mask;
  ks.putMeta(key, stringMeta(value, found?.expireAt ?? 0));
  return previous;
}

export const BIT_APPLIERS: Appliers = { setBit };
