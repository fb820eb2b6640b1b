import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { once } from 'node:events';
import { PeerClient, PeerPool, TransportError, type PeerInfo } from '../../src/transport';
import { FrameDecoder } from '../../src/transport/frame';
import { bytes, startServer, text, waitFor } from './helpers';

test('one-way messages arrive in order with their type, body and sender', async () => {
  const got: Array<{ type: string; body: string; from: PeerInfo }> = [];
  const server = await startServer({
    storeId: 2,
    onMessage: (type, body, from) => got.push({ type, body: text(body), from }),
  });
  const pool = new PeerPool({ storeId: 1 });
  try {
    for (let i = 0; i < 100; i++) assert.equal(pool.send(server.address, i % 2 ? 'raft' : 'hb', bytes(`m${i}`), { toStore: 2 }), true);
    await waitFor(() => got.length === 100, '100 messages');
    assert.deepEqual(got.map((g) => g.body), Array.from({ length: 100 }, (_, i) => `m${i}`));
    assert.equal(got[1].type, 'raft');
    assert.equal(got[0].type, 'hb');
    assert.equal(got[0].from.storeId, 1);
    assert.match(got[0].from.remoteAddress, /^127\.0\.0\.1:\d+$/);
    // An empty body is fine too.
    pool.send(server.address, 'empty', new Uint8Array(0));
    await waitFor(() => got.length === 101, 'the empty message');
    assert.equal(got[100].body, '');
    const ss = server.stats();
    assert.equal(ss.framesIn, 101);
    assert.equal(ss.refused, 0);
    assert.equal(pool.stats().framesOut, 101);
    assert.equal(pool.stats().bytesOut, ss.bytesIn);
  } finally {
    await pool.close();
    await server.close();
  }
});

test('request/response round trip; concurrent requests match their responses; remote errors are typed', async () => {
  const server = await startServer({
    onRequest: async (type, body) => {
      if (type === 'fail') throw new Error('handler says no');
      if (type === 'slow') await new Promise((r) => setImmediate(r));
      return bytes(`${type}:${text(body).toUpperCase()}`);
    },
  });
  const pool = new PeerPool();
  try {
    assert.equal(text(await pool.request(server.address, 'echo', bytes('hi'))), 'echo:HI');
    const many = await Promise.all(Array.from({ length: 200 }, (_, i) => pool.request(server.address, i % 3 ? 'echo' : 'slow', bytes(`r${i}`))));
    many.forEach((b, i) => assert.equal(text(b), `${i % 3 ? 'echo' : 'slow'}:R${i}`));
    await assert.rejects(pool.request(server.address, 'fail', bytes('x')), (e: unknown) => e instanceof TransportError && e.code === 'REMOTE' && e.message === 'handler says no');
    // The connection survives a remote error.
    assert.equal(text(await pool.request(server.address, 'echo', bytes('again'))), 'echo:AGAIN');
    assert.equal(pool.stats().connectionsOpened, 1);
  } finally {
    await pool.close();
    await server.close();
  }
});

test('a server without a request handler answers with a remote error; without a message handler it drops', async () => {
  const server = await startServer({});
  const client = new PeerClient(server.address);
  try {
    await assert.rejects(client.request('x', bytes('y')), (e: unknown) => e instanceof TransportError && e.code === 'REMOTE');
    client.send('x', bytes('y'));
    await waitFor(() => server.stats().dropped === 1, 'the message dropped');
  } finally {
    await client.close();
    await server.close();
  }
});

test('frames sent in one event-loop turn leave in one write (batched), and arrive intact', async () => {
  // A raw server counts the chunks it reads.
  const chunks: Buffer[] = [];
  const raw = net.createServer((s) => s.on('data', (c: Buffer) => chunks.push(c)));
  raw.listen(0, '127.0.0.1');
  await once(raw, 'listening');
  const port = (raw.address() as net.AddressInfo).port;
  const client = new PeerClient(`127.0.0.1:${port}`);
  try {
    client.connect();
    await once(client, 'connect');
    for (let i = 0; i < 1000; i++) client.send('raft', bytes(`frame ${i}`));
    await waitFor(() => client.stats().framesOut === 1000, 'the flush');
    const total = client.stats().bytesOut;
    await waitFor(() => chunks.reduce((n, c) => n + c.length, 0) === total, 'all bytes');
    assert.ok(chunks.length <= 5, `1000 frames arrived in ${chunks.length} chunks`);
    const d = new FrameDecoder(1 << 20);
    let n = 0;
    for (const c of chunks) assert.equal(d.push(c, () => { n++; return true; }), null);
    assert.equal(n, 1000);
  } finally {
    await client.close();
    raw.close();
    await once(raw, 'close');
  }
});

test('one frame split over many chunks is reassembled by the server', async () => {
  let got: Uint8Array | null = null;
  const server = await startServer({ onMessage: (_t, b) => { got = b; } });
  const { encodeFrame } = await import('../../src/transport');
  const body = Buffer.alloc(10_000, 0x61);
  const f = encodeFrame({ kind: 0, type: 'split' }, body);
  const wire = Buffer.concat(f.parts);
  const s = net.connect({ port: server.port, host: '127.0.0.1' });
  await once(s, 'connect');
  try {
    // 100-byte pieces, each written after the previous one was handed to the kernel.
    for (let off = 0; off < wire.length; off += 100) {
      await new Promise<void>((r) => s.write(wire.subarray(off, off + 100), () => r()));
      await new Promise((r) => setImmediate(r));
    }
    await waitFor(() => got !== null, 'the split frame');
    assert.ok(Buffer.from(got!).equals(body));
  } finally {
    s.destroy();
    await server.close();
  }
});

test('a large frame (20 MB) round-trips; frames over the maximum are refused on both sides', async () => {
  const server = await startServer({ maxFrameBytes: 32 * 1024 * 1024, onRequest: async (_t, b) => b });
  const pool = new PeerPool({ maxFrameBytes: 32 * 1024 * 1024 });
  try {
    const big = Buffer.alloc(20 * 1024 * 1024);
    for (let i = 0; i < big.length; i += 4096) big[i] = i & 0xff;
    const echo = await pool.request(server.address, 'echo', big, { timeoutMs: 30_000 });
    assert.equal(echo.length, big.length);
    assert.ok(Buffer.from(echo).equals(big));
    // The sender checks its own maximum before sending anything.
    const tooBig = Buffer.alloc(32 * 1024 * 1024 + 1);
    await assert.rejects(pool.request(server.address, 'echo', tooBig), (e: unknown) => e instanceof TransportError && e.code === 'TOO_LARGE');
    assert.equal(pool.send(server.address, 'x', tooBig), false);
  } finally {
    await pool.close();
    await server.close();
  }
  // A receiver with a smaller maximum refuses and closes; the sender's pending request fails promptly.
  const small = await startServer({ maxFrameBytes: 1024, onRequest: async (_t, b) => b });
  const client = new PeerClient(small.address);
  try {
    await assert.rejects(client.request('echo', Buffer.alloc(2048), { timeoutMs: 10_000 }), (e: unknown) => e instanceof TransportError && e.code === 'DISCONNECTED');
    assert.equal(small.stats().refused, 1);
  } finally {
    await client.close();
    await small.close();
  }
});

test('request timeout rejects with TIMEOUT; a late response is ignored', async () => {
  let release: (() => void) | null = null;
  const server = await startServer({
    onRequest: (type) =>
      type === 'hang' ? new Promise<Uint8Array>((r) => { release = () => r(bytes('late')); }) : Promise.resolve(bytes('ok')),
  });
  const client = new PeerClient(server.address);
  try {
    const t0 = Date.now();
    await assert.rejects(client.request('hang', bytes(''), { timeoutMs: 50 }), (e: unknown) => e instanceof TransportError && e.code === 'TIMEOUT');
    assert.ok(Date.now() - t0 >= 45);
    assert.equal(client.pendingRequests, 0);
    assert.equal(client.stats().requestTimeouts, 1);
    await waitFor(() => release !== null, 'the request at the server');
    release!();
    assert.equal(text(await client.request('ok', bytes(''))), 'ok');
    assert.equal(client.state, 'connected');
  } finally {
    await client.close();
    await server.close();
  }
});

test('requests pending when the connection drops reject promptly with DISCONNECTED', async () => {
  let arrived = 0;
  const server = await startServer({ onRequest: () => { arrived++; return new Promise<Uint8Array>(() => {}); } });
  const client = new PeerClient(server.address);
  try {
    const t0 = Date.now();
    const ps = Array.from({ length: 10 }, () => client.request('hang', bytes(''), { timeoutMs: 30_000 }));
    const settled = Promise.allSettled(ps);
    await waitFor(() => arrived === 10, 'requests at the server');
    await server.close();
    const results = await settled;
    for (const r of results) {
      assert.equal(r.status, 'rejected');
      assert.ok(r.reason instanceof TransportError && r.reason.code === 'DISCONNECTED');
    }
    assert.ok(Date.now() - t0 < 5000);
    assert.equal(client.pendingRequests, 0);
    // While the peer is down, requests fail fast and sends are dropped and counted.
    await waitFor(() => client.state === 'backoff', 'backoff');
    await assert.rejects(client.request('x', bytes('')), (e: unknown) => e instanceof TransportError && e.code === 'UNAVAILABLE');
    const dropped = client.stats().dropped;
    assert.equal(client.send('x', bytes('')), false);
    assert.equal(client.stats().dropped, dropped + 1);
  } finally {
    await client.close();
  }
});

test('close() rejects pending requests with CLOSED, stops reconnecting and leaves no timers behind', async () => {
  const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
  const before = timers();
  const server = await startServer({ onRequest: () => new Promise<Uint8Array>(() => {}) });
  const pool = new PeerPool();
  const p = pool.request(server.address, 'hang', bytes(''), { timeoutMs: 60_000 });
  await waitFor(() => server.stats().requests === 1, 'the request at the server');
  // A second address that refuses connections: the client keeps backing off.
  const dead = net.createServer();
  dead.listen(0, '127.0.0.1');
  await once(dead, 'listening');
  const deadAddr = `127.0.0.1:${(dead.address() as net.AddressInfo).port}`;
  dead.close();
  await once(dead, 'close');
  pool.send(deadAddr, 'x', bytes(''));
  await waitFor(() => pool.stats().connectFailures >= 2, 'two failed attempts');
  await pool.close();
  await assert.rejects(p, (e: unknown) => e instanceof TransportError && e.code === 'CLOSED');
  assert.equal(pool.stats().connectionsOpen, 0);
  await assert.rejects(pool.request(server.address, 'x', bytes('')), (e: unknown) => e instanceof TransportError && e.code === 'CLOSED');
  assert.equal(pool.send(server.address, 'x', bytes('')), false);
  await server.close();
  assert.equal(server.stats().connectionsOpen, 0);
  assert.ok(timers() <= before, `timers left: ${timers()} > ${before}`);
});

test('frames sent while connecting wait for the connection; the outbound byte cap drops the excess', async () => {
  const got: string[] = [];
  const server = await startServer({ onMessage: (_t, b) => got.push(text(b)) });
  const client = new PeerClient(server.address, { maxQueueBytes: 1000 });
  try {
    assert.equal(client.state, 'idle');
    assert.equal(client.send('t', bytes('first')), true);
    assert.equal(client.state, 'connecting');
    assert.equal(client.send('t', Buffer.alloc(2000)), false); // over the cap
    assert.equal(client.send('t', bytes('second')), true);
    await waitFor(() => got.length === 2, 'two messages');
    assert.deepEqual(got, ['first', 'second']);
    assert.equal(client.stats().dropped, 1);
  } finally {
    await client.close();
    await server.close();
  }
});

test('a frame addressed to another store is refused', async () => {
  const server = await startServer({ storeId: 5, onRequest: async () => bytes('ok') });
  const client = new PeerClient(server.address);
  try {
    assert.equal(text(await client.request('x', bytes(''), { toStore: 5 })), 'ok');
    await assert.rejects(client.request('x', bytes(''), { toStore: 6 }), (e: unknown) => e instanceof TransportError && e.code === 'DISCONNECTED');
    assert.equal(server.stats().refused, 1);
  } finally {
    await client.close();
    await server.close();
  }
});

test('a connection with too many requests in flight stops being read until they complete', async () => {
  const release: Array<() => void> = [];
  const server = await startServer({
    maxInflightRequests: 5,
    onRequest: () => new Promise<Uint8Array>((r) => release.push(() => r(bytes('done')))),
  });
  const client = new PeerClient(server.address);
  try {
    const first = Array.from({ length: 5 }, () => client.request('hang', bytes(''), { timeoutMs: 30_000 }));
    await waitFor(() => release.length === 5, 'five requests in flight');
    assert.equal(server.stats().readPauses, 1);
    // More requests wait in the kernel's buffers until the first ones answer.
    const more = Array.from({ length: 5 }, () => client.request('hang', bytes(''), { timeoutMs: 30_000 }));
    for (const r of release.splice(0)) r();
    await Promise.all(first);
    await waitFor(() => release.length === 5, 'the next five');
    for (const r of release.splice(0)) r();
    await Promise.all(more);
    assert.equal(server.stats().requests, 10);
  } finally {
    await client.close();
    await server.close();
  }
});

test('a handler resolving with something other than bytes is a remote error; a bad address never throws', async () => {
  const server = await startServer({ onRequest: async () => 'not bytes' as unknown as Uint8Array });
  const pool = new PeerPool();
  try {
    await assert.rejects(pool.request(server.address, 'x', bytes('')), (e: unknown) => e instanceof TransportError && e.code === 'REMOTE');
    assert.equal(pool.send('no-port-here', 'x', bytes('')), false);
    assert.equal(pool.send('host:99999', 'x', bytes('')), false);
    await assert.rejects(pool.request('no-port-here', 'x', bytes('')), (e: unknown) => e instanceof TransportError && e.code === 'UNAVAILABLE');
    assert.equal(pool.stats().dropped, 2);
    assert.throws(() => new PeerClient('nope'), /bad peer address/);
  } finally {
    await pool.close();
    await server.close();
  }
});
