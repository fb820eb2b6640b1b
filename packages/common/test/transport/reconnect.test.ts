import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { PeerClient, PeerPool } from '../../src/transport';
import { bytes, startServer, text, waitFor } from './helpers';

test('the client reconnects after the server restarts on the same port', async () => {
  const s1 = await startServer({ onRequest: async () => bytes('one') });
  const port = s1.port;
  const pool = new PeerPool({ storeId: 1 });
  const events: string[] = [];
  pool.on('connect', (a: string) => events.push(`connect ${a}`));
  pool.on('disconnect', (a: string) => events.push(`disconnect ${a}`));
  const addr = s1.address;
  let s2: Awaited<ReturnType<typeof startServer>> | null = null;
  try {
    assert.equal(text(await pool.request(addr, 'x', bytes(''))), 'one');
    const lost = once(pool, 'disconnect');
    await s1.close();
    await lost;
    s2 = await startServer({ port, onRequest: async () => bytes('two') });
    await waitFor(() => pool.client(addr).state === 'connected', 'the reconnect');
    assert.equal(text(await pool.request(addr, 'x', bytes(''))), 'two');
    assert.equal(pool.stats().reconnects, 1);
    assert.equal(events[0], `connect ${addr}`);
    assert.equal(events[1], `disconnect ${addr}`);
    assert.equal(events[events.length - 1], `connect ${addr}`);
  } finally {
    await pool.close();
    await s2?.close();
  }
});

test('reconnect delays grow exponentially up to the cap, with injected jitter', async () => {
  // A port with nobody listening: every attempt fails at once (ECONNREFUSED).
  const s = await startServer({});
  const port = s.port;
  await s.close();
  // random() = 1 makes each delay its cap: 10, 20, 40, 80, 80, ...
  const client = new PeerClient(`127.0.0.1:${port}`, { backoffInitialMs: 10, backoffMaxMs: 80, random: () => 1 });
  const at: number[] = [];
  client.on('disconnect', () => at.push(Date.now()));
  try {
    client.connect();
    await waitFor(() => at.length >= 9, 'nine failed attempts');
    const gaps = at.slice(1, 9).map((t, i) => t - at[i]);
    // Timers never fire early (1 ms of rounding aside); lateness is allowed
    // on a busy machine, but without the cap the last gap would be 1280 ms.
    const expected = [10, 20, 40, 80, 80, 80, 80, 80];
    gaps.forEach((g, i) => assert.ok(g >= expected[i] - 1, `gap ${i} = ${g} ms, expected >= ${expected[i]}`));
    assert.ok(gaps[7] < 1000, `capped: ${gaps[7]} ms`);
    assert.equal(client.stats().connectFailures, at.length);
  } finally {
    await client.close();
  }
});

test('pool.disconnect forgets an address and stops its reconnects', async () => {
  const s = await startServer({ onRequest: async () => bytes('ok') });
  const pool = new PeerPool();
  try {
    await pool.request(s.address, 'x', bytes(''));
    assert.deepEqual(pool.addresses(), [s.address]);
    await pool.disconnect(s.address);
    assert.deepEqual(pool.addresses(), []);
    await waitFor(() => s.stats().connectionsOpen === 0, 'the server sees the close');
    // A new use makes a fresh client.
    assert.equal(text(await pool.request(s.address, 'x', bytes(''))), 'ok');
  } finally {
    await pool.close();
    await s.close();
  }
});

test('listen() rejects when the port is taken; close() of a server that never listened resolves', async () => {
  const a = await startServer({});
  const { PeerServer } = await import('../../src/transport');
  const b = new PeerServer({ port: a.port });
  try {
    await assert.rejects(b.listen(), (e: unknown) => (e as NodeJS.ErrnoException).code === 'EADDRINUSE');
  } finally {
    await b.close();
    await a.close();
  }
});
