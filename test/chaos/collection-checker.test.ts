// The collection checker (collection-checker.ts) on hand-made histories of
// RPUSH and LRANGE, SADD and SMEMBERS: each must pass or must fail, with the
// reason it names.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkHistory, explain, lostWrites } from './checker';
import { FINAL_CLIENT, type Op, type Outcome } from './history';

let nextId = 0;
/** An add of `e` to `key` over [a, b] ms, answered `n` when ok. */
function add(kind: 'append' | 'sadd', key: string, e: string, a: number, b: number | undefined, n: number | undefined, outcome: Outcome): Op {
  const o: Op = { id: nextId++, clientId: 'c', kind, key, value: e, invokeAt: a, outcome };
  if (outcome !== 'info') o.returnAt = b;
  if (outcome === 'ok') o.length = n;
  return o;
}
/** A read of `key` over [a, b] ms that got `list`. */
function read(kind: 'lread' | 'sread', key: string, list: string[], a: number, b: number): Op {
  return { id: nextId++, clientId: 'c', kind, key, invokeAt: a, returnAt: b, outcome: 'ok', list };
}
/** RPUSH l of `e`, answered `length` (ok); LRANGE l 0 -1 that read `list`. */
const push = (e: string, a: number, b: number | undefined, length?: number, outcome: Outcome = 'ok') => add('append', 'l', e, a, b, length, outcome);
const range = (list: string[], a: number, b: number) => read('lread', 'l', list, a, b);
/** SADD s of `e`, answered `added` (ok); SMEMBERS s that read `list`. */
const sadd = (e: string, a: number, b: number | undefined, added = 1, outcome: Outcome = 'ok') => add('sadd', 's', e, a, b, added, outcome);
const members = (list: string[], a: number, b: number) => read('sread', 's', list, a, b);

function problems(ops: Op[]): string[] {
  const res = checkHistory(ops);
  return res.keys.flatMap((k) => k.problems ?? []);
}

test('lists: sequential and overlapping histories that are linearizable', () => {
  assert.deepEqual(problems([range([], 0, 1), push('a', 2, 3, 1), range(['a'], 4, 5), push('b', 6, 7, 2), range(['a', 'b'], 8, 9)]), []);
  // Two overlapping pushes may land in either order; a read overlapping them sees a prefix.
  assert.deepEqual(problems([push('a', 0, 10, 2), push('b', 1, 9, 1), range(['b'], 2, 3), range(['b', 'a'], 11, 12)]), []);
  // An info push may land late, or never.
  assert.deepEqual(problems([push('a', 0, undefined, undefined, 'info'), range([], 5, 6), range(['a'], 7, 8)]), []);
  assert.deepEqual(problems([push('a', 0, undefined, undefined, 'info'), range([], 5, 6)]), []);
  // Reads of the same length need no order among themselves.
  assert.deepEqual(problems([push('a', 0, 1, 1), range(['a'], 2, 9), range(['a'], 3, 4), push('b', 5, 6, 2), range(['a', 'b'], 7, 8)]), []);
});

test('lists: each kind of violation is named', () => {
  const one = (ops: Op[], re: RegExp) => {
    const p = problems(ops);
    assert.ok(p.some((x) => re.test(x)), `expected ${re} in ${JSON.stringify(p)}`);
  };
  // Applied twice (a resent forward applied again).
  one([push('a', 0, 1, 1), range(['a', 'a'], 2, 3)], /in the list twice/);
  // A stale read: shorter than one already answered before it was called.
  one([push('a', 0, 1, 1), push('b', 2, 3, 2), range(['a', 'b'], 4, 5), range(['a'], 6, 7)], /answered at .* before .* LRANGE \(1 elements\) was called|LRANGE \(2 elements\) was answered/);
  // Acknowledged, then missing from a later read.
  one([push('a', 0, 1, 1), range([], 2, 3)], /does not hold it/);
  // Reads that disagree on the order.
  one([push('a', 0, 10, 1), push('b', 0, 10, 2), range(['a'], 11, 12), range(['b', 'a'], 13, 14)], /not a prefix/);
  // RPUSH's answer does not match where its element is.
  one([push('a', 0, 1, 1), push('b', 2, 3, 3), range(['a', 'b'], 4, 5)], /answered length 3, but its element is at position 2/);
  // An error reply for a push that took effect.
  one([push('a', 0, 1, undefined, 'fail'), range(['a'], 2, 3)], /ERROR reply/);
  // An element nobody pushed.
  one([range(['z'], 0, 1)], /never added/);
  // A push that took effect before it was sent.
  one([range(['a'], 0, 1), push('a', 2, 3, 1)], /answered at 1\.0 ms, before #\d+ RPUSH "a" was called/);
});

test('lists: explain prints the problems; lostWrites finds acknowledged pushes missing from the final read', () => {
  const ops = [push('a', 0, 1, 1), push('b', 2, 3, 2), { ...range(['a'], 10, 11), clientId: FINAL_CLIENT }];
  const res = checkHistory(ops);
  assert.equal(res.linearizable, false);
  assert.match(explain(res), /key l: not linearizable \(3 ops\):\n {4}#\d+ RPUSH "b" was acknowledged/);
  const lost = lostWrites(ops);
  assert.equal(lost.length, 1);
  assert.equal(lost[0].count, 1);
  assert.match(lost[0].reason, /1 acknowledged RPUSH\(s\) of l missing from its final LRANGE, e.g. "b"/);
  assert.deepEqual(lostWrites([push('a', 0, 1, 1), { ...range(['a'], 10, 11), clientId: FINAL_CLIENT }]), []);
});

test('sets: histories that are linearizable, in any order of members', () => {
  assert.deepEqual(problems([members([], 0, 1), sadd('a', 2, 3), members(['a'], 4, 5), sadd('b', 6, 7), members(['b', 'a'], 8, 9)]), []);
  // Overlapping adds: reads may see either first.
  assert.deepEqual(problems([sadd('a', 0, 10), sadd('b', 1, 9), members(['b'], 2, 3), members(['a', 'b'], 11, 12)]), []);
  // Two adds between two reads, in either order; an info add that lands late or never.
  assert.deepEqual(problems([sadd('a', 0, 1), sadd('b', 2, 3), members(['b', 'a'], 4, 5), sadd('c', 6, undefined, 1, 'info'), members(['a', 'b'], 7, 8)]), []);
});

test('sets: each kind of violation is named', () => {
  const one = (ops: Op[], re: RegExp) => {
    const p = problems(ops);
    assert.ok(p.some((x) => re.test(x)), `expected ${re} in ${JSON.stringify(p)}`);
  };
  // Two reads that are not of one growing set.
  one([sadd('a', 0, 10), sadd('b', 0, 10), members(['a'], 11, 12), members(['b'], 13, 14)], /not of one growing set/);
  // A stale read.
  one([sadd('a', 0, 1), members(['a'], 2, 3), members([], 4, 5)], /not of one growing set|SMEMBERS \(1 elements\) was answered/);
  one([sadd('a', 0, 1), members([], 2, 3)], /does not hold it/);
  // An add applied twice answers 0 the second time it is sent... or once, wrongly.
  one([sadd('a', 0, 1, 0), members(['a'], 2, 3)], /answered 0 members added/);
  one([sadd('a', 0, 1, 1, 'fail'), members(['a'], 2, 3)], /ERROR reply/);
  one([members(['z'], 0, 1)], /never added/);
  one([members(['a'], 0, 1), sadd('a', 2, 3)], /SMEMBERS \(1 elements\) was answered at 1\.0 ms, before #\d+ SADD "a" was called/);
  // A read that holds a later add but not an earlier one that was acknowledged before it was called.
  one([sadd('a', 0, 1), sadd('b', 2, 3), members(['b'], 4, 5), members(['a', 'b'], 6, 7)], /does not hold it|answered at/);
});

test('sets: lostWrites finds acknowledged adds missing from the final read', () => {
  const lost = lostWrites([sadd('a', 0, 1), sadd('b', 2, 3), { ...members(['a'], 10, 11), clientId: FINAL_CLIENT }]);
  assert.equal(lost.length, 1);
  assert.match(lost[0].reason, /1 acknowledged SADD\(s\) of s missing from its final SMEMBERS, e.g. "b"/);
});

test('hashes and sorted sets are checked as sets, and reported by their own commands', () => {
  const hset = (e: string, a: number, b: number) => ({ ...add('sadd', 'h', e, a, b, 1, 'ok'), command: 'HSET' });
  const hkeys = (list: string[], a: number, b: number) => ({ ...read('sread', 'h', list, a, b), command: 'HKEYS' });
  assert.deepEqual(problems([hset('a', 0, 1), hset('b', 2, 3), hkeys(['b', 'a'], 4, 5)]), []);
  const p = problems([hset('a', 0, 1), hkeys([], 2, 3)]);
  assert.match(p.join('\n'), /#\d+ HSET "a" was acknowledged, yet #\d+, called after, does not hold it/);
  const lost = lostWrites([hset('a', 0, 1), { ...hkeys([], 10, 11), clientId: FINAL_CLIENT }]);
  assert.match(lost[0].reason, /1 acknowledged HSET\(s\) of h missing from its final HKEYS/);
});
