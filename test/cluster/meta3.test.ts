// Issue 4, "what it must show" #5: a 3-replica meta group keeps serving
// heartbeats and admin commands with one replica killed (its leader, the
// harder case); the stores keep serving writes; the replica, restarted,
// catches up.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { redisCli, waitFor, withCluster, type Cluster, type Node } from '../support';

async function metaInfo(m: Node): Promise<Record<string, string>> {
  const text = String(await m.call('INFO', 'meta'));
  const out: Record<string, string> = {};
  for (const line of text.split(/\r?\n/)) {
    const i = line.indexOf(':');
    if (i > 0) out[line.slice(0, i)] = line.slice(i + 1);
  }
  return out;
}

/** heartbeats= per store id, from STORE LIST on m (through redis-cli, as an operator would). */
async function heartbeats(m: Node): Promise<Map<string, { heartbeats: number; state: string }>> {
  const out = new Map<string, { heartbeats: number; state: string }>();
  for (const line of (await redisCli(m.port, ['store', 'list'])).split('\n').filter(Boolean)) {
    const id = /\bid=(\d+)/.exec(line)?.[1];
    const hb = /\bheartbeats=(\d+)/.exec(line)?.[1];
    const state = /\bstate=(\w+)/.exec(line)?.[1];
    if (id && hb && state) out.set(id, { heartbeats: Number(hb), state });
  }
  return out;
}

async function heartbeatsAdvance(c: Cluster, via: Node, by = 2): Promise<void> {
  const before = await waitFor(() => heartbeats(via).then((h) => (h.size === c.stores.length ? h : undefined)), { what: `STORE LIST on ${via.name}` });
  await waitFor(
    async () => {
      const now = await heartbeats(via);
      return [...before].every(([id, b]) => (now.get(id)?.heartbeats ?? 0) >= b.heartbeats + by && now.get(id)?.state === 'up');
    },
    { timeoutMs: 20_000, intervalMs: 250, what: `every store's heartbeat count to rise by ${by} in STORE LIST on ${via.name}` },
  );
}

/** The meta leader and the other replicas, once the stores' heartbeats reach them. */
async function metaLeaderWithHeartbeats(c: Cluster): Promise<{ leaderMeta: Node; rest: Node[] }> {
  const leaderMeta = await waitFor(
    async () => {
      for (const m of c.metas) if ((await metaInfo(m)).meta_role === 'leader') return m;
      return undefined;
    },
    { what: 'a meta leader' },
  );
  const rest = c.metas.filter((m) => m !== leaderMeta);
  await heartbeatsAdvance(c, rest[0]);
  return { leaderMeta, rest };
}

test('3-replica meta group: one replica down, heartbeats and admin commands go on', { timeout: 150_000 }, async (t) => {
  const c = await withCluster(t, { metas: 3 });
  const { leaderMeta, rest } = await metaLeaderWithHeartbeats(c);

  await leaderMeta.kill9();

  // A new meta leader among the two others; admin commands on both of them (forwarded to the leader where needed).
  await waitFor(async () => (await Promise.all(rest.map(metaInfo))).some((i) => i.meta_role === 'leader'), { timeoutMs: 20_000, what: 'a new meta leader' });
  for (const m of rest) {
    await waitFor(async () => (await redisCli(m.port, ['cluster', 'info'])).includes('cluster_state:ok'), {
      timeoutMs: 20_000,
      what: `cluster info on ${m.name} to say cluster_state:ok`,
    });
    const regions = await redisCli(m.port, ['region', 'list']);
    assert.match(regions, /^id=\d+ slots=0-16383 .*leader_addr=127\.0\.0\.1:\d+/m, `region list on ${m.name}`);
    const stores = await redisCli(m.port, ['store', 'list']);
    assert.equal(stores.split('\n').filter((l) => /state=up/.test(l)).length, 3, `store list on ${m.name}:\n${stores}`);
  }
  // Heartbeats are meta writes: they keep being committed and applied.
  for (const m of rest) await heartbeatsAdvance(c, m);

  // The stores keep serving writes, through every store.
  for (const s of c.stores) assert.equal(await s.call('SET', `meta-down:${s.name}`, s.name), 'OK');
  for (const s of c.stores) for (const r of c.stores) assert.equal(await r.call('GET', `meta-down:${s.name}`), s.name);

  // The killed replica comes back on its data dir and catches up.
  leaderMeta.start();
  await leaderMeta.ready();
  await waitFor(
    async () => {
      const infos = await Promise.all(c.metas.map(metaInfo));
      const leader = infos.find((i) => i.meta_role === 'leader');
      const mine = await metaInfo(leaderMeta);
      return leader && Number(mine.meta_applied_index) >= Number(leader.meta_applied_index) - 5 && mine.meta_leader_id === leader.meta_leader_id;
    },
    { timeoutMs: 20_000, intervalMs: 250, what: `${leaderMeta.name} to catch up with the meta leader`, proc: leaderMeta.proc },
  );
  assert.match(await redisCli(leaderMeta.port, ['cluster', 'info']), /cluster_state:ok/);
  await heartbeatsAdvance(c, leaderMeta);
});

test('SIGTERM of the meta leader hands the group to another replica first', { timeout: 150_000 }, async (t) => {
  const c = await withCluster(t, { metas: 3 });
  const { leaderMeta, rest } = await metaLeaderWithHeartbeats(c);

  const result = await leaderMeta.stop();
  assert.ok(!result?.forced, `${leaderMeta.name} needed SIGKILL to stop`);
  const handOff = leaderMeta.logRecord<{ moved: boolean; ms: number }>('meta leadership handed off before stopping');
  const line = JSON.stringify(handOff);
  assert.equal(handOff.moved, true, line);
  t.diagnostic(`meta hand-off took ${handOff.ms} ms`);

  // The other two have a leader, and the stores' heartbeats reach it.
  await waitFor(async () => (await Promise.all(rest.map(metaInfo))).some((i) => i.meta_role === 'leader'), { timeoutMs: 20_000, what: 'a new meta leader' });
  await heartbeatsAdvance(c, rest[0]);
});
