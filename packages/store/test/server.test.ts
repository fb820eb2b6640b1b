// Connection and server commands through the real dispatcher and table,
// against the fake facade of harness.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorReply, MapReply, OK, PONG, SimpleString, VerbatimReply } from '@redraft/common';
import type { Reply } from '@redraft/common';
import { testStore, testClient, plain } from './harness';

function errOf(r: unknown): string {
  assert.ok(r instanceof ErrorReply, `expected an error, got ${JSON.stringify(plain(r as never))}`);
  return r.message;
}

function mapOf(r: Reply): Record<string, unknown> {
  assert.ok(r instanceof MapReply, 'expected a map');
  return Object.fromEntries(r.entries.map(([k, v]) => [String(plain(k)), v instanceof MapReply ? mapOf(v) : plain(v)]));
}

function text(r: Reply): string {
  assert.ok(r instanceof VerbatimReply, 'expected a verbatim string');
  assert.equal(r.format, 'txt');
  return r.text;
}

function infoFields(r: Reply): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text(r).split('\r\n')) {
    if (!line || line.startsWith('#')) continue;
    const i = line.indexOf(':');
    out.set(line.slice(0, i), line.slice(i + 1));
  }
  return out;
}

test('PING, ECHO, arity', async () => {
  const s = await testStore();
  assert.equal(await s.exec('ping'), PONG);
  assert.equal(plain(await s.exec('ping', 'hello')), 'hello');
  assert.equal(errOf(await s.exec('ping', 'a', 'b')), "ERR wrong number of arguments for 'ping' command");
  assert.equal(plain(await s.exec('echo', 'x y')), 'x y');
  assert.equal(errOf(await s.exec('echo')), "ERR wrong number of arguments for 'echo' command");
});

test('HELLO: protocol switch, map reply, errors, SETNAME and AUTH', async () => {
  const s = await testStore();
  const h = mapOf(await s.exec('hello', '3'));
  assert.deepEqual(h, { server: 'redis', version: '7.0.15', proto: 3, id: s.client.id, mode: 'standalone', role: 'master', modules: [] });
  assert.equal(s.client.protocol, 3);
  assert.equal(mapOf(await s.exec('hello')).proto, 3);
  assert.equal(mapOf(await s.exec('hello', '2')).proto, 2);
  assert.equal(s.client.protocol, 2);
  assert.equal(errOf(await s.exec('hello', '4')), 'NOPROTO unsupported protocol version');
  assert.equal(errOf(await s.exec('hello', '1')), 'NOPROTO unsupported protocol version');
  assert.equal(errOf(await s.exec('hello', 'x')), 'ERR Protocol version is not an integer or out of range');
  assert.equal(errOf(await s.exec('hello', '3', 'foo')), "ERR Syntax error in HELLO option 'foo'");
  assert.equal(s.client.protocol, 2, 'a failed HELLO changes nothing');
  await s.exec('hello', '3', 'AUTH', 'default', 'whatever', 'SETNAME', 'myname');
  assert.equal(s.client.name, 'myname');
  assert.equal(errOf(await s.exec('hello', '3', 'AUTH', 'bob', 'pw')), 'WRONGPASS invalid username-password pair or user is disabled.');
  assert.equal(errOf(await s.exec('hello', '3', 'SETNAME', 'bad name')), 'ERR Client names cannot contain spaces, newlines or special characters.');
  (s.node as { mode: string }).mode = 'cluster';
  assert.equal(mapOf(await s.exec('hello')).mode, 'cluster');
});

test('AUTH without a configured password', async () => {
  const s = await testStore();
  assert.match(errOf(await s.exec('auth', 'pw')), /^ERR AUTH <password> called without any password configured/);
  assert.equal(await s.exec('auth', 'default', 'pw'), OK);
  assert.match(errOf(await s.exec('auth', 'bob', 'pw')), /^WRONGPASS/);
});

test('QUIT answers OK then closes; SELECT 0 only', async () => {
  const s = await testStore();
  assert.equal(await s.exec('select', '0'), OK);
  assert.equal(errOf(await s.exec('select', '9')), 'ERR DB index is out of range');
  assert.equal(errOf(await s.exec('select', 'x')), 'ERR value is not an integer or out of range');
  assert.equal(errOf(await s.exec('select', '4294967296')), 'ERR value is out of range, value must between -2147483648 and 2147483647');
  (s.node as { mode: string }).mode = 'cluster';
  assert.equal(errOf(await s.exec('select', '1')), 'ERR SELECT is not allowed in cluster mode');
  assert.equal(s.client.closed, null);
  assert.equal(await s.exec('quit'), OK);
  assert.equal(s.client.closed, 'after-reply');
});

test('CLIENT SETNAME/GETNAME/ID/INFO/LIST/SETINFO/NO-EVICT/HELP', async () => {
  const s = await testStore();
  assert.equal(await s.exec('client', 'getname'), null);
  assert.equal(await s.exec('client', 'setname', 'conn-1'), OK);
  assert.equal(plain(await s.exec('client', 'getname')), 'conn-1');
  assert.equal(errOf(await s.exec('client', 'setname', 'a b')), 'ERR Client names cannot contain spaces, newlines or special characters.');
  assert.equal(errOf(await s.exec('client', 'setname', 'a\nb')), 'ERR Client names cannot contain spaces, newlines or special characters.');
  assert.equal(await s.exec('client', 'setname', ''), OK);
  assert.equal(await s.exec('client', 'getname'), null);
  await s.exec('client', 'setname', 'conn-1');
  assert.equal(await s.exec('client', 'id'), s.client.id);
  assert.equal(await s.exec('client', 'setinfo', 'LIB-NAME', 'ioredis'), OK);
  assert.equal(await s.exec('client', 'setinfo', 'lib-ver', '6.0.0'), OK);
  assert.equal(errOf(await s.exec('client', 'setinfo', 'lib-foo', 'x')), "ERR Unrecognized option 'lib-foo'");
  assert.equal(errOf(await s.exec('client', 'setinfo', 'lib-name', 'a b')), 'ERR lib-name cannot contain spaces, newlines or special characters.');
  const line = text(await s.exec('client', 'info'));
  assert.match(line, /^id=1 addr=127\.0\.0\.1:50000 laddr=127\.0\.0\.1:6379 fd=-?\d+ name=conn-1 age=\d+ idle=\d+ flags=N db=0 sub=0 psub=0 ssub=0 multi=-1 qbuf=0 qbuf-free=0 argv-mem=0 multi-mem=0 rbs=0 rbp=0 obl=0 oll=0 omem=0 tot-mem=0 events=r cmd=client\|info user=default redir=-1 resp=2 lib-name=ioredis lib-ver=6\.0\.0\n$/);
  const other = testClient(7);
  s.clients.push(other);
  const list = text(await s.exec('client', 'list'));
  assert.equal(list.split('\n').length, 3);
  assert.match(list, /^id=1 .*cmd=client\|list .*\nid=7 .*cmd=NULL /);
  assert.equal(text(await s.exec('client', 'list', 'TYPE', 'normal')).split('\n').length, 3);
  assert.equal(text(await s.exec('client', 'list', 'TYPE', 'pubsub')), '');
  assert.equal(errOf(await s.exec('client', 'list', 'TYPE', 'foo')), "ERR Unknown client type 'foo'");
  assert.match(text(await s.exec('client', 'list', 'ID', '7', '99')), /^id=7 [^\n]*\n$/);
  assert.equal(errOf(await s.exec('client', 'list', 'ID', 'x')), 'ERR Invalid client ID');
  assert.equal(errOf(await s.exec('client', 'list', 'foo')), 'ERR syntax error');
  assert.equal(await s.exec('client', 'no-evict', 'on'), OK);
  assert.equal(errOf(await s.exec('client', 'no-evict', 'maybe')), 'ERR syntax error');
  const help = await s.exec('client', 'help');
  assert.ok(Array.isArray(help) && help[0] instanceof SimpleString);
  assert.equal((help[0] as SimpleString).value, 'CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:');
  assert.equal((help[help.length - 1] as SimpleString).value, '    Prints this help.');
  assert.equal(errOf(await s.exec('client', 'foo')), "ERR unknown subcommand 'foo'. Try CLIENT HELP.");
  assert.equal(errOf(await s.exec('client')), "ERR wrong number of arguments for 'client' command");
  assert.equal(errOf(await s.exec('client', 'setname')), "ERR wrong number of arguments for 'client|setname' command");
});

test('CLIENT KILL: by address, by filters, SKIPME', async () => {
  const s = await testStore();
  const a = testClient(2);
  const b = testClient(3);
  (a as { remoteAddress: string }).remoteAddress = '10.0.0.2:1000';
  (b as { remoteAddress: string }).remoteAddress = '10.0.0.3:1000';
  s.clients.push(a, b);
  assert.equal(await s.exec('client', 'kill', '10.0.0.2:1000'), OK);
  assert.equal(a.closed, 'now');
  assert.equal(errOf(await s.exec('client', 'kill', '1.2.3.4:5')), 'ERR No such client');
  assert.equal(await s.exec('client', 'kill', 'ID', '3'), 1);
  assert.equal(b.closed, 'now');
  assert.equal(await s.exec('client', 'kill', 'TYPE', 'normal'), 2, 'everyone but me');
  assert.equal(s.client.closed, null);
  assert.equal(await s.exec('client', 'kill', 'ID', '1', 'SKIPME', 'no'), 1);
  assert.equal(s.client.closed, 'after-reply');
  assert.equal(errOf(await s.exec('client', 'kill', 'ID', '0')), 'ERR client-id should be greater than 0');
  assert.equal(errOf(await s.exec('client', 'kill', 'FOO', 'bar')), 'ERR syntax error');
  assert.equal(errOf(await s.exec('client', 'kill', 'USER', 'bob')), "ERR No such user 'bob'");
});

test('INFO: default sections, real figures, keyspace counts, explicit sections', async () => {
  const s = await testStore();
  await s.exec('set', 'a', '1');
  await s.exec('set', 'b', '2', 'PX', '100000');
  await s.exec('hset', 'h', 'f', 'v');
  (s.node as { totalCommandsProcessed: number }).totalCommandsProcessed = 42;
  const all = await s.exec('info');
  const t = text(all);
  assert.deepEqual(
    t.split('\r\n').filter((l) => l.startsWith('# ')),
    ['# Server', '# Clients', '# Memory', '# Persistence', '# Stats', '# Replication', '# CPU', '# Modules', '# Errorstats', '# Cluster', '# Keyspace'],
  );
  const f = infoFields(all);
  assert.equal(f.get('redis_version'), '7.0.15');
  assert.equal(f.get('redis_mode'), 'standalone');
  assert.equal(f.get('process_id'), String(process.pid));
  assert.equal(f.get('tcp_port'), '6379');
  assert.ok(Number(f.get('uptime_in_seconds')) >= 4);
  assert.equal(f.get('connected_clients'), '1');
  assert.ok(Number(f.get('used_memory')) > 0);
  assert.equal(f.get('mem_allocator'), 'libc');
  assert.equal(f.get('rdb_bgsave_in_progress'), '0');
  assert.equal(f.get('aof_rewrite_in_progress'), '0');
  assert.equal(f.get('total_commands_processed'), '42');
  assert.equal(f.get('role'), 'master');
  assert.equal(f.get('cluster_enabled'), '0');
  assert.equal(f.get('db0'), 'keys=3,expires=1,avg_ttl=0');
  assert.ok(t.endsWith('\r\n'));
  // explicit sections, any case, Redis's order; unknown ones are empty
  const two = text(await s.exec('info', 'KEYSPACE', 'server'));
  assert.deepEqual(two.split('\r\n').filter((l) => l.startsWith('# ')), ['# Server', '# Keyspace']);
  assert.equal(text(await s.exec('info', 'nosuchsection')), '');
  const everything = text(await s.exec('info', 'everything'));
  assert.ok(everything.includes('# Commandstats'));
  // commandstats counts calls per command (Redis 7's fields); several sections with all/default print each once
  assert.match(everything, /\r\ncmdstat_set:calls=\d+,usec=0,usec_per_call=0\.00,rejected_calls=0,failed_calls=0\r\n/);
  const cpuAll = text(await s.exec('info', 'cpu', 'all'));
  assert.equal(cpuAll.split('used_cpu_user_children').length, 2);
  assert.ok(cpuAll.includes('rejected_calls') && cpuAll.includes('master_repl_offset') && cpuAll.includes('used_memory'));
  const cpuDefault = text(await s.exec('info', 'cpu', 'default'));
  assert.ok(!cpuDefault.includes('rejected_calls') && cpuDefault.includes('used_memory'));
  assert.equal(cpuDefault.split('used_cpu_user_children').length, 2);
  // an empty keyspace prints the header alone
  await s.exec('del', 'a', 'b', 'h');
  assert.equal(text(await s.exec('info', 'keyspace')), '# Keyspace\r\n');
});

test('TIME: seconds and microseconds from the clock', async () => {
  const s = await testStore();
  const [sec, usec] = plain(await s.exec('time')) as [string, string];
  assert.ok(Math.abs(Number(sec) - Date.now() / 1000) < 5);
  assert.ok(Number(usec) >= 0 && Number(usec) < 1_000_000);
  assert.equal(errOf(await s.exec('time', 'x')), "ERR wrong number of arguments for 'time' command");
});

test('COMMAND, COUNT, INFO, DOCS, LIST, GETKEYS, HELP', async () => {
  const s = await testStore();
  const count = (await s.exec('command', 'count')) as number;
  assert.ok(count > 20);
  const all = (await s.exec('command')) as Reply[];
  assert.equal(all.length, count);
  const [hset] = (await s.exec('command', 'info', 'hset')) as Reply[][];
  assert.equal(plain(hset[0]), 'hset');
  assert.equal(hset[1], -4);
  assert.deepEqual([hset[3], hset[4], hset[5]], [1, 1, 1]);
  const infos = (await s.exec('command', 'info', 'get', 'nosuch', 'config|get')) as Reply[];
  assert.equal(infos.length, 3);
  assert.equal(infos[1], null);
  assert.equal(plain((infos[2] as Reply[])[0]), 'config|get');
  assert.equal(((await s.exec('command', 'info')) as Reply[]).length, count);
  const docs = mapOf(await s.exec('command', 'docs', 'hget', 'nosuch', 'client|list'));
  assert.deepEqual(Object.keys(docs), ['hget', 'client|list']);
  assert.equal((docs.hget as Record<string, unknown>).group, 'hash');
  assert.equal((docs.hget as Record<string, unknown>).since, '2.0.0');
  assert.ok((await s.exec('command', 'docs')) instanceof MapReply);
  const names = plain(await s.exec('command', 'list')) as string[];
  assert.ok(names.includes('hrandfield') && names.includes('client|setname') && names.includes('config|get'));
  assert.deepEqual(plain(await s.exec('command', 'list', 'filterby', 'pattern', 'hinc*')), ['hincrby', 'hincrbyfloat']);
  assert.ok((plain(await s.exec('command', 'list', 'filterby', 'aclcat', 'hash')) as string[]).includes('hset'));
  assert.deepEqual(plain(await s.exec('command', 'list', 'filterby', 'module', 'x')), []);
  assert.equal(errOf(await s.exec('command', 'list', 'filterby', 'foo', 'x')), 'ERR syntax error');
  assert.deepEqual(plain(await s.exec('command', 'getkeys', 'hset', 'k', 'f', 'v')), ['k']);
  assert.deepEqual(plain(await s.exec('command', 'getkeys', 'del', 'a', 'b', 'c')), ['a', 'b', 'c']);
  assert.deepEqual(plain(await s.exec('command', 'getkeys', 'memory', 'usage', 'k')), ['k']);
  assert.equal(errOf(await s.exec('command', 'getkeys', 'nosuch', 'k')), 'ERR Invalid command specified');
  assert.equal(errOf(await s.exec('command', 'getkeys', 'hset', 'k')), 'ERR Invalid number of arguments specified for command');
  assert.equal(errOf(await s.exec('command', 'getkeys', 'ping', 'x')), 'ERR The command has no key arguments');
  assert.equal(errOf(await s.exec('command', 'getkeys', 'ping')), "ERR wrong number of arguments for 'command|getkeys' command");
  assert.ok(Array.isArray(await s.exec('command', 'help')));
  assert.equal(errOf(await s.exec('command', 'foo')), "ERR unknown subcommand 'foo'. Try COMMAND HELP.");
});

test('CONFIG GET: exact names, aliases, globs, node values; a map', async () => {
  const s = await testStore();
  assert.deepEqual(mapOf(await s.exec('config', 'get', 'port')), { port: '6379' });
  assert.deepEqual(mapOf(await s.exec('config', 'get', 'save', 'appendonly', 'appendfsync')), { save: '', appendonly: 'yes', appendfsync: 'always' });
  assert.deepEqual(mapOf(await s.exec('config', 'get', 'maxmemory')), { maxmemory: '0' });
  assert.deepEqual(mapOf(await s.exec('config', 'get', 'databases')), { databases: '1' });
  assert.deepEqual(mapOf(await s.exec('config', 'get', 'dir')), { dir: '/tmp/redraft-test' });
  assert.deepEqual(mapOf(await s.exec('config', 'get', 'hash-max-ziplist-value')), { 'hash-max-ziplist-value': '64' });
  assert.deepEqual(mapOf(await s.exec('config', 'get', 'nosuch')), {});
  const g = mapOf(await s.exec('config', 'get', 'hash-max-*'));
  assert.deepEqual(g, { 'hash-max-listpack-entries': '128', 'hash-max-ziplist-entries': '128', 'hash-max-listpack-value': '64', 'hash-max-ziplist-value': '64' });
  const star = mapOf(await s.exec('config', 'get', '*'));
  assert.ok('port' in star && 'proto-max-bulk-len' in star && 'bind' in star);
  assert.deepEqual(mapOf(await s.exec('config', 'get', 'PORT')), { PORT: '6379' });
  assert.equal(errOf(await s.exec('config', 'get')), "ERR wrong number of arguments for 'config|get' command");
});

test('CONFIG SET: tuning knobs kept, unknown and immutable refused, all or nothing', async () => {
  const s = await testStore();
  assert.equal(await s.exec('config', 'set', 'hash-max-ziplist-value', '10'), OK);
  assert.deepEqual(mapOf(await s.exec('config', 'get', 'hash-max-listpack-value')), { 'hash-max-listpack-value': '10' });
  assert.deepEqual(mapOf(await s.exec('config', 'get', 'hash-max-ziplist-value')), { 'hash-max-ziplist-value': '10' });
  assert.equal(s.config.get('hash-max-listpack-value'), '10');
  assert.equal(errOf(await s.exec('config', 'set', 'nosuch', '1')), "ERR Unknown option or number of arguments for CONFIG SET - 'nosuch'");
  assert.equal(errOf(await s.exec('config', 'set', 'port', '7000')), "ERR CONFIG SET failed (possibly related to argument 'port') - can't set immutable config");
  assert.equal(await s.exec('config', 'set', 'appendonly', 'yes'), OK, 'setting the current value is fine');
  assert.equal(errOf(await s.exec('config', 'set', 'appendonly', 'no')), "ERR CONFIG SET failed (possibly related to argument 'appendonly') - can't set immutable config");
  assert.equal(errOf(await s.exec('config', 'set', 'hash-max-listpack-entries', 'abc')), "ERR CONFIG SET failed (possibly related to argument 'hash-max-listpack-entries') - argument couldn't be parsed into an integer");
  assert.equal(errOf(await s.exec('config', 'set', 'hash-max-listpack-entries', '5', 'port', '1')), "ERR CONFIG SET failed (possibly related to argument 'port') - can't set immutable config");
  assert.deepEqual(mapOf(await s.exec('config', 'get', 'hash-max-listpack-entries')), { 'hash-max-listpack-entries': '128' }, 'nothing applied');
  assert.equal(errOf(await s.exec('config', 'set', 'hash-max-listpack-entries', '5', 'hash-max-ziplist-entries', '6')), "ERR CONFIG SET failed (possibly related to argument 'hash-max-ziplist-entries') - duplicate parameter");
  assert.equal(errOf(await s.exec('config', 'set', 'a', 'b', 'c')), 'ERR syntax error');
  assert.equal(await s.exec('config', 'set', 'sanitize-dump-payload', 'YES'), OK);
  assert.equal(await s.exec('config', 'resetstat'), OK);
  assert.equal(errOf(await s.exec('config', 'rewrite')), 'ERR The server is running without a config file');
  assert.ok(Array.isArray(await s.exec('config', 'help')));
});

test('MEMORY USAGE and STATS; FUNCTION FLUSH/LIST', async () => {
  const s = await testStore();
  await s.exec('set', 'str', 'x'.repeat(1000));
  await s.exec('hset', 'h', 'a', '1', 'b', '2', 'c', '3');
  const str = (await s.exec('memory', 'usage', 'str')) as number;
  assert.ok(str > 1000 && str < 2000);
  assert.ok(((await s.exec('memory', 'usage', 'h')) as number) > 0);
  assert.ok(((await s.exec('memory', 'usage', 'h', 'SAMPLES', '0')) as number) > 0);
  assert.equal(await s.exec('memory', 'usage', 'nokey'), null);
  assert.equal(errOf(await s.exec('memory', 'usage', 'h', 'SAMPLES', '-1')), 'ERR syntax error');
  assert.equal(errOf(await s.exec('memory', 'usage', 'h', 'foo')), 'ERR syntax error');
  assert.equal(mapOf(await s.exec('memory', 'stats'))['keys.count'], 2);
  assert.equal(await s.exec('function', 'flush'), OK);
  assert.equal(await s.exec('function', 'flush', 'async'), OK);
  assert.equal(errOf(await s.exec('function', 'flush', 'x')), 'ERR FUNCTION FLUSH only supports SYNC|ASYNC option');
  assert.deepEqual(await s.exec('function', 'list'), []);
});
