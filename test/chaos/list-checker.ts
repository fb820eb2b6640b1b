// Linearizability of a list key that only grows: RPUSH of elements unique in
// the run (append) and LRANGE 0 -1 (lread). Pure: no I/O, no clock.
//
// No search is needed, because every answer fixes where its op goes:
//  - the longest list read gives the order of every append it holds; every
//    other read must be a prefix of it, and hold no element twice;
//  - an RPUSH answered with length n put its element at position n;
//  - a read of n elements sits between the appends at positions n and n+1.
// So the ops form layers — reads of 0 elements, append 1, reads of 1
// element, append 2, ... — and the history is linearizable iff each op can
// take a point inside its [call, answer] interval with the points in layer
// order. Placing each op as early as it may (the latest call among the
// layers before it, or its own call) is optimal, so it fails iff some op
// was answered before an op of an earlier layer was called: a pairwise
// check, done in one pass.
//
// fail appends did not happen (their element must appear nowhere); info
// appends may have happened at any time after their call (answer at
// +infinity); info reads tell nothing. The durability half (every
// acknowledged append in the final read) is lostListAppends.
import type { Op } from './history';
import { FINAL_CLIENT } from './history';

export const isListOp = (op: Op): boolean => op.kind === 'append' || op.kind === 'lread';

export interface ListKeyResult {
  linearizable: boolean;
  /** What breaks it, one line each (empty when linearizable). */
  problems: string[];
}

const MAX_PROBLEMS = 12;

/** Checks one list key's operations (all on the same key). */
export function checkListKey(ops: readonly Op[]): ListKeyResult {
  const problems: string[] = [];
  const report = (p: string) => {
    if (problems.length < MAX_PROBLEMS) problems.push(p);
  };
  const reads = ops.filter((op) => op.kind === 'lread' && op.outcome === 'ok');
  const appends = ops.filter((op) => op.kind === 'append');
  const appendOf = new Map<string, Op>();
  for (const a of appends) appendOf.set(a.value!, a);

  // The order: the longest read; every read is a prefix of it.
  const longest = reads.reduce<Op | undefined>((best, r) => (best === undefined || r.list!.length > best.list!.length ? r : best), undefined);
  const order = longest?.list ?? [];
  const position = new Map<string, number>();
  order.forEach((e, i) => {
    if (position.has(e)) report(`element ${JSON.stringify(e)} is in the list twice (positions ${position.get(e)! + 1} and ${i + 1}, read by #${longest!.id}): one RPUSH applied twice`);
    else position.set(e, i);
  });
  for (const r of reads) {
    const list = r.list!;
    const at = list.findIndex((e, i) => e !== order[i]);
    if (at >= 0) report(`#${r.id} read ${list.length} elements, not a prefix of #${longest!.id}'s ${order.length}: they differ at position ${at + 1} (${JSON.stringify(list[at])} against ${JSON.stringify(order[at])})`);
  }
  for (const [e, i] of position) {
    const a = appendOf.get(e);
    if (!a) report(`element ${JSON.stringify(e)} at position ${i + 1} was never pushed`);
    else if (a.outcome === 'fail') report(`element ${JSON.stringify(e)} at position ${i + 1} was pushed by #${a.id}, whose client got an ERROR reply (${a.error ?? ''}): an error reply for a write that took effect`);
  }
  for (const a of appends) {
    if (a.outcome !== 'ok') continue;
    const i = position.get(a.value!);
    if (i === undefined) {
      // Not in any read; the durability check says whether the final read lacks it.
      const later = reads.find((r) => r.invokeAt > a.returnAt!);
      if (later) report(`#${a.id} RPUSH ${JSON.stringify(a.value)} was acknowledged (length ${a.length}), yet #${later.id}, called after, does not hold it`);
    } else if (a.length !== i + 1) report(`#${a.id} RPUSH ${JSON.stringify(a.value)} answered length ${a.length}, but its element is at position ${i + 1}`);
  }
  if (problems.length) return { linearizable: false, problems };

  // Real time: layers in order, each op as early as it may be.
  const byLength = new Map<number, Op[]>();
  for (const r of reads) {
    const n = r.list!.length;
    let layer = byLength.get(n);
    if (!layer) byLength.set(n, (layer = []));
    layer.push(r);
  }
  const layers: Op[][] = [];
  for (let i = 0; i <= order.length; i++) {
    if (i > 0) layers.push([appendOf.get(order[i - 1])!]);
    const rs = byLength.get(i);
    if (rs) layers.push(rs);
  }
  let latest: Op | undefined; // the latest call among the layers before
  for (const layer of layers) {
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

function describe(op: Op): string {
  return op.kind === 'append' ? `#${op.id} RPUSH ${JSON.stringify(op.value)}` : `#${op.id} LRANGE (${op.list!.length} elements)`;
}

/** Acknowledged appends missing from the key's final read (none when it has no final read). */
export function lostListAppends(ops: readonly Op[]): { count: number; example?: Op } {
  const final = ops.filter((op) => op.clientId === FINAL_CLIENT && op.kind === 'lread' && op.outcome === 'ok').pop();
  if (!final) return { count: 0 };
  const held = new Set(final.list);
  const missing = ops.filter((op) => op.kind === 'append' && op.outcome === 'ok' && !held.has(op.value!));
  return { count: missing.length, example: missing[missing.length - 1] };
}
