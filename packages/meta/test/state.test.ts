// Unit tests of the meta state machine: pure, deterministic, no I/O.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pb } from '@redraft/common';
import { MetaStateMachine, compareEpoch, splitSlots, type ApplyResult } from '../src/state';

let clock = 1_000;
function cmd(op: Omit<pb.MetaCommand.$Properties, 'proposedAtMs'>, at = (clock += 10)): pb.MetaCommand.$Properties {
  return { proposedAtMs: at, ...op };
}

function ok<K extends ApplyResult['kind']>(r: ApplyResult, kind: K): Extract<ApplyResult, { kind: K }> {
  if (r.kind === 'error') assert.fail(`unexpected error ${r.error.message}`);
  assert.equal(r.kind, kind);
  return r as Extract<ApplyResult, { kind: K }>;
}

function errCode(r: ApplyResult): string {
  assert.equal(r.kind, 'error');
  return (r as Extract<ApplyResult, { kind: 'error' }>).error.code;
}

function register(sm: MetaStateMachine, i: number, storeId = 0): number {
  return ok(sm.apply(cmd({ registerStore: { storeId, peerAddr: `10.0.0.${i}:7200`, clientAddr: `10.0.0.${i}:6379` } })), 'register').storeId;
}

/** Three stores and a bootstrapped cluster of `regions` regions. */
function cluster(regions = 1): { sm: MetaStateMachine; stores: number[]; regionIds: number[] } {
  const sm = new MetaStateMachine();
  const stores = [1, 2, 3].map((i) => register(sm, i));
  const regionIds = ok(sm.apply(cmd({ bootstrap: { storeIds: stores, initialRegions: regions } })), 'bootstrap').regionIds;
  return { sm, stores, regionIds };
}

function report(sm: MetaStateMachine, storeId: number, regions: pb.RegionStats.$Properties[], at?: number): ApplyResult {
  return sm.apply(cmd({ storeHeartbeat: { store: { id: storeId }, regions } }, at));
}

function desc(sm: MetaStateMachine, id: number): pb.Region.$Properties {
  const r = sm.region(id)!;
  return { id, startSlot: r.region.startSlot, endSlot: r.region.endSlot, epoch: { ...r.region.epoch }, peers: r.region.peers.map((p) => ({ ...p })) };
}

test('register allocates ids, keeps a restarted store\'s id, updates addresses', () => {
  const sm = new MetaStateMachine();
  assert.deepEqual([1, 2, 3].map((i) => register(sm, i)), [1, 2, 3]);
  const v = sm.version;
  assert.equal(register(sm, 2, 2), 2, 'same id on restart');
  assert.equal(sm.version, v, 'nothing changed: version stays');
  const r = sm.apply(cmd({ registerStore: { storeId: 2, peerAddr: '10.9.9.9:7200', clientAddr: '10.9.9.9:6379' } }));
  ok(r, 'register');
  assert.equal(sm.store(2)!.peerAddr, '10.9.9.9:7200');
  assert.ok(sm.version > v, 'an address change bumps the version');
  assert.equal(sm.storeList().length, 3);
});

test('register: a retried first registration gets the same id; another live store at the address is refused', () => {
  const sm = new MetaStateMachine();
  const a = register(sm, 1);
  assert.equal(register(sm, 1), a, 'id 0 again before any heartbeat: the answer was lost, same store');
  ok(report(sm, a, []), 'heartbeat');
  assert.equal(errCode(sm.apply(cmd({ registerStore: { storeId: 0, peerAddr: '10.0.0.1:7200', clientAddr: '10.0.0.1:6379' } }))), 'ADDR_IN_USE');
  assert.equal(errCode(sm.apply(cmd({ registerStore: { storeId: 0, peerAddr: '', clientAddr: 'x:1' } }))), 'INVALID');
});

test('register: an unknown non-zero id is kept and never handed out again', () => {
  const sm = new MetaStateMachine();
  assert.equal(register(sm, 1, 40), 40);
  assert.equal(register(sm, 2), 41);
  const a = ok(sm.apply(cmd({ allocIds: { count: 5 } })), 'alloc');
  assert.deepEqual([a.first, a.count], [42, 5]);
  assert.equal(sm.peekNextId, 47);
});

test('alloc_ids: contiguous ranges; invalid counts refused', () => {
  const sm = new MetaStateMachine();
  const a = ok(sm.apply(cmd({ allocIds: { count: 3 } })), 'alloc');
  const b = ok(sm.apply(cmd({ allocIds: { count: 1 } })), 'alloc');
  assert.deepEqual([a.first, a.count, b.first], [1, 3, 4]);
  assert.equal(errCode(sm.apply(cmd({ allocIds: { count: 0 } }))), 'INVALID');
  assert.equal(errCode(sm.apply(cmd({ allocIds: { count: 1_000_000 } }))), 'INVALID');
  assert.equal(sm.version, 0, 'allocating ids does not change the routing view');
});

test('bootstrap: even split of [0,16384), 3 voters each, epoch 1/1, ids from the allocator', () => {
  const { sm, stores, regionIds } = cluster(3);
  assert.deepEqual(splitSlots(3), [[0, 5461], [5461, 10922], [10922, 16384]]);
  assert.deepEqual(regionIds, [4, 8, 12]);
  const list = sm.regionList();
  assert.deepEqual(list.map((r) => [r.region.startSlot, r.region.endSlot]), splitSlots(3));
  for (const r of list) {
    assert.deepEqual(r.region.epoch, { version: 1, confVer: 1 });
    assert.deepEqual(r.region.peers.map((p) => p.storeId), stores);
    assert.ok(r.region.peers.every((p) => p.role === pb.PeerRole.VOTER));
  }
  assert.deepEqual(list[0].region.peers.map((p) => p.id), [5, 6, 7]);
  assert.ok(sm.bootstrapped);
  assert.equal(sm.slotsAssigned(), 16384);
  assert.equal(sm.regionForSlot(0)!.region.id, 4);
  assert.equal(sm.regionForSlot(5460)!.region.id, 4);
  assert.equal(sm.regionForSlot(5461)!.region.id, 8);
  assert.equal(sm.regionForSlot(16383)!.region.id, 12);
  assert.equal(errCode(sm.apply(cmd({ bootstrap: { storeIds: stores, initialRegions: 1 } }))), 'BOOTSTRAPPED');
});

test('bootstrap refuses unknown, down or repeated stores and bad counts', () => {
  const sm = new MetaStateMachine();
  const s = [1, 2].map((i) => register(sm, i));
  assert.equal(errCode(sm.apply(cmd({ bootstrap: { storeIds: [...s, 99], initialRegions: 1 } }))), 'INVALID');
  assert.equal(errCode(sm.apply(cmd({ bootstrap: { storeIds: [s[0], s[0]], initialRegions: 1 } }))), 'INVALID');
  assert.equal(errCode(sm.apply(cmd({ bootstrap: { storeIds: s, initialRegions: 20000 } }))), 'INVALID');
  assert.equal(errCode(sm.apply(cmd({ bootstrap: { storeIds: [], initialRegions: 1 } }))), 'INVALID');
  assert.equal(sm.bootstrapped, false);
  assert.equal(sm.peekNextId, 3, 'a refused bootstrap allocates nothing');
});

test('determinism: two replicas applying the same log hold byte-identical snapshots', () => {
  const log: pb.MetaCommand.$Properties[] = [];
  const a = new MetaStateMachine();
  const push = (c: pb.MetaCommand.$Properties): void => {
    log.push(c);
    a.apply(c);
  };
  for (let i = 1; i <= 4; i++) push(cmd({ registerStore: { peerAddr: `h${i}:1`, clientAddr: `h${i}:2` } }));
  push(cmd({ bootstrap: { storeIds: [2, 3, 4], initialRegions: 7 } }));
  push(cmd({ allocIds: { count: 9 } }));
  push(cmd({ markStoreDown: { storeId: 1, lastHeartbeatMs: a.store(1)!.lastHeartbeatMs } }));
  const b = new MetaStateMachine();
  for (const c of log) b.apply(pb.MetaCommand.decode(pb.MetaCommand.encode(c).finish()));
  assert.deepEqual(Buffer.from(b.encodeSnapshot()), Buffer.from(a.encodeSnapshot()));
});

test('heartbeat: updates the store; an unchanged report does not bump the version; unknown stores refused', () => {
  const { sm, stores, regionIds } = cluster();
  const d = desc(sm, regionIds[0]);
  ok(report(sm, stores[0], [{ region: d, isLeader: true, term: 6, leaderPeerId: 5 }]), 'heartbeat');
  const v = sm.version;
  const at = (clock += 10);
  ok(sm.apply(cmd({ storeHeartbeat: { store: { id: stores[0], capacityBytes: 100, usedBytes: 7 }, regions: [{ region: d, isLeader: true, term: 6 }] } }, at)), 'heartbeat');
  assert.equal(sm.version, v);
  const s = sm.store(stores[0])!;
  assert.deepEqual([s.capacityBytes, s.usedBytes, s.regionCount, s.leaderCount, s.lastHeartbeatMs, s.heartbeatCount], [100, 7, 1, 1, at, 2]);
  assert.equal(errCode(report(sm, 77, [])), 'STORE_UNKNOWN');
});

test('heartbeat: an older epoch never overwrites the map; a newer one does (version, then conf_ver)', () => {
  const { sm, stores, regionIds } = cluster();
  const id = regionIds[0];
  const newer = desc(sm, id);
  newer.epoch = { version: 1, confVer: 2 };
  newer.peers = newer.peers!.slice(0, 2);
  ok(report(sm, stores[0], [{ region: newer, isLeader: true, term: 7 }]), 'heartbeat');
  assert.deepEqual(sm.region(id)!.region.epoch, { version: 1, confVer: 2 });
  assert.equal(sm.region(id)!.region.peers.length, 2);

  const stale = desc(sm, id);
  stale.epoch = { version: 1, confVer: 1 };
  stale.peers = [...stale.peers!, { id: 99, storeId: stores[2], role: pb.PeerRole.VOTER }];
  const v = sm.version;
  ok(report(sm, stores[2], [{ region: stale, isLeader: true, term: 9 }]), 'heartbeat');
  assert.deepEqual(sm.region(id)!.region.epoch, { version: 1, confVer: 2 }, 'stale conf_ver ignored');
  assert.equal(sm.region(id)!.region.peers.length, 2);
  assert.equal(sm.region(id)!.term, 7, 'a stale report does not move the leader either');
  assert.equal(sm.version, v);

  const staleVersion = desc(sm, id);
  staleVersion.epoch = { version: 0, confVer: 5 };
  ok(report(sm, stores[1], [{ region: staleVersion, isLeader: true, term: 10 }]), 'heartbeat');
  assert.deepEqual(sm.region(id)!.region.epoch, { version: 1, confVer: 2 }, 'version compares first');
  assert.equal(compareEpoch({ version: 2, confVer: 0 }, { version: 1, confVer: 9 }), 1);
});

test('heartbeat: the leader is the is_leader report with the highest term', () => {
  const { sm, stores, regionIds } = cluster();
  const id = regionIds[0];
  const d = desc(sm, id);
  const peerOf = (store: number): number => d.peers!.find((p) => p.storeId === store)!.id as number;
  ok(report(sm, stores[0], [{ region: d, isLeader: true, term: 6 }]), 'heartbeat');
  assert.equal(sm.region(id)!.leaderStoreId, stores[0]);
  assert.equal(sm.region(id)!.leaderPeerId, peerOf(stores[0]));
  // A leader at a higher term wins.
  ok(report(sm, stores[1], [{ region: d, isLeader: true, term: 8 }]), 'heartbeat');
  assert.equal(sm.region(id)!.leaderStoreId, stores[1]);
  // The deposed leader's late report (lower term) does not win back.
  ok(report(sm, stores[0], [{ region: d, isLeader: true, term: 6 }]), 'heartbeat');
  assert.equal(sm.region(id)!.leaderStoreId, stores[1]);
  // A follower's report at the same term that knows no leader does not erase it.
  ok(report(sm, stores[2], [{ region: d, isLeader: false, term: 8, leaderPeerId: 0 }]), 'heartbeat');
  assert.equal(sm.region(id)!.leaderStoreId, stores[1]);
  // A follower at a newer term names the leader it follows.
  ok(report(sm, stores[2], [{ region: d, isLeader: false, term: 9, leaderPeerId: peerOf(stores[0]) }]), 'heartbeat');
  assert.equal(sm.region(id)!.leaderStoreId, stores[0]);
  assert.equal(sm.region(id)!.term, 9);
  // Approximate sizes come from the leader's report only.
  ok(report(sm, stores[1], [{ region: d, isLeader: false, term: 9, leaderPeerId: peerOf(stores[0]), approximateKeys: 5 }]), 'heartbeat');
  assert.equal(sm.region(id)!.approximateKeys, 0);
  ok(report(sm, stores[0], [{ region: d, isLeader: true, term: 9, approximateKeys: 42, approximateBytes: 4200 }]), 'heartbeat');
  assert.equal(sm.region(id)!.approximateKeys, 42);
});

test('heartbeat: a split\'s new region replaces the older parent it overlaps; the stale parent cannot come back', () => {
  const { sm, stores, regionIds } = cluster();
  const parentId = regionIds[0];
  const parent = desc(sm, parentId);
  const child: pb.Region.$Properties = { id: 100, startSlot: 8192, endSlot: 16384, epoch: { version: 2, confVer: 1 }, peers: parent.peers!.map((p, i) => ({ ...p, id: 101 + i })) };
  ok(report(sm, stores[0], [{ region: child, isLeader: true, term: 6 }]), 'heartbeat');
  assert.equal(sm.region(parentId), undefined, 'the v1 parent overlapped the v2 child');
  assert.equal(sm.regionForSlot(9000)!.region.id, 100);
  // The old parent descriptor arriving late is stale.
  ok(report(sm, stores[1], [{ region: parent, isLeader: true, term: 6 }]), 'heartbeat');
  assert.equal(sm.region(parentId), undefined);
  // The parent's new descriptor fills the rest.
  const newParent = { ...parent, endSlot: 8192, epoch: { version: 2, confVer: 1 } };
  ok(report(sm, stores[0], [{ region: newParent, isLeader: true, term: 6 }]), 'heartbeat');
  assert.deepEqual(sm.regionList().map((r) => [r.region.id, r.region.startSlot, r.region.endSlot]), [[parentId, 0, 8192], [100, 8192, 16384]]);
  assert.equal(sm.slotsAssigned(), 16384);
  // Nonsense ranges are ignored.
  ok(report(sm, stores[0], [{ region: { id: 500, startSlot: 10, endSlot: 5, epoch: { version: 9 } } }]), 'heartbeat');
  assert.equal(sm.region(500), undefined);
});

test('create_peer instructions: bootstrap-epoch regions on the store that it did not report', () => {
  const { sm, stores, regionIds } = cluster(2);
  const outsider = register(sm, 4);
  assert.deepEqual(sm.createPeerInstructions(stores[0], []).map((i) => i.regionId), regionIds);
  assert.deepEqual(sm.createPeerInstructions(stores[0], [regionIds[0]]).map((i) => i.regionId), [regionIds[1]]);
  assert.deepEqual(sm.createPeerInstructions(outsider, []), []);
  const ins = sm.createPeerInstructions(stores[1], [])[0];
  assert.equal(ins.createPeer!.id, regionIds[0]);
  assert.equal(ins.createPeer!.peers!.length, 3);
  // Once the region's epoch moved on, no more create_peer for it.
  const d = desc(sm, regionIds[0]);
  d.epoch = { version: 1, confVer: 2 };
  ok(report(sm, stores[0], [{ region: d, isLeader: true, term: 6 }]), 'heartbeat');
  assert.deepEqual(sm.createPeerInstructions(stores[1], []).map((i) => i.regionId), [regionIds[1]]);
});

test('mark down: only if no heartbeat since the decision; clears its leaderships; a heartbeat brings it back', () => {
  const { sm, stores, regionIds } = cluster();
  const d = desc(sm, regionIds[0]);
  ok(report(sm, stores[0], [{ region: d, isLeader: true, term: 6 }], 5_000_000), 'heartbeat');
  const last = sm.store(stores[0])!.lastHeartbeatMs;
  assert.ok(!sm.storesToMarkDown(last + 1000, 10_000).some((s) => s.id === stores[0]));
  assert.ok(sm.storesToMarkDown(last + 10_001, 10_000).some((s) => s.id === stores[0]));
  // A heartbeat arrived after the leader decided: the CAS fails.
  assert.equal(ok(sm.apply(cmd({ markStoreDown: { storeId: stores[0], lastHeartbeatMs: last - 1 } })), 'down').marked, false);
  const v = sm.version;
  assert.equal(ok(sm.apply(cmd({ markStoreDown: { storeId: stores[0], lastHeartbeatMs: last } })), 'down').marked, true);
  assert.equal(sm.store(stores[0])!.state, pb.StoreState.DOWN);
  assert.equal(sm.region(regionIds[0])!.leaderStoreId, 0);
  assert.ok(sm.version > v);
  assert.equal(ok(sm.apply(cmd({ markStoreDown: { storeId: stores[0], lastHeartbeatMs: last } })), 'down').marked, false, 'already down');
  ok(report(sm, stores[0], []), 'heartbeat');
  assert.equal(sm.store(stores[0])!.state, pb.StoreState.UP);
});

test('clock: time comes from the commands and never goes back', () => {
  const sm = new MetaStateMachine();
  sm.apply({ proposedAtMs: 5000, allocIds: { count: 1 } });
  sm.apply({ proposedAtMs: 4000, registerStore: { peerAddr: 'a:1', clientAddr: 'a:2' } });
  assert.equal(sm.clock, 5000);
  assert.equal(sm.store(2)!.lastHeartbeatMs, 5000);
});

test('snapshot and restore round-trip the whole state', () => {
  const { sm, stores, regionIds } = cluster(4);
  ok(report(sm, stores[1], [{ region: desc(sm, regionIds[2]), isLeader: true, term: 7, approximateKeys: 3 }]), 'heartbeat');
  const bytes = sm.encodeSnapshot();
  const copy = MetaStateMachine.decode(bytes);
  assert.deepEqual(Buffer.from(copy.encodeSnapshot()), Buffer.from(bytes));
  assert.deepEqual(copy.view(), sm.view());
  assert.equal(copy.peekNextId, sm.peekNextId);
  assert.equal(copy.regionForSlot(16383)!.region.id, regionIds[3]);
  // The copy goes on exactly like the original.
  const c = cmd({ allocIds: { count: 2 } });
  assert.deepEqual(copy.apply(c), sm.apply(c));
});

test('unknown or empty commands are no-ops', () => {
  const sm = new MetaStateMachine();
  assert.equal(sm.apply({ proposedAtMs: 1 }).kind, 'noop');
  assert.equal(sm.version, 0);
});
