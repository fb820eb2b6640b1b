// Forwarded commands batched per target store (src/forward-batch.ts): one
// frame per store and turn, in order; each command keeps its own result and
// error; a write whose answer was lost is resent in its session and applied
// once; a command whose leader moved is given up alone.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import {
  ErrorReply,
  MemoryEngine,
  NotLeaderError,
  OutcomeUnknownError,
  OverlayBatch,
  RawReply,
  TransportError,
  encodeReply,
  pb,
  type Reply,
} from '@redraft/common';
import { ForwardBatcher, serveForwardBatch } from '../src/forward-batch';
import { Dispatcher, RedirectError } from '../src/dispatch';
import { storeCommandTable } from '../src/commands/table';
import { ClientSessions } from '../src/raftstore/sessions';
import type { ServerFacade } from '../src/commands/context';
import { PubSubHub } from '../src/pubsub';
import { KeyspaceNotifier } from '../src/notify';
import { testClient } from './harness';

const b = (s: string): Buffer => Buffer.from(s);
const req = (...args: string[]): pb.ForwardRequest.$Properties => ({ args: args.map(b), protocol: 2 });
const argsOf = (r: pb.ForwardRequest): string => r.args.map((a) => Buffer.from(a).toString()).join(' ');

/** A sender that serves each batch with `run` (as the receiving store would) and records the batches. */
function loopback(run: (r: pb.ForwardRequest, addr: string) => Promise<Uint8Array>) {
  const frames: Array<{ addr: string; commands: string[] }> = [];
  const send = async (addr: string, body: Uint8Array): Promise<Uint8Array> => {
    frames.push({ addr, commands: pb.ForwardBatchRequest.decode(body).commands.map((c) => argsOf(c as pb.ForwardRequest)) });
    return serveForwardBatch(body, (r) => run(r, addr));
  };
  return { frames, send };
}

test('commands forwarded in one turn go in one frame per store, in order, reads apart from writes', async () => {
  const started: string[] = [];
  const { frames, send } = loopback(async (r, addr) => {
    started.push(`${addr} ${argsOf(r)}`);
    // Later commands answer first: each still gets its own reply.
    await new Promise((res) => setTimeout(res, 20 - started.length));
    return encodeReply(b(`${argsOf(r)}@${addr}`), 2);
  });
  const fb = new ForwardBatcher({ send, timeoutMs: 5000 });
  const replies = await Promise.all([
    fb.forward('a:1', req('set', 'k1', '1'), 1, true),
    fb.forward('a:1', req('set', 'k2', '2'), 2, true),
    fb.forward('b:1', req('set', 'k3', '3'), 3, true),
    fb.forward('a:1', req('get', 'k1'), 1, false),
    fb.forward('a:1', req('set', 'k1', '4'), 1, true),
  ]);
  assert.deepEqual(
    replies.map((r) => r.toString()),
    ['$12\r\nset k1 1@a:1\r\n', '$12\r\nset k2 2@a:1\r\n', '$12\r\nset k3 3@b:1\r\n', '$10\r\nget k1@a:1\r\n', '$12\r\nset k1 4@a:1\r\n'],
  );
  assert.deepEqual(frames, [
    { addr: 'a:1', commands: ['set k1 1', 'set k2 2', 'set k1 4'] },
    { addr: 'b:1', commands: ['set k3 3'] },
    { addr: 'a:1', commands: ['get k1'] },
  ]);
  // The receiver starts a batch's commands in the forwarder's order.
  assert.deepEqual(started.filter((s) => s.startsWith('a:1 set')), ['a:1 set k1 1', 'a:1 set k2 2', 'a:1 set k1 4']);
  assert.deepEqual(fb.stats, { batches: 3, commands: 5 });
  assert.equal(fb.pending, 0);

  // The next turn opens new batches; a batch is cut at maxCommands.
  const small = new ForwardBatcher({ send, timeoutMs: 5000, maxCommands: 2 });
  frames.length = 0;
  await Promise.all(['x', 'y', 'z'].map((k) => small.forward('a:1', req('set', k, 'v'), 0, true)));
  assert.deepEqual(frames.map((f) => f.commands), [['set x v', 'set y v'], ['set z v']]);
});

test('each command of a batch gets its own error; a failed frame fails each command with its error', async () => {
  const { send } = loopback(async (r) => {
    const cmd = argsOf(r);
    if (cmd === 'set a 1') throw new NotLeaderError(7, '127.0.0.1:7201', 2);
    if (cmd === 'set b 1') throw new OutcomeUnknownError('leadership moved while the write was in flight');
    if (cmd === 'set c 1') throw new Error('disk on fire');
    return encodeReply(new ErrorReply('WRONGTYPE Operation against a key holding the wrong kind of value'), 2);
  });
  const fb = new ForwardBatcher({ send, timeoutMs: 5000 });
  const results = await Promise.allSettled(['a', 'b', 'c', 'd'].map((k) => fb.forward('s:1', req('set', k, '1'), 0, true)));
  assert.equal(results[0].status, 'rejected');
  const notLeader = (results[0] as PromiseRejectedResult).reason;
  assert.ok(notLeader instanceof NotLeaderError);
  assert.equal(notLeader.regionId, 7);
  assert.equal(notLeader.leaderAddr, '127.0.0.1:7201');
  assert.ok((results[1] as PromiseRejectedResult).reason instanceof OutcomeUnknownError);
  const remote = (results[2] as PromiseRejectedResult).reason;
  assert.ok(remote instanceof TransportError && remote.code === 'REMOTE' && /disk on fire/.test(remote.message));
  // An error reply is a reply, not a failure.
  assert.equal((results[3] as PromiseFulfilledResult<Buffer>).value.toString(), '-WRONGTYPE Operation against a key holding the wrong kind of value\r\n');

  // The whole frame lost: every command sees the transport's error (each judges it: a read retries, a write resends).
  const down = new ForwardBatcher({ send: () => Promise.reject(new TransportError('DISCONNECTED', 'connection to s:1 lost', 's:1')), timeoutMs: 5000 });
  const lost = await Promise.allSettled([down.forward('s:1', req('set', 'x', '1'), 0, true), down.forward('s:1', req('set', 'y', '1'), 0, true)]);
  for (const r of lost) assert.ok(r.status === 'rejected' && r.reason instanceof TransportError && r.reason.code === 'DISCONNECTED');
  assert.equal(down.pending, 0);
});

test('a command whose slot leader moves while in flight is given up alone; the rest of its batch is answered', async () => {
  let release!: () => void;
  const held = new Promise<void>((res) => (release = res));
  const { send } = loopback(async (r) => {
    await held;
    return encodeReply(b(argsOf(r)), 2);
  });
  const leaders = new Map<number, string>([
    [1, 'a:1'],
    [2, 'a:1'],
  ]);
  const fb = new ForwardBatcher({ send, timeoutMs: 5000, leaderOf: (slot) => leaders.get(slot), watchMs: 5 });
  const moved = fb.forward('a:1', req('get', 'k1'), 1, false);
  const stays = fb.forward('a:1', req('get', 'k2'), 2, false);
  await new Promise((res) => setTimeout(res, 15));
  leaders.set(1, 'b:1');
  await assert.rejects(moved, /moved from a:1 to b:1/);
  release();
  assert.equal((await stays).toString(), '$6\r\nget k2\r\n');
  assert.equal(fb.pending, 0);
});

test('a forwarded write whose answer was lost is resent in its session and applied exactly once', async () => {
  // The leader's side: a counter and the real client sessions of its region.
  const engine = new MemoryEngine();
  const sessions = new ClientSessions(1);
  let counter = 0;
  const seen: Array<{ id: number; seq: number }> = [];
  const leader = async (r: pb.ForwardRequest): Promise<Uint8Array> => {
    const s = r.session!;
    seen.push({ id: Number(s.id), seq: Number(s.seq) });
    const check = sessions.check(s);
    if (check.kind === 'duplicate') return encodeReply(check.reply, 2);
    const reply: Reply = ++counter;
    const batch = new OverlayBatch(engine);
    sessions.record(s, reply, Date.now(), batch);
    sessions.writeRecords(batch);
    await engine.write(batch.batch);
    return encodeReply(reply, 2);
  };
  // The first frame is served (the INCR applies) but its answer is lost.
  let frames = 0;
  const fb = new ForwardBatcher({
    send: async (_addr, body) => {
      const answer = await serveForwardBatch(body, leader);
      if (++frames === 1) throw new TransportError('DISCONNECTED', 'connection to leader:1 lost', 'leader:1');
      return answer;
    },
    timeoutMs: 5000,
  });
  // The forwarding store: the real dispatcher, with every key led elsewhere.
  let nextSeq = 1;
  const done: number[] = [];
  const pubsub = new PubSubHub();
  const dispatcher = new Dispatcher(
    storeCommandTable(),
    {
      regionFor: (slots) => {
        throw new RedirectError(slots[0], '127.0.0.1:6380', 'leader:1');
      },
      engineReader: () => engine,
    },
    { pubsub, notifier: new KeyspaceNotifier(pubsub) } as unknown as ServerFacade,
    pino({ level: 'silent' }),
    {
      forward: (addr, args, protocol, readonlyClient, session, slot) => fb.forward(addr, { args, protocol, readonlyClient, session }, slot, session !== undefined),
      newSession: () => ({ id: 42, seq: nextSeq, ackedBelow: nextSeq++ }),
      sessionDone: (s) => done.push(Number(s.seq)),
    },
  );
  const client = testClient();
  const reply = await dispatcher.execute(client, [b('incr'), b('counter')]);
  assert.ok(reply instanceof RawReply);
  assert.equal(reply.bytes.toString(), ':1\r\n');
  assert.equal(counter, 1, 'applied once');
  assert.deepEqual(seen, [
    { id: 42, seq: 1 },
    { id: 42, seq: 1 },
  ]);
  assert.deepEqual(done, [1]);
  assert.equal(client.closed, null);

  // The next write is a new seq, applied on its own.
  assert.equal(((await dispatcher.execute(client, [b('incr'), b('counter')])) as RawReply).bytes.toString(), ':2\r\n');
  assert.equal(counter, 2);
});

test('the receiving side answers each command of a batch in place: replies ready at once, later ones, and errors thrown or rejected', async () => {
  const body = pb.ForwardBatchRequest.encode({
    commands: [req('get', 'now'), req('get', 'later'), req('get', 'throws'), req('get', 'rejects'), req('get', 'now2')],
  }).finish();
  const started: string[] = [];
  const answer = await serveForwardBatch(body, (r) => {
    const what = argsOf(r).split(' ')[1];
    started.push(what);
    if (what === 'throws') throw new NotLeaderError(0, 'x:1', 0, 'NOT_LEADER here');
    if (what === 'rejects') return Promise.reject(new Error('boom'));
    if (what === 'later') return new Promise((res) => setTimeout(() => res(encodeReply(b('late'), 2)), 10));
    return encodeReply(b(what), 2);
  });
  assert.deepEqual(started, ['now', 'later', 'throws', 'rejects', 'now2'], 'started in order');
  const results = pb.ForwardBatchResponse.decode(answer).results;
  assert.deepEqual(
    results.map((x) => (x.reply?.length ? Buffer.from(x.reply).toString() : `error: ${x.error}`)),
    ['$3\r\nnow\r\n', '$4\r\nlate\r\n', 'error: NOT_LEADER here', 'error: boom', '$4\r\nnow2\r\n'],
  );
  assert.ok(results[2].typedError, 'a typed error stays typed');
  // Every reply ready at once: no wait at all.
  const quick = pb.ForwardBatchResponse.decode(await serveForwardBatch(body, () => encodeReply(b('x'), 2))).results;
  assert.equal(quick.length, 5);
});
