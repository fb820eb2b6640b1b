// Linearizability of collections that only grow, with members unique in the
// run: lists (RPUSH one element: append; LRANGE 0 -1: lread) and sets (SADD
// one member: sadd; SMEMBERS: sread). Pure: no I/O, no clock.
//
// No search is needed, because the answers fix where the operations go:
//  - lists: the longest read gives the order of every element it holds;
//    every other read must be a prefix of it. An RPUSH answered with length
//    n put its element at position n; a read of n elements sits between
//    the pushes at positions n and n+1;
//  - sets: the reads, smallest first, must each hold the one before (one
//    growing set); a read sits after the adds of every member it holds and
//    before the others, and the adds between two reads may go in any order.
// So the operations form layers — reads of an empty collection, the adds
// first seen next, the reads that see them, ... — and the history is
// linearizable iff each operation can take a point inside its [call,
// answer] interval with the points in layer order (none needed within a
// layer). Placing each as early as it may (the latest call among the layers
// before it, or its own call) is optimal, so it fails iff some operation was
// answered before an operation of an earlier layer was called: a pairwise
// check, done in one pass.
//
// fail adds did not happen (their member must appear nowhere); info adds
// may have happened at any time after their call (answer at +infinity);
// info reads tell nothing. The durability half (every acknowledged add in
// the final read) is lostCollectionAdds.
import type { Op, OpKind } from './history';
import { FINAL_CLIENT } from './history';

const ADD: Partial<Record<OpKind, string>> = { append: 'RPUSH', sadd: 'SADD' };
const READ: Partial<Record<OpKind, string>> = { lread: 'LRANGE', sread: 'SMEMBERS' };

export const isCollectionOp = (op: Op): boolean => ADD[op.kind] !== undefined || READ[op.kind] !== undefined;

export interface CollectionKeyResult {
  linearizable: boolean;
  /** What breaks it, one line each (empty when linearizable). */
  problems: string[];
}

const MAX_PROBLEMS = 12;

function describe(op: Op): string {
  return ADD[op.kind] ? `#${op.id} ${op.command ?? ADD[op.kind]} ${JSON.stringify(op.value)}` : `#${op.id} ${op.command ?? READ[op.kind]} (${op.list!.length} elements)`;
}

/** Checks one list or set key's operations (all on the same key). */
export function checkCollectionKey(ops: readonly Op[]): CollectionKeyResult {
  const problems: string[] = [];
  const report = (p: string) => {
    if (problems.length < MAX_PROBLEMS) problems.push(p);
  };
  const reads = ops.filter((op) => READ[op.kind] && op.outcome === 'ok');
  const adds = ops.filter((op) => ADD[op.kind]);
  const addOf = new Map<string, Op>();
  for (const a of adds) addOf.set(a.value!, a);
  const isList = ops.some((op) => op.kind === 'append' || op.kind === 'lread');
  const shape = isList ? listShape(reads, report) : setShape(reads, report);
  if (!shape) return { linearizable: false, problems };

  // Every member read was added, by an add that got no error reply; every
  // acknowledged add is read by the reads called after it.
  for (const e of shape.held) {
    const a = addOf.get(e);
    if (!a) report(`element ${JSON.stringify(e)} was never added`);
    else if (a.outcome === 'fail') report(`element ${JSON.stringify(e)} was added by #${a.id}, whose client got an ERROR reply (${a.error ?? ''}): an error reply for a write that took effect`);
  }
  for (const a of adds) {
    if (a.outcome !== 'ok') continue;
    if (!shape.held.has(a.value!)) {
      // Not in any read; the durability check says whether the final read lacks it.
      const later = reads.find((r) => r.invokeAt > a.returnAt!);
      if (later) report(`${describe(a)} was acknowledged, yet #${later.id}, called after, does not hold it`);
      continue;
    }
    const wrong = shape.wrongAnswer(a);
    if (wrong) report(`${describe(a)} ${wrong}`);
  }
  if (problems.length) return { linearizable: false, problems };

  // Real time: the layers in order, each op as early as it may be.
  let latest: Op | undefined; // the latest call among the layers before
  for (const layer of shape.layers(addOf)) {
    for (const op of layer) {
      const answered = op.outcome === 'ok' ? op.returnAt! : Infinity;
      if (latest && latest.invokeAt > answered) {
        report(`${describe(op)} was answered at ${answered.toFixed(1)} ms, before ${describe(latest)} was called (${latest.invokeAt.toFixed(1)} ms), yet comes after it`);
      }
    }
    for (const op of layer) if (!latest || op.invokeAt > latest.invokeAt) latest = op;
  }
  return { linearizable: problems.length === 0, problems };
}

/** What the reads say about a key, once they agree with each other. */
interface Shape {
  /** Every member some read holds. */
  held: Set<string>;
  /** Why an acknowledged add's answer does not fit where its member is, if it does not. */
  wrongAnswer(add: Op): string | undefined;
  /** Reads and adds in layer order. */
  layers(addOf: Map<string, Op>): Op[][];
}

/** Lists: the longest read is the order; every read a prefix of it, with no element twice. */
function listShape(reads: Op[], report: (p: string) => void): Shape | undefined {
  const longest = reads.reduce<Op | undefined>((best, r) => (best === undefined || r.list!.length > best.list!.length ? r : best), undefined);
  const order = longest?.list ?? [];
  const position = new Map<string, number>();
  let bad = false;
  order.forEach((e, i) => {
    if (position.has(e)) {
      report(`element ${JSON.stringify(e)} is in the list twice (positions ${position.get(e)! + 1} and ${i + 1}, read by #${longest!.id}): one RPUSH applied twice`);
      bad = true;
    } else position.set(e, i);
  });
  for (const r of reads) {
    const list = r.list!;
    const at = list.findIndex((e, i) => e !== order[i]);
    if (at >= 0) {
      report(`#${r.id} read ${list.length} elements, not a prefix of #${longest!.id}'s ${order.length}: they differ at position ${at + 1} (${JSON.stringify(list[at])} against ${JSON.stringify(order[at])})`);
      bad = true;
    }
  }
  if (bad) return undefined;
  return {
    held: new Set(order),
    wrongAnswer: (a) => (a.length !== position.get(a.value!)! + 1 ? `answered length ${a.length}, but its element is at position ${position.get(a.value!)! + 1}` : undefined),
    layers: (addOf) => {
      const byLength = groupBy(reads, (r) => r.list!.length);
      const layers: Op[][] = [];
      for (let i = 0; i <= order.length; i++) {
        if (i > 0) layers.push([addOf.get(order[i - 1])!]);
        const rs = byLength.get(i);
        if (rs) layers.push(rs);
      }
      return layers;
    },
  };
}

/** Sets: the reads, smallest first, each hold the one before. */
function setShape(reads: Op[], report: (p: string) => void): Shape | undefined {
  const sorted = [...reads].sort((a, b) => a.list!.length - b.list!.length);
  let before: { op: Op; members: Set<string> } | undefined;
  for (const r of sorted) {
    const members = new Set(r.list);
    if (members.size !== r.list!.length) {
      report(`#${r.id} ${r.command ?? 'SMEMBERS'} answered a member twice`);
      return undefined;
    }
    const lacking = before && [...before.members].find((e) => !members.has(e));
    if (before && lacking !== undefined) {
      report(`#${r.id} read ${members.size} members without ${JSON.stringify(lacking)}, which #${before.op.id} read among its ${before.members.size}: the reads are not of one growing set`);
      return undefined;
    }
    before = { op: r, members };
  }
  const held = before?.members ?? new Set<string>();
  return {
    held,
    // Each member is added once: SADD must say it was new.
    wrongAnswer: (a) => (a.length !== 1 ? `answered ${a.length} members added, but no other ${a.command ?? 'SADD'} added its member` : undefined),
    layers: (addOf) => {
      const layers: Op[][] = [];
      let seen = new Set<string>();
      for (const [, rs] of [...groupBy(sorted, (r) => r.list!.length)].sort(([a], [b]) => a - b)) {
        const members = new Set(rs[0].list);
        const added = [...members].filter((e) => !seen.has(e)).map((e) => addOf.get(e)!);
        if (added.length) layers.push(added);
        layers.push(rs);
        seen = members;
      }
      return layers;
    },
  };
}

function groupBy<K>(ops: Op[], key: (op: Op) => K): Map<K, Op[]> {
  const out = new Map<K, Op[]>();
  for (const op of ops) {
    const k = key(op);
    let group = out.get(k);
    if (!group) out.set(k, (group = []));
    group.push(op);
  }
  return out;
}

/** Acknowledged adds missing from the key's final read (none when it has no final read). */
export function lostCollectionAdds(ops: readonly Op[]): { count: number; example?: Op } {
  const final = ops.filter((op) => op.clientId === FINAL_CLIENT && READ[op.kind] && op.outcome === 'ok').pop();
  if (!final) return { count: 0 };
  const held = new Set(final.list);
  const missing = ops.filter((op) => ADD[op.kind] && op.outcome === 'ok' && !held.has(op.value!));
  return { count: missing.length, example: missing[missing.length - 1] };
}

/** The command names of a collection key's ops, for reports: e.g. ['RPUSH', 'LRANGE']. */
export function collectionCommands(ops: readonly Op[]): [string, string] {
  const name = (table: typeof ADD) => {
    const op = ops.find((o) => table[o.kind]);
    return op ? (op.command ?? table[op.kind]!) : '?';
  };
  return [name(ADD), name(READ)];
}
