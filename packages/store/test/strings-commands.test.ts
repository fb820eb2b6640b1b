// String commands through the real dispatcher, table and apply, with the
// cases of Redis 7.0's unit/type/string and unit/type/incr that matter here.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorReply, MapReply, OK } from '@redraft/common';
import type { Reply } from '@redraft/common';
import { testStore, plain } from './harness';

function assertError(r: Reply, pattern: RegExp | string): void {
  assert.ok(r instanceof ErrorReply, `expected an error, got ${JSON.stringify(plain(r))}`);
  if (typeof pattern === 'string') assert.equal(r.message, pattern);
  else assert.match(r.message, pattern);
}

test('SETNX / SETEX / PSETEX and their errors', async () => {
  const s = await testStore();
  assert.equal(await s.exec('setnx', 'novar', 'foobared'), 1);
  assert.equal(await s.exec('setnx', 'novar', 'blabla'), 0);
  assert.equal(plain(await s.exec('get', 'novar')), 'foobared');
  assert.equal(await s.exec('setex', 'k', 100, 'v'), OK);
  const ttl = (await s.exec('ttl', 'k')) as number;
  assert.ok(ttl > 95 && ttl <= 100);
  assert.equal(await s.exec('psetex', 'p', 100000, 'v'), OK);
  const pttl = (await s.exec('pttl', 'p')) as number;
  assert.ok(pttl > 95000 && pttl <= 100000);
  assertError(await s.exec('setex', 'k', 0, 'v'), "ERR invalid expire time in 'setex' command");
  assertError(await s.exec('setex', 'k', -10, 'v'), "ERR invalid expire time in 'setex' command");
  assertError(await s.exec('psetex', 'k', 0, 'v'), "ERR invalid expire time in 'psetex' command");
  assertError(await s.exec('setex', 'k', 'x', 'v'), 'ERR value is not an integer or out of range');
  assertError(await s.exec('set', 'foo', 'bar', 'EX', '10000000000000000'), "ERR invalid expire time in 'set' command");
  assertError(await s.exec('set', 'foo', 'bar', 'EX', '-9999999999999999'), "ERR invalid expire time in 'set' command");
  assertError(await s.exec('getex', 'foo', 'EX', '10000000000000000'), "ERR invalid expire time in 'getex' command");
  // SETNX against an expired key sets it.
  assert.equal(await s.exec('set', 'x', '10', 'PXAT', 1), OK);
  assert.equal(await s.exec('setnx', 'x', '20'), 1);
  assert.equal(plain(await s.exec('get', 'x')), '20');
});

test('SET options: NX/XX/GET combinations, KEEPTTL, syntax', async () => {
  const s = await testStore();
  assert.equal(await s.exec('set', 'foo', 'bar', 'GET', 'XX'), null);
  assert.equal(await s.exec('get', 'foo'), null);
  assert.equal(await s.exec('set', 'foo', 'bar', 'GET', 'NX'), null);
  assert.equal(plain(await s.exec('set', 'foo', 'baz', 'GET', 'NX')), 'bar');
  assert.equal(plain(await s.exec('get', 'foo')), 'bar');
  assertError(await s.exec('set', 'foo', 'bar', 'NX', 'XX'), 'ERR syntax error');
  assertError(await s.exec('set', 'foo', 'bar', 'KEEPTTL', 'EX', 10), 'ERR syntax error');
  assertError(await s.exec('set', 'foo', 'bar', 'non-existing-option'), 'ERR syntax error');
  assertError(await s.exec('set', 'foo', 'bar', 'EX'), 'ERR syntax error');
  assert.equal(await s.exec('set', 'foo', 'bar', 'EX', 100), OK);
  assert.equal(await s.exec('set', 'foo', 'bar2', 'KEEPTTL'), OK);
  assert.ok(((await s.exec('ttl', 'foo')) as number) > 90);
  assert.equal(await s.exec('set', 'foo', 'bar3'), OK);
  assert.equal(await s.exec('ttl', 'foo'), -1);
  assert.equal(await s.exec('set', 'foo', 'v', 'xx', 'px', 10000), OK);
  const exat = Math.floor(Date.now() / 1000) + 10;
  assert.equal(await s.exec('set', 'foo', 'bar', 'exat', exat), OK);
  const t = (await s.exec('ttl', 'foo')) as number;
  assert.ok(t >= 5 && t <= 10);
  await s.exec('hset', 'h', 'f', 'v');
  assertError(await s.exec('set', 'h', 'x', 'GET'), /^WRONGTYPE/);
  assert.equal(plain(await s.exec('hget', 'h', 'f')), 'v');
  assert.equal(await s.exec('set', 'h', 'x'), OK);
  assert.equal(plain(await s.exec('get', 'h')), 'x');
});

test('GETEX: EX/PX/EXAT/PXAT/PERSIST, syntax, missing and past times', async () => {
  const s = await testStore();
  await s.exec('set', 'foo', 'bar');
  assert.equal(plain(await s.exec('getex', 'foo', 'ex', 10)), 'bar');
  assert.ok(((await s.exec('ttl', 'foo')) as number) >= 5);
  assert.equal(plain(await s.exec('getex', 'foo', 'px', 10000)), 'bar');
  assert.ok(((await s.exec('pttl', 'foo')) as number) >= 5000);
  assert.equal(plain(await s.exec('getex', 'foo', 'pxat', Date.now() + 10000)), 'bar');
  assert.equal(plain(await s.exec('getex', 'foo', 'persist')), 'bar');
  assert.equal(await s.exec('ttl', 'foo'), -1);
  assert.equal(plain(await s.exec('getex', 'foo')), 'bar');
  assertError(await s.exec('getex', 'foo', 'non-existent-option'), 'ERR syntax error');
  assertError(await s.exec('getex', 'foo', 'ex', 10, 'persist'), 'ERR syntax error');
  assertError(await s.exec('getex'), "ERR wrong number of arguments for 'getex' command");
  assert.equal(await s.exec('getex', 'nokey', 'ex', 10), null);
  // A time in the past: the value is answered and the key is gone.
  assert.equal(plain(await s.exec('getex', 'foo', 'pxat', 1)), 'bar');
  assert.equal(await s.exec('exists', 'foo'), 0);
  await s.exec('hset', 'h', 'f', 'v');
  assertError(await s.exec('getex', 'h'), /^WRONGTYPE/);
});

test('GETDEL, GETSET, MGET, MSET, MSETNX', async () => {
  const s = await testStore();
  await s.exec('set', 'foo', 'bar');
  assert.equal(plain(await s.exec('getdel', 'foo')), 'bar');
  assert.equal(await s.exec('getdel', 'foo'), null);
  assert.equal(await s.exec('getset', 'foo', 'xyz'), null);
  assert.equal(plain(await s.exec('getset', 'foo', 'abc')), 'xyz');
  await s.exec('set', 'ttlkey', 'v', 'EX', 100);
  await s.exec('getset', 'ttlkey', 'w');
  assert.equal(await s.exec('ttl', 'ttlkey'), -1);
  await s.exec('set', 'foo{t}', 'BAR');
  await s.exec('set', 'bar{t}', 'FOO');
  await s.exec('hset', 'h{t}', 'f', 'v');
  assert.deepEqual(plain(await s.exec('mget', 'foo{t}', 'baazz{t}', 'bar{t}', 'h{t}')), ['BAR', null, 'FOO', null]);
  assert.equal(await s.exec('mset', 'x{t}', '10', 'y{t}', 'foo bar', 'z{t}', 'x\n\r\n'), OK);
  assert.deepEqual(plain(await s.exec('mget', 'x{t}', 'y{t}', 'z{t}')), ['10', 'foo bar', 'x\n\r\n']);
  assertError(await s.exec('mset', 'x{t}', '10', 'y{t}'), "ERR wrong number of arguments for 'mset' command");
  assertError(await s.exec('msetnx', 'x{t}', '10', 'y{t}'), "ERR wrong number of arguments for 'msetnx' command");
  assert.equal(await s.exec('mset', 'x{t}', 'xxx', 'x{t}', 'yyy'), OK);
  assert.equal(plain(await s.exec('get', 'x{t}')), 'yyy');
  assert.equal(await s.exec('msetnx', 'x1{t}', 'xxx', 'y2{t}', 'yyy', 'x{t}', '20'), 0);
  assert.equal(await s.exec('exists', 'x1{t}', 'y2{t}'), 0);
  assert.equal(await s.exec('msetnx', 'x1{t}', 'xxx', 'y2{t}', 'yyy'), 1);
  await s.exec('del', 'x1{t}');
  assert.equal(await s.exec('msetnx', 'x1{t}', 'xxx', 'x1{t}', 'yyy'), 1);
  assert.equal(plain(await s.exec('get', 'x1{t}')), 'yyy');
  assert.equal(await s.exec('msetnx', 'x1{t}', 'xxx', 'x1{t}', 'zzz'), 0);
});

test('STRLEN, APPEND, GETRANGE/SUBSTR, SETRANGE', async () => {
  const s = await testStore();
  assert.equal(await s.exec('strlen', 'notakey'), 0);
  await s.exec('set', 'myinteger', '-555');
  assert.equal(await s.exec('strlen', 'myinteger'), 4);
  assert.equal(await s.exec('append', 'foo', 'bar'), 3);
  assert.equal(await s.exec('append', 'foo', '100'), 6);
  assert.equal(plain(await s.exec('get', 'foo')), 'bar100');
  await s.exec('expire', 'foo', 100);
  await s.exec('append', 'foo', 'x');
  assert.ok(((await s.exec('ttl', 'foo')) as number) > 90, 'APPEND keeps the TTL');

  await s.exec('set', 'mykey', 'Hello World');
  const gr = async (a: number | string, b: number | string): Promise<unknown> => plain(await s.exec('getrange', 'mykey', a, b));
  assert.equal(await gr(0, 3), 'Hell');
  assert.equal(await gr(0, -1), 'Hello World');
  assert.equal(await gr(-4, -1), 'orld');
  assert.equal(await gr(5, 3), '');
  assert.equal(await gr(5, 5000), ' World');
  assert.equal(await gr(-5000, 10000), 'Hello World');
  assert.equal(await gr(0, -100), 'H');
  assert.equal(await gr(1, -100), '');
  assert.equal(await gr(-1, -100), '');
  assert.equal(await gr(-100, -99), 'H');
  assert.equal(await gr(-100, -100), 'H');
  assert.equal(await gr(-100, -101), '');
  assert.equal(await gr(0, '4294967297'), 'Hello World');
  assert.equal(plain(await s.exec('getrange', 'nokey', 0, -1)), '');
  await s.exec('set', 'key', 'abcde');
  assert.equal(plain(await s.exec('substr', 'key', -4, -1)), 'bcde');
  assert.equal(plain(await s.exec('substr', 'key', 7, 8)), '');
  assert.equal(plain(await s.exec('substr', 'nokey', 0, 1)), '');

  await s.exec('del', 'mykey');
  assert.equal(await s.exec('setrange', 'mykey', 0, 'foo'), 3);
  assert.equal(plain(await s.exec('get', 'mykey')), 'foo');
  await s.exec('del', 'mykey');
  assert.equal(await s.exec('setrange', 'mykey', 0, ''), 0);
  assert.equal(await s.exec('exists', 'mykey'), 0);
  assert.equal(await s.exec('setrange', 'mykey', 1, 'foo'), 4);
  assert.equal(plain(await s.exec('get', 'mykey')), '\0foo');
  await s.exec('set', 'mykey', 'foo');
  assert.equal(await s.exec('setrange', 'mykey', 0, ''), 3);
  assert.equal(await s.exec('setrange', 'mykey', 1, 'b'), 3);
  assert.equal(plain(await s.exec('get', 'mykey')), 'fbo');
  assert.equal(await s.exec('setrange', 'mykey', 4, 'bar'), 7);
  assert.equal(plain(await s.exec('get', 'mykey')), 'fbo\0bar');
  assertError(await s.exec('setrange', 'mykey', -1, 'world'), 'ERR offset is out of range');
  assertError(await s.exec('setrange', 'mykey', 512 * 1024 * 1024 - 4, 'world'), 'ERR string exceeds maximum allowed size (proto-max-bulk-len)');
  assertError(await s.exec('setrange', 'K', '9223372036854775807', 'A'), 'ERR string exceeds maximum allowed size (proto-max-bulk-len)');
  await s.exec('hset', 'h', 'f', 'v');
  assertError(await s.exec('setrange', 'h', 0, 'bar'), /^WRONGTYPE/);
  assertError(await s.exec('getrange', 'h', 0, -1), /^WRONGTYPE/);
  assertError(await s.exec('append', 'h', 'x'), /^WRONGTYPE/);
  assertError(await s.exec('strlen', 'h'), /^WRONGTYPE/);
});

test('INCR family: int64 bounds, overflow, strict parsing, TTL kept', async () => {
  const s = await testStore();
  assert.equal(await s.exec('incr', 'novar'), 1n);
  assert.equal(await s.exec('incr', 'novar'), 2n);
  assert.equal(await s.exec('incrby', 'novar', 100), 102n);
  assert.equal(await s.exec('decr', 'novar'), 101n);
  assert.equal(await s.exec('decrby', 'novar', 1000), -899n);
  await s.exec('set', 'novar', '17179869184');
  assert.equal(await s.exec('incr', 'novar'), 17179869185n);
  assert.equal(await s.exec('incrby', 'novar', '17179869184'), 34359738369n);
  await s.exec('set', 'big', '9223372036854775806');
  assert.equal(await s.exec('incr', 'big'), 9223372036854775807n);
  assertError(await s.exec('incr', 'big'), 'ERR increment or decrement would overflow');
  await s.exec('set', 'small', '-9223372036854775807');
  assert.equal(await s.exec('decr', 'small'), -9223372036854775808n);
  assertError(await s.exec('decr', 'small'), 'ERR increment or decrement would overflow');
  assertError(await s.exec('decrby', 'x', '-9223372036854775808'), 'ERR decrement would overflow');
  for (const bad of ['    11', '11    ', '+1', '01', '-0', '1.5', 'foo', '9223372036854775808']) {
    await s.exec('set', 'novar', bad);
    assertError(await s.exec('incr', 'novar'), 'ERR value is not an integer or out of range');
  }
  assertError(await s.exec('incrby', 'x', 'abc'), 'ERR value is not an integer or out of range');
  assertError(await s.exec('incrby', 'x', '9223372036854775808'), 'ERR value is not an integer or out of range');
  await s.exec('hset', 'h', 'f', 'v');
  assertError(await s.exec('incr', 'h'), /^WRONGTYPE/);
  await s.exec('set', 'ttl', '1', 'EX', 100);
  await s.exec('incr', 'ttl');
  assert.ok(((await s.exec('ttl', 'ttl')) as number) > 90);
});

test('INCRBYFLOAT: format, errors, no negative zero', async () => {
  const s = await testStore();
  assert.equal(plain(await s.exec('incrbyfloat', 'novar', 1)), '1');
  assert.equal(plain(await s.exec('get', 'novar')), '1');
  assert.equal(plain(await s.exec('incrbyfloat', 'novar', 0.25)), '1.25');
  await s.exec('set', 'novar', '1.5');
  assert.equal(plain(await s.exec('incrbyfloat', 'novar', 1.5)), '3');
  await s.exec('set', 'novar', '17179869184');
  assert.equal(plain(await s.exec('incrbyfloat', 'novar', 1.5)), '17179869185.5');
  await s.exec('set', 'novar', '17179869184');
  assert.equal(plain(await s.exec('incrbyfloat', 'novar', '17179869184')), '34359738368');
  await s.exec('set', 'foo', '10.5');
  assert.equal(plain(await s.exec('incrbyfloat', 'foo', '0.1')), '10.6');
  await s.exec('set', 'foo', '5.0e3');
  assert.equal(plain(await s.exec('incrbyfloat', 'foo', '2.0e2')), '5200');
  await s.exec('set', 'foo', '1');
  assert.equal(plain(await s.exec('incrbyfloat', 'foo', '1e20')), '100000000000000000000'); // 1e20+1 needs 67 bits: lost in a 64-bit mantissa, as in Redis
  // Redis adds in 80-bit long doubles and prints %.17Lf: 0.1 + 0.2 is 0.3, not 0.30000000000000004.
  await s.exec('set', 'foo', '0.1');
  assert.equal(plain(await s.exec('incrbyfloat', 'foo', '0.2')), '0.3');
  await s.exec('set', 'foo', '5.0e3');
  assert.equal(plain(await s.exec('incrbyfloat', 'foo', '0x10')), '5016');
  await s.exec('del', 'foo');
  await s.exec('incrbyfloat', 'foo', String(1 / 41));
  assert.equal(plain(await s.exec('incrbyfloat', 'foo', String(-1 / 41))), '0');
  assert.equal(plain(await s.exec('get', 'foo')), '0');
  await s.exec('set', 'foo', '0');
  assertError(await s.exec('incrbyfloat', 'foo', '+inf'), 'ERR increment would produce NaN or Infinity');
  assertError(await s.exec('incrbyfloat', 'foo', 'nan'), 'ERR value is not a valid float');
  assertError(await s.exec('incrbyfloat', 'foo', 'abc'), 'ERR value is not a valid float');
  for (const bad of ['    11', '11    ', 'x', '1\u00002']) {
    await s.exec('set', 'novar', bad);
    assertError(await s.exec('incrbyfloat', 'novar', 1.0), 'ERR value is not a valid float');
  }
  await s.exec('hset', 'h', 'f', 'v');
  assertError(await s.exec('incrbyfloat', 'h', 1), /^WRONGTYPE/);
  await s.exec('set', 'foo', '1');
  assert.equal(plain(await s.exec('incrbyfloat', 'foo', '-1.1')), '-0.1');
});

const rna1 = 'CACCTTCCCAGGTAACAAACCAACCAACTTTCGATCTCTTGTAGATCTGTTCTCTAAACGAACTTTAAAATCTGTGTGGCTGTCACTCGGCTGCATGCTTAGTGCACTCACGCAGTATAATTAATAACTAATTACTGTCGTTGACAGGACACGAGTAACTCGTCTATCTTCTGCAGGCTGCTTACGGTTTCGTCCGTGTTGCAGCCGATCATCAGCACATCTAGGTTTCGTCCGGGTGTG';
const rna2 = 'ATTAAAGGTTTATACCTTCCCAGGTAACAAACCAACCAACTTTCGATCTCTTGTAGATCTGTTCTCTAAACGAACTTTAAAATCTGTGTGGCTGTCACTCGGCTGCATGCTTAGTGCACTCACGCAGTATAATTAATAACTAATTACTGTCGTTGACAGGACACGAGTAACTCGTCTATCTTCTGCAGGCTGCTTACGGTTTCGTCCGTGTTGCAGCCGATCATCAGCACATCTAGGTTT';
const rnalcs = 'ACCTTCCCAGGTAACAAACCAACCAACTTTCGATCTCTTGTAGATCTGTTCTCTAAACGAACTTTAAAATCTGTGTGGCTGTCACTCGGCTGCATGCTTAGTGCACTCACGCAGTATAATTAATAACTAATTACTGTCGTTGACAGGACACGAGTAACTCGTCTATCTTCTGCAGGCTGCTTACGGTTTCGTCCGTGTTGCAGCCGATCATCAGCACATCTAGGTTT';

test('LCS: string, LEN, IDX, WITHMATCHLEN, MINMATCHLEN, errors', async () => {
  const s = await testStore();
  await s.exec('set', 'virus1{t}', rna1);
  await s.exec('set', 'virus2{t}', rna2);
  assert.equal(plain(await s.exec('lcs', 'virus1{t}', 'virus2{t}')), rnalcs);
  assert.equal(await s.exec('lcs', 'virus1{t}', 'virus2{t}', 'LEN'), rnalcs.length);
  const idx = (await s.exec('lcs', 'virus1{t}', 'virus2{t}', 'IDX')) as MapReply;
  assert.ok(idx instanceof MapReply);
  assert.deepEqual(idx.entries, [
    ['matches', [[[238, 238], [239, 239]], [[236, 236], [238, 238]], [[229, 230], [236, 237]], [[224, 224], [235, 235]], [[1, 222], [13, 234]]]],
    ['len', 227],
  ]);
  const wml = (await s.exec('lcs', 'virus1{t}', 'virus2{t}', 'IDX', 'WITHMATCHLEN')) as MapReply;
  assert.deepEqual(wml.entries[0][1], [[[238, 238], [239, 239], 1], [[236, 236], [238, 238], 1], [[229, 230], [236, 237], 2], [[224, 224], [235, 235], 1], [[1, 222], [13, 234], 222]]);
  const min = (await s.exec('lcs', 'virus1{t}', 'virus2{t}', 'IDX', 'WITHMATCHLEN', 'MINMATCHLEN', 5)) as MapReply;
  assert.deepEqual(min.entries[0][1], [[[1, 222], [13, 234], 222]]);
  assert.equal(plain(await s.exec('lcs', 'nokey1{t}', 'nokey2{t}')), '');
  assertError(await s.exec('lcs', 'virus1{t}', 'virus2{t}', 'IDX', 'LEN'), 'ERR If you want both the length and indexes, please just use IDX.');
  assertError(await s.exec('lcs', 'virus1{t}', 'virus2{t}', 'FOO'), 'ERR syntax error');
  await s.exec('hset', 'h{t}', 'f', 'v');
  assertError(await s.exec('lcs', 'h{t}', 'virus2{t}'), 'ERR The specified keys must contain string values');
});
