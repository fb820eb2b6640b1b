// Pipelined reads run together (dispatch.ts) and share their region's
// barrier (peer.ts): across leader changes they still never return stale
// data, and a read after a write in the same pipeline sees it. A writer
// counts up with INCR; a reader sends pipelines of GETs of the counter (with
// a SET and GET of its own key in the middle) through every store while the
// region's leadership moves from store to store.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor, withCluster } from '../support';
import { ioredisClients } from '../support/clients';

const connect = ioredisClients();

/** After a failed call: let the event loop run (a client that fails at once would otherwise spin in microtasks). */
const breathe = (): Promise<void> => new Promise((r) => setTimeout(r, 20));

test('pipelined GETs across leader changes: never older than the last acknowledged write; a pipeline sees its own writes', { timeout: 180_000 }, async (t) => {
  const c = await withCluster(t);
  const leader = await c.leaderStore();
  const [region] = await c.regionList(leader);
  const leaderStoreId = async (): Promise<number> => {
    const line = (await c.regionList(c.stores[0]))[0].line;
    const peers = /peers=(\S+)/.exec(line)![1].split(',');
    const leaderPeer = /leader_peer=(\d+)/.exec(line)![1];
    return Number(peers.find((p) => p.startsWith(`${leaderPeer}@`))?.split('@')[1] ?? 0);
  };

  const writer = connect(c.stores[0].port);
  const readers = c.stores.map((s) => connect(s.port));
  await Promise.all([writer, ...readers].map((r) => waitFor(async () => r.status === 'ready', { timeoutMs: 10_000, what: 'client connected' })));
  let acked = 0;
  let stop = false;
  const writes = (async () => {
    while (!stop) {
      try {
        acked = Math.max(acked, Number(await writer.incr('counter')));
      } catch {
        // TRYAGAIN while no leader, or a closed connection (outcome unknown): the next INCR tells.
        await breathe();
      }
    }
  })();

  let pipelines = 0;
  let reads = 0;
  const readLoop = async (r: (typeof readers)[number], name: number): Promise<void> => {
    for (let i = 0; !stop; i++) {
      const floor = acked; // acknowledged before the pipeline was sent
      const p = r.pipeline();
      for (let j = 0; j < 8; j++) p.get('counter');
      p.set(`mine-${name}`, String(i));
      p.get(`mine-${name}`);
      for (let j = 0; j < 8; j++) p.get('counter');
      let out: Array<[Error | null, unknown]>;
      try {
        out = (await p.exec()) as Array<[Error | null, unknown]>;
      } catch {
        await breathe(); // the connection broke: nothing to judge
        continue;
      }
      pipelines++;
      for (let j = 0; j < out.length; j++) {
        const [err, v] = out[j];
        if (err) continue; // TRYAGAIN: not applied, nothing read
        if (j === 8) continue; // the SET
        if (j === 9) {
          // The SET before it in the pipeline was applied (OK) or refused: only then must it be seen.
          if (!out[8][0]) assert.equal(v, String(i), `pipeline ${i} on store ${name + 1} did not see its own SET`);
          continue;
        }
        reads++;
        assert.ok(Number(v ?? 0) >= floor, `stale read on store ${name + 1}: ${v} after ${floor} was acknowledged`);
      }
    }
  };
  const readersDone = Promise.all(readers.map((r, i) => readLoop(r, i)));

  // Move the leadership around: each move ends a lease and starts another.
  let moves = 0;
  const deadline = Date.now() + 12_000;
  const giveUp = Date.now() + 90_000;
  while ((Date.now() < deadline || moves < 3) && Date.now() < giveUp) {
    const from = await leaderStoreId();
    const to = [1, 2, 3].find((s) => s !== from && s !== 0)!;
    const via = await c.leaderStore();
    await via.call('REGION', 'TRANSFER-LEADER', String(region.id), String(to));
    await waitFor(async () => (await leaderStoreId()) === to, { timeoutMs: 15_000, what: `leadership on store ${to}` }).then(
      () => moves++,
      () => undefined, // an election got in first: try again
    );
  }
  stop = true;
  await Promise.all([writes, readersDone]);
  t.diagnostic(`${moves} leader moves, ${pipelines} pipelines, ${reads} counter reads, last acknowledged INCR ${acked}`);
  assert.ok(moves >= 3 && pipelines > 20 && acked > 20, 'the run did some work');
});
