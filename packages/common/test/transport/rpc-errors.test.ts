// Typed errors over the peer transport: a handler's NotLeader, EpochNotMatch,
// RegionNotFound, OutcomeUnknown and EntryTooLarge arrive as the same classes
// with their fields; untyped failures stay TransportError('REMOTE'); a peer
// that answers with a garbage error body gets a clear error, and no crash.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { once } from 'node:events';
import {
  EntryTooLargeError,
  EpochNotMatchError,
  NotLeaderError,
  OutcomeUnknownError,
  PeerClient,
  PeerPool,
  RegionNotFoundError,
  TransportError,
  encodeFrame,
  isRefused,
} from '../../src/transport';
import { Kind } from '../../src/transport/frame';
import { FrameDecoder, decodeEnvelope } from '../../src/transport/frame';
import { bytes, startServer } from './helpers';

test('typed remote errors arrive as their classes, with their fields and messages', async () => {
  const region = { id: 7, startSlot: 0, endSlot: 100, epoch: { version: 3, confVer: 2 }, peers: [{ id: 8, storeId: 1, role: 0 }] };
  const server = await startServer({
    onRequest: async (type) => {
      if (type === 'not-leader') throw new NotLeaderError(7, '127.0.0.1:7201', 2);
      if (type === 'epoch') throw new EpochNotMatchError(7, [region], 'EPOCH_NOT_MATCH region 7 split');
      if (type === 'no-region') throw new RegionNotFoundError(9);
      if (type === 'unknown') throw new OutcomeUnknownError('the entry did not apply in time');
      if (type === 'large') throw new EntryTooLargeError(100, 10);
      throw new Error('plain failure');
    },
  });
  const pool = new PeerPool();
  try {
    const req = (type: string) => pool.request(server.address, type, bytes('x'));
    await assert.rejects(req('not-leader'), (e: unknown) => {
      assert.ok(e instanceof NotLeaderError);
      assert.deepEqual([e.regionId, e.leaderAddr, e.leaderStoreId, e.message], [7, '127.0.0.1:7201', 2, 'NOT_LEADER 127.0.0.1:7201']);
      assert.ok(isRefused(e));
      return true;
    });
    await assert.rejects(req('epoch'), (e: unknown) => {
      assert.ok(e instanceof EpochNotMatchError);
      assert.equal(e.regionId, 7);
      assert.equal(e.message, 'EPOCH_NOT_MATCH region 7 split');
      assert.equal(e.currentRegions.length, 1);
      assert.equal(Number(e.currentRegions[0].epoch?.version), 3);
      assert.equal(Number(e.currentRegions[0].endSlot), 100);
      return true;
    });
    await assert.rejects(req('no-region'), (e: unknown) => e instanceof RegionNotFoundError && e.regionId === 9 && isRefused(e));
    await assert.rejects(req('unknown'), (e: unknown) => e instanceof OutcomeUnknownError && e.message === 'the entry did not apply in time' && !isRefused(e));
    await assert.rejects(req('large'), (e: unknown) => e instanceof EntryTooLargeError && e.bytes === 100 && e.maxBytes === 10);
    await assert.rejects(req('other'), (e: unknown) => e instanceof TransportError && e.code === 'REMOTE' && e.message === 'plain failure' && !isRefused(e));
  } finally {
    await pool.close();
    await server.close();
  }
});

/** A fake peer that answers every request with an error response whose body is `body`. */
async function fakePeer(body: Buffer): Promise<{ address: string; close(): Promise<void> }> {
  const fake = net.createServer((s) => {
    s.on('error', () => {});
    const dec = new FrameDecoder(1 << 20);
    s.on('data', (chunk: Buffer) =>
      dec.push(chunk, (frame) => {
        const env = decodeEnvelope(frame);
        for (const part of encodeFrame({ kind: Kind.RESPONSE, requestId: env.requestId, error: 'NOT_LEADER 1.2.3.4:5' }, body).parts) s.write(part);
        return true;
      }),
    );
  });
  fake.listen(0, '127.0.0.1');
  await once(fake, 'listening');
  return {
    address: `127.0.0.1:${(fake.address() as net.AddressInfo).port}`,
    close: async () => {
      fake.close();
      await once(fake, 'close');
    },
  };
}

test('a garbage typed-error body gets a clear REMOTE error; the connection keeps working', async () => {
  for (const body of [Buffer.from([0x0a, 0xff, 0xff]), Buffer.from([0x52, 0x00])]) {
    const fake = await fakePeer(body);
    const client = new PeerClient(fake.address);
    try {
      await assert.rejects(client.request('x', bytes('y'), { timeoutMs: 10_000 }), (e: unknown) => {
        assert.ok(e instanceof TransportError, String(e));
        assert.equal(e.code, 'REMOTE');
        assert.match(e.message, /^NOT_LEADER 1\.2\.3\.4:5 \((its typed error could not be decoded|an error kind this store does not know)/);
        return true;
      });
      // Still connected: a second request gets its own answer.
      await assert.rejects(client.request('x', bytes('y'), { timeoutMs: 10_000 }), (e: unknown) => e instanceof TransportError && e.code === 'REMOTE');
      assert.equal(client.stats().refused, 0);
    } finally {
      await client.close();
      await fake.close();
    }
  }
});
