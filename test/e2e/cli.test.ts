// redis-cli against the real server: commands as arguments and as a stdin
// script, in --no-raw ("(integer) 1") and --raw form; error replies, nil and
// integers printed exactly as redis-cli prints them for Redis 7; the error
// messages of arity, unknown commands and wrong types.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { redisCliResult, type Server } from '../support';
import { startTarget } from './target';

/** redis-cli with the command as arguments; asserts exit 0. */
async function cli(s: Server, args: string[], raw: boolean): Promise<string> {
  const r = await redisCliResult(s.port, args, { raw });
  assert.equal(r.code, 0, `redis-cli ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
  return r.stdout;
}

/** redis-cli reading a script on stdin. */
async function script(s: Server, lines: string[], raw: boolean): Promise<string> {
  const r = await redisCliResult(s.port, lines.join('\n') + '\n', { raw });
  assert.equal(r.code, 0, `redis-cli < script exited ${r.code}: ${r.stderr}`);
  return r.stdout;
}

/** Full SCAN iteration through redis-cli --no-raw; returns the keys (sorted). */
async function scanAll(s: Server, match: string): Promise<string[]> {
  const keys: string[] = [];
  let cursor = '0';
  for (let i = 0; i < 1000; i++) {
    const out = await cli(s, ['SCAN', cursor, 'MATCH', match, 'COUNT', '100'], true);
    const lines = out.split('\n').filter((l) => l !== '');
    cursor = lines[0]!;
    keys.push(...lines.slice(1));
    if (cursor === '0') return [...new Set(keys)].sort();
  }
  throw new Error('SCAN did not finish in 1000 calls');
}

test('redis-cli', async (t) => {
  const s = await startTarget(t);

  await t.test('stdin script, --no-raw: strings, hashes, expiry, keyspace, errors, nil, integers', async () => {
    const out = await script(
      s,
      [
        'SET a:str hello',
        'GET a:str',
        'GET a:missing',
        'INCR a:n',
        'INCR a:n',
        'INCR a:str',
        'HSET a:h f1 v1 f2 "two words"',
        'HGETALL a:h',
        'HGET a:h nope',
        'EXPIRE a:str 100',
        'TTL a:str',
        'TTL a:n',
        'TTL a:missing',
        'TYPE a:h',
        'TYPE a:str',
        'TYPE a:missing',
        'KEYS a:h*',
        'KEYS a:zz*',
        'DEL a:str a:n a:missing',
        'EXISTS a:str a:h',
        'GET',
        'NOSUCHCMD x y',
        'HGET a:h',
        'GET a:h',
        'SET "quoted key" "a b\\tc"',
        'GET "quoted key"',
      ],
      false,
    );
    assert.equal(
      out,
      [
        'OK',
        '"hello"',
        '(nil)',
        '(integer) 1',
        '(integer) 2',
        '(error) ERR value is not an integer or out of range',
        '(integer) 2',
        '1) "f1"',
        '2) "v1"',
        '3) "f2"',
        '4) "two words"',
        '(nil)',
        '(integer) 1',
        '(integer) 100',
        '(integer) -1',
        '(integer) -2',
        'hash',
        'string',
        'none',
        '1) "a:h"',
        '(empty array)',
        '(integer) 2',
        '(integer) 1',
        "(error) ERR wrong number of arguments for 'get' command",
        "(error) ERR unknown command 'NOSUCHCMD', with args beginning with: 'x' 'y' ",
        "(error) ERR wrong number of arguments for 'hget' command",
        '(error) WRONGTYPE Operation against a key holding the wrong kind of value',
        'OK',
        '"a b\\tc"',
        '',
      ].join('\n'),
    );
  });

  await t.test('stdin script, --raw: bare values, errors followed by a blank line, nil and empty arrays as an empty line', async () => {
    const out = await script(
      s,
      ['SET b:str 12', 'GET b:str', 'GET b:missing', 'INCRBY b:str 30', 'HSET b:h k v', 'HGETALL b:h', 'TTL b:str', 'TYPE b:h', 'GET', 'DEL b:str b:h', 'KEYS b:*'],
      true,
    );
    assert.equal(
      out,
      ['OK', '12', '', '42', '1', 'k', 'v', '-1', 'hash', "ERR wrong number of arguments for 'get' command", '', '2', '', ''].join('\n'),
    );
  });

  await t.test('arguments, --no-raw and --raw', async () => {
    assert.equal(await cli(s, ['SET', 'c:k', 'value with spaces'], false), 'OK\n');
    assert.equal(await cli(s, ['GET', 'c:k'], false), '"value with spaces"\n');
    assert.equal(await cli(s, ['GET', 'c:k'], true), 'value with spaces\n');
    assert.equal(await cli(s, ['GET', 'c:none'], false), '(nil)\n');
    assert.equal(await cli(s, ['GET', 'c:none'], true), '\n');
    assert.equal(await cli(s, ['INCR', 'c:i'], false), '(integer) 1\n');
    assert.equal(await cli(s, ['INCR', 'c:i'], true), '2\n');
    assert.equal(await cli(s, ['INCR', 'c:k'], false), '(error) ERR value is not an integer or out of range\n');
    assert.equal(await cli(s, ['INCR', 'c:k'], true), 'ERR value is not an integer or out of range\n\n');
    assert.equal(await cli(s, ['HSET', 'c:h', 'a', '1', 'b', '2'], false), '(integer) 2\n');
    assert.equal(await cli(s, ['HGETALL', 'c:h'], false), '1) "a"\n2) "1"\n3) "b"\n4) "2"\n');
    assert.equal(await cli(s, ['HGETALL', 'c:h'], true), 'a\n1\nb\n2\n');
    assert.equal(await cli(s, ['HGETALL', 'c:none'], false), '(empty array)\n');
    assert.equal(await cli(s, ['EXPIRE', 'c:h', '1000'], false), '(integer) 1\n');
    assert.equal(await cli(s, ['EXPIRE', 'c:none', '1000'], false), '(integer) 0\n');
    const ttl = Number((await cli(s, ['TTL', 'c:h'], true)).trim());
    assert.ok(ttl >= 990 && ttl <= 1000, `TTL ${ttl}`);
    assert.equal(await cli(s, ['TYPE', 'c:h'], false), 'hash\n');
    assert.equal(await cli(s, ['TYPE', 'c:i'], true), 'string\n');
    assert.deepEqual((await cli(s, ['KEYS', 'c:[hi]'], true)).split('\n').filter((l) => l !== '').sort(), ['c:h', 'c:i']);
    assert.equal(await cli(s, ['KEYS', 'c:h'], false), '1) "c:h"\n');
    assert.equal(await cli(s, ['DEL', 'c:k', 'c:h', 'c:i', 'c:none'], false), '(integer) 3\n');
    assert.equal(await cli(s, ['KEYS', 'c:*'], false), '(empty array)\n');
    assert.equal(await cli(s, ['KEYS', 'c:*'], true), '\n');
    // A binary-unsafe looking value survives the trip (redis-cli escapes it in --no-raw).
    assert.equal(await cli(s, ['SET', 'c:bin', 'a\nb'], false), 'OK\n');
    assert.equal(await cli(s, ['GET', 'c:bin'], false), '"a\\nb"\n');
    assert.equal(await cli(s, ['GET', 'c:bin'], true), 'a\nb\n');
    assert.equal(await cli(s, ['DEL', 'c:bin'], true), '1\n');
  });

  await t.test('SCAN through redis-cli visits every key once over its cursor', async () => {
    const want: string[] = [];
    const lines: string[] = [];
    for (let i = 0; i < 250; i++) {
      want.push(`d:${i}`);
      lines.push(i % 2 ? `SET d:${i} ${i}` : `HSET d:${i} f ${i}`);
    }
    const out = await script(s, lines, true);
    assert.equal(out.split('\n').filter((l) => l !== '').length, 250);
    assert.deepEqual(await scanAll(s, 'd:*'), want.sort());
    // TYPE filter through the arguments.
    const first = await cli(s, ['SCAN', '0', 'MATCH', 'd:*', 'COUNT', '1000', 'TYPE', 'hash'], false);
    assert.match(first, /^1\) "\d+"\n2\) /);
    for (const m of first.matchAll(/"(d:\d+)"/g)) assert.equal(Number(m[1]!.slice(2)) % 2, 0, `${m[1]} is not a hash`);
    assert.equal(await cli(s, ['DEL', ...want], false), '(integer) 250\n');
  });

  await t.test('redis-cli -3 (RESP3): maps, nulls, doubles-as-bulk as redis-cli prints them', async () => {
    const r = await redisCliResult(
      s.port,
      ['HSET r3:h a 1 b 2', 'HGETALL r3:h', 'GET r3:none', 'HMGET r3:h a zz', 'CONFIG GET maxmemory', 'INCRBYFLOAT r3:f 1.5', 'EXISTS r3:h', 'SCAN 0 MATCH r3:h TYPE hash COUNT 1000', 'TTL r3:h', 'HGETALL r3:none', 'DEL r3:h r3:f'].join('\n') + '\n',
      { raw: false, flags: ['-3'] },
    );
    assert.equal(r.code, 0, r.stderr);
    assert.equal(
      r.stdout,
      [
        '(integer) 2',
        '1# "a" => "1"',
        '2# "b" => "2"',
        '(nil)',
        '1) "1"',
        '2) (nil)',
        '1# "maxmemory" => "0"',
        '"1.5"',
        '(integer) 1',
        '1) "0"',
        '2) 1) "r3:h"',
        '(integer) -1',
        '(empty hash)',
        '(integer) 2',
        '',
      ].join('\n'),
    );
    const hello = await redisCliResult(s.port, ['HELLO', '3'], { raw: false, flags: ['-3'] });
    assert.match(hello.stdout, /^1# "server" => "redis"\n2# "version" => "\d+\.\d+\.\d+"\n3# "proto" => \(integer\) 3\n4# "id" => \(integer\) \d+\n5# "mode" => "standalone"\n6# "role" => "master"\n7# "modules" => \(empty array\)\n$/);
  });

  await t.test('error messages as Redis 7 prints them: arity, unknown command, wrong type, bad arguments', async () => {
    await cli(s, ['SET', 'e:str', 'v'], true);
    await cli(s, ['HSET', 'e:h', 'f', 'x'], true);
    const cases: Array<[string[], string]> = [
      [['GET'], "ERR wrong number of arguments for 'get' command"],
      [['SET', 'k'], "ERR wrong number of arguments for 'set' command"],
      [['HSET', 'e:h', 'f'], "ERR wrong number of arguments for 'hset' command"],
      [['HSET', 'e:h', 'f', 'v', 'g'], "ERR wrong number of arguments for 'hset' command"],
      [['HGETALL'], "ERR wrong number of arguments for 'hgetall' command"],
      [['EXPIRE', 'k'], "ERR wrong number of arguments for 'expire' command"],
      [['TTL'], "ERR wrong number of arguments for 'ttl' command"],
      [['DEL'], "ERR wrong number of arguments for 'del' command"],
      [['Incr'], "ERR wrong number of arguments for 'incr' command"],
      [['NOSUCH'], "ERR unknown command 'NOSUCH', with args beginning with: "],
      [['nosuch', 'a', 'b c'], "ERR unknown command 'nosuch', with args beginning with: 'a' 'b c' "],
      [['COMMAND', 'FOO'], "ERR unknown subcommand 'FOO'. Try COMMAND HELP."],
      [['CONFIG', 'GETT'], "ERR unknown subcommand 'GETT'. Try CONFIG HELP."],
      [['HGET', 'e:str', 'f'], 'WRONGTYPE Operation against a key holding the wrong kind of value'],
      [['HSET', 'e:str', 'f', 'v'], 'WRONGTYPE Operation against a key holding the wrong kind of value'],
      [['GET', 'e:h'], 'WRONGTYPE Operation against a key holding the wrong kind of value'],
      [['INCR', 'e:h'], 'WRONGTYPE Operation against a key holding the wrong kind of value'],
      [['APPEND', 'e:h', 'x'], 'WRONGTYPE Operation against a key holding the wrong kind of value'],
      [['INCR', 'e:str'], 'ERR value is not an integer or out of range'],
      [['INCRBYFLOAT', 'e:str', '1'], 'ERR value is not a valid float'],
      [['HINCRBY', 'e:h', 'f', '1'], 'ERR hash value is not an integer'],
      [['HINCRBY', 'e:h', 'f', 'one'], 'ERR value is not an integer or out of range'],
      [['SET', 'e:k', 'v', 'EX', '0'], "ERR invalid expire time in 'set' command"],
      [['SET', 'e:k', 'v', 'EX', 'abc'], 'ERR value is not an integer or out of range'],
      [['SET', 'e:k', 'v', 'NX', 'XX'], 'ERR syntax error'],
      [['SET', 'e:k', 'v', 'KEEPTTL', 'EX', '10'], 'ERR syntax error'],
      [['EXPIRE', 'e:str', 'abc'], 'ERR value is not an integer or out of range'],
      [['EXPIRE', 'e:str', '10', 'NX', 'XX'], 'ERR NX and XX, GT or LT options at the same time are not compatible'],
      [['GETEX', 'e:str', 'EX', '1', 'PX', '1'], 'ERR syntax error'],
    ];
    // Arguments mode, both forms (in parallel: each is its own redis-cli process).
    const noRaw = await Promise.all(cases.map(([args]) => cli(s, args, false)));
    const raw = await Promise.all(cases.map(([args]) => cli(s, args, true)));
    // Every mismatch at once, so that one report names them all.
    const wrong: string[] = [];
    cases.forEach(([args, msg], i) => {
      if (noRaw[i] !== `(error) ${msg}\n`) wrong.push(`redis-cli --no-raw ${args.join(' ')}: expected ${JSON.stringify(`(error) ${msg}\n`)}, got ${JSON.stringify(noRaw[i])}`);
      if (raw[i] !== `${msg}\n\n`) wrong.push(`redis-cli --raw ${args.join(' ')}: expected ${JSON.stringify(`${msg}\n\n`)}, got ${JSON.stringify(raw[i])}`);
    });
    assert.deepEqual(wrong, []);
    // The same through one stdin script: every line answered, in order.
    const quote = (a: string) => (/[\s"']/.test(a) || a === '' ? `"${a}"` : a);
    const out = await script(s, cases.map(([args]) => args.map(quote).join(' ')), false);
    assert.equal(out, cases.map(([, msg]) => `(error) ${msg}\n`).join(''));
    // Nothing was written by the failed commands.
    assert.equal(await cli(s, ['EXISTS', 'e:k'], false), '(integer) 0\n');
    assert.equal(await cli(s, ['GET', 'e:str'], false), '"v"\n');
    assert.equal(await cli(s, ['HGET', 'e:h', 'f'], false), '"x"\n');
    await cli(s, ['DEL', 'e:str', 'e:h'], true);
  });

  await t.test('unknown command: its arguments are quoted up to 128 characters in all', async () => {
    const long = 'x'.repeat(50);
    assert.equal(
      await cli(s, ['nosuch', long, long, long, long], false),
      `(error) ERR unknown command 'nosuch', with args beginning with: '${long}' '${long}' '${'x'.repeat(22)}' \n`,
    );
    const huge = 'y'.repeat(300);
    assert.equal(await cli(s, ['nosuch', huge], true), `ERR unknown command 'nosuch', with args beginning with: '${'y'.repeat(128)}' \n\n`);
  });
});
