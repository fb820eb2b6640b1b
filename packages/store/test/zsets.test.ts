// Sorted-set commands through the real dispatcher, table and apply; cases
// after the Redis 7.0.15 Tcl suite (tests/unit/type/zset.tcl) and the
// score encoding byte for byte.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DoubleReply } from '@redraft/common';
import type { Reply } from '@redraft/common';
import { testStore } from './harness';
import { v } from './replies';
import { decodeScore, encodeScore } from '../src/data/zset';

test('score encoding: byte order is numeric order; -0 is 0; round trip', () => {
  const scores = [-Infinity, -1e308, -2.5, -1, -Number.MIN_VALUE, 0, Number.MIN_VALUE, 1, 1.5, 2 ** 53, 1e308, Infinity];
  for (let i = 1; i < scores.length; i++) {
    assert.ok(Buffer.compare(encodeScore(scores[i - 1]), encodeScore(scores[i])) < 0, `${scores[i - 1]} < ${scores[i]}`);
  }
  for (const s of scores) assert.equal(decodeScore(encodeScore(s)), s);
  assert.deepEqual(encodeScore(-0), encodeScore(0));
  assert.ok(Object.is(decodeScore(encodeScore(-0)), 0));
});

test('ZADD options, ZSCORE, ZCARD, ZINCRBY and their errors', async () => {
  const s = await testStore();
  assert.equal(await s.exec('zadd', 'z', '10', 'a', '20', 'b', '30', 'c'), 3);
  assert.equal(await s.exec('zadd', 'z', '5', 'x', '20', 'b'), 1);
  assert.equal(await s.exec('zcard', 'z'), 4);
  assert.equal(v(await s.exec('zscore', 'z', 'x')), '5');
  assert.equal(await s.exec('zscore', 'z', 'nope'), null);
  // NX / XX / GT / LT / CH / INCR
  assert.equal(await s.exec('zadd', 'z', 'nx', '1', 'a', '1', 'new'), 1);
  assert.equal(v(await s.exec('zscore', 'z', 'a')), '10');
  assert.equal(await s.exec('zadd', 'z', 'xx', 'ch', '11', 'a', '1', 'nothere'), 1);
  assert.equal(await s.exec('zscore', 'z', 'nothere'), null);
  assert.equal(await s.exec('zadd', 'z', 'gt', 'ch', '5', 'a', '50', 'b'), 1);
  assert.equal(v(await s.exec('zscore', 'z', 'a')), '11');
  assert.equal(await s.exec('zadd', 'z', 'lt', 'ch', '1', 'a'), 1);
  assert.equal(v(await s.exec('zadd', 'z', 'incr', '2.5', 'a')), '3.5');
  assert.equal(await s.exec('zadd', 'z', 'nx', 'incr', '1', 'a'), null);
  assert.equal(await s.exec('zadd', 'missing', 'xx', '1', 'a'), 0);
  assert.equal(await s.exec('exists', 'missing'), 0);
  assert.equal(v(await s.exec('zadd', 'z', 'nx', 'xx', '1', 'a')), 'ERR:ERR XX and NX options at the same time are not compatible');
  assert.equal(v(await s.exec('zadd', 'z', 'gt', 'lt', '1', 'a')), 'ERR:ERR GT, LT, and/or NX options at the same time are not compatible');
  assert.equal(v(await s.exec('zadd', 'z', 'incr', '1', 'a', '2', 'b')), 'ERR:ERR INCR option supports a single increment-element pair');
  assert.equal(v(await s.exec('zadd', 'z', 'nan', 'a')), 'ERR:ERR value is not a valid float');
  assert.equal(v(await s.exec('zadd', 'z', '1', 'a', '2')), 'ERR:ERR syntax error');
  // a parse error anywhere adds nothing
  assert.equal(v(await s.exec('zadd', 'v', '10', 'a', 'x', 'b')), 'ERR:ERR value is not a valid float');
  assert.equal(await s.exec('exists', 'v'), 0);
  // inf scores and NaN results
  assert.equal(await s.exec('zadd', 'inf', '+inf', 'p', '-inf', 'n'), 2);
  assert.equal(v(await s.exec('zscore', 'inf', 'p')), 'inf');
  assert.equal(v(await s.exec('zincrby', 'inf', '-inf', 'p')), 'ERR:ERR resulting score is not a number (NaN)');
  assert.equal(v(await s.exec('zincrby', 'inf', '1', 'new')), '1');
  assert.equal(v(await s.exec('zincrby', 'z', '0.1', 'x')), '5.0999999999999996');
  await s.exec('set', 'str', 'x');
  assert.match(String(v(await s.exec('zadd', 'str', '1', 'a'))), /WRONGTYPE/);
  assert.equal(v(await s.exec('type', 'z')), 'zset');
});

test('ZRANGE family: ranks, scores, lex, REV, LIMIT, WITHSCORES (RESP2 and RESP3)', async () => {
  const s = await testStore();
  await s.exec('zadd', 'z', '1', 'a', '2', 'b', '3', 'c', '4', 'd');
  assert.deepEqual(v(await s.exec('zrange', 'z', '0', '-1')), ['a', 'b', 'c', 'd']);
  assert.deepEqual(v(await s.exec('zrange', 'z', '1', '2', 'withscores')), ['b', '2', 'c', '3']);
  assert.deepEqual(v(await s.exec('zrange', 'z', '-2', '100')), ['c', 'd']);
  assert.deepEqual(v(await s.exec('zrange', 'z', '5', '10')), []);
  assert.deepEqual(v(await s.exec('zrevrange', 'z', '0', '1')), ['d', 'c']);
  assert.deepEqual(v(await s.exec('zrange', 'z', '0', '0', 'rev')), ['d']);
  assert.deepEqual(v(await s.exec('zrangebyscore', 'z', '(1', '3')), ['b', 'c']);
  assert.deepEqual(v(await s.exec('zrangebyscore', 'z', '-inf', '+inf', 'limit', '1', '2')), ['b', 'c']);
  assert.deepEqual(v(await s.exec('zrevrangebyscore', 'z', '3', '(1', 'withscores')), ['c', '3', 'b', '2']);
  assert.deepEqual(v(await s.exec('zrange', 'z', '(4', '2', 'byscore', 'rev')), ['c', 'b']);
  assert.deepEqual(v(await s.exec('zrangebyscore', 'z', '0', '10', 'limit', '-1', '2')), []);
  assert.deepEqual(v(await s.exec('zrangebyscore', 'z', '0', '10', 'limit', '2', '-1')), ['c', 'd']);
  assert.equal(v(await s.exec('zrangebyscore', 'z', 'x', '1')), 'ERR:ERR min or max is not a float');
  assert.equal(v(await s.exec('zrange', 'z', '0', '1', 'limit', '0', '1')), 'ERR:ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX');
  assert.equal(v(await s.exec('zrangebylex', 'z', '-', '+', 'withscores')), 'ERR:ERR syntax error, WITHSCORES not supported in combination with BYLEX');
  assert.equal(v(await s.exec('zrangebyscore', 'z', '0', '1', 'rev')), 'ERR:ERR syntax error');
  await s.exec('zadd', 'lex', '0', 'alpha', '0', 'bar', '0', 'cool', '0', 'down', '0', 'elephant');
  assert.deepEqual(v(await s.exec('zrangebylex', 'lex', '-', '+')), ['alpha', 'bar', 'cool', 'down', 'elephant']);
  assert.deepEqual(v(await s.exec('zrangebylex', 'lex', '[bar', '(down')), ['bar', 'cool']);
  assert.deepEqual(v(await s.exec('zrevrangebylex', 'lex', '+', '(cool', 'limit', '0', '1')), ['elephant']);
  assert.deepEqual(v(await s.exec('zrange', 'lex', '[d', '-', 'bylex', 'rev')), ['cool', 'bar', 'alpha']);
  assert.equal(v(await s.exec('zrangebylex', 'lex', 'bad', '+')), 'ERR:ERR min or max not valid string range item');
  assert.equal(await s.exec('zlexcount', 'lex', '(alpha', '[cool'), 2);
  assert.equal(await s.exec('zcount', 'z', '(1', '+inf'), 3);
  // ranks
  assert.equal(await s.exec('zrank', 'z', 'c'), 2);
  assert.equal(await s.exec('zrevrank', 'z', 'c'), 1);
  assert.equal(await s.exec('zrank', 'z', 'nope'), null);
  // RESP3: [member, score] pairs and doubles
  s.client.protocol = 3;
  const r = (await s.exec('zrange', 'z', '0', '1', 'withscores')) as Reply[];
  assert.ok(Array.isArray(r[0]) && (r[0] as Reply[])[1] instanceof DoubleReply);
  assert.deepEqual(v(r), [['a', '1'], ['b', '2']]);
});

test('ZREM, ZREMRANGEBY*, ZPOPMIN/ZPOPMAX, ZMPOP delete the key with its last member', async () => {
  const s = await testStore();
  await s.exec('zadd', 'z', '1', 'a', '2', 'b', '3', 'c', '4', 'd', '5', 'e');
  assert.equal(await s.exec('zrem', 'z', 'a', 'nope'), 1);
  assert.equal(await s.exec('zremrangebyrank', 'z', '0', '0'), 1);
  assert.equal(await s.exec('zremrangebyscore', 'z', '(4', '+inf'), 1);
  assert.deepEqual(v(await s.exec('zrange', 'z', '0', '-1')), ['c', 'd']);
  assert.equal(await s.exec('zremrangebylex', 'z', '-', '+'), 2);
  assert.equal(await s.exec('exists', 'z'), 0);
  await s.exec('zadd', 'p', '1', 'a', '2', 'b', '3', 'c');
  assert.deepEqual(v(await s.exec('zpopmin', 'p')), ['a', '1']);
  assert.deepEqual(v(await s.exec('zpopmax', 'p', '5')), ['c', '3', 'b', '2']);
  assert.deepEqual(v(await s.exec('zpopmin', 'p')), []);
  assert.equal(await s.exec('exists', 'p'), 0);
  assert.equal(v(await s.exec('zpopmin', 'p', '-1')), 'ERR:ERR value is out of range, must be positive');
  await s.exec('zadd', 'm2', '1', 'a', '2', 'b');
  assert.deepEqual(v(await s.exec('zmpop', '2', 'm1', 'm2', 'max', 'count', '10')), ['m2', [['b', '2'], ['a', '1']]]);
  assert.equal(v(await s.exec('zmpop', '2', 'm1', 'm2', 'min')), 'nil-array');
  assert.equal(v(await s.exec('zmpop', '0', 'm1', 'min')), 'ERR:ERR numkeys should be greater than 0');
  assert.equal(v(await s.exec('zmpop', '1', 'm1', 'min', 'count', '0')), 'ERR:ERR count should be greater than 0');
  s.client.protocol = 3;
  await s.exec('zadd', 'q', '1', 'a', '2', 'b');
  assert.deepEqual(v(await s.exec('zpopmin', 'q', '1')), [['a', '1']]);
  assert.deepEqual(v(await s.exec('zpopmin', 'q')), ['b', '2']);
});

test('ZUNION/ZINTER/ZDIFF, STORE forms, WEIGHTS, AGGREGATE, sets as inputs, ZINTERCARD', async () => {
  const s = await testStore();
  await s.exec('zadd', 'a{t}', '1', 'x', '2', 'y', '3', 'z');
  await s.exec('zadd', 'b{t}', '10', 'y', '20', 'z', '30', 'w');
  assert.deepEqual(v(await s.exec('zunion', '2', 'a{t}', 'b{t}', 'withscores')), ['x', '1', 'y', '12', 'z', '23', 'w', '30']);
  assert.deepEqual(v(await s.exec('zinter', '2', 'a{t}', 'b{t}', 'weights', '2', '1', 'aggregate', 'max', 'withscores')), ['y', '10', 'z', '20']);
  assert.deepEqual(v(await s.exec('zdiff', '2', 'a{t}', 'b{t}', 'withscores')), ['x', '1']);
  assert.equal(await s.exec('zunionstore', 'd{t}', '2', 'a{t}', 'b{t}', 'aggregate', 'min'), 4);
  assert.deepEqual(v(await s.exec('zrange', 'd{t}', '0', '-1', 'withscores')), ['x', '1', 'y', '2', 'z', '3', 'w', '30']);
  assert.equal(await s.exec('zinterstore', 'd{t}', '2', 'a{t}', 'b{t}'), 2);
  assert.equal(await s.exec('zdiffstore', 'd{t}', '2', 'a{t}', 'a{t}'), 0);
  assert.equal(await s.exec('exists', 'd{t}'), 0);
  assert.equal(await s.exec('zintercard', '2', 'a{t}', 'b{t}', 'limit', '1'), 1);
  assert.equal(v(await s.exec('zunionstore', 'd{t}', '0', 'a{t}')), "ERR:ERR at least 1 input key is needed for 'zunionstore' command");
  assert.equal(v(await s.exec('zunion', '2', 'a{t}', 'b{t}', 'weights', '1', 'x')), 'ERR:ERR weight value is not a float');
  assert.equal(v(await s.exec('zdiff', '2', 'a{t}', 'b{t}', 'aggregate', 'sum')), 'ERR:ERR syntax error');
  // +inf + -inf sums to 0, as Redis
  await s.exec('zadd', 'i1{t}', '+inf', 'm');
  await s.exec('zadd', 'i2{t}', '-inf', 'm');
  assert.deepEqual(v(await s.exec('zunion', '2', 'i1{t}', 'i2{t}', 'withscores')), ['m', '0']);
  assert.equal(await s.exec('zrangestore', 'r{t}', 'a{t}', '1', '-1'), 2);
  assert.deepEqual(v(await s.exec('zrange', 'r{t}', '0', '-1', 'withscores')), ['y', '2', 'z', '3']);
  assert.equal(await s.exec('zrangestore', 'r{t}', 'a{t}', '5', '10'), 0);
  assert.equal(await s.exec('exists', 'r{t}'), 0);
});

test('ZMSCORE, ZRANDMEMBER, ZSCAN; COPY and RENAME keep the score index', async () => {
  const s = await testStore();
  await s.exec('zadd', 'z{t}', '1', 'a', '2', 'b', '3', 'c');
  assert.deepEqual(v(await s.exec('zmscore', 'z{t}', 'a', 'nope', 'c')), ['1', null, '3']);
  const one = v(await s.exec('zrandmember', 'z{t}'));
  assert.ok(['a', 'b', 'c'].includes(one as string));
  assert.equal((v(await s.exec('zrandmember', 'z{t}', '-10')) as string[]).length, 10);
  assert.deepEqual((v(await s.exec('zrandmember', 'z{t}', '10')) as string[]).sort(), ['a', 'b', 'c']);
  assert.equal((v(await s.exec('zrandmember', 'z{t}', '2', 'withscores')) as string[]).length, 4);
  assert.deepEqual(v(await s.exec('zscan', 'z{t}', '0')), ['0', ['a', '1', 'b', '2', 'c', '3']]);
  assert.equal(await s.exec('copy', 'z{t}', 'c{t}'), 1);
  assert.deepEqual(v(await s.exec('zrangebyscore', 'c{t}', '2', '3')), ['b', 'c']);
  assert.equal(v(await s.exec('rename', 'c{t}', 'r{t}')), 'OK');
  assert.deepEqual(v(await s.exec('zrevrange', 'r{t}', '0', '0', 'withscores')), ['c', '3']);
  // A deleted sorted set's rows never show again.
  await s.exec('del', 'z{t}');
  await s.exec('zadd', 'z{t}', '9', 'q');
  assert.deepEqual(v(await s.exec('zrange', 'z{t}', '0', '-1')), ['q']);
});
