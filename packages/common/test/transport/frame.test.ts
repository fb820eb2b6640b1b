import { test } from 'node:test';
import assert from 'node:assert/strict';
import { redraft as pb } from '../../src/gen/proto';
import { FrameDecoder, decodeEnvelope, encodeFrame, envelopeProblem, type Envelope } from '../../src/transport';

const Kind = pb.PeerEnvelope.Kind;

function joined(parts: Uint8Array[]): Buffer {
  return Buffer.concat(parts.map((p) => Buffer.from(p.buffer, p.byteOffset, p.byteLength)));
}

test('encodeFrame: prefix is the envelope length; protobufjs decodes every field, body sizes around the inline limit', () => {
  for (const size of [0, 1, 127, 128, 4095, 4096, 4097, 300_000]) {
    const body = Buffer.alloc(size, 7);
    const f = encodeFrame({ kind: Kind.REQUEST, fromStore: 3, toStore: 2 ** 40, requestId: 99, type: 'raft', error: '' }, body);
    const buf = joined(f.parts);
    assert.equal(buf.length, f.bytes);
    assert.equal(buf.readUInt32BE(0), f.bytes - 4);
    const env = decodeEnvelope(buf.subarray(4));
    assert.equal(env.kind, Kind.REQUEST);
    assert.equal(env.fromStore, 3);
    assert.equal(env.toStore, 2 ** 40);
    assert.equal(env.requestId, 99);
    assert.equal(env.type, 'raft');
    assert.equal(env.body.length, size);
    assert.ok(Buffer.from(env.body).equals(body));
    assert.equal(envelopeProblem(env), null);
    // Large bodies are handed over as they are, not copied.
    if (size > 4096) assert.equal(f.parts[1], body);
  }
});

test('FrameDecoder: many frames in one chunk, and the same stream one byte at a time', () => {
  const frames = Array.from({ length: 50 }, (_, i) => joined(encodeFrame({ kind: Kind.MESSAGE, type: 't', requestId: 0 }, Buffer.alloc(i * 37, i)).parts));
  const stream = Buffer.concat(frames);
  const expectLens = frames.map((f) => f.length - 4);
  for (const step of [stream.length, 1, 3, 4, 5, 1000]) {
    const d = new FrameDecoder(1 << 20);
    const got: number[] = [];
    for (let off = 0; off < stream.length; off += step) {
      assert.equal(d.push(stream.subarray(off, off + step), (f) => { got.push(f.length); return true; }), null);
    }
    assert.deepEqual(got, expectLens, `step ${step}`);
    assert.equal(d.pendingBytes, 0);
  }
});

test('FrameDecoder: zero and oversized lengths are refused from the prefix alone', () => {
  const d = new FrameDecoder(1000);
  assert.match(d.push(Buffer.from([0, 0, 0, 0]), () => true) ?? '', /zero/);
  const d2 = new FrameDecoder(1000);
  assert.equal(d2.push(Buffer.from([0, 0]), () => true), null);
  assert.match(d2.push(Buffer.from([0x03, 0xe9]), () => true) ?? '', /over the maximum/);
  const d3 = new FrameDecoder(1000);
  assert.equal(d3.push(Buffer.from([0, 0, 0x03, 0xe8, 1, 2]), () => true), null);
  assert.equal(d3.pendingBytes, 6);
});

test('FrameDecoder: stops when the handler says the connection closed', () => {
  const f = joined(encodeFrame({ kind: Kind.MESSAGE, type: 't' }, Buffer.from('x')).parts);
  const d = new FrameDecoder(1000);
  let n = 0;
  d.push(Buffer.concat([f, f, f]), () => { n++; return false; });
  assert.equal(n, 1);
});

test('decodeEnvelope: numbers (never Long objects) and defaults', () => {
  const env = decodeEnvelope(Buffer.from(pb.PeerEnvelope.encode({ kind: Kind.RESPONSE, requestId: 2 ** 53 - 1 }).finish()));
  assert.deepEqual({ ...env, body: [...env.body] }, { kind: Kind.RESPONSE, fromStore: 0, toStore: 0, requestId: 2 ** 53 - 1, type: '', body: [], error: '' });
});

test('envelopeProblem: kinds, request ids and types', () => {
  const e = (p: Partial<Envelope>): Envelope => ({ kind: Kind.MESSAGE, fromStore: 0, toStore: 0, requestId: 0, type: '', body: new Uint8Array(0), error: '', ...p });
  assert.match(envelopeProblem(e({ kind: 7 as never, type: 'x' })) ?? '', /unknown envelope kind/);
  assert.match(envelopeProblem(e({ kind: Kind.MESSAGE })) ?? '', /without a type/);
  assert.match(envelopeProblem(e({ kind: Kind.REQUEST, type: 'x' })) ?? '', /request id/);
  assert.match(envelopeProblem(e({ kind: Kind.RESPONSE })) ?? '', /request id/);
  assert.equal(envelopeProblem(e({ kind: Kind.RESPONSE, requestId: 1 })), null);
});

test('parseAddress: host:port and [v6]:port; anything else is refused', async () => {
  const { parseAddress } = await import('../../src/transport');
  assert.deepEqual(parseAddress('127.0.0.1:7201'), { host: '127.0.0.1', port: 7201 });
  assert.deepEqual(parseAddress('store-2.local:7202'), { host: 'store-2.local', port: 7202 });
  assert.deepEqual(parseAddress('[::1]:7203'), { host: '::1', port: 7203 });
  for (const bad of ['', 'host', 'host:', ':7201', 'host:0', 'host:65536', 'host:7x', '::1:7201']) assert.throws(() => parseAddress(bad), /bad peer address/, bad);
});

test('encodeFrame agrees with protobufjs on random envelopes (unicode strings, 64-bit ids)', () => {
  let seed = 12345;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const pick = <T>(xs: T[]): T => xs[Math.floor(rnd() * xs.length)];
  for (let i = 0; i < 2000; i++) {
    const head = {
      kind: pick([Kind.MESSAGE, Kind.REQUEST, Kind.RESPONSE]),
      fromStore: pick([0, 1, 127, 128, 300, 2 ** 32, 2 ** 53 - 1]),
      toStore: pick([0, 2, 16383, 2 ** 35 + 7]),
      requestId: pick([0, 1, Math.floor(rnd() * 2 ** 53)]),
      type: pick(['', 'raft', 'héllo wörld ☃', 'x'.repeat(200)]),
      error: pick(['', 'boom', '错误'.repeat(50)]),
    };
    const body = Buffer.alloc(pick([0, 1, 130, 5000]), i & 0xff);
    const wire = joined(encodeFrame(head, body).parts);
    assert.equal(wire.readUInt32BE(0), wire.length - 4);
    const m = pb.PeerEnvelope.decode(wire.subarray(4));
    const n = (v: unknown) => Number(v ?? 0);
    assert.deepEqual(
      { kind: m.kind, fromStore: n(m.fromStore), toStore: n(m.toStore), requestId: n(m.requestId), type: m.type, error: m.error },
      head,
    );
    assert.ok(Buffer.from(m.body).equals(body));
  }
});
