// The meta's schedulers on a real cluster: writing past split-max-keys splits
// the region without a command (split-checker), and after every leader was
// moved onto one store, leader-balance evens them out across the three
// stores; CONFIG and SCHEDULER commands answer clear errors for bad input.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import Redis from 'ioredis';
import { RespError, waitFor, withCluster, type Cluster } from '../support';

async function regions(c: Cluster): Promise<{ id: number; slots: string; leaderStore: number }[]> {
  return (await c.admin(c.metas[0], 'REGION', 'LIST'))
    .split('\n')
    .filter(Boolean)
    .map((l) => ({ id: Number(/id=(\d+)/.exec(l)![1]), slots: /slots=(\S+)/.exec(l)![1], leaderStore: Number(/leader_store=(\d+)/.exec(l)![1]) }));
}

test('automatic split by key count, then leader balance across the stores', { timeout: 240_000 }, async (t) => {
  const c = await withCluster(t, { storeArgs: ['--split-check-ms', '300'] });
  const meta = c.metas[0];
  assert.equal(await meta.call('CONFIG', 'SET', 'split-max-keys', '400'), 'OK');
  assert.deepEqual(await meta.call('CONFIG', 'GET', 'split-max-*'), ['split-max-keys', '400', 'split-max-bytes', String(96 * 1024 * 1024)]);

  const client = new Redis({ port: c.stores[0].port, host: '127.0.0.1' });
  client.on('error', () => {}); // reconnect noise once the cluster stops at the end
  t.after(() => client.disconnect());
  const keys = Array.from({ length: 2000 }, (_, i) => `auto:${i}`);
  for (let i = 0; i < keys.length; i += 100) {
    const p = client.pipeline();
    for (const k of keys.slice(i, i + 100)) p.set(k, `v-${k}`);
    for (const [err] of (await p.exec())!) assert.equal(err, null);
  }
  // No split was asked: the split-checker splits until every region holds at most 400 keys (at least 5 regions).
  await waitFor(async () => (await regions(c)).length >= 5, { timeoutMs: 60_000, intervalMs: 500, what: 'the split-checker to split the region into 5 or more' });
  const ops = await c.admin(meta, 'OPERATOR', 'LIST');
  assert.match(ops, /kind=split creator=scheduler state=done/);
  const got = await c.readAll(c.stores[1], keys);
  assert.deepEqual(got, keys.map((k) => `v-${k}`), 'every key reads back after the automatic splits');

  // Stop splitting; every leader onto store 1; then leader-balance evens them out.
  assert.equal(await meta.call('SCHEDULER', 'DISABLE', 'split-checker'), 'OK');
  // A split the checker started before it was disabled still runs to its end
  // (a transfer of its region meanwhile is refused BUSY): wait for it.
  await waitFor(async () => !/state=running/.test(await c.admin(meta, 'OPERATOR', 'LIST')), { timeoutMs: 30_000, intervalMs: 200, what: 'the last split to finish' });
  const rs = await regions(c);
  for (const r of rs) {
    if (r.leaderStore === 1) continue;
    const id = await meta.call('REGION', 'TRANSFER-LEADER', String(r.id), '1');
    assert.equal(typeof id, 'number', `transfer of region ${r.id}: ${String(id)}`);
  }
  await waitFor(async () => (await regions(c)).every((r) => r.leaderStore === 1), { timeoutMs: 30_000, what: 'every leader on store 1' });
  assert.match(await c.admin(meta, 'SCHEDULER', 'LIST'), /name=leader-balance state=off/);
  assert.equal(await meta.call('SCHEDULER', 'ENABLE', 'leader-balance'), 'OK');
  const started = Date.now();
  await waitFor(
    async () => {
      const counts = [0, 0, 0];
      for (const r of await regions(c)) if (r.leaderStore >= 1 && r.leaderStore <= 3) counts[r.leaderStore - 1]++;
      return Math.max(...counts) - Math.min(...counts) <= 1 ? counts : undefined;
    },
    { timeoutMs: 60_000, intervalMs: 500, what: 'leaders spread evenly over the three stores' },
  );
  t.diagnostic(`regions=${rs.length} balanced in ${Date.now() - started} ms`);
  assert.match(await c.admin(meta, 'OPERATOR', 'LIST'), /kind=transfer-leader creator=scheduler state=done/);

  // Bad input.
  const badValue = await meta.call('CONFIG', 'SET', 'split-max-keys', 'lots');
  assert.ok(badValue instanceof RespError && /split-max-keys must be a non-negative integer/.test(badValue.message), String(badValue));
  const badName = await meta.call('CONFIG', 'SET', 'nope', '1');
  assert.ok(badName instanceof RespError && /unknown setting 'nope'/.test(badName.message), String(badName));
  const badSched = await meta.call('SCHEDULER', 'ENABLE', 'nope');
  assert.ok(badSched instanceof RespError && /unknown scheduler 'nope'/.test(badSched.message), String(badSched));
});

test('load-based split: a region taking most of its store\'s commands for a while is split', { timeout: 180_000 }, async (t) => {
  const c = await withCluster(t);
  const meta = c.metas[0];
  assert.equal(await meta.call('CONFIG', 'SET', 'load-split-qps', '50', 'load-split-seconds', '2'), 'OK');
  assert.equal(await meta.call('SCHEDULER', 'ENABLE', 'load-split'), 'OK');
  const client = new Redis({ port: c.stores[0].port, host: '127.0.0.1' });
  client.on('error', () => {}); // reconnect noise once the cluster stops at the end
  t.after(() => client.disconnect());
  let running = true;
  const load = (async () => {
    for (let i = 0; running; i++) {
      const p = client.pipeline();
      for (let j = 0; j < 20; j++) p.set(`hot:${(i * 20 + j) % 500}`, String(i));
      await p.exec().catch(() => undefined);
    }
  })();
  await waitFor(async () => (await regions(c)).length >= 2, { timeoutMs: 60_000, intervalMs: 500, what: 'the load-split scheduler to split the hot region' });
  running = false;
  await load;
  assert.match(await c.admin(meta, 'OPERATOR', 'LIST'), /kind=split creator=scheduler/);
});
