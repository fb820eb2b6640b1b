// Apply of the set operations. A set is one metadata row (type, expiry,
// version, size) plus one member row per member (empty value); `size` is
// kept exact, and a set whose last member goes is deleted.
//
// SPOP's random choice is a seed drawn by the proposing store's handler and
// carried by the entry; apply draws positions from a PRNG seeded with it, so
// every replica pops the same members (see SetPopOp in proto/command.proto).
import { SetReply, pb } from '@redraft/common';
import { samplePositions, seededRandom, uniformInt } from '../data/sample';
import type { Reply } from '@redraft/common';
import type { Appliers } from './apply';
import type { FoundKey, Keyspace, MutableKeyspace } from '../data/keyspace';
import { KeyType } from '../data/meta';

const EMPTY = Buffer.alloc(0);

/** Every member of a set, in byte order. */
export async function setMembers(ks: Keyspace, set: FoundKey | null): Promise<Buffer[]> {
  const out: Buffer[] = [];
  if (!set) return out;
  for await (const [m] of ks.members(set)) out.push(Buffer.from(m));
  return out;
}

/**
 * SINTER / SUNION / SDIFF of `keys`, in member byte order; every key is
 * type-checked first (WRONGTYPE), then a missing key counts as empty. `limit` (SINTERCARD) stops early; 0 = none.
 */
export async function combineSets(ks: Keyspace, keys: Buffer[], algebra: pb.SetAlgebra, limit = 0): Promise<Buffer[]> {
  if (algebra === pb.SetAlgebra.SET_INTER) {
    const found: Array<FoundKey | null> = [];
    for (const k of keys) found.push(await ks.lookupTyped(k, KeyType.Set));
    if (found.some((s) => !s)) return [];
    const sets = found as FoundKey[];
    sets.sort((a, b) => a.size - b.size);
    const out: Buffer[] = [];
    for (const m of await setMembers(ks, sets[0])) {
      let inAll = true;
      for (let i = 1; i < sets.length && inAll; i++) inAll = (await ks.getMember(sets[i], m)) !== undefined;
      if (!inAll) continue;
      out.push(m);
      if (limit && out.length >= limit) break;
    }
    return out;
  }
  const sets: Array<FoundKey | null> = [];
  for (const k of keys) sets.push(await ks.lookupTyped(k, KeyType.Set));
  if (algebra === pb.SetAlgebra.SET_UNION) {
    const all = new Map<string, Buffer>();
    for (const s of sets) for (const m of await setMembers(ks, s)) all.set(m.toString('latin1'), m);
    return [...all.values()].sort(Buffer.compare);
  }
  const out: Buffer[] = [];
  for (const m of await setMembers(ks, sets[0])) {
    let elsewhere = false;
    for (let i = 1; i < sets.length && !elsewhere; i++) elsewhere = !!sets[i] && (await ks.getMember(sets[i]!, m)) !== undefined;
    if (!elsewhere) out.push(m);
  }
  return out;
}

function saveSet(ks: MutableKeyspace, set: FoundKey): void {
  if (set.size <= 0) ks.deleteKey(set.key);
  else ks.putMeta(set.key, set);
}

async function setAdd(op: pb.SetAddOp, ks: MutableKeyspace): Promise<Reply> {
  const key = Buffer.from(op.key);
  const set = (await ks.lookupTyped(key, KeyType.Set)) ?? ks.newCollection(key, KeyType.Set);
  let added = 0;
  for (const m of op.members) {
    const member = Buffer.from(m);
    if ((await ks.getMember(set, member)) !== undefined) continue;
    ks.putMember(set, member, EMPTY);
    added++;
  }
  set.size += added;
  if (added > 0) ks.putMeta(key, set);
  return added;
}

async function setRem(op: pb.SetRemOp, ks: MutableKeyspace): Promise<Reply> {
  const key = Buffer.from(op.key);
  const set = await ks.lookupTyped(key, KeyType.Set);
  if (!set) return 0;
  let removed = 0;
  for (const m of op.members) {
    const member = Buffer.from(m);
    if ((await ks.getMember(set, member)) === undefined) continue;
    ks.deleteMember(set, member);
    removed++;
  }
  if (removed === 0) return 0;
  set.size -= removed;
  saveSet(ks, set);
  return removed;
}

/** The members at the given positions (in key order) of a set, in the order asked; one scan. */
export async function membersAt(ks: Keyspace, set: FoundKey, positions: number[]): Promise<Buffer[]> {
  const wanted = new Set(positions);
  const found = new Map<number, Buffer>();
  const last = positions.reduce((a, b) => Math.max(a, b), 0);
  let i = 0;
  for await (const [m] of ks.members(set, { limit: last + 1 })) {
    if (wanted.has(i)) found.set(i, Buffer.from(m));
    i++;
  }
  return positions.map((p) => found.get(p)).filter((m): m is Buffer => m !== undefined);
}

async function setPop(op: pb.SetPopOp, ks: MutableKeyspace): Promise<Reply> {
  const key = Buffer.from(op.key);
  const set = await ks.lookupTyped(key, KeyType.Set);
  if (!set) return op.withCount ? new SetReply([]) : null;
  const wanted = Math.min(op.withCount ? Number(op.count) : 1, set.size);
  const popped =
    wanted >= set.size ? await setMembers(ks, set) : await membersAt(ks, set, samplePositions(set.size, wanted, uniformInt(seededRandom(op.seed ?? 0))));
  for (const member of popped) ks.deleteMember(set, member);
  set.size -= popped.length;
  saveSet(ks, set);
  return op.withCount ? new SetReply(popped) : (popped[0] ?? null);
}

async function setMove(op: pb.SetMoveOp, ks: MutableKeyspace): Promise<Reply> {
  const source = Buffer.from(op.source);
  const destination = Buffer.from(op.destination);
  const member = Buffer.from(op.member);
  const src = await ks.lookup(source);
  if (!src) return 0;
  // As Redis: both types are checked once the source exists.
  const dst = await ks.lookup(destination);
  if (src.type !== KeyType.Set || (dst && dst.type !== KeyType.Set)) {
    await ks.lookupTyped(src.type !== KeyType.Set ? source : destination, KeyType.Set); // throws WRONGTYPE
  }
  if (source.equals(destination)) return (await ks.getMember(src, member)) !== undefined ? 1 : 0;
  if ((await ks.getMember(src, member)) === undefined) return 0;
  ks.deleteMember(src, member);
  src.size--;
  saveSet(ks, src);
  const target = dst ?? ks.newCollection(destination, KeyType.Set);
  if ((await ks.getMember(target, member)) === undefined) {
    ks.putMember(target, member, EMPTY);
    target.size++;
    ks.putMeta(destination, target);
  }
  return 1;
}

async function setStore(op: pb.SetStoreOp, ks: MutableKeyspace): Promise<Reply> {
  const destination = Buffer.from(op.destination);
  const result = await combineSets(ks, op.keys.map((k) => Buffer.from(k)), op.algebra ?? pb.SetAlgebra.SET_INTER);
  if (await ks.lookup(destination)) ks.deleteKey(destination);
  if (result.length === 0) return 0;
  const set = ks.newCollection(destination, KeyType.Set);
  for (const m of result) ks.putMember(set, m, EMPTY);
  set.size = result.length;
  ks.putMeta(destination, set);
  return result.length;
}

export const SET_APPLIERS: Appliers = {
  setAdd,
  setRem,
  setPop,
  setMove,
  setStore,
};
