import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { BIG_PAYLOAD, encodeReply, formatDouble, ReplyEncoder } from '../../src/resp/encoder';
import {
  BigNumberReply,
  BoolReply,
  DoubleReply,
  ErrorReply,
  MapReply,
  NullArray,
  OK,
  PushReply,
  RawReply,
  Reply,
  SetReply,
  SimpleString,
  VerbatimReply,
  err,
} from '../../src/resp/reply';

function both(reply: Reply): [string, string] {
  return [encodeReply(reply, 2).toString('latin1'), encodeReply(reply, 3).toString('latin1')];
}

describe('encodeReply', () => {
  const cases: Array<[string, Reply, string, string]> = [
    ['nil', null, '$-1\r\n', '_\r\n'],
    ['integer', 42, ':42\r\n', ':42\r\n'],
    ['negative integer', -7, ':-7\r\n', ':-7\r\n'],
    ['zero', 0, ':0\r\n', ':0\r\n'],
    ['bigint', 9223372036854775807n, ':9223372036854775807\r\n', ':9223372036854775807\r\n'],
    ['bigint min', -9223372036854775808n, ':-9223372036854775808\r\n', ':-9223372036854775808\r\n'],
    ['bulk buffer', Buffer.from([0, 13, 10, 255]), '$4\r\n\x00\r\n\xff\r\n', '$4\r\n\x00\r\n\xff\r\n'],
    ['empty bulk', Buffer.alloc(0), '$0\r\n\r\n', '$0\r\n\r\n'],
    ['string as UTF-8', 'é', '$2\r\n\xc3\xa9\r\n', '$2\r\n\xc3\xa9\r\n'],
    ['empty string', '', '$0\r\n\r\n', '$0\r\n\r\n'],
    ['array', [1, 'a', null], '*3\r\n:1\r\n$1\r\na\r\n$-1\r\n', '*3\r\n:1\r\n$1\r\na\r\n_\r\n'],
    ['empty array', [], '*0\r\n', '*0\r\n'],
    ['nested', [[1], []], '*2\r\n*1\r\n:1\r\n*0\r\n', '*2\r\n*1\r\n:1\r\n*0\r\n'],
    ['status', OK, '+OK\r\n', '+OK\r\n'],
    ['status with newlines', new SimpleString('a\r\nb'), '+a  b\r\n', '+a  b\r\n'],
    ['error', err('ERR boom'), '-ERR boom\r\n', '-ERR boom\r\n'],
    ['error with newlines', new ErrorReply('ERR a\nb\r'), '-ERR a b \r\n', '-ERR a b \r\n'],
    ['double', new DoubleReply(1.5), '$3\r\n1.5\r\n', ',1.5\r\n'],
    ['double integral', new DoubleReply(3), '$1\r\n3\r\n', ',3\r\n'],
    ['double %.17g', new DoubleReply(0.1), '$19\r\n0.10000000000000001\r\n', ',0.10000000000000001\r\n'],
    ['double inf', new DoubleReply(Infinity), '$3\r\ninf\r\n', ',inf\r\n'],
    ['double -inf', new DoubleReply(-Infinity), '$4\r\n-inf\r\n', ',-inf\r\n'],
    ['double nan', new DoubleReply(NaN), '$3\r\nnan\r\n', ',nan\r\n'],
    ['bool true', new BoolReply(true), ':1\r\n', '#t\r\n'],
    ['bool false', new BoolReply(false), ':0\r\n', '#f\r\n'],
    [
      'map',
      new MapReply([
        ['a', 1],
        ['b', [2]],
      ]),
      '*4\r\n$1\r\na\r\n:1\r\n$1\r\nb\r\n*1\r\n:2\r\n',
      '%2\r\n$1\r\na\r\n:1\r\n$1\r\nb\r\n*1\r\n:2\r\n',
    ],
    ['empty map', new MapReply([]), '*0\r\n', '%0\r\n'],
    ['set', new SetReply(['x', 'y']), '*2\r\n$1\r\nx\r\n$1\r\ny\r\n', '~2\r\n$1\r\nx\r\n$1\r\ny\r\n'],
    ['verbatim', new VerbatimReply('txt', 'hé'), '$3\r\nh\xc3\xa9\r\n', '=7\r\ntxt:h\xc3\xa9\r\n'],
    ['null array', NullArray.instance, '*-1\r\n', '_\r\n'],
    ['push', new PushReply(['message', 'ch', 'hi']), '*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nhi\r\n', '>3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nhi\r\n'],
    ['big number', new BigNumberReply('-123456789012345678901234567890'), '$31\r\n-123456789012345678901234567890\r\n', '(-123456789012345678901234567890\r\n'],
    ['raw', new RawReply(Buffer.from('+RAW\r\n')), '+RAW\r\n', '+RAW\r\n'],
    ['map in set in array', [new SetReply([new MapReply([[null, new BoolReply(true)]])])], '*1\r\n*1\r\n*2\r\n$-1\r\n:1\r\n', '*1\r\n~1\r\n%1\r\n_\r\n#t\r\n'],
  ];
  for (const [name, reply, resp2, resp3] of cases) {
    it(name, () => assert.deepEqual(both(reply), [resp2, resp3]));
  }

  it('defaults to RESP2', () => {
    assert.equal(encodeReply(null).toString(), '$-1\r\n');
  });

  it('refuses values that are not replies', () => {
    assert.throws(() => encodeReply(1.5), TypeError);
    assert.throws(() => encodeReply(NaN), TypeError);
    assert.throws(() => encodeReply(undefined as unknown as Reply), TypeError);
    assert.throws(() => encodeReply({} as unknown as Reply), TypeError);
    assert.throws(() => encodeReply(2n ** 63n), TypeError);
    assert.throws(() => encodeReply(new VerbatimReply('text', 'x'), 3), TypeError);
    assert.throws(() => encodeReply(new BigNumberReply('1.5'), 3), TypeError);
  });
});

describe('formatDouble', () => {
  it('matches C printf %.17g', () => {
    const cases: Array<[number, string]> = [
      [0, '0'],
      [-0, '-0'],
      [1, '1'],
      [-2.5, '-2.5'],
      [0.1, '0.10000000000000001'],
      [1 / 3, '0.33333333333333331'],
      [1e20, '1e+20'],
      [1e16, '10000000000000000'],
      [1e17, '1e+17'],
      [123456789012345678, '1.2345678901234568e+17'],
      [0.0001, '0.0001'],
      [0.00001, '1.0000000000000001e-05'],
      [2.5e-300, '2.5e-300'],
      [1.7976931348623157e308, '1.7976931348623157e+308'],
      [5e-324, '4.9406564584124654e-324'],
      [3.14, '3.1400000000000001'],
      [100, '100'],
    ];
    for (const [d, s] of cases) assert.equal(formatDouble(d), s, String(d));
  });
});

describe('ReplyEncoder', () => {
  it('batches many replies into few chunks', () => {
    const enc = new ReplyEncoder(1024);
    for (let i = 0; i < 1000; i++) enc.encode(OK, 2);
    assert.equal(enc.length, 5000);
    const chunks = enc.take();
    assert.ok(chunks.length <= 6, `${chunks.length} chunks`);
    assert.equal(Buffer.concat(chunks).toString(), '+OK\r\n'.repeat(1000));
    assert.equal(enc.length, 0);
    assert.deepEqual(enc.take(), []);
  });

  it('passes big payloads through without copying', () => {
    const big = Buffer.alloc(BIG_PAYLOAD, 'z');
    const enc = new ReplyEncoder();
    enc.encode(['a', big, 'b'], 2);
    const chunks = enc.take();
    assert.ok(chunks.includes(big));
    assert.equal(
      Buffer.concat(chunks).toString(),
      `*3\r\n$1\r\na\r\n$${BIG_PAYLOAD}\r\n${big.toString()}\r\n$1\r\nb\r\n`,
    );
  });

  it('encodes big strings and many small ones across slabs', () => {
    const s = 'é'.repeat(100000);
    const reply: Reply = [s, ...Array.from({ length: 5000 }, (_, i) => `v${i}`), new VerbatimReply('txt', s)];
    const enc = new ReplyEncoder(4096);
    enc.encode(reply, 3);
    const got = Buffer.concat(enc.take()).toString();
    let want = `*5002\r\n$200000\r\n${s}\r\n`;
    for (let i = 0; i < 5000; i++) want += `$${String(i).length + 1}\r\nv${i}\r\n`;
    want += `=200004\r\ntxt:${s}\r\n`;
    assert.equal(got, want);
  });

  it('rolls back a reply that fails halfway', () => {
    const enc = new ReplyEncoder(64);
    enc.encode(OK, 2);
    const m = enc.mark();
    assert.throws(() => enc.encode(['x'.repeat(100), 'y'.repeat(100), 1.5], 2));
    enc.rollback(m);
    enc.encode(err('ERR x'), 2);
    assert.equal(Buffer.concat(enc.take()).toString(), '+OK\r\n-ERR x\r\n');
  });

  it('tryEncode leaves nothing of a reply that fails halfway and returns the error', () => {
    const enc = new ReplyEncoder(64);
    enc.encode(OK, 2);
    const e = enc.tryEncode(['x'.repeat(100), 'y'.repeat(100), 1.5], 2);
    assert.ok(e instanceof TypeError);
    assert.equal(enc.tryEncode(OK, 3), undefined);
    assert.equal(Buffer.concat(enc.take()).toString(), '+OK\r\n+OK\r\n');
  });

  it('never overwrites bytes already taken', () => {
    const enc = new ReplyEncoder(64);
    enc.encode('first', 2);
    const [a] = enc.take();
    enc.encode('second', 2);
    const [b] = enc.take();
    assert.equal(a.toString(), '$5\r\nfirst\r\n');
    assert.equal(b.toString(), '$6\r\nsecond\r\n');
  });
});
