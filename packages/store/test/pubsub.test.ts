// The Pub/Sub hub on its own (pubsub.ts) and the RESP2 subscribed-mode rule
// (commands/pubsub.ts), with fake connections that record what is pushed.
// Across real stores: test/cluster/pubsub.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { ErrorReply, PushReply } from '@redraft/common';
import type { Reply } from '@redraft/common';
import { PubSubHub, SUBSCRIBER_OUTPUT_LIMIT } from '../src/pubsub';
import { subscribedModeReply } from '../src/commands/pubsub';
import { storeCommandTable } from '../src/commands/table';
import type { ClientState } from '../src/commands/context';
import { plain as plainReply, testClient } from './harness';

/** Replies as plain values, pushes as arrays. */
function plain(r: Reply): unknown {
  if (r instanceof PushReply) return r.items.map(plain);
  if (Array.isArray(r)) return r.map(plain);
  return plainReply(r);
}

class FakeConn extends EventEmitter {
  pushed: unknown[] = [];
  closed = false;
  killed = false;
  outputBufferBytes = 0;
  flags = new Set<string>();
  subscriptions = 0;
  patternSubscriptions = 0;
  shardSubscriptions = 0;
  constructor(readonly client: ClientState) {
    super();
  }
  push(r: Reply): void {
    assert.ok(r instanceof PushReply, 'messages are pushes');
    this.pushed.push(plain(r));
  }
  kill(): void {
    this.killed = true;
  }
  close(): void {
    this.closed = true;
    this.emit('close');
  }
}

function conn(id: number, protocol: 2 | 3 = 2): FakeConn & ClientState {
  const c = testClient(id);
  c.protocol = protocol;
  // The fake's own closed/kill, not the test client's.
  return Object.assign(new FakeConn(c), c, { closed: false, kill: FakeConn.prototype.kill }) as unknown as FakeConn & ClientState;
}

const b = (s: string): Buffer => Buffer.from(s);
const asPlain = (rs: Reply[]): unknown[] => rs.map((r) => plain(r));

test('subscribe, publish, unsubscribe: counts and confirmations as Redis 7.0', () => {
  const hub = new PubSubHub();
  const c1 = conn(1);
  const c2 = conn(2);
  assert.deepEqual(asPlain(hub.subscribe(c1, 'channel', [b('a'), b('b'), b('a')])), [
    ['subscribe', 'a', 1],
    ['subscribe', 'b', 2],
    ['subscribe', 'a', 2],
  ]);
  assert.deepEqual(asPlain(hub.subscribe(c1, 'pattern', [b('a*')])), [['psubscribe', 'a*', 3]]);
  assert.deepEqual(asPlain(hub.subscribe(c1, 'shard', [b('s')])), [['ssubscribe', 's', 1]]);
  hub.subscribe(c2, 'channel', [b('a')]);
  assert.equal(c1.subscriptions, 2);
  assert.equal(c1.patternSubscriptions, 1);
  assert.equal(c1.shardSubscriptions, 1);
  assert.ok(c1.flags.has('pubsub'));

  // A channel and a matching pattern: delivered (and counted) twice; channel first.
  assert.equal(hub.deliver(b('a'), b('hi'), false), 3);
  assert.deepEqual(c1.pushed, [['message', 'a', 'hi'], ['pmessage', 'a*', 'a', 'hi']]);
  assert.deepEqual(c2.pushed, [['message', 'a', 'hi']]);
  // Shard messages reach shard subscribers only; PUBLISH never reaches them.
  assert.equal(hub.deliver(b('s'), b('x'), true), 1);
  assert.equal(hub.deliver(b('s'), b('x'), false), 0);
  assert.equal(hub.deliver(b('ab'), b('x'), true), 0);

  assert.deepEqual(hub.localView({ sharded: false, names: [b('a'), b('zz')] }).counts, [2, 0]);
  assert.deepEqual(hub.localView({ sharded: false, pattern: b('b*'), names: [] }).channels.map(String), ['b']);
  assert.deepEqual(hub.localView({ sharded: true, names: [] }).channels.map(String), ['s']);

  // UNSUBSCRIBE without names: every channel, patterns stay (and count).
  assert.deepEqual(asPlain(hub.unsubscribe(c1, 'channel', [])), [
    ['unsubscribe', 'a', 2],
    ['unsubscribe', 'b', 1],
  ]);
  assert.deepEqual(asPlain(hub.unsubscribe(c1, 'channel', [])), [['unsubscribe', null, 1]]);
  assert.deepEqual(asPlain(hub.unsubscribe(c1, 'pattern', [b('nope'), b('a*')])), [
    ['punsubscribe', 'nope', 1],
    ['punsubscribe', 'a*', 0],
  ]);
  assert.ok(hub.isSubscribed(c1), 'still has a shard channel');
  assert.deepEqual(asPlain(hub.unsubscribe(c1, 'shard', [])), [['sunsubscribe', 's', 0]]);
  assert.ok(!hub.isSubscribed(c1));
  assert.ok(!c1.flags.has('pubsub'));
  // Never subscribed: still one confirmation.
  assert.deepEqual(asPlain(hub.unsubscribe(conn(9), 'pattern', [])), [['punsubscribe', null, 0]]);
});

test('binary channel names and patterns; a closed client is forgotten; a slow one is cut off', () => {
  const hub = new PubSubHub();
  const c1 = conn(1);
  const name = Buffer.from([0x00, 0xff, 0x0d, 0x0a]);
  hub.subscribe(c1, 'channel', [name]);
  hub.subscribe(c1, 'pattern', [Buffer.from([0x00, 0x2a])]); // "\0*"
  assert.equal(hub.deliver(name, b('m'), false), 2);
  c1.close();
  assert.equal(hub.deliver(name, b('m'), false), 0);
  assert.equal(hub.stats().channels + hub.stats().patterns, 0);

  // A SUBSCRIBE that runs after its client closed records nothing.
  const late = conn(3);
  late.close();
  hub.subscribe(late, 'channel', [b('c')]);
  assert.ok(!hub.isSubscribed(late));

  const slow = conn(2);
  hub.subscribe(slow, 'channel', [b('c')]);
  slow.outputBufferBytes = SUBSCRIBER_OUTPUT_LIMIT + 1;
  hub.deliver(b('c'), b('m'), false);
  assert.ok(slow.killed);
  assert.deepEqual(slow.pushed, []);
});

test('RESP2 subscribed mode: only (P|S)SUBSCRIBE, (P|S)UNSUBSCRIBE, PING, QUIT, RESET; RESP3 free', () => {
  const hub = new PubSubHub();
  const table = storeCommandTable();
  const c2 = conn(1, 2);
  const c3 = conn(2, 3);
  const check = (c: ClientState, ...args: string[]): unknown => {
    const a = args.map(b);
    const r = subscribedModeReply(c, table.lookup(a), a, hub);
    return r === undefined ? undefined : r instanceof ErrorReply ? r.message : plain(r);
  };
  assert.equal(check(c2, 'GET', 'k'), undefined, 'not subscribed yet');
  hub.subscribe(c2, 'channel', [b('x')]);
  hub.subscribe(c3, 'channel', [b('x')]);
  assert.equal(check(c2, 'GET', 'k'), "ERR Can't execute 'get': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context");
  assert.equal(check(c2, 'client', 'list'), "ERR Can't execute 'client|list': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context");
  assert.deepEqual(check(c2, 'PING'), ['pong', '']);
  assert.deepEqual(check(c2, 'PING', 'hi'), ['pong', 'hi']);
  for (const cmd of ['subscribe', 'psubscribe', 'ssubscribe']) assert.equal(check(c2, cmd, 'y'), undefined);
  for (const cmd of ['unsubscribe', 'punsubscribe', 'sunsubscribe', 'quit']) assert.equal(check(c2, cmd), undefined);
  // An unknown command or a wrong arity keeps its own error (found fails first).
  assert.equal(check(c2, 'nosuchcommand'), undefined);
  assert.equal(check(c3, 'GET', 'k'), undefined);
  assert.equal(check(c3, 'PING'), undefined);
});

test('shard channels of a slot that left this store are dropped with a sunsubscribe push', () => {
  const hub = new PubSubHub();
  const c = conn(1);
  hub.subscribe(c, 'shard', [b('{a}1'), b('{b}1')]);
  hub.subscribe(c, 'channel', [b('plain')]);
  assert.equal(hub.localView({ sharded: true, names: [] }).channels.length, 2);
  const slotA = 15495; // CLUSTER KEYSLOT a
  hub.dropShardChannels((slot) => slot !== slotA);
  assert.deepEqual(c.pushed, [['sunsubscribe', '{a}1', 1]]);
  assert.equal(hub.deliver(b('{a}1'), b('m'), true), 0);
  assert.equal(hub.deliver(b('{b}1'), b('m'), true), 1);
  hub.dropShardChannels(() => false);
  assert.equal(c.shardSubscriptions, 0);
  assert.ok(hub.isSubscribed(c), 'still subscribed to a plain channel');
});
