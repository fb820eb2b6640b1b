// Apply of the list operations. A list is one metadata row (type, expiry,
// version, size, head) plus one member row per element, whose subkey is the
// element's index as a big-endian u64: the elements sit at [head, head+size),
// in key order. A push at the head writes head-1, at the tail head+size; a
// pop deletes one row: O(1) at either end, as LINDEX and LSET (Kvrocks keeps
// lists the same way). LINSERT and LREM rewrite the elements after (or
// before) the change, the shorter side for LINSERT. A list whose last
// element goes is deleted.
import { NullArray, OK, u64, pb } from '@redraft/common';
import type { Reply } from '@redraft/common';
import type { Appliers } from './apply';
import type { FoundKey, MutableKeyspace } from '../data/keyspace';
import { KeyType, LIST_START } from '../data/meta';
import { CommandError, NO_SUCH_KEY } from '../data/errors';
import { NOTHING_POPPED, popSource } from '../blocking';

export const INDEX_OUT_OF_RANGE = 'ERR index out of range';

function headOf(list: FoundKey): number {
  return list.head ?? LIST_START;
}

/** The element at position `i` (0 = head) of a list. */
export async function elementAt(ks: { getMember(f: FoundKey, m: Buffer): Promise<Buffer | undefined> }, list: FoundKey, i: number): Promise<Buffer | undefined> {
  return ks.getMember(list, u64(headOf(list) + i));
}

/** Every element of a list, head first. */
async function allElements(ks: MutableKeyspace, list: FoundKey): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for await (const [, v] of ks.members(list)) out.push(Buffer.from(v));
  return out;
}

function newList(ks: MutableKeyspace, key: Buffer): FoundKey {
  const list = ks.newCollection(key, KeyType.List);
  list.head = LIST_START;
  return list;
}

/** Writes a list's metadata, or deletes the key when it is empty. */
function saveList(ks: MutableKeyspace, list: FoundKey): void {
  if (list.size <= 0) ks.deleteKey(list.key);
  else ks.putMeta(list.key, list);
}

function pushElements(ks: MutableKeyspace, list: FoundKey, elements: Buffer[], left: boolean): void {
  for (const e of elements) {
    if (left) {
      list.head = headOf(list) - 1;
      ks.putMember(list, u64(list.head), e);
    } else {
      ks.putMember(list, u64(headOf(list) + list.size), e);
    }
    list.size++;
  }
}

function popElements(ks: MutableKeyspace, list: FoundKey, values: Buffer[], left: boolean, n: number): Buffer[] {
  // `values` are the elements read at the end being popped, in pop order.
  for (let i = 0; i < n; i++) {
    if (left) {
      ks.deleteMember(list, u64(headOf(list)));
      list.head = headOf(list) + 1;
    } else {
      ks.deleteMember(list, u64(headOf(list) + list.size - 1));
    }
    list.size--;
  }
  return values;
}

/** The `n` elements at one end, in pop order. */
async function endElements(ks: MutableKeyspace, list: FoundKey, left: boolean, n: number): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for (let i = 0; i < n; i++) {
    const v = await elementAt(ks, list, left ? i : list.size - 1 - i);
    if (v === undefined) throw new Error(`list ${list.key.toString('latin1')}: element ${i} missing`);
    out.push(Buffer.from(v));
  }
  return out;
}

async function listPush(op: pb.ListPushOp, ks: MutableKeyspace): Promise<Reply> {
  const key = Buffer.from(op.key);
  let list = await ks.lookupTyped(key, KeyType.List);
  if (!list) {
    if (op.xx) return 0;
    list = newList(ks, key);
  }
  pushElements(ks, list, op.elements.map((e) => Buffer.from(e)), !!op.left);
  ks.putMeta(key, list);
  return list.size;
}

function noElement(mode: pb.PopReply): Reply {
  return mode === pb.PopReply.POP_SINGLE ? null : NullArray.instance;
}

async function listPop(op: pb.ListPopOp, ks: MutableKeyspace): Promise<Reply> {
  const mode = op.reply ?? pb.PopReply.POP_SINGLE;
  for (const k of op.keys) {
    const key = Buffer.from(k);
    const list = await popSource(ks, key, KeyType.List, op.woken);
    if (!list || list.size === 0) continue;
    const wanted = mode === pb.PopReply.POP_COUNT || mode === pb.PopReply.POP_MPOP ? Number(op.count) : 1;
    const n = Math.min(wanted, list.size);
    const popped = popElements(ks, list, await endElements(ks, list, !!op.left, n), !!op.left, n);
    saveList(ks, list);
    switch (mode) {
      case pb.PopReply.POP_SINGLE:
        return popped[0];
      case pb.PopReply.POP_COUNT:
        return popped;
      case pb.PopReply.POP_KEYED:
        return [key, popped[0]];
      default:
        return [key, popped];
    }
  }
  return op.blocking ? NOTHING_POPPED : noElement(mode);
}

/** Normalizes a Redis list index (negative from the tail); null when outside the list. */
function position(index: number, size: number): number | null {
  const i = index < 0 ? size + index : index;
  return i >= 0 && i < size ? i : null;
}

async function listSet(op: pb.ListSetOp, ks: MutableKeyspace): Promise<Reply> {
  const key = Buffer.from(op.key);
  const list = await ks.lookupTyped(key, KeyType.List);
  if (!list) throw new CommandError(NO_SUCH_KEY);
  const i = position(Number(op.index), list.size);
  if (i === null) throw new CommandError(INDEX_OUT_OF_RANGE);
  ks.putMember(list, u64(headOf(list) + i), Buffer.from(op.element));
  return OK;
}

async function listInsert(op: pb.ListInsertOp, ks: MutableKeyspace): Promise<Reply> {
  const key = Buffer.from(op.key);
  const list = await ks.lookupTyped(key, KeyType.List);
  if (!list) return 0;
  const pivot = Buffer.from(op.pivot);
  const elements = await allElements(ks, list);
  const p = elements.findIndex((e) => e.equals(pivot));
  if (p < 0) return -1;
  const at = op.before ? p : p + 1; // the new element's position
  const head = headOf(list);
  if (at <= elements.length - at) {
    // Fewer elements before it: move those one place towards the head.
    for (let i = 0; i < at; i++) ks.putMember(list, u64(head - 1 + i), elements[i]);
    list.head = head - 1;
  } else {
    for (let i = elements.length - 1; i >= at; i--) ks.putMember(list, u64(head + i + 1), elements[i]);
  }
  ks.putMember(list, u64(headOf(list) + at), Buffer.from(op.element));
  list.size++;
  ks.putMeta(key, list);
  return list.size;
}

async function listRem(op: pb.ListRemOp, ks: MutableKeyspace): Promise<Reply> {
  const key = Buffer.from(op.key);
  const list = await ks.lookupTyped(key, KeyType.List);
  if (!list) return 0;
  const target = Buffer.from(op.element);
  const elements = await allElements(ks, list);
  const count = Number(op.count);
  const limit = count === 0 ? Infinity : Math.abs(count);
  const remove = new Set<number>();
  if (count >= 0) {
    for (let i = 0; i < elements.length && remove.size < limit; i++) if (elements[i].equals(target)) remove.add(i);
  } else {
    for (let i = elements.length - 1; i >= 0 && remove.size < limit; i--) if (elements[i].equals(target)) remove.add(i);
  }
  if (remove.size === 0) return 0;
  // Rewrite from the first removed element on; the ones before keep their rows.
  const head = headOf(list);
  const first = Math.min(...remove);
  let j = first;
  for (let i = first; i < elements.length; i++) {
    if (remove.has(i)) continue;
    ks.putMember(list, u64(head + j), elements[i]);
    j++;
  }
  for (let i = j; i < elements.length; i++) ks.deleteMember(list, u64(head + i));
  list.size = j;
  saveList(ks, list);
  return remove.size;
}

async function listTrim(op: pb.ListTrimOp, ks: MutableKeyspace): Promise<Reply> {
  const key = Buffer.from(op.key);
  const list = await ks.lookupTyped(key, KeyType.List);
  if (!list) return OK;
  const size = list.size;
  let start = Number(op.start);
  let end = Number(op.stop);
  if (start < 0) start = size + start;
  if (end < 0) end = size + end;
  if (start < 0) start = 0;
  let fromHead: number;
  let fromTail: number;
  if (start > end || start >= size) {
    fromHead = size;
    fromTail = 0;
  } else {
    if (end >= size) end = size - 1;
    fromHead = start;
    fromTail = size - end - 1;
  }
  const head = headOf(list);
  for (let i = 0; i < fromHead; i++) ks.deleteMember(list, u64(head + i));
  for (let i = size - fromTail; i < size; i++) ks.deleteMember(list, u64(head + i));
  list.head = head + fromHead;
  list.size = size - fromHead - fromTail;
  saveList(ks, list);
  return OK;
}

async function listMove(op: pb.ListMoveOp, ks: MutableKeyspace): Promise<Reply> {
  const source = Buffer.from(op.source);
  const destination = Buffer.from(op.destination);
  const src = await popSource(ks, source, KeyType.List, op.woken);
  if (!src || src.size === 0) return op.blocking ? NOTHING_POPPED : null;
  // As Redis: the destination's type is checked only once there is something to move.
  const same = source.equals(destination);
  const dst = same ? src : ((await ks.lookupTyped(destination, KeyType.List)) ?? newList(ks, destination));
  const [value] = popElements(ks, src, await endElements(ks, src, !!op.fromLeft, 1), !!op.fromLeft, 1);
  pushElements(ks, dst, [value], !!op.toLeft);
  if (!same) saveList(ks, src);
  ks.putMeta(destination, dst);
  return value;
}

export const LIST_APPLIERS: Appliers = {
  listPush,
  listPop,
  listSet,
  listInsert,
  listRem,
  listTrim,
  listMove,
};
