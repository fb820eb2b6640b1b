// quorumValue: the k-th largest of a group's values (commit index from match
// indexes, lease from acks), against a plain sort on seeded random inputs.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { majority, quorumValue } from '../../src/raft/progress';
import { Rng } from '../../src/raft/sim/rng';

const bySort = (values: number[], k: number): number => values.slice().sort((a, b) => b - a)[k - 1];

test('quorumValue is the k-th largest value, ties and negatives included', () => {
  const rng = new Rng(7);
  for (let round = 0; round < 5000; round++) {
    const n = 1 + rng.int(12);
    // A small range makes ties common (several peers at the same match index).
    const values = Array.from({ length: n }, () => rng.int(8) - 2);
    for (const k of [1, majority(n), n]) assert.equal(quorumValue(values, k), bySort(values, k), `${JSON.stringify(values)} k=${k}`);
  }
  assert.equal(quorumValue([5, 1, 3], 2), 3);
  assert.equal(quorumValue([-1, -1, 4], 2), -1);
});
