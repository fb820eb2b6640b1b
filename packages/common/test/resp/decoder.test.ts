import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  ARG_OVERHEAD,
  parseRedisInt,
  ProtocolError,
  RequestDecoder,
  splitArgs,
  type DecoderOptions,
} from '../../src/resp/decoder';

type Cmds = string[][];

/** The decoder's error, read through a function so that assertions do not narrow it. */
function errOf(d: RequestDecoder): ProtocolError | null {
  return d.error;
}

function str(cmds: Buffer[][]): Cmds {
  return cmds.map((c) => c.map((a) => a.toString('latin1')));
}

/** Feeds `input` in the given chunks; returns commands and the error message (or null). */
function feed(chunks: Buffer[], opts?: DecoderOptions): { cmds: Cmds; error: string | null } {
  const d = new RequestDecoder(opts);
  const cmds: Cmds = [];
  for (const c of chunks) cmds.push(...str(d.write(c)));
  return { cmds, error: d.error ? d.error.reply : null };
}

function whole(input: string | Buffer, opts?: DecoderOptions) {
  return feed([typeof input === 'string' ? Buffer.from(input, 'latin1') : input], opts);
}

/** Asserts that every split of `input` into two chunks, and byte-by-byte feeding, decode like one chunk. */
function assertSplitInvariant(input: Buffer, expected: { cmds: Cmds; error: string | null }, opts?: DecoderOptions) {
  assert.deepEqual(feed([input], opts), expected);
  for (let i = 0; i <= input.length; i++) {
    assert.deepEqual(feed([input.subarray(0, i), input.subarray(i)], opts), expected, `split at ${i}`);
  }
  const bytes: Buffer[] = [];
  for (let i = 0; i < input.length; i++) bytes.push(input.subarray(i, i + 1));
  assert.deepEqual(feed(bytes, opts), expected, 'byte by byte');
}

function mb(...args: (string | Buffer)[]): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)];
  for (const a of args) {
    const b = typeof a === 'string' ? Buffer.from(a, 'latin1') : a;
    parts.push(Buffer.from(`$${b.length}\r\n`), b, Buffer.from('\r\n'));
  }
  return Buffer.concat(parts);
}

describe('RequestDecoder: multibulk', () => {
  it('decodes one command', () => {
    assert.deepEqual(whole('*2\r\n$3\r\nGET\r\n$3\r\nkey\r\n'), { cmds: [['GET', 'key']], error: null });
  });

  it('decodes pipelined commands, binary and empty arguments', () => {
    const bin = Buffer.from([0, 13, 10, 255, 42, 36]);
    const input = Buffer.concat([mb('SET', 'k', bin), mb('GET', ''), mb('PING')]);
    const r = whole(input);
    assert.equal(r.error, null);
    assert.deepEqual(r.cmds, [['SET', 'k', bin.toString('latin1')], ['GET', ''], ['PING']]);
  });

  it('ignores *0, *-1 and other non-positive counts', () => {
    assert.deepEqual(whole('*0\r\n*-1\r\n*-10\r\n*1\r\n$4\r\nPING\r\n'), { cmds: [['PING']], error: null });
  });

  it('returns arguments as views of the chunk when they arrive whole', () => {
    const chunk = mb('SET', 'key', 'value');
    const [cmd] = new RequestDecoder().write(chunk);
    assert.equal(cmd[2].buffer, chunk.buffer);
  });

  it('gives the same result for every split of a mixed stream', () => {
    const big = Buffer.alloc(300, 'x');
    const input = Buffer.concat([
      mb('SET', 'a', big),
      Buffer.from('*0\r\n\r\nPING\r\n  set "a b" \'c\\\'d\'  e\n*-1\r\n'),
      mb('MSET', '', '\r\n', 'z'),
      Buffer.from('\r\n\n'),
      mb('GET', 'a'),
    ]);
    const expected = {
      cmds: [['SET', 'a', big.toString()], ['PING'], ['set', 'a b', "c'd", 'e'], ['MSET', '', '\r\n', 'z'], ['GET', 'a']],
      error: null,
    };
    assertSplitInvariant(input, expected);
  });

  it('gives the same result for every split into three chunks', () => {
    const input = Buffer.concat([mb('A', 'bc'), Buffer.from('x "y"\r\n'), mb('DEF')]);
    const expected = { cmds: [['A', 'bc'], ['x', 'y'], ['DEF']], error: null };
    for (let i = 0; i <= input.length; i++) {
      for (let j = i; j <= input.length; j++) {
        const r = feed([input.subarray(0, i), input.subarray(i, j), input.subarray(j)]);
        assert.deepEqual(r, expected, `split at ${i},${j}`);
      }
    }
  });

  it('reads a big bulk delivered in many chunks, linearly', () => {
    const size = 64 * 1024 * 1024;
    const value = Buffer.allocUnsafe(size);
    for (let i = 0; i < size; i += 4096) value[i] = i & 0xff;
    const input = Buffer.concat([mb('SET', 'k', value), mb('PING')]);
    const d = new RequestDecoder();
    const out: Buffer[][] = [];
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < input.length; i += 1000) out.push(...d.write(input.subarray(i, i + 1000)));
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    assert.equal(out.length, 2);
    assert.equal(out[0][2].length, size);
    assert.ok(out[0][2].equals(value));
    assert.deepEqual(str([out[1]]), [['PING']]);
    // 67k chunks: a quadratic decoder would copy terabytes; a linear one copies 64 MB.
    assert.ok(ms < 20000, `took ${ms} ms`);
  });

  it('merges trickled bytes instead of holding one object per read', () => {
    const value = Buffer.alloc(100000);
    for (let i = 0; i < value.length; i++) value[i] = i % 251;
    const input = mb('SET', 'k', value);
    const d = new RequestDecoder();
    const out: Buffer[][] = [];
    for (let i = 0; i < input.length - 1; i++) out.push(...d.write(input.subarray(i, i + 1)));
    const held = (d as unknown as { pendBufs: Buffer[] }).pendBufs.length;
    assert.ok(held < 2000, `${held} pieces held for 100000 bytes`);
    out.push(...d.write(input.subarray(input.length - 1)));
    assert.equal(out.length, 1);
    assert.ok(out[0][2].equals(value));
  });

  it('does not preallocate a declared bulk length', () => {
    const d = new RequestDecoder();
    const before = process.memoryUsage().rss;
    d.write(Buffer.from('*1\r\n$536870912\r\n'));
    d.write(Buffer.alloc(1000, 'a'));
    assert.equal(d.error, null);
    assert.equal(d.pendingBytes, 1000);
    assert.ok(process.memoryUsage().rss - before < 100 * 1024 * 1024);
    assert.deepEqual(d.write(Buffer.alloc(10)), []);
  });

  it('counts pending bytes and goes idle after a command', () => {
    const d = new RequestDecoder();
    assert.ok(d.idle);
    d.write(Buffer.from('*2\r\n$3\r\nGET\r\n$3\r\nke'));
    assert.equal(d.idle, false);
    assert.equal(d.pendingBytes, 3 + ARG_OVERHEAD + 2);
    assert.deepEqual(str(d.write(Buffer.from('y\r\n'))), [['GET', 'key']]);
    assert.ok(d.idle);
    assert.equal(d.pendingBytes, 0);
  });

  it('skips the two bytes after a bulk without checking them, as Redis does', () => {
    assert.deepEqual(whole('*1\r\n$4\r\nPINGxy*1\r\n$4\r\nPING\r\n'), { cmds: [['PING'], ['PING']], error: null });
  });

  it('accepts any byte after the \\r of a count line, as Redis does', () => {
    assert.deepEqual(whole('*1\rX$4\rYPING\r\n'), { cmds: [['PING']], error: null });
  });
});

describe('RequestDecoder: inline', () => {
  it('splits inline commands', () => {
    assert.deepEqual(whole('SET key value\r\nGET key\n'), { cmds: [['SET', 'key', 'value'], ['GET', 'key']], error: null });
  });

  it('ignores empty and blank lines', () => {
    assert.deepEqual(whole('\r\n\n   \r\n\t\r\nPING\r\n'), { cmds: [['PING']], error: null });
  });

  it('handles quotes and escapes like sdssplitargs', () => {
    const cases: Array<[string, string[] | null]> = [
      ['a b  c', ['a', 'b', 'c']],
      ['"a b" c', ['a b', 'c']],
      ['"\\x41\\x4a\\x4A\\x7e"', ['AJJ~']],
      ['"\\xZZ"', ['xZZ']],
      ['"\\n\\r\\t\\b\\a\\"\\\\\\q"', ['\n\r\t\b\x07"\\q']],
      ["'a\\'b' 'c\\nd'", ["a'b", 'c\\nd']],
      ["'don''t'", null],
      ['"abc"def', null],
      ['"abc', null],
      ["'abc", null],
      ['"abc\\"', null],
      ['foo"bar baz"', ['foobar baz']],
      ["x'y'", ['xy']],
      ['""', ['']],
      ["'' \"\"", ['', '']],
      ['"a"\tb', ['a', 'b']],
      ['"a"\x0bb', ['a', 'b']],
      ['a\x0bb', ['a\x0bb']],
      ['\x0b\x0ca', ['a']],
      ['set """test-key""" test-value', null],
      ['PING\x00garbage', ['PING']],
      ['"a\x00b"', null],
    ];
    for (const [line, want] of cases) {
      const got = splitArgs(Buffer.from(line, 'latin1'), 0, Buffer.byteLength(line, 'latin1'));
      assert.deepEqual(got === null ? null : got.map((b) => b.toString('latin1')), want, JSON.stringify(line));
    }
  });

  it('decodes the raw byte of \\xHH', () => {
    const r = new RequestDecoder().write(Buffer.from('SET k "\\xff\\x00"\r\n'));
    assert.deepEqual([...r[0][2]], [255, 0]);
  });

  it('reports unbalanced quotes', () => {
    assert.deepEqual(whole('PING\r\nset """test-key""" test-value\r\nping\r\n'), {
      cmds: [['PING']],
      error: 'ERR Protocol error: unbalanced quotes in request',
    });
  });

  it('accepts an inline request of 64 KB and refuses a longer one', () => {
    const ok = 'ECHO ' + 'a'.repeat(64 * 1024 - 5);
    assert.deepEqual(whole(ok + '\r\n').cmds[0][1].length, 64 * 1024 - 5);
    assertSplitInvariant(Buffer.from('PING\r\n' + ok + 'a\r\nPING\r\n'), {
      cmds: [['PING']],
      error: 'ERR Protocol error: too big inline request',
    });
  });

  it('refuses a long line without a newline once it passes the limit', () => {
    const d = new RequestDecoder();
    d.write(Buffer.alloc(64 * 1024, 'a'));
    assert.equal(d.error, null);
    d.write(Buffer.from('a'));
    assert.equal(errOf(d)?.reply, 'ERR Protocol error: too big inline request');
    // A trailing \r does not count: the line may still end with \r\n.
    const d2 = new RequestDecoder();
    d2.write(Buffer.alloc(64 * 1024, 'a'));
    d2.write(Buffer.from('\r'));
    assert.equal(d2.error, null);
    assert.equal(str(d2.write(Buffer.from('\n')))[0][0].length, 64 * 1024);
  });

  it('refuses a stream of NUL bytes (an inline line that never ends)', () => {
    const d = new RequestDecoder();
    for (let i = 0; i < 10 && d.error === null; i++) d.write(Buffer.alloc(16 * 1024));
    assert.equal(d.error?.reply, 'ERR Protocol error: too big inline request');
  });
});

describe('RequestDecoder: protocol errors', () => {
  const cases: Array<[string, string, Cmds?]> = [
    ['*3000000000\r\n', 'ERR Protocol error: invalid multibulk length'],
    ['*99999999999\r\n', 'ERR Protocol error: invalid multibulk length'],
    ['*2147483648\r\n', 'ERR Protocol error: invalid multibulk length'],
    ['*abc\r\n', 'ERR Protocol error: invalid multibulk length'],
    ['*\r\n', 'ERR Protocol error: invalid multibulk length'],
    ['*+1\r\n', 'ERR Protocol error: invalid multibulk length'],
    ['*01\r\n', 'ERR Protocol error: invalid multibulk length'],
    ['*-0\r\n', 'ERR Protocol error: invalid multibulk length'],
    ['* 1\r\n', 'ERR Protocol error: invalid multibulk length'],
    ['*1 \r\n', 'ERR Protocol error: invalid multibulk length'],
    ['*-9223372036854775809\r\n', 'ERR Protocol error: invalid multibulk length'],
    ['*3\r\n$3\r\nSET\r\n$1\r\nx\r\nfooz\r\n', "ERR Protocol error: expected '$', got 'f'"],
    ['*1\r\nfoo\r\n', "ERR Protocol error: expected '$', got 'f'"],
    ['*1\r\n\x00\r\n', "ERR Protocol error: expected '$', got '\x00'"],
    ['*1\r\n\r\n', "ERR Protocol error: expected '$', got '\r'"],
    ['*3\r\n$3\r\nSET\r\n$1\r\nx\r\n$-10\r\n', 'ERR Protocol error: invalid bulk length'],
    ['*3\r\n$3\r\nSET\r\n$1\r\nx\r\n$2000000000\r\n', 'ERR Protocol error: invalid bulk length'],
    ['*3\r\n$3\r\nSET\r\n$1\r\nx\r\n$blabla\r\n', 'ERR Protocol error: invalid bulk length'],
    ['*1\r\n$-1\r\n', 'ERR Protocol error: invalid bulk length'],
    ['*1\r\n$\r\n', 'ERR Protocol error: invalid bulk length'],
    ['*1\r\n$536870913\r\n', 'ERR Protocol error: invalid bulk length'],
    ['*1\r\n$4\r\nPING\r\nx "y\r\n', 'ERR Protocol error: unbalanced quotes in request', [['PING']]],
  ];
  for (const [input, message, before] of cases) {
    it(`${JSON.stringify(input)} → ${message}`, () => {
      const bytes = Buffer.concat([mb('PING'), Buffer.from(input, 'latin1'), mb('PING')]);
      assertSplitInvariant(bytes, { cmds: [['PING'], ...(before ?? [])], error: message });
    });
  }

  it('accepts the largest counts', () => {
    const d = new RequestDecoder();
    assert.deepEqual(d.write(Buffer.from('*2147483647\r\n$536870912\r\n')), []);
    assert.equal(d.error, null);
    assert.deepEqual(whole('*-9223372036854775808\r\n*1\r\n$4\r\nPING\r\n'), { cmds: [['PING']], error: null });
  });

  it('refuses a count line longer than 64 KB, with or without its \\r\\n', () => {
    const digits = '1'.repeat(64 * 1024);
    assert.equal(whole('*' + digits).error, 'ERR Protocol error: too big mbulk count string');
    assert.equal(whole('*' + digits + '\r\n').error, 'ERR Protocol error: too big mbulk count string');
    assert.equal(whole('*1\r\n$' + digits).error, 'ERR Protocol error: too big bulk count string');
    assert.equal(whole('*1\r\n$' + digits + '\r\n').error, 'ERR Protocol error: too big bulk count string');
    const star = Buffer.concat([Buffer.from('*'), Buffer.alloc(70 * 1024)]);
    assert.equal(whole(star).error, 'ERR Protocol error: too big mbulk count string');
  });

  it('honours configured limits', () => {
    const opts = { maxBulkLen: 10, maxMultibulkLen: 3 };
    assert.deepEqual(whole(mb('a', 'b', 'c'), opts), { cmds: [['a', 'b', 'c']], error: null });
    assert.equal(whole(mb('a', 'b', 'c', 'd'), opts).error, 'ERR Protocol error: invalid multibulk length');
    assert.deepEqual(whole(mb('0123456789'), opts).cmds, [['0123456789']]);
    assert.equal(whole(mb('0123456789a'), opts).error, 'ERR Protocol error: invalid bulk length');
    assert.equal(whole('PING PING\r\n', { maxInlineLen: 8 }).error, 'ERR Protocol error: too big inline request');
    assert.deepEqual(whole('PING PIN\r\n', { maxInlineLen: 8 }).cmds, [['PING', 'PIN']]);
  });

  it('limits the bytes one incomplete command may hold', () => {
    const opts = { maxQueryBufferLen: 1000 };
    const d = new RequestDecoder(opts);
    d.write(Buffer.from('*1000000\r\n'));
    let n = 0;
    while (d.error === null && n < 100) {
      d.write(Buffer.from('$0\r\n\r\n'));
      n++;
    }
    assert.ok(d.error instanceof ProtocolError);
    assert.equal(d.error.kind, 'querybuf');
    assert.ok(n <= Math.ceil(1000 / ARG_OVERHEAD) + 1);
    const d2 = new RequestDecoder(opts);
    d2.write(Buffer.from('*1\r\n$100000\r\n'));
    d2.write(Buffer.alloc(999));
    assert.equal(d2.error, null);
    d2.write(Buffer.alloc(2));
    assert.equal(errOf(d2)?.kind, 'querybuf');
    // A complete command of any size passes: the limit is for what waits.
    assert.equal(whole(mb('x'.repeat(5000)), opts).error, null);
  });

  it('ignores input after an error and can be reset', () => {
    const d = new RequestDecoder();
    d.write(Buffer.from('*x\r\n'));
    assert.ok(d.error);
    assert.deepEqual(d.write(mb('PING')), []);
    d.reset();
    assert.equal(d.error, null);
    assert.deepEqual(str(d.write(mb('PING'))), [['PING']]);
  });

  it('never throws on random input', () => {
    let seed = 12345;
    const rnd = (n: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    const alphabet = Buffer.from('*$\r\n0123456789-+ "\'\\xaAZ\x00\xff');
    for (let iter = 0; iter < 3000; iter++) {
      const d = new RequestDecoder({ maxQueryBufferLen: 1 << 20 });
      const len = rnd(200);
      const b = Buffer.alloc(len);
      for (let i = 0; i < len; i++) b[i] = rnd(4) === 0 ? rnd(256) : alphabet[rnd(alphabet.length)];
      let pos = 0;
      while (pos < len) {
        const n = 1 + rnd(20);
        const cmds = d.write(b.subarray(pos, pos + n));
        for (const c of cmds) assert.ok(c.length > 0);
        pos += n;
      }
    }
  });
});

describe('parseRedisInt', () => {
  const p = (s: string) => parseRedisInt(Buffer.from(s), 0, s.length);
  it('parses like string2ll', () => {
    assert.equal(p('0'), 0);
    assert.equal(p('7'), 7);
    assert.equal(p('-7'), -7);
    assert.equal(p('2147483647'), 2147483647);
    assert.equal(p('9223372036854775807'), 9223372036854775807);
    assert.equal(p('-9223372036854775808'), -9223372036854775808);
    for (const bad of ['', '-', '+1', '01', '-0', ' 1', '1 ', '1a', '9223372036854775808', '-9223372036854775809', '123456789012345678901', '00']) {
      assert.ok(Number.isNaN(p(bad)), bad);
    }
  });
});
