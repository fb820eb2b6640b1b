// Replica moves interrupted by kill -9, with ioredis clients writing
// throughout: of the target store once its learner is added, of the store
// that leads the region (and is leaving it), and of the meta. Each time the
// operator still finishes once the process is back, every acknowledged write
// is read back at the end, and the region's replicas agree.
import { test } from 'node:test';
import { startWriters, waitFor, withCluster, type Cluster, type Node } from '../support';

/** The region of slot 0 in the meta's map: id, leader store, and store ids of its peers. */
async function region0(c: Cluster): Promise<{ id: number; leader: number; stores: number[]; learners: number }> {
  const line = (await c.admin(c.metas[0], 'REGION', 'LIST')).split('\n')[0];
  const peers = /peers=(\S+)/.exec(line)![1].split(',');
  return {
    id: Number(/id=(\d+)/.exec(line)![1]),
    leader: Number(/leader_store=(\d+)/.exec(line)![1]),
    stores: peers.map((p) => Number(p.replace(/\(learner\)$/, '').split('@')[1])),
    learners: peers.filter((p) => p.endsWith('(learner)')).length,
  };
}

/** OPERATOR SHOW as {state, step}; undefined while the meta cannot answer. */
async function operator(c: Cluster, id: number): Promise<{ state: string; step: number } | undefined> {
  const v = await c.metas[0].call('OPERATOR', 'SHOW', id);
  if (!Array.isArray(v)) return undefined; // the meta restarting (CLUSTERDOWN), or not yet applied
  const m = new Map<string, unknown>();
  for (let i = 0; i + 1 < v.length; i += 2) m.set(String(v[i]), v[i + 1]);
  return { state: String(m.get('state')), step: Number(m.get('step')) };
}

async function moveWith(c: Cluster, regionId: number, from: number, to: number, interrupt: (step: number) => Promise<void>): Promise<void> {
  const id = await waitFor(
    async () => {
      const r = await c.metas[0].call('REGION', 'MOVE', regionId, from, to);
      return typeof r === 'number' || /^\d+$/.test(String(r)) ? Number(r) : undefined;
    },
    { timeoutMs: 30_000, what: `REGION MOVE ${regionId} ${from} ${to} accepted` },
  );
  await interrupt(id);
  await waitFor(
    async () => {
      const o = await operator(c, id).catch(() => undefined);
      if (o && o.state !== 'running' && o.state !== 'done') throw new Error(`operator ${id} ${o.state}`);
      return o?.state === 'done';
    },
    { timeoutMs: 120_000, intervalMs: 200, what: `move operator ${id} done`, rethrow: () => true },
  );
}

test('moves interrupted by kill -9 of the target store, the leaving leader\'s store and the meta converge; nothing acknowledged is lost', { timeout: 400_000 }, async (t) => {
  const c = await withCluster(t, { stores: 4, laterStores: 1 });
  const writers = startWriters(c.stores.slice(0, 3), 3, 'mf', { cluster: true });
  t.after(() => writers.stop());
  c.stores[3].start();
  await c.stores[3].ready();
  const nodeOf = new Map<number, Node>();
  await waitFor(
    async () => {
      for (const l of (await c.admin(c.metas[0], 'STORE', 'LIST')).split('\n')) {
        const m = /id=(\d+) .*client_addr=\S+:(\d+) state=up/.exec(l);
        if (m) nodeOf.set(Number(m[1]), c.stores.find((s) => s.port === Number(m[2]))!);
      }
      return nodeOf.size === 4;
    },
    { timeoutMs: 30_000, what: 'four stores up' },
  );
  const restart = async (n: Node) => {
    await n.kill9();
    n.start();
    await n.ready();
  };
  const stepAtLeast = (opId: number, step: number) =>
    waitFor(async () => ((await operator(c, opId))?.step ?? -1) >= step, { timeoutMs: 60_000, intervalMs: 50, what: `operator ${opId} at step ${step + 1}` });

  // 1. The target store dies once its learner is in the region.
  let r = await waitFor(async () => ((await region0(c)).leader ? region0(c) : undefined), { timeoutMs: 20_000, what: 'a leader in the map' });
  let spare = [...nodeOf.keys()].find((s) => !r.stores.includes(s))!;
  let from = r.stores.find((s) => s !== r.leader)!;
  await moveWith(c, r.id, from, spare, async (op) => {
    await stepAtLeast(op, 1);
    await restart(nodeOf.get(spare)!);
  });

  // 2. The leader's store is the one leaving; it dies once the learner is in.
  r = await waitFor(async () => ((await region0(c)).leader ? region0(c) : undefined), { timeoutMs: 20_000, what: 'a leader in the map' });
  spare = [...nodeOf.keys()].find((s) => !r.stores.includes(s))!;
  from = r.leader;
  await moveWith(c, r.id, from, spare, async (op) => {
    await stepAtLeast(op, 1);
    await restart(nodeOf.get(from)!);
  });

  // 3. The meta dies mid-move; the operator lives in its replicated state.
  r = await waitFor(async () => ((await region0(c)).leader ? region0(c) : undefined), { timeoutMs: 20_000, what: 'a leader in the map' });
  spare = [...nodeOf.keys()].find((s) => !r.stores.includes(s))!;
  await moveWith(c, r.id, r.stores.find((s) => s !== r.leader)!, spare, async () => {
    await restart(c.metas[0]);
  });

  r = await waitFor(
    async () => {
      const x = await region0(c);
      return x.stores.length === 3 && x.learners === 0 && x.leader ? x : undefined;
    },
    { timeoutMs: 30_000, what: 'three voters, a leader' },
  );
  const before = writers.acks.length;
  await waitFor(async () => writers.acks.length >= before + 100, { timeoutMs: 30_000, what: '100 more writes after the moves' });
  await writers.stop();
  t.diagnostic(`${writers.acks.length} writes acknowledged, ${writers.errors.length} errors`);
  await c.expectAcked(c.stores[0], writers.acks);
  // The store that left holds no replica of the region any more (it destroys a stale one).
  const out = [...nodeOf.keys()].find((s) => !r.stores.includes(s))!;
  await waitFor(async () => !(await c.regionList(nodeOf.get(out)!)).some((x) => x.id === r.id), { timeoutMs: 30_000, what: `store ${out} to drop its replica` });
  await nodeOf.get(out)!.stop();
  await c.expectReplicasEqual(r.id);
});
