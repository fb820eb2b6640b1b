import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Connection, RespServer, type RespServerOptions } from '../../src/resp/server';
import { err, MapReply, OK, PONG, PushReply, ReplyModeChange, type Reply } from '../../src/resp/reply';
import { deferred, mb, RawClient, until } from './helpers';

/** A server with a small test command set, listening on a free port. */
class Harness {
  readonly server: RespServer;
  readonly calls: string[][] = [];
  readonly defs = new Map<string, ReturnType<typeof deferred<Reply>>>();
  readonly held: Array<ReturnType<typeof deferred<Reply>>> = [];
  releaseAll = false;
  maxOutputSeen = 0;
  conns: Connection[] = [];

  constructor(opts: Partial<RespServerOptions> = {}) {
    this.server = new RespServer({ host: '127.0.0.1', port: 0, handler: (c, a) => this.handle(c, a), ...opts });
    this.server.on('connection', (c: Connection) => this.conns.push(c));
  }

  def(id: string): ReturnType<typeof deferred<Reply>> {
    let d = this.defs.get(id);
    if (!d) {
      d = deferred<Reply>();
      this.defs.set(id, d);
    }
    return d;
  }

  get port(): number {
    return this.server.address().port;
  }

  connect(): Promise<RawClient> {
    return RawClient.connect(this.port);
  }

  private handle(conn: Connection, args: Buffer[]): Reply | Promise<Reply> {
    const a = args.map((b) => b.toString('latin1'));
    this.calls.push(a);
    switch (a[0].toLowerCase()) {
      case 'ping':
        return PONG;
      case 'echo':
        return args[1];
      case 'quit':
        conn.closeAfterReply();
        return OK;
      case 'hello':
        conn.protocol = Number(a[1]) as 2 | 3;
        return new MapReply([['proto', conn.protocol]]);
      case 'nil':
        return null;
      case 'defer':
        return this.def(a[1]).promise;
      case 'hold': {
        if (this.releaseAll) return Promise.resolve(a[1]);
        const d = deferred<Reply>();
        this.held.push(d);
        return d.promise.then(() => a[1]);
      }
      case 'block':
        conn.blockUntil(this.def(a[1]).promise);
        return OK;
      case 'later': {
        // finishes after a pseudo-random number of event-loop turns
        let n = (Number(a[1]) * 7919) % 5;
        return new Promise<Reply>((resolve) => {
          const step = (): void => {
            if (n-- <= 0) resolve(a[1]);
            else setImmediate(step);
          };
          step();
        });
      }
      case 'big':
        this.maxOutputSeen = Math.max(this.maxOutputSeen, conn.outputBufferBytes);
        return Buffer.alloc(Number(a[1]), 'b');
      case 'sha1':
        return createHash('sha1').update(args[1]).digest('hex');
      case 'throw':
        throw new Error('boom');
      case 'reject':
        return Promise.reject(new Error('async boom'));
      case 'wrongtype':
        throw err('WRONGTYPE Operation against a key holding the wrong kind of value');
      case 'undefined':
        return undefined as unknown as Reply;
      case 'kill':
        conn.kill();
        return OK;
      case 'push':
        conn.push(new PushReply([Buffer.from('message'), args[1]]));
        return OK;
      case 'reply':
        return new ReplyModeChange(a[1] as 'on' | 'off' | 'skip');
      case 'confirm':
        return new PushReply([Buffer.from('subscribe'), args[1], 1]);
      case 'whoami':
        return [conn.id, conn.remoteAddress, conn.localAddress, conn.lastCommand];
      default:
        return args;
    }
  }
}

describe('RespServer', () => {
  let h: Harness;
  before(async () => {
    h = new Harness();
    await h.server.listen();
  });
  after(async () => {
    await h.server.close();
  });

  it('answers multibulk and inline commands', async () => {
    const c = await h.connect();
    c.send(Buffer.concat([mb('PING'), Buffer.from('ECHO "hello world"\r\n'), mb('a', 'b')]));
    assert.equal(await c.readString('+PONG\r\n$11\r\nhello world\r\n*2\r\n$1\r\na\r\n$1\r\nb\r\n'), '+PONG\r\n$11\r\nhello world\r\n*2\r\n$1\r\na\r\n$1\r\nb\r\n');
    c.close();
  });

  it('writes replies in request order when handlers finish out of order', async () => {
    const c = await h.connect();
    const n0 = h.calls.length;
    c.send('defer o1\r\ndefer o2\r\nPING\r\ndefer o3\r\nNIL\r\n');
    await until(() => h.calls.length === n0 + 5, 'all five commands to run');
    h.def('o3').resolve('three');
    h.def('o2').resolve('two');
    await new Promise((r) => setImmediate(r));
    assert.equal(c.available, 0, 'nothing is sent before the first reply is ready');
    h.def('o1').resolve('one');
    const want = '$3\r\none\r\n$3\r\ntwo\r\n+PONG\r\n$5\r\nthree\r\n$-1\r\n';
    assert.equal(await c.readString(want), want);
    c.close();
  });

  it('keeps order over 5000 pipelined sync and async commands', async () => {
    const c = await h.connect();
    const parts: Buffer[] = [];
    for (let i = 0; i < 5000; i++) parts.push(i % 3 === 0 ? mb('ECHO', `v${i}`) : mb('LATER', String(i)));
    let want = '';
    for (let i = 0; i < 5000; i++) want += i % 3 === 0 ? `$${String(i).length + 1}\r\nv${i}\r\n` : `$${String(i).length}\r\n${i}\r\n`;
    // Send in uneven slices so that commands straddle chunks.
    const all = Buffer.concat(parts);
    for (let p = 0; p < all.length; p += 777) c.send(all.subarray(p, p + 777));
    assert.equal(await c.readString(want), want);
    c.close();
  });

  it('reads a big bulk sent in many chunks', async () => {
    const c = await h.connect();
    const value = Buffer.alloc(32 * 1024 * 1024);
    for (let i = 0; i < value.length; i += 1000) value[i] = (i / 1000) & 0xff;
    const req = mb('SHA1', value);
    for (let p = 0; p < req.length; p += 65536) c.send(req.subarray(p, p + 65536));
    c.send(mb('PING'));
    const sha = createHash('sha1').update(value).digest('hex');
    const want = `$40\r\n${sha}\r\n+PONG\r\n`;
    assert.equal(await c.readString(want), want);
    c.close();
  });

  it('sends a big reply intact', async () => {
    const c = await h.connect();
    c.send(mb('BIG', String(8 * 1024 * 1024)));
    c.send(mb('PING'));
    const head = `$${8 * 1024 * 1024}\r\n`;
    assert.equal((await c.read(head.length)).toString(), head);
    const body = await c.read(8 * 1024 * 1024);
    assert.ok(body.equals(Buffer.alloc(8 * 1024 * 1024, 'b')));
    assert.equal(await c.readString('\r\n+PONG\r\n'), '\r\n+PONG\r\n');
    c.close();
  });

  it('answers commands before a protocol error, then the error, then closes', async () => {
    const c = await h.connect();
    const n0 = h.calls.length;
    c.send('defer p1\r\nPING\r\n*1\r\nfoo\r\nPING\r\n');
    await until(() => h.calls.length === n0 + 2, 'the two commands before the bad bytes');
    h.def('p1').resolve('first');
    const got = (await c.readToClose()).toString('latin1');
    assert.equal(got, "$5\r\nfirst\r\n+PONG\r\n-ERR Protocol error: expected '$', got 'f'\r\n");
    assert.equal(h.calls.length, n0 + 2, 'nothing after the bad bytes ran');
  });

  const protocolErrors: Array<[string, string]> = [
    ['*3000000000\r\n', 'ERR Protocol error: invalid multibulk length'],
    ['*99999999999\r\n', 'ERR Protocol error: invalid multibulk length'],
    ['*x\r\n', 'ERR Protocol error: invalid multibulk length'],
    ['*1\r\n$-5\r\n', 'ERR Protocol error: invalid bulk length'],
    ['*1\r\n$abc\r\n', 'ERR Protocol error: invalid bulk length'],
    ['*1\r\n$2000000000\r\n', 'ERR Protocol error: invalid bulk length'],
    ['*3\r\n$3\r\nSET\r\n$1\r\nx\r\nfooz\r\n', "ERR Protocol error: expected '$', got 'f'"],
    ['set """test-key""" test-value\r\n', 'ERR Protocol error: unbalanced quotes in request'],
    ['x'.repeat(70000), 'ERR Protocol error: too big inline request'],
    ['*' + '1'.repeat(70000), 'ERR Protocol error: too big mbulk count string'],
    ['*1\r\n$' + '1'.repeat(70000), 'ERR Protocol error: too big bulk count string'],
    ['*1\r\n\r\n', "ERR Protocol error: expected '$', got ' '"],
  ];
  for (const [input, message] of protocolErrors) {
    it(`replies "${message}" and closes`, async () => {
      const c = await h.connect();
      c.send('PING\r\n' + input);
      const got = (await c.readToClose()).toString('latin1');
      assert.equal(got, `+PONG\r\n-${message}\r\n`);
    });
  }

  for (const seq of ['\x00', '*\x00', '$\x00']) {
    it(`protocol desync: ${JSON.stringify(seq)} then endless bytes get an error (Redis's regression test)`, async () => {
      const c = await h.connect();
      c.send(seq);
      let sent = 0;
      while (c.available === 0 && !c.closed && sent < 10 * 1024 * 1024) {
        await new Promise<void>((resolve) => c.socket.write(Buffer.from('payload'.repeat(150)), () => resolve()));
        sent += 1050;
      }
      const got = (await c.readToClose()).toString('latin1');
      assert.match(got, /^-ERR Protocol error: too big (inline request|mbulk count string)\r\n$/);
    });
  }

  it('after a protocol error reads nothing more: a peer that keeps writing sees its writes fail, then reads the error', async () => {
    const c = await h.connect();
    c.send('\x00');
    // As Redis's test: small writes until one fails (the server closed without reading on).
    const deadline = Date.now() + 20_000;
    let failed = false;
    while (!failed && Date.now() < deadline) {
      failed = await new Promise<boolean>((resolve) => c.socket.write(Buffer.from('payload'), (err) => resolve(!!err)));
      if (c.closed) failed = true;
    }
    assert.ok(failed, 'writes kept succeeding after the protocol error');
    const got = (await c.readToClose()).toString('latin1');
    assert.match(got, /^-ERR Protocol error: too big inline request\r\n$/);
  });

  it('ignores empty queries and non-positive counts', async () => {
    const c = await h.connect();
    c.send('\r\n\n*0\r\n*-1\r\n*-10\r\nPING\r\n');
    assert.equal(await c.readString('+PONG\r\n'), '+PONG\r\n');
    c.close();
  });

  it('QUIT answers, closes, and runs nothing after it', async () => {
    const c = await h.connect();
    const n0 = h.calls.length;
    c.send('defer q1\r\nQUIT\r\nPING\r\n');
    await until(() => h.calls.length === n0 + 2, 'DEFER and QUIT to run');
    h.def('q1').resolve(OK);
    assert.equal((await c.readToClose()).toString(), '+OK\r\n+OK\r\n');
    assert.equal(h.calls.length, n0 + 2);
  });

  it('turns handler failures into error replies and keeps the connection', async () => {
    const c = await h.connect();
    const e0 = h.server.stats.handlerErrors;
    c.send('THROW\r\nREJECT\r\nWRONGTYPE\r\nUNDEFINED\r\nPING\r\n');
    const want =
      '-ERR boom\r\n-ERR async boom\r\n-WRONGTYPE Operation against a key holding the wrong kind of value\r\n' +
      '-ERR internal error: not a reply: undefined\r\n+PONG\r\n';
    assert.equal(await c.readString(want), want);
    assert.equal(h.server.stats.handlerErrors, e0 + 3);
    c.close();
  });

  it('encodes each reply in the protocol its command ran with (HELLO)', async () => {
    const c = await h.connect();
    const n0 = h.calls.length;
    c.send('defer h1\r\nHELLO 3\r\nNIL\r\nHELLO 2\r\nNIL\r\n');
    await until(() => h.calls.length === n0 + 5, 'five commands');
    h.def('h1').resolve(null);
    const want = '$-1\r\n%1\r\n$5\r\nproto\r\n:3\r\n_\r\n*2\r\n$5\r\nproto\r\n:2\r\n$-1\r\n';
    assert.equal(await c.readString(want), want);
    c.close();
  });

  it('blockUntil holds the commands after it', async () => {
    const c = await h.connect();
    const n0 = h.calls.length;
    c.send('BLOCK b1\r\nPING\r\nECHO x\r\n');
    await until(() => h.calls.length === n0 + 1, 'BLOCK to run');
    assert.equal(await c.readString('+OK\r\n'), '+OK\r\n');
    await new Promise((r) => setImmediate(r));
    assert.equal(h.calls.length, n0 + 1, 'PING waits');
    h.def('b1').resolve(null);
    assert.equal(await c.readString('+PONG\r\n$1\r\nx\r\n'), '+PONG\r\n$1\r\nx\r\n');
    c.close();
  });

  it('push() sends after the replies of commands already received', async () => {
    const c = await h.connect();
    c.send('defer u1\r\nPUSH hi\r\n');
    await until(() => h.defs.has('u1') && h.calls.some((x) => x[0] === 'PUSH'), 'PUSH to run');
    h.def('u1').resolve('d');
    const want = '$1\r\nd\r\n*2\r\n$7\r\nmessage\r\n$2\r\nhi\r\n+OK\r\n';
    assert.equal(await c.readString(want), want);
    c.close();
  });

  it('answers pending commands after the client half-closes', async () => {
    const c = await h.connect();
    const n0 = h.calls.length;
    c.send('defer e1\r\nPING\r\n');
    c.socket.end();
    await until(() => h.calls.length === n0 + 2, 'both commands');
    h.def('e1').resolve('late');
    assert.equal((await c.readToClose()).toString(), '$4\r\nlate\r\n+PONG\r\n');
  });

  it('kill() closes the connection at once', async () => {
    const c = await h.connect();
    c.send('KILL\r\nPING\r\n');
    assert.equal((await c.readToClose()).length, 0);
  });

  it('tracks connections, ids, addresses and counters', async () => {
    const s = h.server.stats;
    const before = { ...s };
    const c1 = await h.connect();
    const c2 = await h.connect();
    c1.send('WHOAMI\r\n');
    await until(() => c1.available > 0, 'WHOAMI reply');
    const find = (c: RawClient): Connection | undefined =>
      [...h.server.connections.values()].find((x) => x.remoteAddress === `127.0.0.1:${c.socket.localPort}`);
    await until(() => find(c1) !== undefined && find(c2) !== undefined, 'both connections');
    const mine = [find(c1)!, find(c2)!];
    assert.ok(mine[0].id < mine[1].id);
    assert.match(mine[0].remoteAddress, /^127\.0\.0\.1:\d+$/);
    assert.equal(mine[0].localAddress, `127.0.0.1:${h.port}`);
    c2.send('PING\r\n');
    await c2.readString('+PONG\r\n');
    assert.equal(s.connectionsReceived, before.connectionsReceived + 2);
    assert.equal(s.commandsProcessed, before.commandsProcessed + 2);
    assert.equal(s.netInputBytes, before.netInputBytes + 'WHOAMI\r\n'.length + 'PING\r\n'.length);
    await until(() => s.netOutputBytes > before.netOutputBytes + 7, 'output counted');
    assert.equal(mine[0].lastCommand, 'whoami');
    assert.equal(mine[1].commandsProcessed, 1);
    const line = mine[0].clientInfo();
    assert.match(
      line,
      new RegExp(
        `^id=${mine[0].id} addr=127\\.0\\.0\\.1:\\d+ laddr=127\\.0\\.0\\.1:${h.port} fd=-?\\d+ name= age=\\d+ idle=\\d+ flags=N db=0 sub=0 psub=0 ssub=0 multi=-1 ` +
          `qbuf=0 qbuf-free=0 argv-mem=0 multi-mem=0 rbs=0 rbp=0 obl=0 oll=0 omem=0 tot-mem=0 events=r cmd=whoami user=default redir=-1 resp=2 lib-name= lib-ver=$`,
      ),
    );
    mine[0].name = 'n1';
    mine[0].readonly = true;
    mine[0].flags.add('multi');
    mine[0].multiQueued = 2;
    assert.match(mine[0].clientInfo(), / name=n1 .* flags=xr .* multi=2 /);
    const id = mine[0].id;
    c1.close();
    await until(() => !h.server.connections.has(id), 'closed connection to leave the set');
    assert.ok(mine[0].closed);
    c2.close();
  });
});

describe('RespServer backpressure', () => {
  it('stops reading while maxPendingCommands commands run, then catches up in order', async () => {
    const h = new Harness({ maxPendingCommands: 16 });
    await h.server.listen();
    try {
      const c = await h.connect();
      const pad = 'p'.repeat(8000);
      const n = 2000;
      const parts: Buffer[] = [];
      for (let i = 0; i < n; i++) parts.push(mb('HOLD', String(i), pad));
      c.send(Buffer.concat(parts));
      await until(() => h.conns.length === 1 && h.conns[0].readPaused, 'reads to pause');
      assert.equal(h.held.length, 16, 'only maxPendingCommands commands run');
      assert.ok(h.conns[0].pendingCommands < 100, `${h.conns[0].pendingCommands} commands decoded`);
      h.releaseAll = true;
      for (const d of h.held) d.resolve(null);
      let want = '';
      for (let i = 0; i < n; i++) want += `$${String(i).length}\r\n${i}\r\n`;
      assert.equal(await c.readString(want), want);
      c.close();
    } finally {
      await h.server.close();
    }
  });

  it('stops running commands while maxOutputBuffer bytes wait for a slow reader', async () => {
    const h = new Harness({ maxOutputBuffer: 256 * 1024 });
    await h.server.listen();
    try {
      const c = await h.connect();
      c.socket.pause(); // a client that does not read
      const n = 300;
      const size = 1024 * 1024;
      let req = '';
      for (let i = 0; i < n; i++) req += `BIG ${size}\r\n`;
      c.send(req);
      await until(() => h.conns.length === 1 && h.conns[0].readPaused, 'the server to stop');
      const ran = h.calls.length;
      assert.ok(ran < n, `${ran} of ${n} ran before the client read anything`);
      assert.ok(h.maxOutputSeen < 256 * 1024, `a command ran with ${h.maxOutputSeen} bytes waiting`);
      c.socket.resume();
      const total = n * (`$${size}\r\n`.length + size + 2);
      let got = 0;
      while (got < total) got += (await c.read(Math.min(c.available || 1, total - got))).length;
      assert.equal(c.available, 0);
      assert.equal(h.calls.length, n);
      assert.ok(h.maxOutputSeen < 256 * 1024);
      c.close();
    } finally {
      await h.server.close();
    }
  });
});

describe('RespServer limits and hostile input', () => {
  it('refuses clients beyond maxClients', async () => {
    const h = new Harness({ maxClients: 1 });
    await h.server.listen();
    try {
      const a = await h.connect();
      await until(() => h.server.connections.size === 1, 'first client');
      const b = await h.connect();
      assert.equal((await b.readToClose()).toString(), '-ERR max number of clients reached\r\n');
      assert.equal(h.server.stats.rejectedConnections, 1);
      a.send('PING\r\n');
      assert.equal(await a.readString('+PONG\r\n'), '+PONG\r\n');
      a.close();
    } finally {
      await h.server.close();
    }
  });

  it('does not allocate a declared bulk that never arrives', async () => {
    const h = new Harness();
    await h.server.listen();
    try {
      const rss0 = process.memoryUsage().rss;
      const clients: RawClient[] = [];
      for (let i = 0; i < 4; i++) {
        const c = await h.connect();
        c.send('*2\r\n$536870912\r\n');
        c.send(Buffer.alloc(1024 * 1024, 'a'));
        clients.push(c);
      }
      await until(() => h.conns.length === 4 && h.conns.every((x) => x.queryBufferBytes === 1024 * 1024), 'the bytes to arrive');
      const grown = process.memoryUsage().rss - rss0;
      assert.ok(grown < 200 * 1024 * 1024, `rss grew by ${grown}`);
      for (const c of clients) c.close();
      await until(() => h.server.connections.size === 0, 'clients to go');
    } finally {
      await h.server.close();
    }
  });

  it('survives hostile input and still answers PING on a new connection', async () => {
    const h = new Harness({ maxQueryBufferLen: 64 * 1024 * 1024 });
    await h.server.listen();
    try {
      const payloads: Buffer[] = [
        Buffer.from('*99999999999\r\n'),
        Buffer.from('*1\r\n$-5\r\n'),
        Buffer.from('$-5\r\n'),
        Buffer.from('*-5\r\n'),
        Buffer.from('*1\r\n$abc\r\n'),
        Buffer.from('*-abc\r\n'),
        Buffer.from('*1\r\n$2147483648\r\n'),
        Buffer.from('*2147483647\r\n$536870912\r\nabc'),
        Buffer.from('*1\r\n$536870912\r\n'),
        Buffer.from('*1\r\n$10\r\nabc'),
        Buffer.from('*3\r\n$3\r\nSET\r\n'),
        Buffer.from('*'),
        Buffer.from('*1\r'),
        Buffer.alloc(100 * 1024),
        Buffer.concat([Buffer.from('*'), Buffer.alloc(100 * 1024)]),
        Buffer.concat([Buffer.from('*1\r\n$'), Buffer.alloc(100 * 1024)]),
        Buffer.from('"unbalanced\r\n'),
        Buffer.from('\x00\x00\x00\r\n'),
        Buffer.from('*1\r\n$4\r\nPI\x00G\r\n'),
        Buffer.from('\xff\xfe\r\n*\xff\r\n'),
      ];
      let seed = 42;
      const rnd = (n: number): number => {
        seed = (seed * 1103515245 + 12345) & 0x7fffffff;
        return seed % n;
      };
      const alphabet = Buffer.from('*$\r\n0123456789-"\' \\x\x00\xff');
      for (let i = 0; i < 60; i++) {
        const len = 1 + rnd(3000);
        const b = Buffer.alloc(len);
        for (let j = 0; j < len; j++) b[j] = rnd(3) === 0 ? rnd(256) : alphabet[rnd(alphabet.length)];
        payloads.push(b);
      }
      // A flood of empty arguments is cut by the query buffer limit.
      payloads.push(Buffer.concat([Buffer.from('*2000000000\r\n'), Buffer.from('$0\r\n\r\n'.repeat(1200000))]));
      const clients = await Promise.all(payloads.map(() => h.connect()));
      payloads.forEach((p, i) => {
        // Half of them in small pieces, half at once; some hang up right away.
        if (i % 2 === 0) for (let q = 0; q < p.length; q += 97) clients[i].send(p.subarray(q, q + 97));
        else clients[i].send(p);
        if (i % 5 === 0) clients[i].socket.end();
      });
      // Whatever each connection got must be valid replies; errors close it.
      await Promise.all(
        clients.map(async (c, i) => {
          if (i % 5 === 0) {
            const got = (await c.readToClose()).toString('latin1');
            assert.match(got, /^(([+:$*-][^\r\n]*\r\n)|(\$\d+\r\n[^]*?\r\n))*$/);
          }
        }),
      );
      for (const c of clients) c.close();
      await until(() => h.server.connections.size === 0, 'every hostile client to go');
      const c = await h.connect();
      c.send('PING\r\n');
      assert.equal(await c.readString('+PONG\r\n'), '+PONG\r\n');
      c.close();
    } finally {
      await h.server.close();
    }
  });

  it('closes a client over the query buffer limit with an error', async () => {
    const h = new Harness({ maxQueryBufferLen: 1024 * 1024 });
    await h.server.listen();
    try {
      const c = await h.connect();
      c.send('*1\r\n$100000000\r\n');
      c.send(Buffer.alloc(2 * 1024 * 1024, 'z'));
      const got = (await c.readToClose()).toString();
      assert.equal(got, '-ERR Protocol error: query buffer limit exceeded\r\n');
    } finally {
      await h.server.close();
    }
  });

  it('close() closes every connection', async () => {
    const h = new Harness();
    await h.server.listen();
    const a = await h.connect();
    const b = await h.connect();
    b.send('defer never\r\n');
    await until(() => h.server.connections.size === 2 && h.calls.length === 1, 'two clients');
    await h.server.close();
    await a.readToClose();
    await b.readToClose();
    assert.equal(h.server.connections.size, 0);
  });

  it("emits 'close' once per connection and survives throwing listeners", async () => {
    const h = new Harness();
    await h.server.listen();
    try {
      let closes = 0;
      h.server.on('connection', (c: Connection) => {
        c.on('close', () => {
          closes++;
          throw new Error('listener bug');
        });
        throw new Error('listener bug');
      });
      const a = await h.connect();
      a.send('PING\r\n');
      assert.equal(await a.readString('+PONG\r\n'), '+PONG\r\n');
      a.close();
      await until(() => closes === 1, "the 'close' event");
      const b = await h.connect();
      b.send('PING\r\n');
      assert.equal(await b.readString('+PONG\r\n'), '+PONG\r\n');
      b.close();
      await until(() => closes === 2, "the second 'close' event");
    } finally {
      await h.server.close();
    }
  });

  it('closes idle clients only when idleTimeoutMs is set', async () => {
    const h = new Harness({ idleTimeoutMs: 300 });
    await h.server.listen();
    try {
      // The busy client's timer fires while its command is in progress, and is ignored.
      let fired!: Promise<void>;
      h.server.once('connection', (c: Connection) => {
        const socket = (c as unknown as { socket: import('node:net').Socket }).socket;
        fired = new Promise<void>((resolve) => socket.once('timeout', () => setImmediate(resolve)));
      });
      const busy = await h.connect();
      busy.send('defer forever\r\n');
      await until(() => h.calls.length === 1, 'the busy client to start a command');
      const conn = h.conns[0];
      const idle = await h.connect();
      await fired;
      assert.equal(conn.closed, false);
      assert.equal((await idle.readToClose()).length, 0);
      h.def('forever').resolve('done');
      assert.equal(await busy.readString('$4\r\ndone\r\n'), '$4\r\ndone\r\n');
      // Idle now: closed in turn.
      assert.equal((await busy.readToClose()).length, 0);
    } finally {
      await h.server.close();
    }
  });

  it('close() works before listen() and twice', async () => {
    const h = new Harness();
    await h.server.close();
    await h.server.listen();
    await h.server.close();
    await h.server.close();
  });

  it('listen() rejects when the port is taken', async () => {
    const h = new Harness();
    await h.server.listen();
    try {
      const other = new RespServer({ host: '127.0.0.1', port: h.port, handler: () => OK });
      await assert.rejects(other.listen(), /EADDRINUSE/);
    } finally {
      await h.server.close();
    }
  });
});

describe('RespServer: CLIENT REPLY modes', () => {
  it('OFF silences replies but not pushes, SKIP while OFF stays OFF, ON answers +OK, SKIP drops one reply', async () => {
    const h = new Harness();
    await h.server.listen();
    try {
      const c = await h.connect();
      c.send(Buffer.concat([mb('reply', 'off'), mb('echo', 'a'), mb('push', 'x'), mb('confirm', 'ch'), mb('reply', 'skip'), mb('echo', 'b')]));
      c.send(Buffer.concat([mb('reply', 'on'), mb('reply', 'skip'), mb('echo', 'c'), mb('echo', 'd')]));
      const expected = '*2\r\n$7\r\nmessage\r\n$1\r\nx\r\n' + '*3\r\n$9\r\nsubscribe\r\n$2\r\nch\r\n:1\r\n' + '+OK\r\n' + '$1\r\nd\r\n';
      assert.equal(await c.readString(expected), expected);
      c.close();
    } finally {
      await h.server.close();
    }
  });
});
