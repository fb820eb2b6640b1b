// Blocking list commands over a real connection to a standalone store, next
// to Debian's redis-server: a blocked client runs none of its pipelined
// commands until it is answered, and a client that goes away while blocked
// has nothing popped for it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { exchange, plain, respMany, waitFor, withServer } from '../support';

for (const kind of ['redraft', 'redis'] as const) {
  test(`${kind}: BLPOP holds the client's pipelined commands until it times out`, { timeout: 60_000 }, async (t) => {
    const s = await withServer(t, { kind, mode: 'store' });
    const { replies } = await exchange(s.port, 'BLPOP pl 0.3\r\nRPUSH pl x\r\nLRANGE pl 0 -1\r\n', { replies: 3, timeoutMs: 10_000 });
    assert.deepEqual(replies.map(plain), [null, 1n, ['x']]);
  });

  test(`${kind}: a client that disconnects while blocked gets nothing popped`, { timeout: 60_000 }, async (t) => {
    const s = await withServer(t, { kind, mode: 'store' });
    const sock = connect(s.port, '127.0.0.1');
    await new Promise((r) => sock.once('connect', r));
    sock.write('BLPOP gone 0\r\n');
    const blocked = async (): Promise<number> => Number(/blocked_clients:(\d+)/.exec(String((await respMany(s.port, [['INFO', 'clients']]))[0]))?.[1]);
    await waitFor(async () => (await blocked()) === 1, { timeoutMs: 10_000, what: 'the client blocked' });
    sock.end();
    await waitFor(async () => (await blocked()) === 0, { timeoutMs: 10_000, what: 'the blocked client gone' });
    assert.deepEqual(await respMany(s.port, [['RPUSH', 'gone', 'a'], ['LRANGE', 'gone', 0, -1]]), [1, ['a']]);
  });
}
