// Hostile and broken input on the peer port: every case is refused (logged,
// counted, its connection closed), never crashes the process, never buffers
// without bound, and the server keeps serving good clients afterwards.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import * as net from 'node:net';
import { once } from 'node:events';
import pino from 'pino';
import { redraft as pb } from '../../src/gen/proto';
import { PeerClient, PeerServer, encodeFrame } from '../../src/transport';
import { bytes, closed, rawConnect, seededBytes, startServer, text, waitFor } from './helpers';

const Kind = pb.PeerEnvelope.Kind;

function frameOf(envBytes: Uint8Array): Buffer {
  const b = Buffer.alloc(4 + envBytes.length);
  b.writeUInt32BE(envBytes.length, 0);
  b.set(envBytes, 4);
  return b;
}

function capturingLogger(): { logger: pino.Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk, _enc, cb) {
      for (const l of String(chunk).split('\n')) if (l) lines.push(JSON.parse(l));
      cb();
    },
  });
  return { logger: pino({ level: 'warn' }, sink), lines };
}

async function goodClientWorks(server: PeerServer): Promise<void> {
  const c = new PeerClient(server.address);
  try {
    assert.equal(text(await c.request('echo', bytes('still here'))), 'still here');
  } finally {
    await c.close();
  }
}

const cases: Array<{ name: string; wire: () => Buffer; thenEnd?: boolean }> = [
  { name: 'huge declared length', wire: () => Buffer.from([0xff, 0xff, 0xff, 0xff, 1, 2, 3]) },
  { name: 'length just over the maximum', wire: () => Buffer.from([0x00, 0x10, 0x00, 0x01]) },
  { name: 'zero length', wire: () => Buffer.from([0, 0, 0, 0, 0, 0, 0, 0]) },
  { name: 'valid length, garbage protobuf (wire type 7)', wire: () => frameOf(Buffer.from([0x0f, 0xff, 0xff, 0xff])) },
  { name: 'valid length, protobuf field running past the frame', wire: () => frameOf(Buffer.from([0x32, 0x7f, 0x01])) },
  { name: 'valid protobuf, unknown kind', wire: () => frameOf(pb.PeerEnvelope.encode({ kind: 9 as never, type: 'x' }).finish()) },
  { name: 'request without a request id', wire: () => frameOf(pb.PeerEnvelope.encode({ kind: Kind.REQUEST, type: 'echo' }).finish()) },
  { name: 'a response sent to the server', wire: () => frameOf(pb.PeerEnvelope.encode({ kind: Kind.RESPONSE, requestId: 1 }).finish()) },
  { name: 'truncated frame, then close', wire: () => Buffer.concat(encodeFrame({ kind: Kind.MESSAGE, type: 'm' }, Buffer.alloc(1000)).parts).subarray(0, 500), thenEnd: true },
  { name: 'truncated length prefix, then close', wire: () => Buffer.from([0, 0]), thenEnd: true },
];

test('malformed frames are refused, logged and counted; the connection closes; good clients keep working', async () => {
  const { logger, lines } = capturingLogger();
  const server = await startServer({ logger, maxFrameBytes: 1024 * 1024, onRequest: async (_t, b) => b, onMessage: () => {} });
  try {
    await goodClientWorks(server);
    // A good client stays connected through all of it.
    const steady = new PeerClient(server.address);
    assert.equal(text(await steady.request('echo', bytes('a'))), 'a');
    let refused = 0;
    for (const c of cases) {
      const s = await rawConnect(server.port);
      s.write(c.wire());
      if (c.thenEnd) s.end();
      await closed(s);
      refused++;
      await waitFor(() => server.stats().refused === refused, `refusal of: ${c.name}`);
      await goodClientWorks(server);
    }
    assert.equal(text(await steady.request('echo', bytes('b'))), 'b');
    assert.equal(steady.stats().reconnects, 0);
    await steady.close();
    assert.equal(lines.filter((l) => /refused|middle of a frame/.test(String(l.msg))).length, cases.length);
    assert.ok(lines.every((l) => typeof l.remote === 'string'));
  } finally {
    await server.close();
  }
});

test('random bytes (several seeds) never crash the server nor stay open forever', async () => {
  const server = await startServer({ maxFrameBytes: 1024 * 1024, onRequest: async (_t, b) => b, onMessage: () => {} });
  try {
    for (let seed = 1; seed <= 20; seed++) {
      const s = await rawConnect(server.port);
      s.write(seededBytes(seed, 4096));
      s.end();
      await closed(s);
    }
    await waitFor(() => server.stats().connectionsOpen === 0, 'every hostile connection closed');
    assert.ok(server.stats().refused >= 20);
    await goodClientWorks(server);
  } finally {
    await server.close();
  }
});

test('a declared length over the maximum is refused before its bytes arrive (no buffering)', async () => {
  const server = await startServer({ maxFrameBytes: 1024 });
  try {
    const s = await rawConnect(server.port);
    const header = Buffer.alloc(4);
    header.writeUInt32BE(100 * 1024 * 1024, 0);
    s.write(header); // and nothing else: the server must not wait for 100 MB
    await closed(s);
    assert.equal(server.stats().refused, 1);
  } finally {
    await server.close();
  }
});

test('a message handler that throws (undecodable body) refuses the frame; the sender reconnects', async () => {
  const got: string[] = [];
  const server = await startServer({
    onMessage: (_t, b) => {
      const s = text(b);
      if (s === 'bad') throw new Error('body does not decode');
      got.push(s);
    },
  });
  const client = new PeerClient(server.address, { random: () => 0 });
  try {
    client.send('t', bytes('one'));
    await waitFor(() => got.length === 1, 'first message');
    client.send('t', bytes('bad'));
    await waitFor(() => server.stats().refused === 1, 'the refusal');
    await waitFor(() => client.stats().reconnects === 1, 'the reconnect');
    client.send('t', bytes('two'));
    await waitFor(() => got.length === 2, 'second message');
    assert.deepEqual(got, ['one', 'two']);
  } finally {
    await client.close();
    await server.close();
  }
});

test('a client refuses a malformed response and fails its pending requests', async () => {
  // A fake peer answering with garbage.
  const fake = net.createServer((s) => {
    s.on('error', () => {});
    s.once('data', () => s.write(frameOf(Buffer.from([0x0f]))));
  });
  fake.listen(0, '127.0.0.1');
  await once(fake, 'listening');
  const client = new PeerClient(`127.0.0.1:${(fake.address() as net.AddressInfo).port}`);
  try {
    await assert.rejects(client.request('x', bytes('y'), { timeoutMs: 10_000 }), (e: unknown) => (e as { code?: string }).code === 'DISCONNECTED');
    assert.equal(client.stats().refused, 1);
  } finally {
    await client.close();
    fake.close();
    await once(fake, 'close');
  }
});
