// Hostile input over raw sockets. Whatever arrives, the server never
// crashes: after every case the process is alive (by pid) and a fresh
// connection gets PONG. Protocol errors are answered with Redis's exact
// `-ERR Protocol error: ...` and close the connection; commands that came
// before the bad bytes are answered first.
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { test } from 'node:test';
import { exchange, plain, RawConn, waitFor, type Plain, type Server } from '../support';
import { onRedis, startTarget } from './target';

const PE = (msg: string): Plain => ({ error: `ERR Protocol error: ${msg}` });
const MB = 1024 * 1024;

/** The server process is alive (signal 0 to its pid) and answers PING on a new connection. */
async function assertAlive(s: Server, after: string): Promise<void> {
  assert.ok(s.proc.running, `${after}: ${s.proc.describeExit()}\n${s.proc.logTail(40)}`);
  assert.doesNotThrow(() => process.kill(s.pid, 0), `${after}: pid ${s.pid} is gone`);
  const c = await RawConn.open(s.port);
  try {
    assert.deepEqual(plain(await c.call('PING')), 'PONG', `${after}: no PONG on a fresh connection`);
  } finally {
    c.close();
  }
}

/** INFO clients' connected_clients, read on a fresh connection (which counts itself). */
async function connectedClients(s: Server): Promise<number> {
  const c = await RawConn.open(s.port);
  try {
    const info = plain(await c.call('INFO', 'clients')) as string;
    const m = /connected_clients:(\d+)/.exec(info);
    assert.ok(m, `no connected_clients in ${info}`);
    return Number(m[1]);
  } finally {
    c.close();
  }
}

/** mulberry32: a small seeded PRNG, so that a failing fuzz run can be replayed (E2E_FUZZ_SEED). */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Opens a socket, resolves once connected. */
function rawSocket(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const sock = connect({ port, host: '127.0.0.1' });
    sock.once('connect', () => resolve(sock));
    sock.once('error', reject);
  });
}

/** Writes data, half-closes (FIN) and waits for the server to close its side; resolves with what it sent. */
function sendAndFinish(port: number, data: Buffer, timeoutMs: number): Promise<{ out: Buffer; closed: boolean }> {
  return new Promise((resolve) => {
    const sock = connect({ port, host: '127.0.0.1' });
    const out: Buffer[] = [];
    const timer = setTimeout(() => {
      sock.destroy();
      resolve({ out: Buffer.concat(out), closed: false });
    }, timeoutMs);
    sock.on('data', (d: Buffer) => out.push(d));
    sock.on('error', () => {
      /* a reset after a protocol error is fine */
    });
    sock.once('connect', () => sock.end(data));
    sock.once('close', () => {
      clearTimeout(timer);
      resolve({ out: Buffer.concat(out), closed: true });
    });
  });
}

interface Case {
  name: string;
  send: string | Buffer;
  /** The replies, in order, up to the close (closes: true) or before the connection is checked with PING. */
  replies: Plain[];
  closes: boolean;
  redraftOnly?: boolean;
}

const cases: Case[] = [
  { name: 'a type byte that is not RESP starts an inline command', send: 'PING\r\n!foo\r\n', replies: ['PONG', { error: "ERR unknown command '!foo', with args beginning with: " }], closes: false },
  { name: '*-5 (negative multibulk) is skipped', send: '*-5\r\n*1\r\n$4\r\nPING\r\n', replies: ['PONG'], closes: false },
  { name: '*0 is skipped', send: '*0\r\nPING\r\n', replies: ['PONG'], closes: false },
  { name: '*abc', send: '*1\r\n$4\r\nPING\r\n*abc\r\n', replies: ['PONG', PE('invalid multibulk length')], closes: true },
  { name: '* 1 (space)', send: '* 1\r\n', replies: [PE('invalid multibulk length')], closes: true },
  { name: '*01 (leading zero)', send: '*01\r\n$4\r\nPING\r\n', replies: [PE('invalid multibulk length')], closes: true },
  { name: 'multibulk over the maximum (INT_MAX)', send: 'PING\r\n*2147483648\r\n', replies: ['PONG', PE('invalid multibulk length')], closes: true },
  { name: 'multibulk over --max-multibulk-len (1048576)', send: '*1048577\r\n', replies: [PE('invalid multibulk length')], closes: true, redraftOnly: true },
  { name: 'a 20-digit multibulk count', send: '*99999999999999999999\r\n', replies: [PE('invalid multibulk length')], closes: true },
  { name: '$abc', send: '*1\r\n$abc\r\n', replies: [PE('invalid bulk length')], closes: true },
  { name: '$999999999999', send: '*1\r\n$999999999999\r\n', replies: [PE('invalid bulk length')], closes: true },
  { name: '$-1 inside a request', send: '*1\r\n$-1\r\n', replies: [PE('invalid bulk length')], closes: true },
  { name: '$+4', send: '*1\r\n$+4\r\nPING\r\n', replies: [PE('invalid bulk length')], closes: true },
  { name: "'+' where a bulk belongs", send: '*1\r\n+PING\r\n', replies: [PE("expected '$', got '+'")], closes: true },
  { name: 'a nested multibulk', send: '*2\r\n*1\r\n', replies: [PE("expected '$', got '*'")], closes: true },
  { name: 'a bulk over --max-bulk-len (1mb)', send: `*1\r\n$4\r\nPING\r\n*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$${MB + 1}\r\n`, replies: ['PONG', PE('invalid bulk length')], closes: true },
  { name: 'an inline request of 70000 bytes with no newline', send: 'A'.repeat(70_000), replies: [PE('too big inline request')], closes: true },
  { name: 'a multibulk count of 70000 digits', send: '*' + '1'.repeat(70_000), replies: [PE('too big mbulk count string')], closes: true },
  { name: 'a bulk count of 70000 digits', send: '*1\r\n$' + '1'.repeat(70_000), replies: [PE('too big bulk count string')], closes: true },
  { name: 'unbalanced double quote', send: 'PING\r\nSET k "abc\r\n', replies: ['PONG', PE('unbalanced quotes in request')], closes: true },
  { name: 'unbalanced single quote', send: "ECHO 'abc\r\n", replies: [PE('unbalanced quotes in request')], closes: true },
  { name: 'a closing quote not followed by a space', send: 'ECHO "a"b\r\n', replies: [PE('unbalanced quotes in request')], closes: true },
  { name: 'inline quoting and escapes', send: 'ECHO "a\\x41\\n" \r\nECHO \'it\\\'s\'\r\nECHO a  b\r\n', replies: ['aA\n', "it's", { error: "ERR wrong number of arguments for 'echo' command" }], closes: false },
  { name: 'an empty command name', send: '*1\r\n$0\r\n\r\n', replies: [{ error: "ERR unknown command '', with args beginning with: " }], closes: false },
  { name: 'a bulk followed by 2 bytes that are not CRLF (Redis skips them)', send: '*1\r\n$4\r\nPINGxx\r\n', replies: ['PONG'], closes: false },
  { name: 'bare LF line ends for inline commands', send: 'PING\nECHO x\n', replies: ['PONG', 'x'], closes: false },
];

test('hostile input never crashes the server', async (t) => {
  const s = await startTarget(t, { args: onRedis ? ['--proto-max-bulk-len', '1mb'] : ['--max-bulk-len', '1mb'] });

  await t.test('malformed frames: exact replies, commands before the bad bytes answered', async () => {
    const wrong: string[] = [];
    for (const c of cases) {
      if (c.redraftOnly && onRedis) continue;
      let got: Plain[];
      let closed: boolean;
      if (c.closes) {
        const r = await exchange(s.port, c.send, { timeoutMs: 10_000 }).catch((e: Error) => ({ replies: [], closed: false, error: e }));
        got = r.replies.map(plain);
        closed = r.closed;
      } else {
        const conn = await RawConn.open(s.port);
        try {
          await conn.write(c.send);
          await conn.write('*1\r\n$4\r\nPING\r\n');
          const rs = (await conn.read(c.replies.length + 1)).map(plain);
          got = rs.slice(0, -1);
          closed = conn.closed;
          if (!isPong(rs[rs.length - 1])) wrong.push(`${c.name}: the connection no longer answers PING (${JSON.stringify(rs[rs.length - 1])})`);
        } catch (e) {
          got = [];
          closed = true;
          wrong.push(`${c.name}: ${(e as Error).message}`);
        } finally {
          conn.close();
        }
      }
      const exp = JSON.stringify(c.replies);
      if (JSON.stringify(got) !== exp) wrong.push(`${c.name}: expected ${exp}, got ${JSON.stringify(got)}`);
      if (c.closes && !closed) wrong.push(`${c.name}: the connection was not closed`);
      await assertAlive(s, c.name);
    }
    assert.deepEqual(wrong, []);
  });

  await t.test('a bulk of exactly --max-bulk-len is accepted', async () => {
    const c = await RawConn.open(s.port);
    try {
      const big = Buffer.alloc(MB, 'q');
      assert.deepEqual(plain(await c.call('SET', 'hostile:max', big)), 'OK');
      assert.deepEqual(plain(await c.call('STRLEN', 'hostile:max')), BigInt(MB));
      assert.deepEqual(plain(await c.call('DEL', 'hostile:max')), 1n);
    } finally {
      c.close();
    }
  });

  await t.test('a half frame, then disconnect: nothing applied', async () => {
    for (const partial of [
      '*3\r\n$3\r\nSET\r\n$9\r\nhalf:key1\r\n$5\r\nab',
      '*3\r\n$3\r\nSET\r\n$9\r\nhalf:key2\r\n',
      `*3\r\n$3\r\nSET\r\n$9\r\nhalf:key3\r\n$${MB}\r\n${'z'.repeat(MB / 2)}`,
      '*3\r\n$3\r\nSET\r\n$9\r\nhalf:key4',
      'SET half:key5 "abc',
    ]) {
      const sock = await rawSocket(s.port);
      await new Promise<void>((r) => sock.write(partial, () => r()));
      sock.destroy();
    }
    const c = await RawConn.open(s.port);
    try {
      await c.write(Array.from({ length: 5 }, (_, i) => `EXISTS half:key${i + 1}\r\n`).join(''));
      assert.deepEqual((await c.read(5)).map(plain), [0n, 0n, 0n, 0n, 0n]);
    } finally {
      c.close();
    }
    await assertAlive(s, 'half frames');
  });

  await t.test('seeded fuzz: random bytes and mutated frames', async (t) => {
    const seed = Number(process.env.E2E_FUZZ_SEED ?? 20261122);
    const N = Number(process.env.E2E_FUZZ_CASES ?? 300);
    t.diagnostic(`fuzz seed ${seed}, ${N} connections (replay with E2E_FUZZ_SEED=${seed})`);
    const rnd = prng(seed);
    const int = (n: number) => Math.floor(rnd() * n);
    const pool = [
      ['SET', 'fz:a', 'v'],
      ['GET', 'fz:a'],
      ['HSET', 'fz:h', 'f', '1'],
      ['HGETALL', 'fz:h'],
      ['INCR', 'fz:n'],
      ['ECHO', 'hello'],
      ['PING'],
      ['EXPIRE', 'fz:a', '100'],
      ['DEL', 'fz:a'],
      ['SCAN', '0', 'MATCH', 'fz:*'],
      ['HELLO', '3'],
      ['MGET', 'fz:a', 'fz:n'],
    ];
    const tokens = ['*', '$', '-1', '0', '1', '3', '-', '+', ':', '%', '~', '\r\n', '\r', '\n', ' ', '"', "'", '\\', '\\x', '99999999999', '2147483648', 'SET', 'GET', 'PING', '\0', '\xff'];
    const encode = (args: string[]) => `*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`;
    const payloads: Buffer[] = [];
    for (let i = 0; i < N; i++) {
      const kind = i % 3;
      if (kind === 0) {
        payloads.push(Buffer.from(Array.from({ length: 1 + int(2000) }, () => int(256))));
      } else if (kind === 1) {
        const frames = Array.from({ length: 1 + int(8) }, () => encode(pool[int(pool.length)]!)).join('');
        const b = [...Buffer.from(frames)];
        for (let m = 0, nm = 1 + int(4); m < nm; m++) {
          const at = int(b.length);
          const op = int(4);
          if (op === 0) b[at] = int(256);
          else if (op === 1) b.splice(at, 0, int(256));
          else if (op === 2) b.splice(at, 1);
          else b.splice(at, 0, ...Buffer.from(tokens[int(tokens.length)]!, 'latin1'));
        }
        if (rnd() < 0.2) b.length = int(b.length);
        payloads.push(Buffer.from(b));
      } else {
        payloads.push(Buffer.from(Array.from({ length: 1 + int(40) }, () => tokens[int(tokens.length)]).join(''), 'latin1'));
      }
    }
    const stuck: number[] = [];
    const BATCH = 25;
    for (let off = 0; off < payloads.length; off += BATCH) {
      const res = await Promise.all(payloads.slice(off, off + BATCH).map((p) => sendAndFinish(s.port, p, 15_000)));
      res.forEach((r, i) => {
        if (!r.closed) stuck.push(off + i);
      });
      if (!s.proc.running) break;
    }
    await assertAlive(s, `fuzz (seed ${seed})`);
    assert.deepEqual(stuck, [], `connections the server did not close after the client's FIN (seed ${seed}): ${stuck.map((i) => JSON.stringify(payloads[i]!.toString('latin1').slice(0, 80))).join(', ')}`);
  });

  await t.test('2000 connections opened and dropped (closed, reset, mid-command, mid-reply)', async () => {
    const c = await RawConn.open(s.port);
    assert.deepEqual(plain(await c.call('SET', 'drop:big', Buffer.alloc(256 * 1024, 'b'))), 'OK');
    const base = await connectedClients(s);
    const TOTAL = 2000;
    const BATCH = 100;
    let opened = 0;
    for (let off = 0; off < TOTAL; off += BATCH) {
      await Promise.all(
        Array.from({ length: BATCH }, async (_, j) => {
          const i = off + j;
          const sock = await rawSocket(s.port);
          opened++;
          sock.on('error', () => {});
          switch (i % 4) {
            case 0: // connect and close
              sock.destroy();
              break;
            case 1: // reset (RST) right away
              sock.resetAndDestroy();
              break;
            case 2: // half a command, then close
              sock.write('*2\r\n$3\r\nGET\r\n$8\r\ndrop:');
              sock.destroy();
              break;
            case 3: // ask for 1 MB of replies, reset without reading them
              sock.write('*2\r\n$3\r\nGET\r\n$8\r\ndrop:big\r\n'.repeat(4), () => sock.resetAndDestroy());
              break;
          }
        }),
      );
    }
    assert.equal(opened, TOTAL);
    await assertAlive(s, `${TOTAL} dropped connections`);
    // Every dropped connection is forgotten: the count returns to what it was.
    await waitFor(async () => (await connectedClients(s)) <= base, { timeoutMs: 20_000, what: `connected_clients to return to ${base}` });
    assert.deepEqual(plain(await c.call('STRLEN', 'drop:big')), 256n * 1024n);
    assert.deepEqual(plain(await c.call('DEL', 'drop:big')), 1n);
    c.close();
  });

  await t.test('the server is still the same process', () => {
    assert.ok(s.proc.running, s.proc.describeExit());
  });
});

function isPong(p: Plain | undefined): boolean {
  return p === 'PONG';
}
