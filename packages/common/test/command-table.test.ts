// The command-table mechanism: lookup, arity (Redis's messages), subcommands,
// key positions, and COMMAND INFO's layout.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CommandTable, type CommandSpec } from '../src/command/table';
import { ErrorReply } from '../src/resp/reply';

type Ctx = { calls: string[] };
const h = (name: string) => (ctx: Ctx) => {
  ctx.calls.push(name);
  return 'ok';
};
const specs: CommandSpec<Ctx>[] = [
  { name: 'get', arity: 2, flags: ['readonly', 'fast'], keys: [1, 1, 1], group: 'string', summary: 'g', since: '1.0.0', handler: h('get') },
  { name: 'mset', arity: -3, flags: ['write'], keys: [1, -1, 2], group: 'string', summary: 'm', since: '1.0.1', handler: h('mset') },
  {
    name: 'client',
    arity: -2,
    flags: [],
    group: 'connection',
    summary: 'c',
    since: '2.4.0',
    subcommands: [{ name: 'setname', arity: 3, flags: [], group: 'connection', summary: 's', since: '2.6.9', handler: h('setname') }],
  },
];
const table = new CommandTable(specs);
const args = (...a: string[]): Buffer[] => a.map((x) => Buffer.from(x));
const err = (r: ReturnType<typeof table.lookup>): string => (r.ok ? '' : (r.error as ErrorReply).message);

test('lookup is case-insensitive; arity n exact, -n at least', () => {
  assert.ok(table.lookup(args('GeT', 'k')).ok);
  assert.equal(err(table.lookup(args('get'))), "ERR wrong number of arguments for 'get' command");
  assert.equal(err(table.lookup(args('get', 'a', 'b'))), "ERR wrong number of arguments for 'get' command");
  assert.ok(table.lookup(args('mset', 'a', '1', 'b', '2')).ok);
  assert.equal(err(table.lookup(args('mset', 'a'))), "ERR wrong number of arguments for 'mset' command");
});

test('names are compared byte by byte, ASCII case folded as Redis (strcasecmp) does', () => {
  for (const name of ['get', 'GET', 'gEt']) assert.ok(table.lookup(args(name, 'k')).ok, name);
  // Near misses: another length, a byte off by the case bit but not a letter, a non-ASCII capital.
  for (const name of ['ge', 'gett', 'g\x05t', 'GE\u0164', '\u212Aeys', '']) {
    const r = table.lookup(args(name, 'k'));
    assert.ok(!r.ok && (r.error as ErrorReply).message.startsWith('ERR unknown command'), JSON.stringify(name));
  }
  assert.throws(() => new CommandTable([{ ...specs[0], name: 'Get' }]), /lower case/);
});

test('unknown command and subcommand answer as Redis 7', () => {
  assert.equal(err(table.lookup(args('nosuch', 'a', 'b'))), "ERR unknown command 'nosuch', with args beginning with: 'a' 'b' ");
  assert.equal(err(table.lookup(args('client', 'bogus'))), "ERR unknown subcommand 'bogus'. Try CLIENT HELP.");
  assert.equal(err(table.lookup(args('client', 'setname'))), "ERR wrong number of arguments for 'client|setname' command");
  const found = table.lookup(args('CLIENT', 'SETNAME', 'x'));
  assert.ok(found.ok && found.fullName === 'client|setname');
});

test('key positions from first/last/step', () => {
  assert.deepEqual(CommandTable.keyPositions(specs[0], args('get', 'k')), [1]);
  assert.deepEqual(CommandTable.keyPositions(specs[1], args('mset', 'a', '1', 'b', '2')), [1, 3]);
});

test('COMMAND INFO layout: name, arity, flags, first, last, step, categories, tips, key specs, subcommands', () => {
  const info = table.info(specs[1]) as unknown[];
  assert.equal(info.length, 10);
  assert.deepEqual(info.slice(0, 2), ['mset', -3]);
  assert.deepEqual(info.slice(3, 6), [1, -1, 2]);
  const container = table.info(specs[2]) as unknown[];
  assert.equal((container[9] as unknown[][])[0][0], 'client|setname');
});

test('a command declared twice, or without handler or subcommands, is a startup error', () => {
  assert.throws(() => new CommandTable([specs[0], specs[0]]), /declared twice/);
  assert.throws(() => new CommandTable([{ ...specs[0], handler: undefined }]), /no handler/);
});
