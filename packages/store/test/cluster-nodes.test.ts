import { test } from 'node:test';
import assert from 'node:assert/strict';
import { clusterNodeLines, type ClusterNode, type ClusterShard } from '../src/commands/cluster';

const node = (n: number, myself = false): ClusterNode => ({ id: `id${n}`, host: '127.0.0.1', port: 6378 + n, busPort: 7199 + n, connected: true, myself });
const [a, b, c, d] = [node(1, true), node(2), node(3), node(4)];
const shard = (startSlot: number, endSlot: number, leader: ClusterNode | undefined, replicas: ClusterNode[]): ClusterShard => ({ startSlot, endSlot, leader, replicas });
const fields = (line: string) => {
  const f = line.split(' ');
  return { id: f[0], flags: f[2], master: f[3], slots: f.slice(8).join(' ') };
};

test('CLUSTER NODES: a store leading nothing is a slave of the leader of most of the slots it follows', () => {
  const lines = clusterNodeLines([a, b, c, d], [shard(0, 100, b, [a, c]), shard(100, 16384, c, [a, b]), shard(200, 200, undefined, [d])]).map(fields);
  assert.deepEqual(lines[0], { id: 'id1', flags: 'myself,slave', master: 'id3', slots: '' });
  assert.deepEqual(lines[1], { id: 'id2', flags: 'master', master: '-', slots: '0-99' });
  assert.deepEqual(lines[2], { id: 'id3', flags: 'master', master: '-', slots: '100-16383' });
  // No replica of a region with a leader: a master without slots.
  assert.deepEqual(lines[3], { id: 'id4', flags: 'master', master: '-', slots: '' });
});

test('CLUSTER NODES: adjacent led regions merge; single slots print alone; ties go to the lower slots; fail flag', () => {
  const down = { ...c, connected: false };
  const lines = clusterNodeLines([a, b, down], [shard(0, 10, b, [a]), shard(10, 11, b, [a]), shard(20, 30, down, [a])]).map(fields);
  assert.deepEqual(lines[1].slots, '0-10');
  assert.deepEqual(lines[0].master, 'id2');
  assert.deepEqual(lines[2], { id: 'id3', flags: 'master,fail', master: '-', slots: '20-29' });
  const single = clusterNodeLines([b], [shard(5, 6, b, [])]).map(fields);
  assert.equal(single[0].slots, '5');
});
