// Whole-keyspace commands at a modest size: ioredis connects with INFO (all
// default sections, keyspace included), so INFO must not cost a scan of
// every key; DBSIZE, KEYS and a full SCAN over 5000 keys take well under a second (the
// bound here is generous for a loaded machine; before b275db2 they took 4-6 s).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import Redis from 'ioredis';
import { startTarget } from './target';

const KEYS = 5000;
const BOUND_MS = 2500;

async function timed<T>(f: () => Promise<T>): Promise<[T, number]> {
  const t0 = Date.now();
  const v = await f();
  return [v, Date.now() - t0];
}

test(`INFO, DBSIZE, KEYS, SCAN and ioredis connect over ${KEYS} keys take under ${BOUND_MS} ms each`, async (t) => {
  const s = await startTarget(t);
  const r = new Redis({ host: s.host, port: s.port, retryStrategy: () => null, maxRetriesPerRequest: 0, lazyConnect: true });
  r.on('error', () => {});
  t.after(() => r.disconnect());
  await r.connect();
  for (let b = 0; b < KEYS / 1000; b++) {
    const kv: string[] = [];
    for (let i = 0; i < 1000; i++) kv.push(`scale:${b}:${i}`, 'v');
    assert.equal(await r.mset(...kv), 'OK');
  }
  const slow: string[] = [];
  const check = (what: string, ms: number) => {
    t.diagnostic(`${what}: ${ms} ms`);
    if (ms > BOUND_MS) slow.push(`${what}: ${ms} ms`);
  };

  const [n, dbsizeMs] = await timed(() => r.dbsize());
  assert.equal(n, KEYS);
  check('DBSIZE', dbsizeMs);
  const [info, infoMs] = await timed(() => r.info());
  assert.match(info, new RegExp(`\\r\\ndb0:keys=${KEYS},`));
  check('INFO', infoMs);
  const [keys, keysMs] = await timed(() => r.keys('scale:1:*'));
  assert.equal(keys.length, 1000);
  check('KEYS scale:1:*', keysMs);
  const [scanned, scanMs] = await timed(async () => {
    let cursor = '0';
    let count = 0;
    do {
      const [next, batch] = await r.scan(cursor, 'COUNT', 1000);
      cursor = next;
      count += batch.length;
    } while (cursor !== '0');
    return count;
  });
  assert.equal(scanned, KEYS);
  check('full SCAN COUNT 1000', scanMs);
  const [, connectMs] = await timed(async () => {
    const r2 = new Redis({ host: s.host, port: s.port, retryStrategy: () => null, maxRetriesPerRequest: 0, lazyConnect: true });
    r2.on('error', () => {});
    try {
      await r2.connect();
    } finally {
      r2.disconnect();
    }
  });
  check('ioredis connect (HELLO 3, CLIENT SETINFO, INFO)', connectMs);
  assert.deepEqual(slow, []);
});
