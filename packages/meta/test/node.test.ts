// One MetaNode or a group: snapshots and log compaction, down detection,
// malformed input on both ports, flags of the RPCs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { PeerPool, pb } from '@redraft/common';
import { FakeStore, RespError, respCall, startGroup, waitFor } from './helpers';

function rawBytes(port: number, bytes: Buffer): Promise<void> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port }, () => s.write(bytes));
    s.on('error', () => resolve());
    s.on('close', () => resolve());
    s.setTimeout(300, () => s.destroy());
  });
}

function seeded(seed: number, n: number): Buffer {
  const out = Buffer.alloc(n);
  let a = seed >>> 0;
  for (let i = 0; i < n; i++) {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    out[i] = ((t ^ (t >>> 14)) >>> 0) & 0xff;
  }
  return out;
}

test('a single replica: bootstraps with 1 store when replicas=1, serves the admin port and /metrics', async () => {
  const g = await startGroup(1, { replicas: 1, initialRegions: 4, metricsPort: 0 });
  const s = new FakeStore([...g.peers.values()], '127.0.0.1:1', '127.0.0.1:2');
  try {
    const m = await g.waitLeader();
    await s.register();
    await waitFor(async () => {
      await s.heartbeat();
      return s.regions.size === 4;
    }, 'the 4 initial replicas');
    await s.heartbeat();
    assert.match(String(await respCall(m.adminPort, 'CLUSTER', 'INFO')), /cluster_state:ok/);
    const info = String(await respCall(m.adminPort, 'INFO'));
    assert.match(info, /meta_role:leader/);
    assert.match(info, /regions:4/);
    assert.equal(await respCall(m.adminPort, 'COMMAND', 'COUNT'), m.commands.table.size);
    const hello = (await respCall(m.adminPort, 'HELLO', '3')) as unknown[];
    assert.equal(hello[hello.indexOf('proto') + 1], 3);
    assert.ok((await respCall(m.adminPort, 'NOSUCH')) instanceof RespError);
    assert.ok((await respCall(m.adminPort, 'REGION')) instanceof RespError);
    const metrics = await (await fetch(`http://127.0.0.1:${m.metricsPort}/metrics`)).text();
    assert.match(metrics, /^redraft_meta_is_leader 1$/m);
    assert.match(metrics, /^redraft_meta_regions 4$/m);
    assert.match(metrics, /^redraft_meta_stores\{state="up"\} 1$/m);
    assert.equal((await fetch(`http://127.0.0.1:${m.metricsPort}/nope`)).status, 404);
  } finally {
    await s.close();
    await g.close();
  }
});

test('a lagging replica catches up through a MetaState snapshot after the log was compacted', async () => {
  const g = await startGroup(3, { replicas: 1, snapshotEvery: 20 });
  const s = new FakeStore([...g.peers.values()], '127.0.0.1:1', '127.0.0.1:2');
  try {
    const l = await g.waitLeader();
    const lagging = g.nodes.findIndex((n) => n !== l);
    await g.stop(lagging);
    await s.register();
    for (let i = 0; i < 120; i++) await s.rpc('meta.alloc_ids', pb.AllocIdsRequest.encode({ count: 1 }).finish());
    const leader = await g.waitLeader();
    assert.ok(leader.storage.firstIndex() > 30, `log compacted (first index ${leader.storage.firstIndex()})`);
    const back = await g.start(lagging);
    await waitFor(() => back.sm.peekNextId === leader.sm.peekNextId && back.applied >= leader.applied - 1, 'the lagging replica to catch up');
    assert.deepEqual(Buffer.from(back.sm.encodeSnapshot()), Buffer.from(leader.sm.encodeSnapshot()));
    assert.ok(back.snapshotsInstalled >= 1, 'it caught up through a snapshot');
    // And it restarts from its own snapshot record.
    const applied = back.applied;
    await g.stop(lagging);
    const again = await g.start(lagging);
    assert.ok(again.applied >= applied);
    assert.equal(again.sm.peekNextId >= leader.sm.peekNextId, true);
  } finally {
    await s.close();
    await g.close();
  }
});

test('the leader marks a silent store down, and its next heartbeat brings it back up', async () => {
  const g = await startGroup(1, { replicas: 2, downAfterMs: 400 });
  const addrs = [...g.peers.values()];
  const a = new FakeStore(addrs, '127.0.0.1:11', '127.0.0.1:12');
  const b = new FakeStore(addrs, '127.0.0.1:21', '127.0.0.1:22');
  try {
    const m = await g.waitLeader();
    await a.register();
    await b.register();
    let stop = false;
    const beat = (async () => {
      while (!stop) {
        await a.heartbeat();
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    await waitFor(() => m.sm.store(b.id)?.state === pb.StoreState.DOWN, 'store b to be marked down', 5000);
    assert.equal(m.sm.store(a.id)!.state, pb.StoreState.UP);
    assert.match(String(await respCall(m.adminPort, 'STORE', 'LIST')), /state=down/);
    await b.heartbeat();
    assert.equal(m.sm.store(b.id)!.state, pb.StoreState.UP);
    stop = true;
    await beat;
  } finally {
    await a.close();
    await b.close();
    await g.close();
  }
});

test('non-leaders answer NOT_LEADER <leader addr>; unknown RPCs and bad bodies are errors, not crashes', async () => {
  const g = await startGroup(3);
  const pool = new PeerPool();
  try {
    const l = await g.waitLeader();
    const leaderAddr = g.peers.get(l.metaId)!;
    await waitFor(() => g.nodes.every((n) => n!.leader === l.metaId), 'every replica to know the leader');
    const followerAddr = [...g.peers.entries()].find(([id]) => id !== l.metaId)![1];
    await assert.rejects(pool.request(followerAddr, 'meta.view', new Uint8Array(0)), (e: Error) => e.message === `NOT_LEADER ${leaderAddr}`);
    await assert.rejects(pool.request(followerAddr, 'meta.register', pb.RegisterStoreRequest.encode({ peerAddr: 'a:1', clientAddr: 'a:2' }).finish()), (e: Error) => /^NOT_LEADER /.test(e.message));
    await assert.rejects(pool.request(leaderAddr, 'meta.nosuch', new Uint8Array(0)), (e: Error) => /UNKNOWN_RPC/.test(e.message));
    await assert.rejects(pool.request(leaderAddr, 'meta.heartbeat', seeded(1, 64)));
    await assert.rejects(pool.request(leaderAddr, 'meta.heartbeat', pb.StoreHeartbeatRequest.encode({ store: { id: 999 } }).finish()), (e: Error) => /^STORE_UNKNOWN/.test(e.message));
    await assert.rejects(pool.request(leaderAddr, 'meta.alloc_ids', pb.AllocIdsRequest.encode({ count: 10_000_000 }).finish()), (e: Error) => /^INVALID/.test(e.message));
    // Garbage as a Raft message batch: that connection is refused, the replica goes on.
    pool.send(leaderAddr, 'meta.raft', seeded(2, 200));
    pool.send(leaderAddr, 'meta.raft', pb.RaftMessageBatch.encode({ messages: [{ regionId: 1, fromPeer: { id: 77 }, toPeer: { id: l.metaId }, message: pb.Message.encode({ type: 11 }).finish() }] }).finish());
    pool.send(leaderAddr, 'meta.raft', pb.RaftMessageBatch.encode({ messages: [{ regionId: 1, fromPeer: { id: 2 }, toPeer: { id: l.metaId }, message: pb.Message.encode({ type: 0, from: 2, to: l.metaId }).finish() }] }).finish());
    // Random bytes and oversized frame headers on both ports.
    for (const node of g.nodes) {
      await rawBytes(node!.peerPort, seeded(3, 4096));
      await rawBytes(node!.peerPort, Buffer.from([0xff, 0xff, 0xff, 0xff, 1, 2, 3]));
      await rawBytes(node!.adminPort, seeded(4, 4096));
      await rawBytes(node!.adminPort, Buffer.from('*3\r\n$-7\r\nxx\r\n'));
    }
    const view = pb.ClusterView.decode(await pool.request(leaderAddr, 'meta.view', new Uint8Array(0)));
    assert.equal(view.bootstrapped, false);
    for (const node of g.nodes) assert.equal(await respCall(node!.adminPort, 'PING'), 'PONG');
    assert.equal(g.leader(), l, 'the leader kept its leadership through the noise');
  } finally {
    await pool.close();
    await g.close();
  }
});
