// The dispatcher's fast paths: a reply ready at once comes back as it is (no
// promise), a command whose first attempt succeeds costs one `then`, and
// everything else — an error thrown at once or later, a retry, an unknown
// outcome — still goes through the attempt loop, with the per-client gate
// kept in both cases.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorReply, OutcomeUnknownError, SimpleString } from '@redraft/common';
import type { Reply } from '@redraft/common';
import { RetryLaterError } from '../src/dispatch';
import type { Router } from '../src/dispatch';
import { testStore, testClient, plain } from './harness';

const b = (...args: string[]): Buffer[] => args.map((a) => Buffer.from(a));
const isPromise = (r: unknown): r is Promise<Reply> => r instanceof Promise;
const value = (r: Reply): unknown => (r instanceof SimpleString ? r.value : plain(r));

test('a reply ready at once is returned as it is, and the next command is not held behind it', async () => {
  const s = await testStore();
  const ping = s.dispatcher.dispatch(s.client, b('ping'));
  assert.ok(!isPromise(ping), 'PING answers without a promise');
  assert.equal(value(ping as Reply), 'PONG');
  const arity = s.dispatcher.dispatch(s.client, b('get'));
  assert.ok(arity instanceof ErrorReply && /wrong number of arguments/.test(arity.message));
  let proposed = 0;
  const propose = s.region.propose.bind(s.region);
  s.region.propose = (cmd) => {
    proposed++;
    return propose(cmd);
  };
  const set = s.dispatcher.dispatch(s.client, b('set', 'k', 'v'));
  assert.ok(isPromise(set), 'a write answers later');
  assert.equal(proposed, 1, 'the SET started at once: nothing held it');
  assert.equal(value(await set), 'OK');
  // execute() keeps returning a promise for the callers that await it.
  assert.ok(isPromise(s.dispatcher.execute(s.client, b('ping'))));
});

test('a write answered later releases the commands held behind it, in order', async () => {
  const s = await testStore();
  const set = s.dispatcher.dispatch(s.client, b('set', 'k', '1'));
  // PINGs run alone, each its own run held behind the write: many of them must not start each other recursively.
  const pings: Array<Reply | Promise<Reply>> = [];
  for (let i = 0; i < 5000; i++) pings.push(s.dispatcher.dispatch(s.client, b('ping')));
  const get = s.dispatcher.dispatch(s.client, b('get', 'k'));
  assert.ok(isPromise(set) && isPromise(get) && pings.every(isPromise), 'held commands answer later');
  assert.equal(value(await set), 'OK');
  for (const p of pings) assert.equal(value(await p), 'PONG');
  assert.equal(value(await get), '1');
  // The gate is empty again: the next command is not held.
  assert.ok(!isPromise(s.dispatcher.dispatch(s.client, b('ping'))));
});

test('an error thrown at once by a handler is answered through the attempt loop, and frees the gate', async () => {
  const s = await testStore();
  const bad = s.dispatcher.dispatch(s.client, b('set', 'k', 'v', 'EX', 'soon'));
  assert.ok(isPromise(bad));
  const r = await bad;
  assert.ok(r instanceof ErrorReply && /not an integer/.test(r.message), String(r));
  assert.ok(!isPromise(s.dispatcher.dispatch(s.client, b('ping'))), 'nothing is held after it');
  assert.equal(value(await s.exec('get', 'k')), null, 'not applied');
});

test('a region without a leader at the first attempt: thrown at once or rejected later, the write is retried and applied once', async () => {
  let refusals = 0;
  const s = await testStore(undefined, (plainRouter: Router): Router => ({
    ...plainRouter,
    regionFor: (slots, intent) => {
      if (refusals > 0) {
        refusals--;
        throw new RetryLaterError('TRYAGAIN electing');
      }
      return plainRouter.regionFor(slots, intent);
    },
  }));
  // Thrown while the handler runs (synchronously).
  refusals = 1;
  assert.equal(value(await s.exec('incr', 'n')), 1n);
  assert.equal(refusals, 0);
  // Rejected by the region after the handler returned its promise.
  let rejectOnce = true;
  const propose = s.region.propose.bind(s.region);
  s.region.propose = (cmd) => {
    if (rejectOnce) {
      rejectOnce = false;
      return Promise.reject(new RetryLaterError('TRYAGAIN leader changed'));
    }
    return propose(cmd);
  };
  const incr = s.dispatcher.dispatch(s.client, b('incr', 'n'));
  const get = s.dispatcher.dispatch(s.client, b('get', 'n'));
  assert.equal(value(await incr), 2n);
  assert.equal(value(await get), '2', 'the read held behind the retried write sees it');
});

test('an unknown outcome at the first attempt closes the connection instead of answering, and frees the gate', async () => {
  const s = await testStore();
  const client = testClient(7);
  const propose = s.region.propose.bind(s.region);
  let unknown = true;
  s.region.propose = (cmd) => {
    if (unknown) {
      unknown = false;
      return Promise.reject(new OutcomeUnknownError('leader gone'));
    }
    return propose(cmd);
  };
  const set = s.dispatcher.dispatch(client, b('set', 'k', 'v'));
  await assert.rejects(Promise.resolve(set), OutcomeUnknownError);
  assert.equal(client.closed, 'now');
  assert.equal(value(await s.execAs(client, 'set', 'k', 'w')), 'OK', 'the gate let the next command run');
});
