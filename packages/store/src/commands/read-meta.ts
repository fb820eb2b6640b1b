// Reads that need nothing but their keys' metadata rows (GET, MGET, STRLEN,
// EXISTS, TYPE, TTL...). They are answered in the turn they arrived, with no
// promise, when the keys' region may be read at once (a leader's lease with
// nothing to wait for, RegionHandle.readNow) and every row is in the row
// cache; otherwise once the read barrier gives and the rows are read. The
// answer is the same either way.
import type { Reply } from '@redraft/common';
import type { CommandContext } from './context';
import type { FoundKey, Keyspace } from '../data/keyspace';

/** The reply from each key's live metadata (null: absent or expired) and the time expiry was decided at. */
export type MetaAnswer = (found: Array<FoundKey | null>, now: number) => Reply;

export function readMeta(ctx: CommandContext, keys: Buffer[], answer: MetaAnswer): Reply | Promise<Reply> {
  const ks = ctx.readNow?.(keys);
  if (!ks) return ctx.read(keys).then((read) => lookupAll(read, keys, answer));
  const found = new Array<FoundKey | null>(keys.length);
  for (let i = 0; i < keys.length; i++) {
    const f = ks.lookupNow(keys[i]);
    // A row not in memory: read every key from the engine at this read point (it needs no barrier).
    if (f === undefined) return lookupAll(ks, keys, answer);
    found[i] = f;
  }
  return answer(found, ks.now);
}

/** The keys' rows read through the engine (one getMany for those not cached). */
async function lookupAll(ks: Keyspace, keys: Buffer[], answer: MetaAnswer): Promise<Reply> {
  return answer(await Promise.all(keys.map((k) => ks.lookup(k))), ks.now);
}
