// Checks of queues: lists that RPUSH fills with elements unique in the run
// and LPOP / BLPOP empty (enqueue, dequeue), read whole once at the end
// (the final LRANGE). Pure: no I/O, no clock.
//
// Not a full linearizability search (a queue's needs one), but what the
// answers prove, after Jepsen's total-queue check:
//  - each element popped, or left at the end, was pushed by an RPUSH that
//    got no error reply, and was not popped before that RPUSH was sent;
//  - no element is delivered twice (two pops, or a pop and the final read);
//  - first in, first out: an element pushed surely after another (its RPUSH
//    sent after the other's was answered) is not popped surely before it (its
//    pop answered before the other's was sent, or the other is still there
//    at the end);
//  - a pop answers nil (LPOP: empty; BLPOP: empty for its whole timeout)
//    only if no element was surely there all along (pushed before the pop
//    was sent, popped after it was answered or still there at the end);
//  - durability (lostQueueItems): every acknowledged push's element is
//    popped or still there, but for as many as pops never answered (each
//    may have taken one).
//
// A move queue's pops are LMOVE / BLMOVE into a second list, from which the
// client that moved an element removes it with LREM (ack). Its first list
// is checked as above; its second (checkMoved) must hold exactly the moved
// elements not yet removed:
//  - an LREM of a moved element answers 1 (only its mover removes it), and
//    the element is gone at the end; an LREM with an error reply left it there;
//  - no element is in both lists at the end, or twice in the second;
//  - every element that reached the second list was pushed, and was
//    returned by an LMOVE, but for as many as LMOVEs never answered (an
//    LMOVE applied twice moves an element nobody was told of);
//  - durability: every element an LMOVE returned is in the second list at
//    the end, unless an LREM removed it (or may have: no answer).
import type { Op } from './history';
import { FINAL_CLIENT } from './history';

export const isQueueOp = (op: Op): boolean => op.kind === 'enqueue' || op.kind === 'dequeue' || op.kind === 'ack';

/** A pop that moves its element to the move queue's second list. */
const isMove = (op: Op): boolean => op.kind === 'dequeue' && (op.command === 'LMOVE' || op.command === 'BLMOVE');

/** The final read of a queue's (first) list, or of a move queue's second list ("out"). */
function finalRead(ops: readonly Op[], list: 'in' | 'out'): Op | undefined {
  return ops.filter((op) => op.clientId === FINAL_CLIENT && op.kind === 'lread' && op.outcome === 'ok' && (op.value === 'out') === (list === 'out')).pop();
}

const MAX_PROBLEMS = 12;

function describe(op: Op): string {
  if (op.kind === 'enqueue') return `#${op.id} RPUSH ${JSON.stringify(op.value)}`;
  if (op.kind === 'dequeue') return `#${op.id} ${op.command ?? 'LPOP'} -> ${op.value === null ? 'nil' : JSON.stringify(op.value)}`;
  if (op.kind === 'ack') return `#${op.id} LREM ${JSON.stringify(op.value)} -> ${op.outcome === 'ok' ? op.length : op.outcome === 'fail' ? 'error' : 'no answer'}`;
  return `#${op.id} final LRANGE`;
}

const at = (t: number | undefined) => (t === undefined ? '∞' : `${t.toFixed(1)} ms`);

/** Where each element went: the ok pops that returned it, and whether the final read holds it. */
interface Fate {
  push: Op | undefined;
  pops: Op[];
  atEnd: boolean;
}

function fates(ops: readonly Op[]): { fate: Map<string, Fate>; final: Op | undefined } {
  const fate = new Map<string, Fate>();
  const of = (e: string) => {
    let f = fate.get(e);
    if (!f) fate.set(e, (f = { push: undefined, pops: [], atEnd: false }));
    return f;
  };
  for (const op of ops) if (op.kind === 'enqueue') of(op.value!).push = op;
  for (const op of ops) if (op.kind === 'dequeue' && op.outcome === 'ok' && op.value !== null && op.value !== undefined) of(op.value).pops.push(op);
  const final = finalRead(ops, 'in');
  for (const e of final?.list ?? []) of(e).atEnd = true;
  return { fate, final };
}

/** Checks one queue key's operations (all on the same key). */
export function checkQueueKey(ops: readonly Op[]): { linearizable: boolean; problems: string[] } {
  const problems: string[] = [];
  const report = (p: string) => {
    if (problems.length < MAX_PROBLEMS) problems.push(p);
  };
  const { fate, final } = fates(ops);
  for (const [e, f] of fate) {
    const seen = [...f.pops.map(describe), ...(f.atEnd ? ['the final LRANGE'] : [])];
    if (seen.length === 0) continue;
    if (!f.push) report(`${seen[0]} holds ${JSON.stringify(e)}, which no RPUSH sent`);
    else if (f.push.outcome === 'fail') report(`${seen[0]} holds ${JSON.stringify(e)}, whose ${describe(f.push)} got an error reply (${f.push.error ?? ''})`);
    if (seen.length > 1) report(`${JSON.stringify(e)} delivered twice: ${seen.join(' and ')}`);
    for (const pop of f.pops) if (f.push && pop.returnAt! < f.push.invokeAt) report(`${describe(pop)} answered at ${at(pop.returnAt)}, before ${describe(f.push)} was sent at ${at(f.push.invokeAt)}`);
  }

  // The acknowledged pushes in the order they were answered, each with when
  // its element surely was still queued: until its pop was sent (+infinity
  // if it is there at the end; unknown if it vanished: -infinity).
  const pushes = ops
    .filter((op) => op.kind === 'enqueue' && op.outcome === 'ok')
    .map((push) => {
      const f = fate.get(push.value!)!;
      const until = f.atEnd ? Infinity : f.pops.length ? Math.min(...f.pops.map((p) => p.invokeAt)) : -Infinity;
      return { push, until };
    })
    .sort((a, b) => a.push.returnAt! - b.push.returnAt!);
  // The push (answered before t) whose element surely stayed longest: prefix maxima, searched by time.
  const best: Array<{ push: Op; until: number }> = [];
  for (const p of pushes) best.push(best.length && best[best.length - 1].until >= p.until ? best[best.length - 1] : p);
  const stayedLongest = (t: number) => {
    let lo = 0;
    let hi = pushes.length; // first push answered at or after t
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (pushes[mid].push.returnAt! < t) lo = mid + 1;
      else hi = mid;
    }
    return lo === 0 ? undefined : best[lo - 1];
  };
  const where = (b: { until: number }) => (b.until === Infinity ? 'is still there at the end' : `was popped only from ${at(b.until)}`);
  for (const op of ops) {
    if (op.kind !== 'dequeue' || op.outcome !== 'ok') continue;
    // Pushed surely before this pop's element was, or surely there while this pop answered nil.
    const from = op.value === null || op.value === undefined ? op.invokeAt : fate.get(op.value)?.push?.invokeAt;
    if (from === undefined) continue;
    const b = stayedLongest(from);
    if (!b || b.until <= op.returnAt!) continue;
    if (op.value === null || op.value === undefined) report(`${describe(op)} [${at(op.invokeAt)} .. ${at(op.returnAt)}] found the queue empty, while ${JSON.stringify(b.push.value)} (${describe(b.push)}, answered at ${at(b.push.returnAt)}) ${where(b)}`);
    else report(`first in, first out: ${describe(op)} answered at ${at(op.returnAt)}, but ${JSON.stringify(b.push.value)}, pushed before it (${describe(b.push)}, answered at ${at(b.push.returnAt)}), ${where(b)}`);
  }
  if (!final && ops.some((op) => op.clientId === FINAL_CLIENT)) report('the final LRANGE never answered');
  if (ops.some((op) => isMove(op) || op.kind === 'ack')) checkMoved(ops, fate, report);
  return { linearizable: problems.length === 0, problems };
}

/** A move queue's second list, against the LMOVEs that filled it and the LREMs that emptied it. */
function checkMoved(ops: readonly Op[], fate: Map<string, Fate>, report: (p: string) => void): void {
  const out = finalRead(ops, 'out');
  if (!out) {
    if (ops.some((op) => op.clientId === FINAL_CLIENT)) report('the final LRANGE of the second list never answered');
    return;
  }
  const inOut = new Map<string, number>();
  for (const e of out.list ?? []) inOut.set(e, (inOut.get(e) ?? 0) + 1);
  const movedBy = (e: string) => fate.get(e)?.pops.find(isMove);
  for (const [e, n] of inOut) {
    const f = fate.get(e);
    if (n > 1) report(`${JSON.stringify(e)} is ${n} times in the second list at the end`);
    if (f?.atEnd) report(`${JSON.stringify(e)} is in both lists at the end`);
    if (!f?.push) report(`the second list holds ${JSON.stringify(e)} at the end, which no RPUSH sent`);
    else if (f.push.outcome === 'fail') report(`the second list holds ${JSON.stringify(e)} at the end, whose ${describe(f.push)} got an error reply (${f.push.error ?? ''})`);
  }
  const removed: string[] = [];
  for (const ack of ops) {
    if (ack.kind !== 'ack') continue;
    const e = ack.value!;
    const move = movedBy(e);
    if (ack.outcome === 'ok' && ack.length === 1) {
      removed.push(e);
      if (inOut.has(e)) report(`${describe(ack)} removed ${JSON.stringify(e)}, which the second list still holds at the end`);
    } else if (ack.outcome === 'ok') {
      report(`${describe(ack)} found nothing to remove, but ${move ? describe(move) : 'an LMOVE'} had put ${JSON.stringify(e)} there, and only its mover removes it`);
    } else if (ack.outcome === 'fail' && !inOut.has(e)) {
      report(`${describe(ack)} got an error reply, yet ${JSON.stringify(e)} is not in the second list at the end`);
    }
  }
  // Arrivals no answered LMOVE explains: at most one per LMOVE with no answer.
  const unexplained = [...inOut.keys(), ...removed].filter((e) => !movedBy(e));
  const unanswered = ops.filter((op) => isMove(op) && op.outcome === 'info').length;
  if (unexplained.length > unanswered) {
    report(`${unexplained.length} element(s) reached the second list with no LMOVE that returned them, beyond the ${unanswered} LMOVE(s) never answered (one applied twice?), e.g. ${JSON.stringify(unexplained[0])}`);
  }
}

/**
 * Acknowledged pushes whose element is neither popped nor there at the end,
 * beyond the pops that were never answered (each may have taken one).
 */
export function lostQueueItems(ops: readonly Op[]): { count: number; example?: Op } {
  const { fate, final } = fates(ops);
  if (!final) return { count: 0 };
  const missing = ops.filter((op) => op.kind === 'enqueue' && op.outcome === 'ok' && fate.get(op.value!)!.pops.length === 0 && !fate.get(op.value!)!.atEnd);
  const unknownPops = ops.filter((op) => op.kind === 'dequeue' && op.outcome === 'info').length;
  let count = Math.max(0, missing.length - unknownPops);
  let example = missing[missing.length - 1];
  // A move queue: every element an LMOVE returned is in the second list, or an LREM removed it (or may have).
  const out = finalRead(ops, 'out');
  if (out) {
    const there = new Set(out.list ?? []);
    const removed = new Set(ops.filter((op) => op.kind === 'ack' && (op.outcome === 'info' || (op.outcome === 'ok' && op.length === 1))).map((op) => op.value));
    const gone = ops.filter((op) => isMove(op) && op.outcome === 'ok' && op.value != null && !there.has(op.value) && !removed.has(op.value));
    count += gone.length;
    example = gone[gone.length - 1] ?? example;
  }
  return count > 0 ? { count, example } : { count: 0 };
}
