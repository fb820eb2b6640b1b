// Splits interrupted by kill -9: of the store that leads the region being
// split (right after the split is asked), and of the meta leader (operators
// live in the meta's replicated state). Clients write throughout; the cluster
// converges, each operator ends (done, or timed out and reported), every
// acknowledged write reads back and the replicas of every region agree.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startWriters, waitFor, withCluster, type Cluster, type Node } from '../support';

async function metaLeader(c: Cluster): Promise<Node> {
  return waitFor(
    async () => {
      for (const m of c.metas.filter((x) => x.running)) if (/meta_role:leader/.test(String(await m.call('INFO', 'meta')))) return m;
      return undefined;
    },
    { timeoutMs: 20_000, what: 'a meta leader' },
  );
}

async function operatorEnd(c: Cluster, id: number): Promise<{ state: string; reason: string }> {
  return waitFor(
    async () => {
      const m = c.metas.find((x) => x.running)!;
      const v = await m.call('OPERATOR', 'SHOW', String(id)).catch(() => undefined);
      if (!Array.isArray(v)) return undefined;
      const f = new Map<string, unknown>();
      for (let i = 0; i + 1 < v.length; i += 2) f.set(String(v[i]), v[i + 1]);
      return f.get('state') === 'running' ? undefined : { state: String(f.get('state')), reason: String(f.get('reason')) };
    },
    { timeoutMs: 90_000, intervalMs: 250, what: `operator ${id} to end` },
  );
}

/** REGION LIST from a running meta replica (one restarted a moment ago answers CLUSTERDOWN until it knows the leader). */
async function regionsOfMeta(c: Cluster): Promise<{ id: number; slots: string }[]> {
  return waitFor(
    async () => {
      for (const m of c.metas.filter((x) => x.running)) {
        const text = await c.admin(m, 'REGION', 'LIST').catch(() => undefined);
        if (text !== undefined) {
          return text
            .split('\n')
            .filter(Boolean)
            .map((l) => ({ id: Number(/id=(\d+)/.exec(l)![1]), slots: /slots=(\S+)/.exec(l)![1] }));
        }
      }
      return undefined;
    },
    { timeoutMs: 20_000, intervalMs: 100, what: 'REGION LIST from a meta replica' },
  );
}

test('a split survives kill -9 of the region leader\'s store and of the meta leader', { timeout: 300_000 }, async (t) => {
  const c = await withCluster(t, { metas: 3 });
  const writers = startWriters(c.stores, 4, 'w');
  await waitFor(() => writers.acks.length > 100, { timeoutMs: 30_000, what: 'writes before the faults' });

  // 1. Split, then kill -9 the store that leads the region at once.
  const [only] = await regionsOfMeta(c);
  const leaderStore = await c.leaderStore({ slot: 0 });
  const op1 = Number(await (await metaLeader(c)).call('REGION', 'SPLIT', String(only.id), '6000'));
  await leaderStore.kill9();
  leaderStore.start();
  await leaderStore.ready();
  const end1 = await operatorEnd(c, op1);
  t.diagnostic(`split with the leader's store killed: ${JSON.stringify(end1)}`);

  // 2. Split the other half, then kill -9 the meta leader at once.
  await waitFor(async () => (await regionsOfMeta(c)).length === 2, { timeoutMs: 30_000, what: 'two regions in the map' });
  const half = (await regionsOfMeta(c)).find((r) => r.slots.startsWith('6000-'))!;
  const ml = await metaLeader(c);
  const op2 = Number(await ml.call('REGION', 'SPLIT', String(half.id), '12000'));
  await ml.kill9();
  const end2 = await operatorEnd(c, op2);
  t.diagnostic(`split with the meta leader killed: ${JSON.stringify(end2)}`);
  ml.start();
  await ml.ready();

  const before = writers.acks.length;
  await waitFor(() => writers.acks.length > before + 200, { timeoutMs: 30_000, what: 'writes after the faults' });
  await writers.stop();

  // Converged: the operators ended; the split they asked for is in the map (done) or the region is whole (timed out).
  assert.equal(end1.state, 'done', `operator ${op1}: ${JSON.stringify(end1)}`);
  assert.equal(end2.state, 'done', `operator ${op2}: ${JSON.stringify(end2)}`);
  const regions = await regionsOfMeta(c);
  assert.deepEqual(regions.map((r) => r.slots), ['0-5999', '6000-11999', '12000-16383']);
  for (const s of c.stores) await waitFor(async () => (await c.slots(s)).length === 3, { timeoutMs: 20_000, what: `three shards on ${s.name}` });

  for (const s of c.stores) await c.expectAcked(s, writers.acks);
  for (const r of regions) await c.expectReplicasEqual(r.id);
  t.diagnostic(`acks=${writers.acks.length} errors=${writers.errors.length}`);
});
