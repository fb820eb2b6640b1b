// Forwarding before the handler (dispatch.ts, Router.redirectFor): a data
// command whose keys' region is led by another store goes there without
// running its handler here; everything a forward guarantees stays — a
// write's (session, seq) across resends, NOT_LEADER routes again, a
// command that came from another store is never forwarded again — and
// commands that cannot be routed up front (transactions, blocking, no
// keys) take the handler's own routing as before.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { MemoryEngine, NotLeaderError, RawReply, TransportError, keySlot, type pb } from '@redraft/common';
import { Dispatcher, RedirectError, type ForwardedClient, type Intent, type Redirect } from '../src/dispatch';
import { storeCommandTable } from '../src/commands/table';
import type { ClientState, ServerFacade } from '../src/commands/context';
import { PubSubHub } from '../src/pubsub';
import { KeyspaceNotifier } from '../src/notify';
import { ForwardingSession, ForwardingSessions } from '../src/node';
import { testClient } from './harness';

const b = (s: string): Buffer => Buffer.from(s);

interface Sent {
  peerAddr: string;
  args: string;
  session?: pb.ForwardSession.$Properties;
  slot: number;
}

/**
 * A dispatcher on a store that leads nothing: redirectFor answers `leaderAt`
 * (the peer address leading every slot now, or undefined), regionFor throws
 * the same RedirectError a real store throws (and counts that it ran).
 */
function forwardingStore(answer: (s: Sent) => Promise<Buffer>) {
  const engine = new MemoryEngine();
  const state = { leaderAt: 'leader-a:1' as string | undefined, handlerRoutes: 0, redirectAsks: [] as Array<{ slots: number[]; intent: Intent }> };
  const sent: Sent[] = [];
  const done: number[] = [];
  let nextSeq = 1;
  const pubsub = new PubSubHub();
  const dispatcher = new Dispatcher(
    storeCommandTable(),
    {
      regionFor: (slots) => {
        state.handlerRoutes++;
        throw new RedirectError(slots[0], '127.0.0.1:6380', state.leaderAt ?? 'leader-a:1');
      },
      engineReader: () => engine,
      redirectFor: (slots, intent): Redirect | undefined => {
        state.redirectAsks.push({ slots, intent });
        return state.leaderAt ? { slot: slots[0], clientAddr: '127.0.0.1:6380', peerAddr: state.leaderAt } : undefined;
      },
    },
    { pubsub, notifier: new KeyspaceNotifier(pubsub) } as unknown as ServerFacade,
    pino({ level: 'silent' }),
    {
      retryDeadlineMs: 2000,
      forward: (peerAddr, args, _protocol, _readonly, session, slot) => {
        const s: Sent = { peerAddr, args: args.map((a) => a.toString()).join(' '), session: session && { ...session }, slot };
        sent.push(s);
        return answer(s);
      },
      newSession: () => ({ id: 7, seq: nextSeq, ackedBelow: nextSeq++ }),
      sessionDone: (s) => done.push(Number(s.seq)),
    },
  );
  return { dispatcher, state, sent, done };
}

const ok = async (): Promise<Buffer> => b('+OK\r\n');

test('a command led elsewhere is forwarded without running its handler; a write carries a session, a read none', async () => {
  const { dispatcher, state, sent, done } = forwardingStore(ok);
  const client = testClient();
  const [w, r] = await Promise.all([dispatcher.execute(client, [b('set'), b('k'), b('v')]), dispatcher.execute(client, [b('get'), b('k')])]);
  assert.ok(w instanceof RawReply && r instanceof RawReply);
  assert.equal(state.handlerRoutes, 0, 'no handler ran here');
  assert.deepEqual(
    sent.map((s) => [s.peerAddr, s.args, s.session?.seq, s.slot]),
    [
      ['leader-a:1', 'set k v', 1, keySlot(b('k'))],
      ['leader-a:1', 'get k', undefined, keySlot(b('k'))],
    ],
  );
  assert.deepEqual(state.redirectAsks.map((a) => [a.slots, a.intent.write]), [
    [[keySlot(b('k'))], true],
    [[keySlot(b('k'))], false],
  ]);
  assert.deepEqual(done, [1], "the write's session seq is released once answered");
});

test('NOT_LEADER routes the write again, to the new leader, in the same session', async () => {
  let calls = 0;
  const store = forwardingStore(async () => {
    if (++calls === 1) {
      store.state.leaderAt = 'leader-b:1'; // the refusal taught this store the new leader
      throw new NotLeaderError(1, 'leader-b:1', 2, 'NOT_LEADER');
    }
    return b(':1\r\n');
  });
  const reply = await store.dispatcher.execute(testClient(), [b('incr'), b('n')]);
  assert.equal((reply as RawReply).bytes.toString(), ':1\r\n');
  assert.deepEqual(
    store.sent.map((s) => [s.peerAddr, s.session?.id, s.session?.seq]),
    [
      ['leader-a:1', 7, 1],
      ['leader-b:1', 7, 1],
    ],
  );
  assert.equal(store.state.handlerRoutes, 0);
  assert.deepEqual(store.done, [1]);
});

test('a write whose answer was lost is resent in its session, then answered once', async () => {
  let calls = 0;
  const store = forwardingStore(async () => {
    if (++calls === 1) throw new TransportError('DISCONNECTED', 'connection lost', 'leader-a:1');
    return b(':5\r\n');
  });
  const client = testClient();
  const reply = await store.dispatcher.execute(client, [b('incrby'), b('n'), b('5')]);
  assert.equal((reply as RawReply).bytes.toString(), ':5\r\n');
  assert.deepEqual(store.sent.map((s) => s.session?.seq), [1, 1]);
  assert.equal(client.closed, null);
});

test('a region not routable up front (electing) falls back to the handler, which routes it as before', async () => {
  const store = forwardingStore(ok);
  store.state.leaderAt = undefined;
  const p = store.dispatcher.execute(testClient(), [b('set'), b('k'), b('v')]);
  // The handler's own routing throws RedirectError; its redirect is forwarded.
  await new Promise((r) => setImmediate(r));
  store.state.leaderAt = 'leader-c:1';
  assert.ok((await p) instanceof RawReply);
  assert.ok(store.state.handlerRoutes >= 1);
});

test('transactions, blocking commands, keyless commands and forwarded clients are not routed up front', async () => {
  const store = forwardingStore(ok);
  const client = testClient();
  await store.dispatcher.execute(client, [b('multi')]);
  await store.dispatcher.execute(client, [b('set'), b('k'), b('v')]);
  await store.dispatcher.execute(client, [b('exec')]);
  await store.dispatcher.execute(client, [b('ping')]);
  await store.dispatcher.execute(client, [b('blpop'), b('list'), b('0.01')]);
  assert.deepEqual(store.state.redirectAsks, []);
  // A command another store forwarded here is never forwarded again: NOT_LEADER goes back.
  const forwarded: ForwardedClient = { ...(testClient() as ClientState), forwarded: true };
  await assert.rejects(store.dispatcher.execute(forwarded, [b('get'), b('k')]), NotLeaderError);
  assert.deepEqual(store.state.redirectAsks, []);
  assert.equal(store.sent.filter((s) => s.args === 'get k').length, 0);
});

test("a forwarding session's ackedBelow is the oldest seq still waiting for its answer", () => {
  const fs = new ForwardingSession();
  const [s1, s2, s3] = [fs.next(), fs.next(), fs.next()];
  assert.deepEqual([s1.seq, s2.seq, s3.seq], [1, 2, 3]);
  assert.deepEqual([s1.ackedBelow, s2.ackedBelow, s3.ackedBelow], [1, 1, 1]);
  fs.done(s2); // answered out of order: seq 1 still holds the mark back
  assert.equal(fs.next().ackedBelow, 1);
  fs.done(s1);
  assert.equal(fs.next().ackedBelow, 3);
  fs.done(s3);
  fs.done({ id: s1.id, seq: 4 });
  const s6 = fs.next();
  assert.deepEqual([s6.seq, s6.ackedBelow], [6, 5]);
  assert.equal(s6.id, s1.id);
});

test("a blocked command's seq holds back only the blocking session's ackedBelow, not the other writes'", () => {
  const sessions = new ForwardingSessions();
  const blpop = sessions.next([b('blpop'), b('list'), b('0')]); // blocks, maybe forever
  const first = sessions.next([b('set'), b('k'), b('v')]);
  assert.notEqual(blpop.id, first.id);
  sessions.done(first);
  for (let i = 0; i < 3; i++) sessions.done(sessions.next([b('incr'), b('n')]));
  const later = sessions.next([b('set'), b('k'), b('w')]);
  assert.deepEqual([later.seq, later.ackedBelow], [5, 5], 'the other writes are acknowledged past the blocked one');
  // The blocking session keeps the blocked seq waiting, and lets it go when answered.
  assert.equal(sessions.next([b('brpop'), b('list'), b('1')]).ackedBelow, blpop.seq);
  sessions.done(blpop);
  assert.equal(sessions.next([b('blpop'), b('list'), b('1')]).ackedBelow, Number(blpop.seq) + 1);
});
