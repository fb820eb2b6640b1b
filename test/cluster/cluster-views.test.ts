// CLUSTER NODES / SLOTS / SHARDS on the stores, as Redis Cluster tools read
// them: a store that leads no region is a replica (`slave <leader id>`) of
// the store leading the regions it follows; SLOTS and SHARDS list every
// follower as a replica of its region's leader; `redis-cli --cluster check`
// passes; ioredis Cluster works with and without `scaleReads: 'slave'` (its
// replica connections send READONLY and read at followers through
// ReadIndex); and a split shows on every store at once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Cluster as IoCluster } from 'ioredis';
import { redisCliResult, waitFor, withCluster, type Cluster, type Node } from '../support';

interface NodeLine {
  id: string;
  port: number;
  flags: string[];
  master: string;
  slots: string[];
}

async function clusterNodes(s: Node): Promise<NodeLine[]> {
  const text = String(await s.call('CLUSTER', 'NODES'));
  return text
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      const f = l.split(' ');
      return { id: f[0], port: Number(/:(\d+)@/.exec(f[1])![1]), flags: f[2].split(','), master: f[3], slots: f.slice(8) };
    });
}

/** `redis-cli --cluster check` through one store: its exit code and output. */
async function clusterCheck(s: Node): Promise<{ code: number | null; out: string }> {
  const r = await redisCliResult(s.port, [], { flags: ['--cluster', 'check', `127.0.0.1:${s.port}`], timeoutMs: 20_000 });
  // eslint-disable-next-line no-control-regex
  return { code: r.code, out: (r.stdout + r.stderr).replace(/\x1b\[[0-9;]*m/g, '') };
}

async function splitAndWait(c: Cluster, regionId: number, slot: number): Promise<void> {
  const meta = c.metas[0];
  const id = await meta.call('REGION', 'SPLIT', String(regionId), String(slot));
  assert.equal(typeof id, 'number', String(id));
  await waitFor(
    async () => {
      const show = (await meta.call('OPERATOR', 'SHOW', String(id))) as unknown[];
      const state = String(show[show.indexOf('state') + 1]);
      if (state !== 'running' && state !== 'done') throw new Error(`split operator ended ${state}`);
      return state === 'done';
    },
    { timeoutMs: 30_000, intervalMs: 100, what: 'the split operator done' },
  );
}

function ioCluster(c: Cluster, scaleReads?: 'slave'): IoCluster {
  const io = new IoCluster(
    c.stores.map((s) => ({ host: '127.0.0.1', port: s.port })),
    { scaleReads, retryDelayOnTryAgain: 50, retryDelayOnClusterDown: 100, slotsRefreshTimeout: 2000 },
  );
  io.on('error', () => {});
  return io;
}

/** Commands a store received from its own clients (a forwarded one counts where the client sent it). */
async function commandsReceived(s: Node): Promise<number> {
  const info = String(await s.call('INFO', 'stats'));
  return Number(/total_commands_processed:(\d+)/.exec(info)![1]);
}

test('stores show followers as replicas of their leader; redis-cli --cluster check and ioredis (scaleReads slave) work; a split shows at once', { timeout: 180_000 }, async (t) => {
  const c = await withCluster(t);
  const leader = await c.leaderStore();
  const followers = c.stores.filter((s) => s !== leader);

  // One region: the leader's store is the only master, the others its replicas, on every store's view.
  for (const s of c.stores) {
    const lines = await clusterNodes(s);
    assert.equal(lines.length, 3, `CLUSTER NODES on ${s.name}`);
    const master = lines.find((l) => l.port === leader.port)!;
    assert.ok(master.flags.includes('master'), JSON.stringify(master));
    assert.deepEqual(master.slots, ['0-16383']);
    for (const f of followers) {
      const l = lines.find((x) => x.port === f.port)!;
      assert.ok(l.flags.includes('slave'), `${f.name} on ${s.name}: ${JSON.stringify(l)}`);
      assert.equal(l.master, master.id);
      assert.deepEqual(l.slots, []);
    }
    assert.ok(lines.find((l) => l.port === s.port)!.flags.includes('myself'));
  }
  const slots = await c.slots(followers[0]);
  assert.equal(slots.length, 1);
  assert.equal(slots[0].master.port, leader.port);
  assert.deepEqual(slots[0].replicas.map((r) => r.port).sort(), followers.map((f) => f.port).sort());

  const check = await clusterCheck(followers[0]);
  assert.equal(check.code, 0, check.out);
  assert.match(check.out, /2 additional replica\(s\)/);
  assert.match(check.out, /replicates/);
  assert.match(check.out, /All 16384 slots covered/);
  assert.doesNotMatch(check.out, /\[ERR\]|\[WARNING\]/);

  // ioredis Cluster, plain and reading at replicas.
  const plain = ioCluster(c);
  const scaled = ioCluster(c, 'slave');
  t.after(() => {
    plain.disconnect();
    scaled.disconnect();
  });
  const keys = Array.from({ length: 200 }, (_, i) => `views:${i}`);
  for (const k of keys) assert.equal(await plain.set(k, k), 'OK');
  const atFollowers = async () => (await Promise.all(followers.map(commandsReceived))).reduce((a, b) => a + b, 0);
  const before = await atFollowers();
  for (const k of keys) assert.equal(await scaled.get(k), k);
  const sentToFollowers = (await atFollowers()) - before;
  // Its replica connections sent READONLY, so the followers answered these themselves (ReadIndex).
  assert.ok(sentToFollowers >= keys.length, `commands sent to followers with scaleReads 'slave': ${sentToFollowers}`);
  assert.deepEqual(scaled.nodes('slave').map((n) => n.options.port).sort(), followers.map((f) => f.port).sort());
  for (const k of keys) assert.equal(await plain.get(k), k);

  // A split: two shards on every store, each with its followers as replicas.
  const [region] = await c.regionList(leader);
  await splitAndWait(c, region.id, 8192);
  for (const s of c.stores) {
    await waitFor(async () => (await c.slots(s)).length === 2, { timeoutMs: 5_000, intervalMs: 20, what: `two shards on ${s.name}` });
    const shards = (await c.slots(s)).sort((a, b) => a.start - b.start);
    assert.deepEqual(shards.map((r) => [r.start, r.end]), [[0, 8191], [8192, 16383]]);
    for (const r of shards) assert.equal(r.replicas.length, 2, `replicas of ${r.start}-${r.end} on ${s.name}`);
    const shardsReply = (await s.call('CLUSTER', 'SHARDS')) as unknown[][];
    assert.equal(shardsReply.length, 2);
    for (const sh of shardsReply) {
      const nodes = sh[sh.indexOf('nodes') + 1] as unknown[][];
      const roles = nodes.map((n) => String(n[n.indexOf('role') + 1])).sort();
      assert.deepEqual(roles, ['master', 'replica', 'replica'], `CLUSTER SHARDS on ${s.name}`);
    }
  }
  await waitFor(async () => (await clusterCheck(followers[1])).code === 0, { timeoutMs: 10_000, what: 'redis-cli --cluster check after the split' });
  const after = await clusterCheck(followers[1]);
  assert.match(after.out, /All 16384 slots covered/, after.out);

  // Both clients follow the split.
  for (const k of keys) assert.equal(await scaled.get(k), k);
  for (const k of keys) assert.equal(await plain.set(k, `${k}!`), 'OK');
  for (const k of keys) assert.equal(await scaled.get(k), `${k}!`);
});
