// Online region merge (docs/decisions.md, "Region merge"), with ioredis
// clients writing and reading throughout: the only region is split, the
// keys of a batch are deleted, and `redraft ctl merge-region` merges the two
// halves back; CLUSTER SLOTS shows one shard on every store, every
// acknowledged write reads back, and the merged region's replicas agree.
// Merges interrupted by kill -9 of the store that leads both regions, and of
// the meta, still converge; the merge checker merges small regions; a merge
// stuck in its prepare is rolled back.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RespError, respMany, startWriters, waitFor, withCluster, type Cluster, ctl } from '../support';

async function metaRegions(c: Cluster): Promise<{ id: number; start: number; end: number; leader: number }[]> {
  const text = await c.admin(c.metas[0], 'REGION', 'LIST');
  return text
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      const [, a, b] = /slots=(\d+)-(\d+)/.exec(l)!;
      return { id: Number(/id=(\d+)/.exec(l)![1]), start: Number(a), end: Number(b), leader: Number(/leader_store=(\d+)/.exec(l)?.[1] ?? 0) };
    });
}

/** OPERATOR SHOW as {state, step, reason}; undefined while the meta cannot answer. */
async function operator(c: Cluster, id: number): Promise<{ state: string; step: number; reason: string } | undefined> {
  const v = await c.metas[0].call('OPERATOR', 'SHOW', id);
  if (!Array.isArray(v)) return undefined;
  const m = new Map<string, unknown>();
  for (let i = 0; i + 1 < v.length; i += 2) m.set(String(v[i]), v[i + 1]);
  return { state: String(m.get('state')), step: Number(m.get('step')), reason: String(m.get('reason') ?? '') };
}

async function waitOperatorDone(c: Cluster, id: number, timeoutMs: number): Promise<void> {
  await waitFor(
    async () => {
      const o = await operator(c, id).catch(() => undefined);
      if (o && o.state !== 'running' && o.state !== 'done') throw new Error(`operator ${id} ${o.state}: ${o.reason}`);
      return o?.state === 'done';
    },
    { timeoutMs, intervalMs: 100, what: `operator ${id} done`, rethrow: () => true },
  );
}

async function split(c: Cluster, regionId: number): Promise<void> {
  const id = await c.metas[0].call('REGION', 'SPLIT', String(regionId));
  assert.equal(typeof id, 'number', String(id));
  await waitOperatorDone(c, id as number, 30_000);
}

async function oneShardEverywhere(c: Cluster): Promise<void> {
  for (const s of c.stores.filter((n) => n.running)) {
    await waitFor(async () => (await c.slots(s)).length === 1, { timeoutMs: 20_000, what: `one shard in CLUSTER SLOTS on ${s.name}` });
    const [only] = await c.slots(s);
    assert.deepEqual([only.start, only.end], [0, 16383], `CLUSTER SLOTS on ${s.name}`);
  }
}

test('split, delete keys, merge back with ctl merge-region while clients write and read', { timeout: 240_000 }, async (t) => {
  const c = await withCluster(t);
  const meta = c.metas[0];
  const plain = startWriters(c.stores, 3, 'mp');
  const cluster = startWriters(c.stores, 2, 'mc', { cluster: true });
  t.after(async () => {
    await plain.stop();
    await cluster.stop();
  });
  await waitFor(() => plain.acks.length > 50 && cluster.acks.length > 20, { timeoutMs: 30_000, what: 'writes before the split' });

  const [only] = await metaRegions(c);
  await split(c, only.id);
  const [left, right] = (await metaRegions(c)).sort((a, b) => a.start - b.start);
  assert.equal(right.start, 8192);

  // A batch of keys written and deleted again: the regions are small once more.
  const keys = Array.from({ length: 300 }, (_, i) => `tmp:${i}`);
  const set = await respMany(c.stores[0].port, keys.map((k) => ['SET', k, 'x'.repeat(100)]), { timeoutMs: 30_000 });
  assert.ok(set.every((r) => r === 'OK'), JSON.stringify(set.filter((r) => r !== 'OK').slice(0, 3)));
  const del = await respMany(c.stores[1].port, keys.map((k) => ['DEL', k]), { timeoutMs: 30_000 });
  assert.ok(del.every((r) => r === 1), JSON.stringify(del.slice(0, 3)));
  await waitFor(() => plain.acks.length > 300, { timeoutMs: 30_000, what: 'writes after the split' });

  // Usage errors first (exit 2), then the merge: the right half into the left one.
  const self = await ctl(meta.port, 'merge-region', String(right.id), String(right.id));
  assert.equal(self.code, 2, self.stderr + self.stdout);
  const run = await ctl(meta.port, 'merge-region', String(right.id));
  assert.equal(run.code, 0, run.stderr + run.stdout);
  assert.match(run.stdout, /operator \d+ (running|done), step \d\/2/, 'progress lines (not a TTY)');
  assert.match(run.stdout, new RegExp(`done: region ${left.id} takes over region ${right.id} \\(slots 8192-16383\\)`));

  const before = plain.acks.length + cluster.acks.length;
  await waitFor(() => plain.acks.length + cluster.acks.length > before + 300, { timeoutMs: 30_000, what: 'writes after the merge' });
  await plain.stop();
  await cluster.stop();

  await oneShardEverywhere(c);
  const regions = await metaRegions(c);
  assert.deepEqual(regions.map((r) => [r.id, r.start, r.end]), [[left.id, 0, 16383]]);

  // Every acknowledged write reads back through every store; the deleted keys stay deleted.
  const acks = [...plain.acks, ...cluster.acks];
  for (const s of c.stores) await c.expectAcked(s, acks);
  assert.ok((await c.readAll(c.stores[2], keys)).every((v) => v === null), 'deleted keys stay deleted');
  const errors = [...plain.errors, ...cluster.errors];
  t.diagnostic(`acks=${acks.length} errors=${errors.length} ${JSON.stringify(errors.slice(0, 5))}`);
  await c.expectReplicasEqual(left.id);

  // Clear errors for merges that cannot be.
  const alone = await meta.call('REGION', 'MERGE', String(left.id));
  assert.ok(alone instanceof RespError && /has no neighbour/.test(alone.message), String(alone));
  const bad = await meta.call('REGION', 'MERGE', 'x');
  assert.ok(bad instanceof RespError && /region id must be a positive integer/.test(bad.message), String(bad));
  const none = await ctl(meta.port, 'merge-region', '999999');
  assert.notEqual(none.code, 0);
  assert.match(none.stderr, /not in the map/);
});

test('merges interrupted by kill -9 of the store that leads both regions, then of the meta, converge; nothing acknowledged is lost', { timeout: 300_000 }, async (t) => {
  const c = await withCluster(t);
  const writers = startWriters(c.stores, 3, 'mk', { cluster: true });
  t.after(() => writers.stop());
  await waitFor(() => writers.acks.length > 50, { timeoutMs: 30_000, what: 'writes before the split' });
  const [only] = await metaRegions(c);
  await split(c, only.id);
  const [left, right] = await waitFor(
    async () => {
      const rs = (await metaRegions(c)).sort((a, b) => a.start - b.start);
      return rs.length === 2 && rs.every((r) => r.leader) ? rs : undefined;
    },
    { timeoutMs: 20_000, what: 'both halves led' },
  );
  // The store that leads the source (the new half: the parent's leader store campaigned for it).
  const storeList = await c.admin(c.metas[0], 'STORE', 'LIST');
  const port = Number(new RegExp(`id=${right.leader} .*client_addr=\\S+:(\\d+)`).exec(storeList)![1]);
  const victim = c.stores.find((s) => s.port === port)!;

  const id = await c.metas[0].call('REGION', 'MERGE', String(right.id));
  assert.equal(typeof id, 'number', String(id));
  await victim.kill9();
  victim.start();
  await victim.ready();
  await waitOperatorDone(c, id as number, 120_000);

  const before = writers.acks.length;
  await waitFor(() => writers.acks.length > before + 200, { timeoutMs: 30_000, what: 'writes after the merge' });
  await writers.stop();
  await oneShardEverywhere(c);
  for (const s of c.stores) await c.expectAcked(s, writers.acks);
  await c.expectReplicasEqual(left.id);

  // Again, with kill -9 of the meta right after the merge is created: the operator lives in its replicated state.
  const writers2 = startWriters(c.stores, 3, 'mk2', { cluster: true });
  t.after(() => writers2.stop());
  await split(c, left.id);
  const halves = (await metaRegions(c)).sort((a, b) => a.start - b.start);
  const id2 = await c.metas[0].call('REGION', 'MERGE', String(halves[1].id));
  assert.equal(typeof id2, 'number', String(id2));
  await c.metas[0].kill9();
  c.metas[0].start();
  await c.metas[0].ready();
  await waitOperatorDone(c, id2 as number, 120_000);
  const before2 = writers2.acks.length;
  await waitFor(() => writers2.acks.length > before2 + 200, { timeoutMs: 30_000, what: 'writes after the second merge' });
  await writers2.stop();
  await oneShardEverywhere(c);
  const acks = [...writers.acks, ...writers2.acks];
  for (const s of c.stores) await c.expectAcked(s, acks);
  t.diagnostic(`acks=${acks.length} errors=${writers.errors.length + writers2.errors.length} ${JSON.stringify([...writers.errors, ...writers2.errors].slice(0, 5))}`);
  await c.expectReplicasEqual(halves[0].id);
});

test('the merge checker, switched on, merges four small regions into one while clients write', { timeout: 240_000 }, async (t) => {
  const c = await withCluster(t, { metaArgs: ['--initial-regions', '4'] });
  const meta = c.metas[0];
  const writers = startWriters(c.stores, 3, 'mm', { cluster: true });
  t.after(() => writers.stop());
  await waitFor(() => writers.acks.length > 50, { timeoutMs: 30_000, what: 'writes before the merges' });
  assert.equal((await metaRegions(c)).length, 4);
  assert.match(await c.admin(meta, 'SCHEDULER', 'LIST'), /name=merge-checker state=off/, 'off by default');
  const bad = await meta.call('CONFIG', 'SET', 'merge-max-keys', 'many');
  assert.ok(bad instanceof RespError && /merge-max-keys must be a non-negative integer/.test(bad.message), String(bad));
  assert.equal(await meta.call('CONFIG', 'SET', 'merge-max-keys', '100000', 'merge-max-bytes', String(64 * 1024 * 1024)), 'OK');
  assert.equal(await meta.call('SCHEDULER', 'ENABLE', 'merge-checker'), 'OK');

  await waitFor(async () => (await metaRegions(c)).length === 1, { timeoutMs: 120_000, intervalMs: 250, what: 'one region left in the map' });
  const ops = await c.admin(meta, 'OPERATOR', 'LIST');
  assert.equal((ops.match(/kind=merge creator=scheduler state=done/g) ?? []).length, 3, ops);
  const before = writers.acks.length;
  await waitFor(() => writers.acks.length > before + 200, { timeoutMs: 30_000, what: 'writes after the merges' });
  await writers.stop();
  await oneShardEverywhere(c);
  for (const s of c.stores) await c.expectAcked(s, writers.acks);
  t.diagnostic(`acks=${writers.acks.length} errors=${writers.errors.length} ${JSON.stringify(writers.errors.slice(0, 5))}`);
  const [only] = await metaRegions(c);
  await c.expectReplicasEqual(only.id);
});

test('a merge that cannot finish its prepare (a store down) is cancelled and rolled back: the source serves again', { timeout: 240_000 }, async (t) => {
  const c = await withCluster(t);
  const meta = c.metas[0];
  const [only] = await metaRegions(c);
  await split(c, only.id);
  const [left, right] = await waitFor(
    async () => {
      const rs = (await metaRegions(c)).sort((a, b) => a.start - b.start);
      return rs.length === 2 && rs.every((r) => r.leader) ? rs : undefined;
    },
    { timeoutMs: 20_000, what: 'both halves led' },
  );
  const storeList = await c.admin(meta, 'STORE', 'LIST');
  const portOf = (id: number) => Number(new RegExp(`id=${id} .*client_addr=\\S+:(\\d+)`).exec(storeList)![1]);
  const leaderPorts = new Set([portOf(left.leader), portOf(right.leader)]);
  const down = c.stores.find((s) => !leaderPorts.has(s.port))!;
  const up = c.stores.filter((s) => s !== down);
  await down.kill9();
  const writers = startWriters(up, 3, 'mr', { cluster: true });
  t.after(() => writers.stop());
  await waitFor(() => writers.acks.length > 50, { timeoutMs: 30_000, what: 'writes with a store down' });

  const version = async () => Number(/epoch=(\d+)\//.exec((await c.admin(meta, 'REGION', 'LIST')).split('\n').find((l) => l.includes(`id=${right.id} `))!)![1]);
  const v0 = await version();
  const id = await meta.call('REGION', 'MERGE', String(right.id));
  assert.equal(typeof id, 'number', String(id));
  // Frozen on the two live replicas (the leader reports the prepared version); the third cannot report.
  await waitFor(async () => (await version()) === v0 + 1, { timeoutMs: 20_000, what: 'the source frozen' });
  assert.equal((await operator(c, id as number))!.step, 0, 'still waiting for every source replica');
  assert.equal(await meta.call('OPERATOR', 'CANCEL', String(id)), 'OK');
  await waitFor(async () => (await version()) === v0 + 2, { timeoutMs: 20_000, what: 'the source rolled back (version + 1 again)' });
  const before = writers.acks.length;
  await waitFor(() => writers.acks.length > before + 200, { timeoutMs: 30_000, what: 'writes after the rollback' });

  down.start();
  await down.ready();
  await writers.stop();
  for (const s of c.stores) {
    await waitFor(async () => (await c.slots(s)).length === 2, { timeoutMs: 20_000, what: `two shards in CLUSTER SLOTS on ${s.name}` });
    await c.expectAcked(s, writers.acks);
  }
  t.diagnostic(`acks=${writers.acks.length} errors=${writers.errors.length} ${JSON.stringify(writers.errors.slice(0, 5))}`);
  await c.expectReplicasEqual(left.id);
  await c.expectReplicasEqual(right.id);
});
