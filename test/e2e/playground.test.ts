// The playground, as `npm start` runs it: 1 meta and 3 stores as child
// processes (every port on a free block here). Any store serves any key
// (forwarding to the leader), SIGTERM stops every child, and the next start
// resumes from the data directory.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import Redis from 'ioredis';
import { freePorts, redisCliResult, startRedraft, waitFor } from '../support';
import { redraftOnly } from './target';

test('playground as npm start runs it (1 meta, 3 stores): any store serves any key, SIGTERM stops all, data resumes', redraftOnly, async (t) => {
  // Every port on a free block: 3 RESP, meta admin, meta peer, 3 store peers.
  const base = await freePorts(8);
  const args = ['--meta-port', String(base + 3), '--meta-peer-port', String(base + 4), '--peer-port', String(base + 5)];
  const s = await startRedraft({ mode: 'playground', port: base, ports: 3, args, readyTimeoutMs: 60_000 });
  t.after(() => s.stop());
  const clients: Redis[] = [];
  t.after(() => clients.forEach((c) => c.disconnect()));
  /** One ioredis connect attempt to store i (rejects if its handshake fails). */
  const connectOnce = async (i: number): Promise<Redis> => {
    const c = new Redis({ host: s.host, port: s.ports[i]!, retryStrategy: () => null, maxRetriesPerRequest: 0, lazyConnect: true });
    c.on('error', () => {});
    clients.push(c);
    await c.connect();
    return c;
  };
  /** Store i's client, retrying the connect while the cluster elects its leaders. */
  const at = (i: number) => waitFor(() => connectOnce(i), { timeoutMs: 30_000, intervalMs: 100, what: `an ioredis connection to store ${i + 1}`, proc: s.proc });

  const c0 = await at(0);
  await waitFor(async () => (await c0.set('pg3:k0', 'v0')) === 'OK', { timeoutMs: 30_000, what: 'the first write to be accepted', proc: s.proc });
  const c1 = await at(1);
  const c2 = await at(2);
  assert.equal(await c1.set('pg3:k1', 'v1'), 'OK');
  assert.equal(await c2.hset('pg3:h', 'f', 'v'), 1);
  for (const c of [c0, c1, c2]) {
    assert.deepEqual(await c.mget('pg3:k0', 'pg3:k1'), ['v0', 'v1']);
    assert.equal(await c.hget('pg3:h', 'f'), 'v');
  }
  clients.splice(0).forEach((c) => c.disconnect());
  const stopped = await s.stop({ timeoutMs: 20_000 });
  assert.equal(stopped.forced, false, 'the playground needed SIGKILL');
  assert.equal(stopped.strays, false, 'the playground left child processes running');
  await s.restart();

  await t.test(
    'as soon as the restarted stores answer PING, whole-keyspace reads and an ioredis connect succeed',
    async () => {
      const r = await redisCliResult(s.ports[2]!, 'DBSIZE\nINFO keyspace\nSCAN 0\n', { raw: true });
      assert.doesNotMatch(r.stdout, /ERR/);
      await connectOnce(2);
    },
  );

  const d = await at(2);
  const v = await waitFor(async () => (await d.get('pg3:k0')) ?? undefined, { timeoutMs: 30_000, what: 'pg3:k0 to be readable after the restart', proc: s.proc });
  assert.equal(v, 'v0');
  assert.equal(await d.get('pg3:k1'), 'v1');
  assert.equal(await d.hget('pg3:h', 'f'), 'v');
  assert.equal(await d.dbsize(), 3);
});
