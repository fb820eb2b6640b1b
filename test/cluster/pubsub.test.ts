// Pub/Sub across stores (issue 10): a subscriber on one store receives what
// is published on another (ioredis, RESP2, channels and patterns), a RESP3
// client gets pushes ('>'), a RESP2 subscriber is refused other commands with
// Redis's error, SSUBSCRIBE on a store that does not lead the slot answers
// MOVED, and SPUBLISH through any store reaches the leader's shard subscribers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import Redis from 'ioredis';
import { RawConn, plain, waitFor, withCluster, type Node } from '../support';

function ioredis(s: Node): Redis {
  const r = new Redis({ port: s.port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 2, retryStrategy: () => null });
  r.on('error', () => {
    /* surfaced through the rejected commands */
  });
  return r;
}

/** PUBSUB NUMSUB of one channel asked through `s`. */
async function numsub(s: Node, channel: string): Promise<number> {
  const r = (await s.call('PUBSUB', 'NUMSUB', channel)) as unknown[];
  return Number(r[1]);
}

/** A pattern subscriber on `subAt` recording `channel message` of each event, and a writer on `writeAt`; both closed after the test. */
async function eventsAndWriter(t: { after(f: () => void): void }, subAt: Node, writeAt: Node, pattern: string): Promise<{ got: string[]; writer: Redis; sub: Redis }> {
  const sub = ioredis(subAt);
  const writer = ioredis(writeAt);
  t.after(() => {
    sub.disconnect();
    writer.disconnect();
  });
  await sub.connect();
  await writer.connect();
  const got: string[] = [];
  sub.on('pmessage', (_p: string, ch: string, msg: string) => got.push(`${ch} ${msg}`));
  await sub.psubscribe(pattern);
  return { got, writer, sub };
}

test('pub/sub: a PUBLISH on one store reaches subscribers on every store; RESP3 pushes; SSUBSCRIBE MOVED', { timeout: 150_000 }, async (t) => {
  const c = await withCluster(t);
  const leader = await c.leaderStore();
  const [a, b] = c.stores.filter((s) => s !== leader);

  await t.test('subscriber on store A, publisher on store B (ioredis, RESP2)', async () => {
    const sub = ioredis(a);
    const pub = ioredis(b);
    t.after(() => {
      sub.disconnect();
      pub.disconnect();
    });
    await sub.connect();
    await pub.connect();
    const got: string[] = [];
    sub.on('message', (ch: string, msg: string) => got.push(`message ${ch} ${msg}`));
    sub.on('pmessage', (p: string, ch: string, msg: string) => got.push(`pmessage ${p} ${ch} ${msg}`));
    assert.equal(await sub.subscribe('news'), 1);
    assert.equal(await sub.psubscribe('ne*'), 2);
    // B learns A's subscriptions over the peer transport (PUBSUB asks every up store).
    await waitFor(async () => (await numsub(b, 'news')) === 1, { what: 'store B to count the subscriber on store A' });
    assert.equal(Number(await b.call('PUBSUB', 'NUMPAT')), 1);
    assert.deepEqual(await b.call('PUBSUB', 'CHANNELS', 'n*'), ['news']);
    // A channel subscription and a matching pattern: two receivers, as in Redis.
    assert.equal(await pub.publish('news', 'hello'), 2);
    assert.equal(await pub.publish('other', 'nobody'), 0);
    await waitFor(async () => got.length === 2, { what: 'the subscriber on A to get the message and the pmessage' });
    assert.deepEqual(got, ['message news hello', 'pmessage ne* news hello']);
    // Messages from one publisher arrive in order.
    const n = 50;
    for (let i = 0; i < n; i++) await pub.publish('news', `m${i}`);
    await waitFor(async () => got.length === 2 + 2 * n, { what: `${2 * n} more deliveries` });
    assert.deepEqual(got.filter((m) => m.startsWith('message ')).slice(1), Array.from({ length: n }, (_, i) => `message news m${i}`));
    // The subscriber goes away: no store counts it any more.
    sub.disconnect();
    await waitFor(async () => (await numsub(b, 'news')) === 0 && Number(await a.call('PUBSUB', 'NUMPAT')) === 0, { what: 'the closed subscriber to be forgotten' });
    assert.equal(await pub.publish('news', 'gone'), 0);
  });

  await t.test('RESP3: confirmations and messages are pushes; other commands still run', async () => {
    const conn = await RawConn.open(leader.port);
    t.after(() => conn.close());
    await conn.call('HELLO', '3');
    const confirm = await conn.call('SUBSCRIBE', 'resp3');
    assert.equal(confirm.type, '>');
    assert.deepEqual(plain(confirm), ['subscribe', 'resp3', 1n]);
    const get = await conn.call('GET', 'no-such-key');
    assert.equal(get.type, '_');
    await waitFor(async () => (await numsub(a, 'resp3')) === 1, { what: 'store A to count the RESP3 subscriber' });
    assert.equal(Number(await a.call('PUBLISH', 'resp3', 'pushed')), 1);
    const [msg] = await conn.read(1);
    assert.equal(msg.type, '>');
    assert.deepEqual(plain(msg), ['message', 'resp3', 'pushed']);
  });

  await t.test("RESP2 subscribed mode: only (P|S)SUBSCRIBE, (P|S)UNSUBSCRIBE, PING, QUIT, RESET", async () => {
    const conn = await RawConn.open(a.port);
    t.after(() => conn.close());
    assert.deepEqual(plain(await conn.call('SUBSCRIBE', 'x')), ['subscribe', 'x', 1n]);
    const refused = await conn.call('GET', 'k');
    assert.equal(refused.type, '-');
    assert.equal(refused.value, "ERR Can't execute 'get': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context");
    assert.deepEqual(plain(await conn.call('PING')), ['pong', '']);
    assert.deepEqual(plain(await conn.call('UNSUBSCRIBE')), ['unsubscribe', 'x', 0n]);
    assert.deepEqual(plain(await conn.call('PING')), 'PONG');
  });

  await t.test('SSUBSCRIBE where another store leads the slot: MOVED; SPUBLISH through any store reaches the leader', async () => {
    // Asked afresh: an election on a loaded machine may have moved the leader since.
    const owns = await c.leaderStore();
    const other = c.stores.find((s) => s !== owns)!;
    const slot = Number(await other.call('CLUSTER', 'KEYSLOT', 'orders'));
    const elsewhere = await RawConn.open(other.port);
    t.after(() => elsewhere.close());
    const moved = await elsewhere.call('SSUBSCRIBE', 'orders');
    assert.equal(moved.type, '-');
    assert.equal(moved.value, `MOVED ${slot} 127.0.0.1:${owns.port}`);
    const cross = await elsewhere.call('SSUBSCRIBE', 'orders', 'invoices');
    assert.match(String(cross.value), /^CROSSSLOT/);

    const owner = await RawConn.open(owns.port);
    t.after(() => owner.close());
    assert.deepEqual(plain(await owner.call('SSUBSCRIBE', 'orders')), ['ssubscribe', 'orders', 1n]);
    // Through every store: each sends it to the stores holding the region.
    for (const s of c.stores) {
      assert.equal(Number(await s.call('SPUBLISH', 'orders', `via-${s.name}`)), 1);
      assert.deepEqual(plain((await owner.read(1))[0]), ['smessage', 'orders', `via-${s.name}`]);
    }
    // A PUBLISH to the same name does not reach shard subscribers.
    assert.equal(Number(await b.call('PUBLISH', 'orders', 'plain')), 0);
    assert.deepEqual(await b.call('PUBSUB', 'SHARDNUMSUB', 'orders'), ['orders', 1]);
  });
  await t.test('keyspace notifications: CONFIG SET on one store holds everywhere; a write through store B reaches a subscriber on store A', async () => {
    // A and B do not lead the region (asked at the start): the write runs on a third store, its leader.
    assert.equal(await b.call('CONFIG', 'SET', 'notify-keyspace-events', 'KEA'), 'OK');
    for (const s of c.stores) assert.deepEqual(await s.call('CONFIG', 'GET', 'notify-keyspace-events'), ['notify-keyspace-events', 'AKE'], s.name);
    const { got, writer, sub } = await eventsAndWriter(t, a, b, '__key*__:*');
    await writer.set('user:1', 'x');
    await writer.lpush('queue', 'job');
    await writer.del('user:1');
    await waitFor(async () => got.length === 6, { what: 'the six events of three writes on store A' });
    assert.deepEqual(got, [
      '__keyspace@0__:user:1 set',
      '__keyevent@0__:set user:1',
      '__keyspace@0__:queue lpush',
      '__keyevent@0__:lpush queue',
      '__keyspace@0__:user:1 del',
      '__keyevent@0__:del user:1',
    ]);
    assert.equal(await a.call('CONFIG', 'SET', 'notify-keyspace-events', ''), 'OK');
    await writer.set('user:2', 'y');
    // A marker published by the store that ran the write travels behind any event it made (one connection per pair).
    let marked = false;
    sub.on('message', () => (marked = true));
    await sub.subscribe('marker');
    const ran = await c.leaderStore();
    await ran.call('PUBLISH', 'marker', 'm');
    await waitFor(async () => marked, { what: 'the marker on store A' });
    assert.equal(got.length, 6, 'notifications off everywhere: nothing more');
  });

  await t.test("keyspace notifications: a key's second write right after the first is not 'new' (the write's reply goes out before its apply batch lands)", async () => {
    // Redis's Tcl "Keyspace notifications: new key test", many times over on
    // the leader: each SET is answered before its apply batch reaches RocksDB,
    // and the next SET of the same key must still find it there.
    const ran = await c.leaderStore();
    assert.equal(await ran.call('CONFIG', 'SET', 'notify-keyspace-events', 'En'), 'OK');
    const { got, writer } = await eventsAndWriter(t, a, ran, '__keyevent@0__:new');
    const n = 200;
    for (let i = 0; i < n; i++) {
      await writer.set(`fresh:${i}`, 'a');
      await writer.set(`fresh:${i}`, 'b');
    }
    await writer.set('fresh:end', 'x');
    await waitFor(async () => got.includes('__keyevent@0__:new fresh:end'), { what: 'the last new event on store A' });
    assert.deepEqual(got, [...Array.from({ length: n }, (_, i) => `__keyevent@0__:new fresh:${i}`), '__keyevent@0__:new fresh:end']);
    assert.equal(await ran.call('CONFIG', 'SET', 'notify-keyspace-events', ''), 'OK');
  });
});
