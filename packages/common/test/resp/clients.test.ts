// Real clients against RespServer with a tiny command set: ioredis (RESP3 via
// HELLO, pipelining) and redis-cli (when installed).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import Redis from 'ioredis';
import { RespServer } from '../../src/resp/server';
import { BoolReply, DoubleReply, err, MapReply, OK, PONG, SetReply, VerbatimReply, type Reply } from '../../src/resp/reply';

function handler(conn: import('../../src/resp/server').Connection, args: Buffer[]): Reply | Promise<Reply> {
  const cmd = args[0].toString().toLowerCase();
  switch (cmd) {
    case 'hello':
      if (args[1]) conn.protocol = Number(args[1].toString()) as 2 | 3;
      return new MapReply([
        ['server', 'redis'],
        ['version', '7.0.15'],
        ['proto', conn.protocol],
        ['id', conn.id],
        ['mode', 'standalone'],
        ['role', 'master'],
        ['modules', []],
      ]);
    case 'client':
      return OK;
    case 'info':
      return new VerbatimReply('txt', '# Server\r\nredis_version:7.0.15\r\n');
    case 'command':
      return err('ERR unknown subcommand');
    case 'ping':
      return PONG;
    case 'dbl':
      return new DoubleReply(1.5);
    case 'bool':
      return new BoolReply(true);
    case 'map':
      return new MapReply([['a', 1], ['b', null]]);
    case 'set':
      return new SetReply(['x']);
    case 'fail':
      return err('ERR nope');
    case 'slow':
      return new Promise((resolve) => setImmediate(() => resolve(args[1])));
    default:
      return args.slice(1);
  }
}

describe('real clients', () => {
  const server = new RespServer({ host: '127.0.0.1', port: 0, handler });
  before(() => server.listen());
  after(() => server.close());

  it('ioredis: RESP3 handshake, typed replies, errors, pipelining', async () => {
    const r = new Redis({ host: '127.0.0.1', port: server.address().port, lazyConnect: true, maxRetriesPerRequest: 0 });
    try {
      await r.connect();
      assert.equal(await r.ping(), 'PONG');
      assert.equal(await r.call('dbl'), '1.5');
      assert.equal(await r.call('bool'), 1);
      assert.deepEqual(await r.call('map'), ['a', 1, 'b', null]);
      assert.deepEqual(await r.call('set'), ['x']);
      await assert.rejects(r.call('fail'), /ERR nope/);
      const p = r.pipeline();
      for (let i = 0; i < 2000; i++) p.call(i % 2 ? 'slow' : 'echo', String(i));
      const res = await p.exec();
      assert.ok(res);
      res.forEach(([e, v], i) => {
        assert.equal(e, null);
        assert.deepEqual(v, i % 2 ? String(i) : [String(i)]);
      });
      const big = 'x'.repeat(5 * 1024 * 1024);
      assert.equal(await r.call('slow', big), big);
    } finally {
      r.disconnect();
    }
  });

  it('redis-cli: commands, quoting and RESP3', async (t) => {
    const run = (args: string[], input?: string): Promise<string> =>
      new Promise((resolve, reject) => {
        const child = execFile('redis-cli', ['-p', String(server.address().port), ...args], (e, stdout) => (e ? reject(e) : resolve(stdout)));
        if (input !== undefined) child.stdin!.end(input);
      });
    try {
      await run(['ping']);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return t.skip('redis-cli is not installed');
      throw e;
    }
    assert.equal(await run(['ping']), 'PONG\n');
    assert.equal(await run(['echo', 'a b', 'c']), 'a b\nc\n');
    assert.equal(await run(['-3', 'bool']), '(true)\n');
    assert.equal(await run(['-3', 'dbl']), '1.5\n');
    assert.equal(await run([], 'echo "x y" z\nping\n'), 'x y\nz\nPONG\n');
  });
});
