// Issue 4, "what it must show" #7: malformed frames on a store's peer port,
// a meta's peer port and a meta's admin (RESP) port are refused without a
// crash: the process is alive by pid and serves afterwards.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import { redisCli, respMany, waitFor, withCluster, type Node } from '../support';

/**
 * Sends bytes to port and waits up to waitMs for the server to close the
 * connection; returns whether it did (a refused frame closes it), and any bytes it answered.
 */
function sendRaw(port: number, chunks: Buffer[], waitMs = 3000): Promise<{ closed: boolean; reply: Buffer }> {
  return new Promise((resolve) => {
    const sock = connect({ port, host: '127.0.0.1' });
    const got: Buffer[] = [];
    let done = false;
    const finish = (closed: boolean) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      resolve({ closed, reply: Buffer.concat(got) });
    };
    const timer = setTimeout(() => finish(false), waitMs);
    sock.on('data', (d: Buffer) => got.push(d));
    sock.on('error', () => finish(true));
    sock.on('close', () => finish(true));
    sock.on('connect', () => {
      for (const c of chunks) sock.write(c);
    });
  });
}

const u32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
};
const frame = (body: Buffer) => Buffer.concat([u32(body.length), body]);
const varint = (n: number) => {
  const out: number[] = [];
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return Buffer.from(out);
};
const field = (num: number, bytes: Buffer) => Buffer.concat([varint((num << 3) | 2), varint(bytes.length), bytes]);
/** A well-formed PeerEnvelope (fields: 3 request_id, 4 kind, 5 type, 6 body) around a body. */
function envelope(kind: 0 | 1, type: string, body: Buffer): Buffer {
  const parts = [];
  if (kind === 1) parts.push(Buffer.from([0x18]), varint(7), Buffer.from([0x20]), varint(1)); // request_id 7, kind REQUEST
  parts.push(field(5, Buffer.from(type)), field(6, body));
  return Buffer.concat(parts);
}

/** The malformed inputs for a peer port (length-prefixed protobuf envelopes). */
function peerAttacks(types: { message: string; request: string }): { name: string; chunks: Buffer[]; mustClose: boolean }[] {
  return [
    { name: 'random bytes', chunks: [randomBytes(4096)], mustClose: false },
    { name: 'declared length 0xFFFFFFFF', chunks: [u32(0xffffffff), randomBytes(64)], mustClose: true },
    { name: 'declared length 1 GiB', chunks: [u32(1 << 30), randomBytes(64)], mustClose: true },
    { name: 'declared length 0', chunks: [u32(0)], mustClose: true },
    { name: 'garbage protobuf after a valid length', chunks: [frame(Buffer.alloc(32, 0xff))], mustClose: true },
    { name: 'random envelope bytes after a valid length', chunks: [frame(randomBytes(200))], mustClose: false },
    { name: 'truncated varint field', chunks: [frame(Buffer.from([0x08, 0xff, 0xff, 0xff]))], mustClose: true },
    { name: `valid envelope, one-way "${types.message}" with a garbage body`, chunks: [frame(envelope(0, types.message, Buffer.alloc(64, 0xff)))], mustClose: true },
    { name: `valid envelope, request "${types.request}" with a garbage body`, chunks: [frame(envelope(1, types.request, Buffer.alloc(64, 0xff)))], mustClose: false },
    { name: 'valid envelope, unknown message type', chunks: [frame(envelope(0, 'no.such.type', randomBytes(16)))], mustClose: false },
    { name: 'half a frame, then close', chunks: [u32(1000), randomBytes(10)], mustClose: false },
  ];
}

function respAttacks(): { name: string; chunks: Buffer[] }[] {
  return [
    { name: 'random bytes', chunks: [randomBytes(4096)] },
    { name: 'huge multibulk count', chunks: [Buffer.from('*99999999999\r\n')] },
    { name: 'huge bulk length', chunks: [Buffer.from('*1\r\n$99999999999\r\n')] },
    { name: 'negative bulk length', chunks: [Buffer.from('*2\r\n$-5\r\nabc\r\n')] },
    { name: 'bulk length not a number', chunks: [Buffer.from('*1\r\n$abc\r\n')] },
    { name: 'inline line of 100 kB without a newline', chunks: [Buffer.alloc(100_000, 0x61)] },
    { name: 'unbalanced quotes inline', chunks: [Buffer.from('cluster "info\r\n')] },
  ];
}

function assertAlive(n: Node, what: string): void {
  assert.ok(n.running, `${n.name} exited after ${what}: ${n.proc?.describeExit()}\n${n.logTail()}`);
  assert.doesNotThrow(() => process.kill(n.pid, 0), `${n.name} (pid ${n.pid}) is gone after ${what}`);
}

test('malformed frames on peer and admin ports are refused without a crash', { timeout: 150_000 }, async (t) => {
  const c = await withCluster(t, { metas: 1 });
  const meta = c.metas[0];
  const leader = await c.leaderStore();

  await t.test("stores' peer ports", async () => {
    for (const s of c.stores) {
      for (const a of peerAttacks({ message: 'raft', request: 'forward' })) {
        const r = await sendRaw(s.peerPort, a.chunks);
        assertAlive(s, `${a.name} on its peer port`);
        if (a.mustClose) assert.ok(r.closed, `${s.name} kept the connection open after ${a.name}`);
      }
    }
    // Requests of every store RPC type with garbage bodies are answered (an error) or closed, never crash.
    const storeRpcs = ['store.forward', 'store.forwardBatch', 'store.propose', 'store.publish', 'store.pubsub_query', 'store.regionKeys', 'store.unblock', 'store.instruction', 'store.alive'];
    for (const s of c.stores) {
      for (const type of storeRpcs) {
        for (const body of [randomBytes(100), Buffer.alloc(64, 0xff), Buffer.alloc(0)]) {
          const r = await sendRaw(s.peerPort, [frame(envelope(1, type, body))], 1000);
          assertAlive(s, `a ${type} request with a garbage body`);
          assert.ok(r.closed || r.reply.length > 0, `${s.name} neither answered nor closed a ${type} request with a garbage body`);
        }
      }
    }
    // Every store still replicates and serves: write through each, read through each (its own replica, READONLY).
    for (const s of c.stores) assert.equal(await s.call('SET', `after-peer-garbage:${s.name}`, s.name), 'OK');
    for (const r of c.stores) {
      await waitFor(
        async () => {
          const [, ...vals] = await respMany(r.port, [['READONLY'], ...c.stores.map((s) => ['GET', `after-peer-garbage:${s.name}`])]);
          return vals.every((v, i) => v === c.stores[i].name);
        },
        { what: `${r.name} to serve the writes made after the garbage`, proc: r.proc },
      );
    }
    assert.equal((await c.leaderStore()).port, leader.port, 'garbage on peer ports did not cost the leader its leadership');
  });

  await t.test("the meta's peer port", async () => {
    for (const a of peerAttacks({ message: 'meta.raft', request: 'meta.heartbeat' })) {
      const r = await sendRaw(meta.peerPort, a.chunks);
      assertAlive(meta, `${a.name} on its peer port`);
      if (a.mustClose) assert.ok(r.closed, `${meta.name} kept the connection open after ${a.name}`);
    }
    // Requests with garbage bodies of every RPC type answer errors (or close), never crash.
    for (const type of ['meta.register', 'meta.heartbeat', 'meta.alloc_ids', 'meta.view', 'meta.admin']) {
      await sendRaw(meta.peerPort, [frame(envelope(1, type, randomBytes(100)))], 1000);
      assertAlive(meta, `a ${type} request with a random body`);
    }
    // The stores' heartbeats still get through: heartbeats= rises for every store.
    const count = async () => [...(await redisCli(meta.port, ['store', 'list'])).matchAll(/heartbeats=(\d+)/g)].map((m) => Number(m[1]));
    const before = await count();
    await waitFor(async () => (await count()).every((n, i) => n >= before[i] + 2), { timeoutMs: 15_000, what: 'heartbeats to keep arriving at the meta', proc: meta.proc });
  });

  await t.test("the meta's admin port", async () => {
    for (const a of respAttacks()) {
      await sendRaw(meta.port, a.chunks, 1500);
      assertAlive(meta, `${a.name} on its admin port`);
      assert.match(await redisCli(meta.port, ['cluster', 'info']), /cluster_state:ok/, `admin port serves after ${a.name}`);
    }
  });

  await t.test("stores' RESP ports (the same garbage)", async () => {
    for (const a of respAttacks()) {
      await sendRaw(leader.port, a.chunks, 1500);
      assertAlive(leader, `${a.name} on its RESP port`);
      assert.equal(await leader.call('PING'), 'PONG');
    }
  });

  // After all that, the whole cluster still works end to end.
  for (const s of c.stores) assert.equal(await s.call('SET', 'final', s.name), 'OK');
  for (const n of c.nodes) assertAlive(n, 'the whole test');
  process.stdout.write(
    `# malformed: refusals logged — ${c.nodes.map((n) => `${n.name}: ${(n.log().match(/refus/gi) ?? []).length}`).join(', ')}\n`,
  );
});
