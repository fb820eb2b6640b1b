// A leader whose process stalls (SIGSTOP here; a long GC pause or a swapped
// out process in life) must not serve a read from its lease when it wakes:
// the ticks real time owes are counted before the lease is trusted.
//
// The read is queued in the stalled leader's socket while the others elect a
// new leader and acknowledge a newer value; on SIGCONT the old leader sees
// the read before its tick timer fires.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { encodeCommand, parseReply, plain, waitFor, withCluster } from '../support';

test('a stalled leader does not serve a stale lease read when it wakes', { timeout: 120_000 }, async (t) => {
  const c = await withCluster(t);
  const stale: string[] = [];
  for (let round = 0; round < 3; round++) {
    const leader = await c.leaderStore();
    const others = c.stores.filter((s) => s !== leader);
    assert.equal(await leader.call('SET', 'stall', `old${round}`), 'OK');
    // A connection to the leader, opened before it stalls.
    const sock = net.connect(leader.port, '127.0.0.1');
    await new Promise<void>((res, rej) => sock.once('connect', res).once('error', rej));
    let buf = Buffer.alloc(0);
    sock.on('data', (d) => (buf = Buffer.concat([buf, d])));
    process.kill(leader.pid, 'SIGSTOP');
    try {
      // The others elect a leader and acknowledge a newer value.
      await waitFor(async () => (await others[0].call('SET', 'stall', `new${round}`)) === 'OK', { timeoutMs: 30_000, what: 'a write through the survivors' });
      sock.write(encodeCommand(['GET', 'stall']));
    } finally {
      process.kill(leader.pid, 'SIGCONT');
    }
    await waitFor(() => parseReply(buf) !== undefined, { timeoutMs: 30_000, what: 'the woken leader to answer' });
    const got = plain(parseReply(buf)!.value);
    sock.destroy();
    if (got === `old${round}`) stale.push(`round ${round}: ${leader.name} answered the stale ${String(got)} after new${round} was acknowledged`);
    await c.ready();
  }
  assert.deepEqual(stale, []);
});
