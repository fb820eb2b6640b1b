// A 3-replica meta group in one process: real RocksDB in temp dirs, real TCP.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pb } from '@redraft/common';
import { FakeStore, RespError, respCall, respSession, startGroup, waitFor } from './helpers';

test('3 replicas: elect, register, bootstrap, heartbeats, admin; survive one down; restart keeps the state', async () => {
  const g = await startGroup(3, { replicas: 3, initialRegions: 2, downAfterMs: 60_000 });
  const addrs = [...g.peers.values()];
  const stores = [1, 2, 3].map((i) => new FakeStore(addrs, `127.0.0.1:${17200 + i}`, `127.0.0.1:${16379 + i}`));
  try {
    const leader = await g.waitLeader();
    assert.ok(leader);
    // Registration allocates ids; a second registration with the id keeps it.
    for (const s of stores) await s.register();
    const ids = stores.map((s) => s.id);
    assert.equal(new Set(ids).size, 3);
    assert.equal(await stores[0].register(), ids[0]);

    // The leader bootstraps once 3 stores are up; heartbeats carry create_peer and the view.
    await waitFor(async () => {
      for (const s of stores) await s.heartbeat();
      return stores.every((s) => s.regions.size === 2);
    }, 'every store to learn its 2 initial replicas');
    for (const s of stores) await s.heartbeat(); // report leadership
    const hb = await stores[0].heartbeat();
    assert.equal(hb.instructions.length, 0, 'no create_peer for regions already reported');
    assert.ok(stores[0].view?.bootstrapped);
    await waitFor(async () => {
      await stores[1].heartbeat();
      return stores[1].view?.regions.every((r) => Number(r.leaderStoreId) > 0);
    }, 'the view to show every region with a leader');

    // meta.view and the admin port.
    const l = await g.waitLeader();
    const view = pb.ClusterView.decode(await stores[0].rpc('meta.view', new Uint8Array(0)));
    assert.equal(view.regions.length, 2);
    assert.deepEqual(view.regions.map((r) => [r.region!.startSlot, r.region!.endSlot]), [[0, 8192], [8192, 16384]]);
    const info = String(await respCall(l.adminPort, 'CLUSTER', 'INFO'));
    assert.match(info, /cluster_state:ok/);
    assert.match(info, /cluster_slots_assigned:16384/);
    assert.match(info, /cluster_known_nodes:3/);
    const follower = g.nodes.find((n) => n && !n.isLeader)!;
    // A follower forwards map reads to the leader.
    const list = String(await respCall(follower.adminPort, 'REGION', 'LIST'));
    assert.equal(list.trim().split('\n').length, 2);
    assert.match(list, /slots=0-8191/);
    const storesText = String(await respCall(follower.adminPort, 'store', 'list'));
    assert.equal(storesText.trim().split('\n').length, 3);
    assert.match(storesText, /state=up/);
    const slots = (await respCall(l.adminPort, 'CLUSTER', 'SLOTS')) as unknown[][];
    assert.equal(slots.length, 2);
    assert.equal(slots[0][0], 0);
    assert.equal(slots[0][1], 8191);
    assert.equal((slots[0] as unknown[]).length, 5, 'master + 2 replicas');
    const route = (await respCall(l.adminPort, 'ROUTE', 'foo')) as unknown[];
    assert.equal(route[0], 'slot');
    assert.equal(route[1], 12182);
    const region = (await respCall(follower.adminPort, 'REGION', 'GET', String(view.regions[1].region!.id))) as unknown[];
    assert.equal(region[1], Number(view.regions[1].region!.id));
    assert.equal(await respCall(l.adminPort, 'REGION', 'GET', '999999'), null);
    assert.ok((await respCall(l.adminPort, 'REGION', 'GET', 'x')) instanceof RespError);
    assert.equal(await respCall(follower.adminPort, 'PING'), 'PONG');
    // Forwarded in the client's protocol: RESP3 maps and verbatim text come back as such.
    const [hello, info3, route3] = await respSession(follower.adminPort, [['HELLO', '3'], ['CLUSTER', 'INFO'], ['ROUTE', 'foo']]);
    assert.ok(Array.isArray(hello));
    assert.match(String(info3), /^cluster_state:ok/);
    assert.deepEqual((route3 as unknown[]).slice(0, 2), ['slot', 12182]);
    assert.match(String(await respCall(follower.adminPort, 'INFO', 'meta')), /meta_role:follower/);

    // One replica down (the leader): a new leader serves everything.
    const oldLeader = g.nodes.indexOf(l);
    await g.stop(oldLeader);
    const l2 = await g.waitLeader();
    assert.notEqual(l2, l);
    for (const s of stores) await s.heartbeat();
    const alloc = pb.AllocIdsResponse.decode(await stores[0].rpc('meta.alloc_ids', pb.AllocIdsRequest.encode({ count: 10 }).finish()));
    assert.equal(Number(alloc.count), 10);
    assert.ok(Number(alloc.first) > Math.max(...ids));
    assert.match(String(await respCall(l2.adminPort, 'CLUSTER', 'INFO')), /cluster_state:ok/);

    // Restart it from its data dir: it catches up and keeps the map.
    const back = await g.start(oldLeader);
    await waitFor(() => back.applied >= l2.applied && back.sm.version === l2.sm.version, 'the restarted replica to catch up');
    assert.equal(back.sm.storeList().length, 3);
    assert.equal(back.sm.regionList().length, 2);

    // Whole group restarted: same map, same ids.
    const versionBefore = l2.sm.version;
    const nextBefore = l2.sm.peekNextId;
    for (let i = 0; i < 3; i++) await g.stop(i);
    for (let i = 0; i < 3; i++) await g.start(i);
    const l3 = await g.waitLeader();
    assert.equal(l3.sm.version, versionBefore);
    assert.equal(l3.sm.peekNextId, nextBefore);
    assert.deepEqual(l3.sm.storeList().map((s) => s.id), ids);
    const again = new FakeStore(addrs, stores[2].peerAddr, stores[2].clientAddr);
    again.id = ids[2];
    assert.equal(await again.register(), ids[2], 'a restarted store keeps its id');
    await again.close();
    // Every replica holds the same map, byte for byte.
    await waitFor(() => g.nodes.every((n) => n!.applied === l3.applied), 'every replica to apply the same log');
    const snaps = g.nodes.map((n) => Buffer.from(n!.sm.encodeSnapshot()).toString('hex'));
    assert.equal(new Set(snaps).size, 1);
  } finally {
    for (const s of stores) await s.close();
    await g.close();
  }
});

test('registrations racing a leader change: every store gets one distinct id, no duplicates in the map', async () => {
  const g = await startGroup(3, { replicas: 3 });
  const addrs = [...g.peers.values()];
  const stores = Array.from({ length: 8 }, (_, i) => new FakeStore(addrs, `127.0.0.1:${18000 + i}`, `127.0.0.1:${19000 + i}`));
  try {
    const l = await g.waitLeader();
    const regs = stores.map((s, i) => new Promise((r) => setTimeout(r, i * 15)).then(() => s.register()));
    await g.stop(g.nodes.indexOf(l));
    const ids = await Promise.all(regs);
    assert.equal(new Set(ids).size, stores.length);
    const l2 = await g.waitLeader();
    await waitFor(() => l2.sm.storeList().length >= stores.length, 'every store in the map');
    assert.deepEqual(l2.sm.storeList().map((s) => s.id).sort((a, b) => a - b), [...ids].sort((a, b) => a - b));
    // And the cluster bootstraps on the new leader.
    await waitFor(async () => {
      for (const s of stores) await s.heartbeat();
      return stores.filter((s) => s.regions.size === 1).length === 3;
    }, 'bootstrap on 3 of the stores');
  } finally {
    for (const s of stores) await s.close();
    await g.close();
  }
});
