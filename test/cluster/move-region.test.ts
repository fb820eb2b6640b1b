// A 4th store joins a 3-store cluster and `redraft ctl move-region` moves the
// region's replica from the store that leads it onto the new store, while
// ioredis clients write: the leader hands its leadership over before it is
// removed, every acknowledged write is read back at the end, the replicas
// left agree, and the old replica is gone from the source store for good
// (no data or Raft state left in its RocksDB, not back after a restart).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { RocksEngine, dataRange, pb, regionLocalRange, regionStateKey } from '@redraft/common';
import { RespError, startWriters, waitFor, withCluster, ctl } from '../support';

async function countKeys(engine: RocksEngine, [gte, lt]: [Buffer, Buffer]): Promise<number> {
  let n = 0;
  for await (const _ of engine.scan({ gte, lt, keysOnly: true })) n++;
  return n;
}

test('move-region: a replica moves onto a newly joined store while clients write', { timeout: 300_000 }, async (t) => {
  const c = await withCluster(t, { stores: 4, laterStores: 1 });
  const meta = c.metas[0];
  const writers = startWriters(c.stores.slice(0, 3), 4, 'mv');
  t.after(() => writers.stop());

  // Store ids come from the meta's allocator: each node's id by its client address.
  const storeIds = async (): Promise<Map<number, number>> => {
    const out = new Map<number, number>();
    for (const l of (await c.admin(meta, 'STORE', 'LIST')).split('\n')) {
      const m = /id=(\d+) .*client_addr=\S+:(\d+) state=up/.exec(l);
      if (m) out.set(Number(m[2]), Number(m[1]));
    }
    return out;
  };
  const joined = c.stores[3];
  joined.start();
  await joined.ready();
  const ids = await waitFor(async () => {
    const m = await storeIds();
    return m.size === 4 ? m : undefined;
  }, { timeoutMs: 30_000, what: 'the 4th store up in STORE LIST' });
  const to = ids.get(joined.port)!;

  const region = await waitFor(
    async () => {
      const line = (await c.admin(meta, 'REGION', 'LIST')).split('\n').find(Boolean) ?? '';
      const leader = Number(/leader_store=(\d+)/.exec(line)?.[1] ?? 0);
      return leader ? { id: Number(/id=(\d+)/.exec(line)![1]), leader } : undefined;
    },
    { timeoutMs: 20_000, what: 'a region with a known leader in the map' },
  );
  await waitFor(async () => writers.acks.length >= 200, { timeoutMs: 30_000, what: '200 acknowledged writes before the move' });

  // Errors first: exit 2 for bad arguments, 1 with the meta's reason.
  const same = await ctl(meta.port, 'move-region', String(region.id), String(to), String(to));
  assert.equal(same.code, 2, same.stderr);
  assert.match(same.stderr, /the source and target store are the same/);
  const noReplica = await ctl(meta.port, 'move-region', String(region.id), String(to), String(region.leader));
  assert.equal(noReplica.code, 1, noReplica.stderr);
  assert.match(noReplica.stderr, new RegExp(`has no replica on store ${to}`));
  const bad = await meta.call('REGION', 'MOVE', 'x', '1', String(to));
  assert.ok(bad instanceof RespError && /region id must be a positive integer/.test(bad.message), String(bad));

  // The move, from the leader's store (it hands over its leadership before its removal).
  const from = region.leader;
  const fromNode = c.stores.find((s) => ids.get(s.port) === from)!;
  const move = await ctl(meta.port, 'move-region', String(region.id), String(from), String(to));
  assert.equal(move.code, 0, move.stderr + move.stdout);
  assert.match(move.stdout, /operator \d+ (running|done), step \d\/3/, 'progress lines (not a TTY)');
  assert.match(move.stdout, new RegExp(`done: region ${region.id} moved from store ${from} to store ${to}`));
  const line = (await c.admin(meta, 'REGION', 'LIST')).split('\n')[0];
  const peers = /peers=(\S+)/.exec(line)![1].split(',');
  assert.equal(peers.length, 3, line);
  assert.ok(peers.some((p) => p.endsWith(`@${to}`)) && !peers.some((p) => p.endsWith(`@${from}`)), line);
  assert.match(line, /epoch=\d+\/4/, 'three membership changes: conf_ver 1 → 4');

  // The source store destroys its replica; writes go on meanwhile.
  await waitFor(async () => !(await c.regionList(fromNode)).some((r) => r.id === region.id), { timeoutMs: 30_000, what: `store ${from} to drop its replica of region ${region.id}` });
  const before = writers.acks.length;
  await waitFor(async () => writers.acks.length >= before + 200, { timeoutMs: 30_000, what: '200 more acknowledged writes after the move' });
  await writers.stop();
  t.diagnostic(`${writers.acks.length} writes acknowledged, ${writers.errors.length} errors (${[...new Set(writers.errors.map((e) => e.message))].slice(0, 3).join('; ')})`);

  // Every acknowledged write, read through the new store.
  await c.expectAcked(joined, writers.acks);

  // The source store holds nothing of the region: no data, no Raft state, a tombstone.
  await fromNode.stop();
  await c.expectReplicasEqual(region.id);
  const engine = await RocksEngine.open(join(fromNode.dataDir, 'db'));
  try {
    assert.equal(await countKeys(engine, dataRange(0, 16384)), 0, 'data keys left on the source store');
    assert.equal(await countKeys(engine, regionLocalRange(region.id)), 1, 'only the region state record is left');
    const st = pb.RegionLocalState.decode((await engine.get(regionStateKey(region.id)))!);
    assert.equal(st.state, pb.PeerState.TOMBSTONE);
  } finally {
    await engine.close();
  }
  // A restart does not bring it back.
  fromNode.start();
  await fromNode.ready();
  await c.waitClusterOk(fromNode);
  assert.ok(!(await c.regionList(fromNode)).some((r) => r.id === region.id), 'the removed replica came back after a restart');
  assert.equal(await fromNode.call('GET', writers.acks[0].key), writers.acks[0].value, 'the restarted store still serves (forwarding)');
});
