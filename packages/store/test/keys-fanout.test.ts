// keys-fanout.ts: a page read at another store's leader is a read, so a lost
// answer (timed out, connection dropped) is asked again, and past the page's
// deadline the client is told to try again — never an internal error.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SLOT_COUNT, TransportError, pb } from '@redraft/common';
import type { Engine } from '@redraft/common';
import { KeysFanout } from '../src/keys-fanout';
import { RetryLaterError } from '../src/dispatch';
import type { RaftStore } from '../src/raftstore/store';

/** A store that leads nothing; store 2 leads every slot, and `answer` plays its RPC. */
function fanoutTo(answer: (timeoutMs: number) => Promise<Uint8Array>): KeysFanout {
  const raft = {
    storeId: 1,
    routeOf: () => ({ peer: undefined, leaderStoreId: 2, endSlot: SLOT_COUNT }),
    storeInfo: () => ({ peerAddr: '127.0.0.1:1' }),
    pool: { request: (_addr: string, _type: string, _body: Uint8Array, opts: { timeoutMs: number }) => answer(opts.timeoutMs) },
  };
  return new KeysFanout(raft as unknown as RaftStore, {} as Engine);
}

const page = pb.RegionKeysResponse.encode({ keys: [], count: 7, expires: 1, endSlot: SLOT_COUNT, more: false }).finish();

for (const code of ['TIMEOUT', 'DISCONNECTED'] as const) {
  test(`a page whose answer was lost (${code}) is asked again`, async () => {
    let asked = 0;
    const fanout = fanoutTo(async () => {
      if (asked++ === 0) throw new TransportError(code, 'no answer', '127.0.0.1:1');
      return page;
    });
    const got = await fanout.page({ fromSlot: 0, limit: 10, countOnly: true });
    assert.equal(asked, 2);
    assert.equal(got.count, 7);
  });
}

test('no answer until the deadline: RetryLaterError (the client gets -TRYAGAIN)', async () => {
  const timeouts: number[] = [];
  const fanout = fanoutTo(async (timeoutMs) => {
    timeouts.push(timeoutMs);
    // As the pool would after timeoutMs, but at once: the test does not wait.
    throw new TransportError('TIMEOUT', 'no answer', '127.0.0.1:1');
  });
  const realNow = Date.now;
  let now = realNow();
  Date.now = () => (now += 1000);
  try {
    await assert.rejects(fanout.page({ fromSlot: 0, limit: 10 }), (e) => e instanceof RetryLaterError && /^TRYAGAIN /.test(e.message));
  } finally {
    Date.now = realNow;
  }
  assert.ok(timeouts.length >= 2, 'asked again');
  assert.ok(
    timeouts.every((t) => t >= 2000 && t <= 5000),
    `each ask waits what is left of the deadline, at least 2 s: ${timeouts.join(',')}`,
  );
});

test('a remote handler that failed is not hidden behind a retry', async () => {
  let asked = 0;
  const fanout = fanoutTo(async () => {
    asked++;
    throw new TransportError('REMOTE', 'boom', '127.0.0.1:1');
  });
  await assert.rejects(fanout.page({ fromSlot: 0, limit: 10 }), /boom/);
  assert.equal(asked, 1);
});
