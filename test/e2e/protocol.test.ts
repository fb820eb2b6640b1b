// The RESP front end over raw sockets: pipelined bursts in one write (and
// byte by byte) answered in order, inline commands, HELLO 3 / HELLO 2
// switching the reply encoding, QUIT in a pipeline.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { encodeCommand, plain, RawConn, type RespValue, type Server, type TestLike } from '../support';
import { startTarget } from './target';

async function open(t: TestLike, s: Server): Promise<RawConn> {
  const c = await RawConn.open(s.port);
  t.after(() => c.close());
  return c;
}

const cmd = (...args: string[]) => encodeCommand(args);
const types = (rs: RespValue[]) => rs.map((r) => r.type).join('');

test('RESP protocol', async (t) => {
  const s = await startTarget(t);

  await t.test('a pipelined burst of mixed commands in one write: replies in order', async (t) => {
    const c = await open(t, s);
    const burst = Buffer.concat([
      cmd('PING'),
      cmd('SET', 'pipe:a', 'hello'),
      cmd('GET', 'pipe:a'),
      Buffer.from('ECHO inline-in-the-middle\r\n'),
      cmd('INCR', 'pipe:n'),
      cmd('INCRBY', 'pipe:n', '41'),
      cmd('HSET', 'pipe:h', 'f', 'v', 'g', 'w'),
      cmd('HGET', 'pipe:h', 'g'),
      cmd('GET', 'pipe:missing'),
      cmd('NOSUCH', 'x'),
      cmd('INCR', 'pipe:a'),
      cmd('GET'),
      cmd('EXISTS', 'pipe:a', 'pipe:h', 'pipe:missing'),
      Buffer.from('\r\n'), // an empty inline line is skipped, as in Redis
      cmd('PING', 'last'),
      cmd('DEL', 'pipe:a', 'pipe:n', 'pipe:h'),
    ]);
    await c.write(burst);
    const replies = (await c.read(15)).map(plain);
    assert.deepEqual(replies, [
      'PONG',
      'OK',
      'hello',
      'inline-in-the-middle',
      1n,
      42n,
      2n,
      'w',
      null,
      { error: "ERR unknown command 'NOSUCH', with args beginning with: 'x' " },
      { error: 'ERR value is not an integer or out of range' },
      { error: "ERR wrong number of arguments for 'get' command" },
      2n,
      'last',
      3n,
    ]);
    assert.equal(c.closed, false);
  });

  await t.test('10000 commands in one write: 10000 replies, in order', async (t) => {
    const c = await open(t, s);
    const parts: Buffer[] = [];
    // One write in 20 (a write followed by reads costs redraft one sync, see the report).
    for (let i = 0; i < 10_000; i++) parts.push(i % 20 ? cmd('ECHO', `e${i}`) : cmd('SET', `burst:${(i / 20) % 100}`, `${i}`));
    await c.write(Buffer.concat(parts));
    const replies = (await c.read(10_000, 60_000)).map(plain);
    replies.forEach((r, i) => assert.deepEqual(r, i % 20 ? `e${i}` : 'OK', `reply #${i}`));
    await c.write(Buffer.concat(Array.from({ length: 100 }, (_, k) => cmd('GET', `burst:${k}`))));
    assert.deepEqual((await c.read(100)).map(plain), Array.from({ length: 100 }, (_, k) => `${8000 + 20 * k}`));
    await c.write(Buffer.concat(Array.from({ length: 100 }, (_, k) => cmd('DEL', `burst:${k}`))));
    await c.read(100);
  });

  await t.test('the same burst one byte per write: the decoder resumes anywhere', async (t) => {
    const c = await open(t, s);
    c.sock.setNoDelay(true);
    const burst = Buffer.concat([cmd('SET', 'byte:k', 'a\r\nb'), cmd('GET', 'byte:k'), Buffer.from('ECHO "quoted \\"inline\\""\r\n'), cmd('DEL', 'byte:k')]);
    for (const b of burst) await c.write(Buffer.from([b]));
    assert.deepEqual((await c.read(4)).map(plain), ['OK', 'a\r\nb', 'quoted "inline"', 1n]);
  });

  await t.test('HELLO 3 switches to RESP3 (maps, nulls), HELLO 2 back to RESP2', async (t) => {
    const c = await open(t, s);
    await c.write(Buffer.concat([cmd('HSET', 'resp3:h', 'a', '1', 'b', '2'), cmd('SET', 'resp3:s', 'x')]));
    await c.read(2);

    const hello3 = await c.call('HELLO', '3');
    assert.equal(hello3.type, '%');
    const h3 = plain(hello3) as Map<string, unknown>;
    assert.deepEqual([...h3.keys()], ['server', 'version', 'proto', 'id', 'mode', 'role', 'modules']);
    assert.equal(h3.get('server'), 'redis');
    assert.match(h3.get('version') as string, /^\d+\.\d+\.\d+$/);
    assert.equal(h3.get('proto'), 3n);
    assert.equal(typeof h3.get('id'), 'bigint');
    assert.equal(h3.get('role'), 'master');
    assert.deepEqual(h3.get('modules'), []);

    await c.write(
      Buffer.concat([
        cmd('HGETALL', 'resp3:h'),
        cmd('HGETALL', 'resp3:none'),
        cmd('GET', 'resp3:none'),
        cmd('HGET', 'resp3:h', 'zz'),
        cmd('HMGET', 'resp3:h', 'a', 'zz'),
        cmd('MGET', 'resp3:s', 'resp3:none'),
        cmd('CONFIG', 'GET', 'maxmemory'),
        cmd('EXISTS', 'resp3:h'),
        cmd('TTL', 'resp3:h'),
        cmd('GET', 'resp3:h'),
        cmd('PING'),
      ]),
    );
    const r3 = await c.read(11);
    assert.equal(types(r3), '%%__**%::-+');
    assert.deepEqual(plain(r3[0]!), new Map([['a', '1'], ['b', '2']]));
    assert.deepEqual(plain(r3[1]!), new Map());
    assert.deepEqual(plain(r3[4]!), ['1', null]);
    assert.equal((r3[4]! as { value: RespValue[] }).value[1]!.type, '_');
    assert.equal((r3[5]! as { value: RespValue[] }).value[1]!.type, '_');
    assert.deepEqual([...(plain(r3[6]!) as Map<string, unknown>).keys()], ['maxmemory']);

    const hello2 = await c.call('HELLO', '2');
    assert.equal(hello2.type, '*');
    const flat = plain(hello2) as unknown[];
    assert.deepEqual(flat.filter((_, i) => i % 2 === 0), ['server', 'version', 'proto', 'id', 'mode', 'role', 'modules']);
    assert.equal(flat[5], 2n);
    await c.write(Buffer.concat([cmd('HGETALL', 'resp3:h'), cmd('GET', 'resp3:none'), cmd('HMGET', 'resp3:h', 'zz'), cmd('CONFIG', 'GET', 'maxmemory')]));
    const r2 = await c.read(4);
    assert.equal(types(r2), '*$**');
    assert.deepEqual(plain(r2[0]!), ['a', '1', 'b', '2']);
    assert.equal(r2[1]!.value, null);
    assert.equal((r2[2]! as { value: RespValue[] }).value[0]!.type, '$');

    assert.deepEqual(plain(await c.call('HELLO', '4')), { error: 'NOPROTO unsupported protocol version' });
    assert.deepEqual(plain(await c.call('HELLO', 'x')), { error: 'ERR Protocol version is not an integer or out of range' });
    // A refused HELLO leaves the protocol as it was.
    assert.equal((await c.call('HGETALL', 'resp3:h')).type, '*');
    assert.deepEqual(plain(await c.call('DEL', 'resp3:h', 'resp3:s')), 2n);
  });

  await t.test('QUIT in a pipeline: +OK, then the connection closes and later commands are not run', async (t) => {
    const c = await open(t, s);
    await c.write(Buffer.concat([cmd('PING'), cmd('QUIT'), cmd('SET', 'quit:after', '1'), cmd('PING')]));
    const replies = (await c.readUntilClosed()).map(plain);
    const c2 = await open(t, s);
    const after = plain(await c2.call('GET', 'quit:after'));
    await c2.call('DEL', 'quit:after');
    assert.deepEqual(replies, ['PONG', 'OK'], 'replies up to the close');
    assert.equal(after, null, 'a SET pipelined after QUIT was executed');
  });
});
