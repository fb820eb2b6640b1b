// Issue 4, "what it must show" #4: every process (meta and stores) killed
// with kill -9 at once while clients write, then restarted on its data dir:
// every acknowledged write is there, and the cluster serves again.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startWriters, waitFor, withCluster } from '../support';

test('kill -9 of every process while clients write, restart: every acknowledged write is there', { timeout: 150_000 }, async (t) => {
  const c = await withCluster(t);
  const w = startWriters(c.stores, 9, 'crash');
  let stopped = false;
  t.after(async () => {
    if (!stopped) await w.stop();
  });
  await waitFor(() => w.acks.length >= 500, { timeoutMs: 30_000, what: '500 acknowledged writes' });

  // The machine "crashes": everything at once, writes in flight.
  const crashAt = Date.now();
  await Promise.all(c.nodes.map((n) => n.kill9()));
  await w.stop();
  stopped = true;
  const acked = w.acks.filter((a) => a.ackAt <= Date.now());
  const pids = c.nodes.map((n) => n.pid);

  c.startAll();
  await c.ready(60_000);
  const restartedIn = Date.now() - crashAt;
  for (const n of c.nodes) assert.ok(!pids.includes(n.pid), `${n.name} is a new process`);

  for (const s of c.stores) await c.expectAcked(s, acked);
  process.stdout.write(`# crash-all: ${acked.length} acknowledged writes all present after kill -9 of ${c.nodes.length} processes; cluster ok again ${restartedIn} ms after the crash\n`);

  const [region] = await c.regionList(c.stores[0]);
  await c.expectReplicasEqual(region.id);

  // And it takes writes again, through every store.
  for (const s of c.stores) assert.equal(await s.call('SET', `after:${s.name}`, '1'), 'OK');
  for (const s of c.stores) for (const r of c.stores) assert.equal(await r.call('GET', `after:${s.name}`), '1');
});
