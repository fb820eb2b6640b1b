// Keyspace notifications (notify.ts, commands/keyspace-events.ts), CLIENT
// REPLY's answer and RESET, on the network-free test store. The
// cluster-wide side (a write through one store, its events on another):
// test/cluster/pubsub.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { ErrorReply, MapReply, OK, PushReply, ReplyModeChange } from '@redraft/common';
import type { Reply } from '@redraft/common';
import { formatNotifyFlags, parseNotifyFlags } from '../src/notify';
import type { ClientState } from '../src/commands/context';
import { testClient, testStore, plain } from './harness';

/** A subscriber connection that records the messages pushed to it as strings. */
function subscriber(id: number): ClientState & { got: string[] } {
  const got: string[] = [];
  const c = Object.assign(new EventEmitter(), testClient(id) as ClientState, {
    outputBufferBytes: 0,
    got,
    push(r: Reply) {
      if (r instanceof PushReply) got.push((plain(r.items as Reply) as string[]).join(' '));
    },
  });
  (c as unknown as { closed: boolean }).closed = false;
  return c as unknown as ClientState & { got: string[] };
}

const errOf = (r: Reply): string => (r as ErrorReply).message;

test('notify-keyspace-events: flags parsed and shown as Redis 7.0 does; bad letters refused', async () => {
  // Pairs checked against Debian's redis-server 7.0.15.
  for (const [given, shown] of [
    ['KA', 'AK'],
    ['EA', 'AE'],
    ['gKE', 'gKE'],
    ['KEA', 'AKE'],
    ['AKEn', 'AKE'],
    ['$lshzxeKEn', '$lshzxenKE'],
    ['ntdg', 'gtdn'],
    ['AmnKE', 'AKEm'],
    ['', ''],
  ]) {
    assert.equal(formatNotifyFlags(parseNotifyFlags(given)!), shown, given);
  }
  assert.equal(parseNotifyFlags('Q'), null);
  const s = await testStore();
  assert.equal(await s.exec('config', 'set', 'notify-keyspace-events', 'KA'), OK);
  assert.deepEqual(((await s.exec('config', 'get', 'notify-keyspace-events')) as MapReply).entries, [['notify-keyspace-events', 'AK']]);
  assert.equal(
    errOf(await s.exec('config', 'set', 'notify-keyspace-events', 'KQ')),
    "ERR CONFIG SET failed (possibly related to argument 'notify-keyspace-events') - Invalid event class character. Use 'Ag$lshzxeKEtmdn'.",
  );
  assert.equal(formatNotifyFlags(s.notifier.flags), 'AK', 'a refused value changes nothing');
});

test('keyspace and keyevent messages for writes, with Redis 7 event names and classes', async () => {
  const s = await testStore();
  const sub = subscriber(7);
  s.pubsub.subscribe(sub, 'pattern', [Buffer.from('*')]);
  await s.exec('config', 'set', 'notify-keyspace-events', 'KEA');
  await s.exec('set', 'foo', 'bar', 'EX', '100');
  assert.deepEqual(sub.got, [
    'pmessage * __keyspace@0__:foo set',
    'pmessage * __keyevent@0__:set foo',
    'pmessage * __keyspace@0__:foo expire',
    'pmessage * __keyevent@0__:expire foo',
  ]);

  await s.exec('config', 'set', 'notify-keyspace-events', 'EA');
  const events = async (...args: string[]): Promise<string[]> => {
    sub.got.length = 0;
    await s.exec(...args);
    return sub.got.map((m) => m.replace('pmessage * __keyevent@0__:', ''));
  };
  assert.deepEqual(await events('set', 'foo', 'x', 'NX'), [], 'not set: no event');
  assert.deepEqual(await events('incrby', 'n', '2'), ['incrby n']);
  assert.deepEqual(await events('incrbyfloat', 'n', '1.5'), ['incrbyfloat n']);
  assert.deepEqual(await events('append', 'foo', 'z'), ['append foo']);
  assert.deepEqual(await events('rename', 'foo', 'foo2'), ['rename_from foo', 'rename_to foo2']);
  assert.deepEqual(await events('expire', 'foo2', '-1'), ['del foo2'], 'an expiry in the past deletes');
  assert.deepEqual(await events('del', 'n', 'missing'), ['del n'], 'the keys found absent just before are not told');
  assert.deepEqual(await events('lpush', 'l', 'a', 'b'), ['lpush l']);
  assert.deepEqual(await events('rpop', 'l'), ['rpop l']);
  assert.deepEqual(await events('lmove', 'l', 'l2', 'LEFT', 'RIGHT'), ['lpop l', 'rpush l2']);
  assert.deepEqual(await events('sadd', 's', 'a'), ['sadd s']);
  assert.deepEqual(await events('sadd', 's', 'a'), [], 'nothing added');
  assert.deepEqual(await events('srem', 's', 'a'), ['srem s']);
  assert.deepEqual(await events('hset', 'h', 'f', '1'), ['hset h']);
  assert.deepEqual(await events('hincrby', 'h', 'f', '1'), ['hincrby h']);
  assert.deepEqual(await events('zadd', 'z', '1', 'a'), ['zadd z']);
  assert.deepEqual(await events('zadd', 'z', 'INCR', '1', 'a'), ['zincr z']);
  assert.deepEqual(await events('zincrby', 'z', '1', 'a'), ['zincr z']);
  assert.deepEqual(await events('get', 'h'), [], 'reads make no events');

  // Masks: only the list class.
  await s.exec('config', 'set', 'notify-keyspace-events', 'El');
  assert.deepEqual(await events('set', 'foo', 'bar'), []);
  assert.deepEqual(await events('rpush', 'l', 'c'), ['rpush l']);
  // Without K or E nothing is published at all.
  await s.exec('config', 'set', 'notify-keyspace-events', 'A');
  assert.deepEqual(await events('rpush', 'l', 'c'), []);
});

test('new-key events: only for keys a write created', async () => {
  const s = await testStore();
  const sub = subscriber(8);
  s.pubsub.subscribe(sub, 'pattern', [Buffer.from('*')]);
  await s.exec('config', 'set', 'notify-keyspace-events', 'En');
  await s.exec('set', 'foo', 'bar');
  await s.exec('set', 'foo', 'baz');
  await s.exec('sadd', 'bar', 'x');
  await s.exec('del', 'bar');
  assert.deepEqual(sub.got, ['pmessage * __keyevent@0__:new foo', 'pmessage * __keyevent@0__:new bar']);
});

test('expired events: the hook the expiry cycle calls', async () => {
  const s = await testStore();
  const sub = subscriber(9);
  s.pubsub.subscribe(sub, 'channel', [Buffer.from('__keyevent@0__:expired')]);
  await s.exec('config', 'set', 'notify-keyspace-events', 'Ex');
  s.notifier.notifyExpired(Buffer.from('k'));
  assert.deepEqual(sub.got, ['message __keyevent@0__:expired k']);
});

test('CLIENT REPLY answers a mode change; RESET puts the connection back', async () => {
  const s = await testStore();
  for (const mode of ['on', 'off', 'skip'] as const) {
    const r = await s.exec('client', 'reply', mode);
    assert.ok(r instanceof ReplyModeChange && r.mode === mode);
    assert.equal(r.bytes.toString(), mode === 'on' ? '+OK\r\n' : '');
  }
  assert.equal(errOf(await s.exec('client', 'reply', 'maybe')), 'ERR syntax error');

  const c = subscriber(10);
  await s.execAs(c, 'hello', '3', 'setname', 'me');
  await s.execAs(c, 'readonly');
  await s.execAs(c, 'subscribe', 'ch');
  assert.ok(s.pubsub.isSubscribed(c));
  await s.execAs(c, 'multi');
  const r = await s.execAs(c, 'reset');
  assert.ok(r instanceof ReplyModeChange && r.mode === 'on');
  assert.equal(r.bytes.toString(), '+RESET\r\n');
  assert.equal(s.pubsub.isSubscribed(c), false);
  assert.equal(c.protocol, 2);
  assert.equal(c.name, '');
  assert.equal(c.readonly, false);
  // Out of MULTI: the next command runs instead of being queued.
  assert.equal(await s.execAs(c, 'set', 'k', 'v'), OK);
  assert.equal(plain(await s.execAs(c, 'get', 'k')), 'v');
});
