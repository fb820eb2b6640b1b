// Outgoing peer connections leave from the node's own --host, so a firewall
// rule between two nodes' loopback addresses cuts exactly their link (the
// fault suite's partitions rely on it).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Socket } from 'node:net';
import { once } from 'node:events';
import { PeerClient, bindableLocalAddress } from '../../src/transport';

test('a client with localAddress connects from that address', async () => {
  const seen: string[] = [];
  const sockets: Socket[] = [];
  const server = createServer((s) => {
    seen.push(s.remoteAddress ?? '');
    sockets.push(s);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as { port: number }).port;
  const client = new PeerClient(`127.0.0.1:${port}`, { localAddress: '127.0.0.9' });
  try {
    client.connect();
    for (let i = 0; i < 200 && seen.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(seen, ['127.0.0.9']);
  } finally {
    await client.close();
    for (const s of sockets) s.destroy();
    server.close();
  }
});

test('bindableLocalAddress keeps specific IPs only', () => {
  assert.equal(bindableLocalAddress('127.0.0.5'), '127.0.0.5');
  assert.equal(bindableLocalAddress('::1'), '::1');
  assert.equal(bindableLocalAddress('0.0.0.0'), undefined);
  assert.equal(bindableLocalAddress('::'), undefined);
  assert.equal(bindableLocalAddress('localhost'), undefined);
  assert.equal(bindableLocalAddress(undefined), undefined);
});
