// The in-memory peer network: delivery, typed errors, and its filters.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InMemoryNetwork, NotLeaderError, TransportError } from '../../src/transport';

function pair() {
  const net = new InMemoryNetwork();
  const got: string[] = [];
  const server = net.endpoint('b').listener({
    host: 'b',
    port: 7,
    onMessage: (type, body, from) => void got.push(`${from.remoteAddress}:${type}:${Buffer.from(body).toString()}`),
    onRequest: async (type, body) => {
      if (type === 'fail') throw new NotLeaderError(5, 'c:1', 3);
      if (type === 'slow') await new Promise((r) => setTimeout(r, 50));
      return Buffer.from(`re:${Buffer.from(body).toString()}`);
    },
  });
  const client = net.endpoint('a').sender({});
  return { net, got, server, client };
}

const flush = () => new Promise((r) => setImmediate(r));

test('in-memory network: messages arrive in order, requests answer, typed errors stay typed', async () => {
  const { got, server, client } = pair();
  await server.listen();
  assert.equal(server.address, 'b:7');
  for (const m of ['1', '2', '3']) assert.equal(client.send('b:7', 'raft', Buffer.from(m)), true);
  await flush();
  assert.deepEqual(got, ['a:raft:1', 'a:raft:2', 'a:raft:3']);
  assert.equal(Buffer.from(await client.request('b:7', 'x', Buffer.from('q'))).toString(), 're:q');
  await assert.rejects(client.request('b:7', 'fail', Buffer.alloc(0)), (e) => e instanceof NotLeaderError && e.leaderAddr === 'c:1');
  assert.equal(client.send('nowhere:1', 'raft', Buffer.alloc(0)), false);
  await assert.rejects(client.request('nowhere:1', 'x', Buffer.alloc(0)), (e) => e instanceof TransportError && e.code === 'UNAVAILABLE');
});

test('in-memory network: isolate drops messages and refuses requests until healed; a cut response is DISCONNECTED', async () => {
  const { net, got, server, client } = pair();
  await server.listen();
  const heal = net.isolate('b');
  assert.equal(client.send('b:7', 'raft', Buffer.from('lost')), true);
  await assert.rejects(client.request('b:7', 'x', Buffer.alloc(0)), (e) => e instanceof TransportError && e.code === 'UNAVAILABLE');
  heal();
  client.send('b:7', 'raft', Buffer.from('kept'));
  await flush();
  assert.deepEqual(got, ['a:raft:kept']);
  // The request runs; the link is cut before its answer.
  const slow = client.request('b:7', 'slow', Buffer.alloc(0));
  await flush();
  const heal2 = net.partition(['a'], ['b']);
  await assert.rejects(slow, (e) => e instanceof TransportError && e.code === 'DISCONNECTED');
  heal2();
});

test('in-memory network: dropMessages drops about its share; a closed listener fails its requests', async () => {
  const { net, got, server, client } = pair();
  await server.listen();
  let x = 1;
  const rnd = () => ((x = (x * 48271) % 2147483647) / 2147483647);
  net.dropMessages(0.3, rnd);
  for (let i = 0; i < 1000; i++) client.send('b:7', 'raft', Buffer.from(String(i)));
  await flush();
  assert.ok(got.length > 600 && got.length < 800, `delivered ${got.length} of 1000`);
  net.clearFilters();
  const slow = client.request('b:7', 'slow', Buffer.alloc(0), { timeoutMs: 1000 });
  await flush();
  await server.close();
  await assert.rejects(slow, (e) => e instanceof TransportError && e.code === 'DISCONNECTED');
  await assert.rejects(client.request('b:7', 'x', Buffer.alloc(0), { timeoutMs: 1000 }), (e) => e instanceof TransportError && e.code === 'UNAVAILABLE');
});
