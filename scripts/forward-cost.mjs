#!/usr/bin/env node
// CPU of the forwarding path in one process, without the network or Raft,
// so that two builds can be compared on a busy machine (docs/performance.md,
// "Forwarding, round 5"):
//  - dispatch: 50 clients x 16 pipelined INCRs through the Dispatcher and
//    the ForwardBatcher of a store that leads nothing; the batch is answered
//    by a loopback (decode the request, encode one reply per command);
//  - sessions: the leader's and followers' session bookkeeping in apply for
//    forwarded writes (ClientSessions.record, 200 writes per apply batch,
//    800 in flight), and the engine batch operations it adds per write.
//
// Usage: node scripts/forward-cost.mjs [ROOT]   (ROOT: a built checkout; default this one)
import { createRequire } from 'node:module';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(process.argv[2] ?? resolve(dirname(fileURLToPath(import.meta.url)), '..'));
const require = createRequire(resolve(root, 'package.json'));
const load = (path) => require(resolve(root, path));
const { Dispatcher, RedirectError } = load('packages/store/dist/src/dispatch.js');
const { ForwardBatcher } = load('packages/store/dist/src/forward-batch.js');
const { storeCommandTable } = load('packages/store/dist/src/commands/table.js');
const { PubSubHub } = load('packages/store/dist/src/pubsub.js');
const { KeyspaceNotifier } = load('packages/store/dist/src/notify.js');
const { ClientSessions } = load('packages/store/dist/src/raftstore/sessions.js');
const { pb, MemoryEngine, OverlayBatch } = load('packages/common/dist/src/index.js');
const pino = require('pino');

async function dispatchCost() {
  const engine = new MemoryEngine();
  const reply = Buffer.from(':1\r\n');
  const batcher = new ForwardBatcher({
    send: async (_addr, body) => {
      const req = pb.ForwardBatchRequest.decode(body);
      return pb.ForwardBatchResponse.encode({ results: req.commands.map(() => ({ reply })) }).finish();
    },
    timeoutMs: 5000,
  });
  const router = {
    // Every slot is led by another store: the handler's routing throws, or (where
    // the build has it) redirectFor says so before the handler runs.
    regionFor: (slots) => {
      throw new RedirectError(slots[0], '127.0.0.1:6380', 'leader:1');
    },
    engineReader: () => engine,
    redirectFor: (slots) => ({ slot: slots[0], clientAddr: '127.0.0.1:6380', peerAddr: 'leader:1' }),
  };
  const pubsub = new PubSubHub();
  let seq = 1;
  const dispatcher = new Dispatcher(storeCommandTable(), router, { pubsub, notifier: new KeyspaceNotifier(pubsub) }, pino({ level: 'silent' }), {
    forward: (addr, args, protocol, readonlyClient, session, slot) => batcher.forward(addr, { args, protocol, readonlyClient, session }, slot, session !== undefined),
    newSession: () => ({ id: 42, seq, ackedBelow: seq++ }),
    sessionDone: () => {},
  });
  const clients = Array.from({ length: 50 }, (_, id) => ({
    id, name: '', protocol: 2, db: 0, libName: '', libVer: '', readonly: false, createdAt: 0, lastCommand: '',
    remoteAddress: 'bench', localAddress: 'bench', closeAfterReply() {}, kill() {},
  }));
  const incr = () => [Buffer.from('incr'), Buffer.from('counter:__rand_int__')];
  const round = () => Promise.all(clients.flatMap((c) => Array.from({ length: 16 }, () => dispatcher.execute(c, incr()))));
  for (let i = 0; i < 50; i++) await round(); // warm up
  const rounds = 400;
  const t0 = process.cpuUsage();
  for (let i = 0; i < rounds; i++) await round();
  const used = process.cpuUsage(t0);
  return (used.user + used.system) / (rounds * 800);
}

function sessionsCost() {
  const sessions = new ClientSessions(1);
  const engine = new MemoryEngine();
  let seq = 1;
  let ops = 0;
  let writes = 0;
  const applyBatch = () => {
    const batch = new OverlayBatch(engine);
    for (let i = 0; i < 200; i++, seq++) sessions.record({ id: 42, seq, ackedBelow: Math.max(1, seq - 800) }, seq, 1_000_000, batch);
    sessions.writeRecords?.(batch);
    ops += batch.batch.length;
    writes += 200;
  };
  for (let i = 0; i < 200; i++) applyBatch(); // warm up
  ops = writes = 0;
  const t0 = process.cpuUsage();
  for (let i = 0; i < 2000; i++) applyBatch();
  const used = process.cpuUsage(t0);
  return { us: (used.user + used.system) / writes, ops: ops / writes };
}

const dispatchUs = await dispatchCost();
const s = sessionsCost();
console.log(`${root}`);
console.log(`  forwarder, dispatch + batch per forwarded INCR: ${dispatchUs.toFixed(2)} µs CPU`);
console.log(`  apply, session bookkeeping per forwarded write: ${s.us.toFixed(2)} µs CPU, ${s.ops.toFixed(2)} engine batch ops`);
