// A client library's connect must not wait for the whole cluster: ioredis
// sends INFO on every connect and is ready only once it answers, and INFO's
// keyspace section counts every region's keys at its leader. With the other
// two stores stopped (SIGSTOP), no region but the ones this store leads can
// be read, so the count cannot finish: INFO answers anyway, with the last
// count (made by DBSIZE) and its age (commands/key-counts.ts), and a new
// ioredis client becomes ready. It used to hang until the connection was
// closed, again on every reconnect, for as long as any region was out of
// reach (the fault suite's clients stopped connecting for minutes).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import Redis from 'ioredis';
import { waitFor, withCluster } from '../support';

const KEYS = 30;

test('INFO and an ioredis connect answer while no other store does, DBSIZE and KEYS say TRYAGAIN; the count catches up after', { timeout: 120_000 }, async (t) => {
  const c = await withCluster(t, { metaArgs: ['--initial-regions', '3'] });
  const [s, ...others] = c.stores;
  for (let i = 0; i < KEYS; i++) assert.equal(await s.call('SET', `ic:${i}`, 'v'), 'OK');
  assert.equal(await s.call('DBSIZE'), KEYS);

  for (const o of others) process.kill(o.pid, 'SIGSTOP');
  let client: Redis | undefined;
  try {
    const info = String(await s.call('INFO'));
    assert.match(info, new RegExp(`\\r\\ndb0:keys=${KEYS},expires=0,avg_ttl=0\\r\\n`), 'the last count');
    assert.match(info, /\r\nkeyspace_count_age_ms:\d+\r\n/);
    assert.match(info, /\r\nkeyspace_counting:1\r\n/, 'the count goes on');
    assert.match(info, /\r\nloading:0\r\n/);

    // The default ready check: INFO before anything else.
    client = new Redis({ port: s.port, host: '127.0.0.1', enableOfflineQueue: false, maxRetriesPerRequest: 0, retryStrategy: () => 100 });
    client.on('error', () => {});
    const ready = client;
    await waitFor(() => ready.status === 'ready', { timeoutMs: 15_000, intervalMs: 50, what: 'ioredis to be ready with two stores stopped' });

    // A fresh count cannot finish: a read has no unknown outcome, so the
    // client gets -TRYAGAIN (not an internal error, not a closed connection)
    // and its connection goes on.
    await assert.rejects(ready.dbsize(), /^ReplyError: TRYAGAIN /);
    await assert.rejects(ready.keys('ic:*'), /^ReplyError: TRYAGAIN /);
    assert.equal(await ready.ping(), 'PONG');
  } finally {
    for (const o of others) process.kill(o.pid, 'SIGCONT');
    client?.disconnect();
  }

  // Everything answers again: a count made for this INFO, with no age.
  assert.equal(await s.call('SET', 'ic:late', 'v'), 'OK');
  await waitFor(
    async () => {
      const info = String(await s.call('INFO', 'keyspace'));
      return info === `# Keyspace\r\ndb0:keys=${KEYS + 1},expires=0,avg_ttl=0\r\n`;
    },
    { timeoutMs: 60_000, intervalMs: 200, what: 'INFO keyspace to count every key again' },
  );
});
