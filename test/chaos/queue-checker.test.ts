// The queue checks on hand-made histories: each kind of violation is
// reported, and valid histories pass.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkHistory, lostWrites } from './checker';
import { FINAL_CLIENT, type Op, type Outcome } from './history';
import { checkQueueKey, lostQueueItems } from './queue-checker';

let nextId = 0;
function push(e: string, a: number, b?: number, outcome: Outcome = 'ok'): Op {
  const op: Op = { id: nextId++, clientId: 'c', kind: 'enqueue', key: 'q', value: e, invokeAt: a, outcome };
  if (b !== undefined && outcome !== 'info') op.returnAt = b;
  return op;
}
function pop(e: string | null | undefined, a: number, b?: number, outcome: Outcome = 'ok', command = 'LPOP'): Op {
  const op: Op = { id: nextId++, clientId: 'c', kind: 'dequeue', key: 'q', invokeAt: a, outcome, command };
  if (outcome === 'ok') op.value = e ?? null;
  if (b !== undefined && outcome !== 'info') op.returnAt = b;
  return op;
}
const final = (list: string[], a = 1000): Op => ({ id: nextId++, clientId: FINAL_CLIENT, kind: 'lread', key: 'q', invokeAt: a, returnAt: a + 1, outcome: 'ok', list });

const problems = (ops: Op[]) => checkQueueKey(ops).problems;

test('queue: valid histories pass', () => {
  assert.deepEqual(problems([push('a', 0, 1), push('b', 2, 3), pop('a', 4, 5), pop('b', 6, 7), pop(null, 8, 9), final([])]), []);
  // Concurrent pushes may be popped in either order.
  assert.deepEqual(problems([push('a', 0, 10), push('b', 1, 9), pop('b', 11, 12), pop('a', 13, 14), final([])]), []);
  // A pop found nothing, then a push: fine. A BLPOP answered by a later push: fine.
  assert.deepEqual(problems([pop(null, 0, 1), pop('a', 2, 20, 'ok', 'BLPOP'), push('a', 5, 6), push('b', 21, 22), final(['b'])]), []);
  // A push with an error reply whose element is nowhere: as it should be.
  assert.deepEqual(problems([push('a', 0, 1, 'fail'), pop(null, 2, 3), final([])]), []);
  // An unanswered pop may have taken an element that is then nowhere.
  const h = [push('a', 0, 1), pop(undefined, 2, undefined, 'info'), final([])];
  assert.deepEqual(problems(h), []);
  assert.equal(lostQueueItems(h).count, 0);
  assert.deepEqual(checkHistory(h).linearizable, true);
});

test('queue: an element delivered twice, never pushed, or pushed with an error reply', () => {
  assert.match(problems([push('a', 0, 1), pop('a', 2, 3), pop('a', 4, 5), final([])]).join('\n'), /"a" delivered twice: #\d+ LPOP -> "a" and #\d+ LPOP -> "a"/);
  assert.match(problems([push('a', 0, 1), pop('a', 2, 3), final(['a'])]).join('\n'), /"a" delivered twice: .* and the final LRANGE/);
  assert.match(problems([pop('x', 2, 3), final([])]).join('\n'), /holds "x", which no RPUSH sent/);
  assert.match(problems([push('a', 0, 1, 'fail'), final(['a'])]).join('\n'), /holds "a", whose #\d+ RPUSH "a" got an error reply/);
  assert.match(problems([pop('a', 0, 1), push('a', 2, 3), final([])]).join('\n'), /answered at 1\.0 ms, before #\d+ RPUSH "a" was sent/);
});

test('queue: first in, first out, and no empty answer while an element waited', () => {
  // b pushed after a was acknowledged, popped while a surely stayed.
  assert.match(problems([push('a', 0, 1), push('b', 2, 3), pop('b', 4, 5), pop('a', 6, 7), final([])]).join('\n'), /first in, first out: #\d+ LPOP -> "b" answered at 5\.0 ms, but "a", pushed before it .* was popped only from 6\.0 ms/);
  assert.match(problems([push('a', 0, 1), push('b', 2, 3), pop('b', 4, 5), final(['a'])]).join('\n'), /but "a", pushed before it .* is still there at the end/);
  // nil while a was queued all along (LPOP, or a BLPOP's whole wait).
  assert.match(problems([push('a', 0, 1), pop(null, 2, 3), pop('a', 4, 5), final([])]).join('\n'), /LPOP -> nil \[2\.0 ms .. 3\.0 ms\] found the queue empty, while "a"/);
  assert.match(problems([push('a', 0, 1), pop(null, 2, 1003, 'ok', 'BLPOP'), final(['a'], 2000)]).join('\n'), /BLPOP -> nil .* found the queue empty, while "a" .* is still there at the end/);
});

test('queue: acknowledged pushes missing at the end are lost, beyond the unanswered pops', () => {
  const h = [push('a', 0, 1), push('b', 2, 3), push('c', 4, 5), pop(undefined, 6, undefined, 'info'), final(['c'])];
  assert.deepEqual(lostQueueItems(h).count, 1);
  assert.match(lostWrites(h)[0].reason, /1 element\(s\) of queue q lost: pushed by an acknowledged RPUSH, neither popped nor in the final LRANGE/);
  // A pop with an error reply did not take anything.
  assert.equal(lostQueueItems([push('a', 0, 1), pop(undefined, 2, 3, 'fail'), final([])]).count, 1);
  // No final read: nothing to say.
  assert.equal(lostQueueItems([push('a', 0, 1)]).count, 0);
});

// A move queue: LMOVE from the first list to the second, LREM (ack) from the second.
function move(e: string | null | undefined, a: number, b?: number, outcome: Outcome = 'ok', command = 'LMOVE'): Op {
  return pop(e, a, b, outcome, command);
}
function ack(e: string, a: number, b?: number, outcome: Outcome = 'ok', removed = 1): Op {
  const op: Op = { id: nextId++, clientId: 'c', kind: 'ack', key: 'q', value: e, invokeAt: a, outcome };
  if (b !== undefined && outcome !== 'info') op.returnAt = b;
  if (outcome === 'ok') op.length = removed;
  return op;
}
const finals = (first: string[], second: string[], a = 1000): Op[] => [
  { ...final(first, a), value: 'in' },
  { ...final(second, a + 2), value: 'out' },
];

test('move queue: valid histories pass', () => {
  // a moved and removed, b moved and kept, c still waiting; a BLMOVE that found nothing.
  const h = [push('a', 0, 1), push('b', 2, 3), push('c', 4, 5), move('a', 6, 7), move('b', 8, 9, 'ok', 'BLMOVE'), ack('a', 10, 11), ...finals(['c'], ['b'])];
  assert.deepEqual(problems(h), []);
  assert.equal(lostQueueItems(h).count, 0);
  assert.deepEqual(problems([move(null, 0, 1001, 'ok', 'BLMOVE'), ...finals([], [], 2000)]), []);
  // An LMOVE with no answer may have moved an element nobody was told of; an LREM with none may have removed one.
  const unsure = [push('a', 0, 1), push('b', 2, 3), move(undefined, 4, undefined, 'info'), move('b', 6, 7), ack('b', 8, undefined, 'info'), ...finals([], ['a'])];
  assert.deepEqual(problems(unsure), []);
  assert.equal(lostQueueItems(unsure).count, 0);
  assert.equal(checkHistory(h).linearizable, true);
});

test('move queue: an element moved twice, removed yet there, or in both lists', () => {
  // An LMOVE applied twice: b reached the second list with no LMOVE that returned it, and none unanswered.
  assert.match(problems([push('a', 0, 1), push('b', 2, 3), move('a', 4, 5), ...finals([], ['a', 'b'])]).join('\n'), /1 element\(s\) reached the second list with no LMOVE that returned them, beyond the 0 LMOVE\(s\) never answered .* "b"/);
  assert.match(problems([push('a', 0, 1), move('a', 2, 3), ack('a', 4, 5), ...finals([], ['a'])]).join('\n'), /LREM "a" -> 1 removed "a", which the second list still holds at the end/);
  assert.match(problems([push('a', 0, 1), move('a', 2, 3), ...finals(['a'], ['a'])]).join('\n'), /"a" is in both lists at the end/);
  assert.match(problems([push('a', 0, 1), move('a', 2, 3), ...finals([], ['a', 'a'])]).join('\n'), /"a" is 2 times in the second list at the end/);
  assert.match(problems([push('a', 0, 1, 'fail'), move(undefined, 2, undefined, 'info'), ...finals([], ['a'])]).join('\n'), /the second list holds "a" at the end, whose #\d+ RPUSH "a" got an error reply/);
});

test('move queue: a moved element that vanished from the second list', () => {
  // LREM found nothing: only its mover removes it.
  assert.match(problems([push('a', 0, 1), move('a', 2, 3), ack('a', 4, 5, 'ok', 0), ...finals([], [])]).join('\n'), /LREM "a" -> 0 found nothing to remove, but #\d+ LMOVE -> "a" had put "a" there/);
  // An LREM with an error reply removed nothing.
  assert.match(problems([push('a', 0, 1), move('a', 2, 3), ack('a', 4, 5, 'fail'), ...finals([], [])]).join('\n'), /LREM "a" -> error got an error reply, yet "a" is not in the second list at the end/);
  // Durability: moved, never removed, gone.
  const h = [push('a', 0, 1), move('a', 2, 3), ...finals([], [])];
  assert.equal(lostQueueItems(h).count, 1);
  assert.match(lostWrites(h)[0].reason, /1 element\(s\) of queue q lost: returned by an LMOVE, neither in the second list at the end nor removed by an LREM/);
});
