// Connection and server commands: PING, ECHO, HELLO, AUTH, QUIT, SELECT,
// CLIENT, INFO, TIME, COMMAND, CONFIG, MEMORY, FUNCTION. Replies and error
// messages follow Redis 7.0.15 (we claim compatibility with that version);
// node facts come from ctx.server (the ServerFacade of commands/context.ts).
//
// Knowingly different from Redis 7.0: one database (SELECT 0 only,
// databases=1); no users or passwords (AUTH/HELLO accept the 'default' user
// with any password); CONFIG SET only changes tuning knobs that have no
// effect here (encodings, slowlog, lazyfree...), other settings only to
// their current value; CLIENT SETINFO and lib-name/lib-ver come from 7.2;
// INFO prints the fields that have a meaning here, with mem_allocator:libc.
import * as os from 'node:os';
import { CommandTable, MapReply, OK, PONG, ReplyModeChange, SimpleString, VerbatimReply } from '@redraft/common';
import type { Reply } from '@redraft/common';
import type { ClientState, CommandContext, CommandHandler, ServerFacade, Spec } from './context';
import { CommandError, NOT_INTEGER, SYNTAX } from '../data/errors';
import { strictInt64 } from '../apply/hashes';
import { KeyType } from '../data/meta';
import { globMatch } from '../data/glob';
import { int64Arg } from './hashes';
import { commandStatsFields } from './command-stats';
import { keyspaceStats } from './keyspace';
import type { KeyCount } from './key-counts';
import { NOTIFY_FLAGS_ERROR, formatNotifyFlags, parseNotifyFlags } from '../notify';

/** The Redis version redraft answers as (HELLO, INFO redis_version). */
export const REDIS_VERSION = '7.0.15';

type Ctx = CommandContext;
const lower = (b: Buffer): string => b.toString('latin1').toLowerCase();

/** Redis's addReplyHelp: a header, the lines, then HELP's own entry, as status replies. */
export function helpReply(command: string, lines: string[]): Reply {
  return [
    new SimpleString(`${command.toUpperCase()} <subcommand> [<arg> [value] [opt] ...]. Subcommands are:`),
    ...lines.map((l) => new SimpleString(l)),
    new SimpleString('HELP'),
    new SimpleString('    Prints this help.'),
  ];
}

// ---- connection ----------------------------------------------------------------

/** PING [message] */
const ping: CommandHandler = (_ctx, args) => {
  if (args.length > 2) throw new CommandError("ERR wrong number of arguments for 'ping' command");
  return args.length === 1 ? PONG : args[1];
};

const echo: CommandHandler = (_ctx, [, message]) => message;

/** Names may not hold spaces, newlines or anything outside '!'..'~' (Redis's rule). */
function validName(name: Buffer): boolean {
  for (const c of name) if (c < 0x21 || c > 0x7e) return false;
  return true;
}

function setName(client: ClientState, name: Buffer): void {
  if (!validName(name)) throw new CommandError('ERR Client names cannot contain spaces, newlines or special characters.');
  client.name = name.toString('latin1');
}

/** The default user has no password (no ACLs): any password authenticates it, as in Redis without requirepass. */
function authenticate(user: Buffer): void {
  if (user.toString('latin1') !== 'default') {
    throw new CommandError('WRONGPASS invalid username-password pair or user is disabled.');
  }
}

/** HELLO [protover [AUTH username password] [SETNAME clientname]] */
const hello: CommandHandler = (ctx, args) => {
  let ver = 0;
  let next = 1;
  if (args.length >= 2) {
    const v = (() => {
      try {
        return int64Arg(args[next++]);
      } catch {
        throw new CommandError('ERR Protocol version is not an integer or out of range');
      }
    })();
    if (v < 2n || v > 3n) throw new CommandError('NOPROTO unsupported protocol version');
    ver = Number(v);
  }
  let newName: Buffer | null = null;
  for (let j = next; j < args.length; j++) {
    const more = args.length - 1 - j;
    const opt = lower(args[j]);
    if (opt === 'auth' && more >= 2) {
      authenticate(args[j + 1]);
      j += 2;
    } else if (opt === 'setname' && more >= 1) {
      if (!validName(args[j + 1])) throw new CommandError('ERR Client names cannot contain spaces, newlines or special characters.');
      newName = args[j + 1];
      j++;
    } else {
      throw new CommandError(`ERR Syntax error in HELLO option '${args[j].toString('latin1')}'`);
    }
  }
  if (newName) setName(ctx.client, newName);
  if (ver) ctx.client.protocol = ver as 2 | 3;
  return new MapReply([
    ['server', 'redis'],
    ['version', REDIS_VERSION],
    ['proto', ctx.client.protocol],
    ['id', ctx.client.id],
    ['mode', ctx.server.node().mode],
    ['role', 'master'],
    ['modules', []],
  ]);
};

/** AUTH [username] password: there is one user, 'default', without a password. */
const auth: CommandHandler = (_ctx, args) => {
  if (args.length > 3) throw new CommandError(SYNTAX);
  if (args.length === 2) {
    throw new CommandError('ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?');
  }
  authenticate(args[1]);
  return OK;
};

const quit: CommandHandler = (ctx) => {
  ctx.client.closeAfterReply();
  return OK;
};

/** SELECT index: one database, 0. */
const select: CommandHandler = (ctx, [, index]) => {
  const id = int64Arg(index);
  if (id < -(2n ** 31n) || id >= 2n ** 31n) throw new CommandError('ERR value is out of range, value must between -2147483648 and 2147483647');
  if (ctx.server.node().mode === 'cluster' && id !== 0n) throw new CommandError('ERR SELECT is not allowed in cluster mode');
  if (id !== 0n) throw new CommandError('ERR DB index is out of range');
  ctx.client.db = 0;
  return OK;
};

// ---- CLIENT ----------------------------------------------------------------------

/** One line of CLIENT LIST / CLIENT INFO, in Redis 7.0's field order (7.2's lib-name/lib-ver appended). */
export function clientInfoLine(c: ClientState, nowMs: number): string {
  const age = Math.max(0, Math.floor((nowMs - c.createdAt) / 1000));
  const idle = Math.max(0, Math.floor((nowMs - (c.lastInteraction ?? c.createdAt)) / 1000));
  // Subscription counts are kept on the connection by pubsub.ts.
  const subs = c as Partial<{ subscriptions: number; patternSubscriptions: number; shardSubscriptions: number }>;
  const [sub, psub, ssub] = [subs.subscriptions ?? 0, subs.patternSubscriptions ?? 0, subs.shardSubscriptions ?? 0];
  const flags = (sub + psub + ssub > 0 ? 'P' : '') + (c.readonly ? 'r' : '') || 'N';
  return (
    `id=${c.id} addr=${c.remoteAddress} laddr=${c.localAddress} fd=${c.fd ?? -1} name=${c.name} age=${age} idle=${idle} ` +
    `flags=${flags} db=${c.db} sub=${sub} psub=${psub} ssub=${ssub} multi=-1 qbuf=${c.queryBufferBytes ?? 0} qbuf-free=0 argv-mem=0 multi-mem=0 rbs=0 rbp=0 ` +
    `obl=0 oll=0 omem=${c.outputBufferBytes ?? 0} tot-mem=${(c.queryBufferBytes ?? 0) + (c.outputBufferBytes ?? 0)} events=r cmd=${c.lastCommand || 'NULL'} user=default redir=-1 resp=${c.protocol} ` +
    `lib-name=${c.libName} lib-ver=${c.libVer}`
  );
}

const CLIENT_TYPES = new Set(['normal', 'master', 'slave', 'replica', 'pubsub']);

function clientType(name: Buffer): string {
  const t = lower(name);
  if (!CLIENT_TYPES.has(t)) throw new CommandError(`ERR Unknown client type '${name.toString('latin1')}'`);
  return t === 'slave' ? 'replica' : t;
}

/** CLIENT LIST [TYPE normal|master|replica|pubsub] [ID client-id ...] */
const clientList: CommandHandler = (ctx, args) => {
  let clients = ctx.server.clients();
  if (args.length === 4 && lower(args[2]) === 'type') {
    // No replicas connect here: a client is a pubsub one while subscribed, else a normal one.
    const type = clientType(args[3]);
    const subscribed = (c: ClientState): boolean => !!ctx.server.pubsub?.isSubscribed(c);
    clients = type === 'pubsub' ? clients.filter(subscribed) : type === 'normal' ? clients.filter((c) => !subscribed(c)) : [];
  } else if (args.length > 3 && lower(args[2]) === 'id') {
    const ids = new Set<number>();
    for (const a of args.slice(3)) {
      const v = int64ArgOr(a, 'ERR Invalid client ID');
      ids.add(Number(v));
    }
    clients = clients.filter((c) => ids.has(c.id));
  } else if (args.length !== 2) {
    throw new CommandError(SYNTAX);
  }
  const now = Date.now();
  return new VerbatimReply('txt', clients.map((c) => clientInfoLine(c, now) + '\n').join(''));
};

function int64ArgOr(arg: Buffer, message: string): bigint {
  try {
    return int64Arg(arg);
  } catch {
    throw new CommandError(message);
  }
}

/** CLIENT KILL ip:port | CLIENT KILL [ID id] [ADDR ip:port] [LADDR ip:port] [TYPE type] [USER name] [SKIPME yes|no] */
const clientKill: CommandHandler = (ctx, args) => {
  const me = ctx.client;
  const all = ctx.server.clients();
  if (args.length === 3) {
    const addr = args[2].toString('latin1');
    const target = all.find((c) => c.remoteAddress === addr);
    if (!target) throw new CommandError('ERR No such client');
    if (target === me) me.closeAfterReply();
    else target.kill();
    return OK;
  }
  if (args.length % 2 !== 0) throw new CommandError(SYNTAX);
  let id: number | null = null;
  let addr: string | null = null;
  let laddr: string | null = null;
  let type: string | null = null;
  let skipMe = true;
  for (let i = 2; i < args.length; i += 2) {
    const opt = lower(args[i]);
    const val = args[i + 1];
    if (opt === 'id') {
      const v = int64ArgOr(val, 'ERR client-id should be greater than 0');
      if (v <= 0n) throw new CommandError('ERR client-id should be greater than 0');
      id = Number(v);
    } else if (opt === 'type') {
      type = clientType(val);
    } else if (opt === 'addr') {
      addr = val.toString('latin1');
    } else if (opt === 'laddr') {
      laddr = val.toString('latin1');
    } else if (opt === 'user') {
      if (val.toString('latin1') !== 'default') throw new CommandError(`ERR No such user '${val.toString('latin1')}'`);
    } else if (opt === 'skipme') {
      const v = lower(val);
      if (v === 'yes') skipMe = true;
      else if (v === 'no') skipMe = false;
      else throw new CommandError(SYNTAX);
    } else {
      throw new CommandError(SYNTAX);
    }
  }
  let killed = 0;
  for (const c of all) {
    if (id !== null && c.id !== id) continue;
    if (addr !== null && c.remoteAddress !== addr) continue;
    if (laddr !== null && c.localAddress !== laddr) continue;
    if (type !== null && type !== 'normal') continue;
    if (c === me && skipMe) continue;
    if (c === me) me.closeAfterReply();
    else c.kill();
    killed++;
  }
  return killed;
};

/** CLIENT SETINFO LIB-NAME|LIB-VER value (Redis 7.2; ioredis and redis-py send it on connect). */
const clientSetinfo: CommandHandler = (ctx, [, , attr, value]) => {
  const a = lower(attr);
  if (a !== 'lib-name' && a !== 'lib-ver') throw new CommandError(`ERR Unrecognized option '${attr.toString('latin1')}'`);
  if (!validName(value) && value.length > 0) {
    throw new CommandError(`ERR ${a} cannot contain spaces, newlines or special characters.`);
  }
  if (a === 'lib-name') ctx.client.libName = value.toString('latin1');
  else ctx.client.libVer = value.toString('latin1');
  return OK;
};

const CLIENT_HELP = [
  'GETNAME',
  '    Return the name of the current connection.',
  'ID',
  '    Return the ID of the current connection.',
  'INFO',
  '    Return information about the current client connection.',
  'KILL <ip:port>',
  '    Kill connection made from <ip:port>.',
  'KILL <option> <value> [<option> <value> [...]]',
  '    Kill connections. Options are:',
  '    * ADDR (<ip:port>|<unixsocket>:0)',
  '      Kill connections made from the specified address',
  '    * LADDR (<ip:port>|<unixsocket>:0)',
  '      Kill connections made to specified local address',
  '    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)',
  '      Kill connections by type.',
  '    * USER <username>',
  '      Kill connections authenticated by <username>.',
  '    * SKIPME (YES|NO)',
  '      Skip killing current connection (default: yes).',
  'LIST [options ...]',
  '    Return information about client connections. Options:',
  '    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)',
  '      Return clients of specified type.',
  'REPLY (ON|OFF|SKIP)',
  '    Control the replies sent to the current connection.',
  'SETNAME <name>',
  '    Assign the name <name> to the current connection.',
  'SETINFO <LIB-NAME|LIB-VER> <value>',
  '    Set client meta attr. Options are:',
  '    * LIB-NAME: the client lib name.',
  '    * LIB-VER: the client lib version.',
  'NO-EVICT (ON|OFF)',
  '    Protect current client connection from eviction.',
];

// ---- INFO ------------------------------------------------------------------------

const DEFAULT_SECTIONS = ['server', 'clients', 'memory', 'persistence', 'stats', 'replication', 'cpu', 'modules', 'errorstats', 'cluster', 'keyspace'];
const ALL_SECTIONS = [...DEFAULT_SECTIONS.slice(0, 8), 'commandstats', 'errorstats', 'latencystats', 'cluster', 'keyspace'];

function human(bytes: number): string {
  const units = ['B', 'K', 'M', 'G', 'T', 'P'];
  let v = bytes;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${bytes}B` : `${v.toFixed(2)}${units[i]}`;
}

type Fields = Array<[string, string | number]>;

async function infoSection(name: string, ctx: Ctx): Promise<Fields | null> {
  const server = ctx.server;
  const node = server.node();
  const cfg = (k: string): string => configValue(server, k) ?? '';
  const now = Date.now();
  switch (name) {
    case 'server': {
      const uptime = Math.floor((now - node.startedAtMs) / 1000);
      return [
        ['redis_version', REDIS_VERSION],
        ['redis_git_sha1', '00000000'],
        ['redis_git_dirty', 0],
        ['redis_build_id', '0'],
        ['redis_mode', node.mode],
        ['os', `${os.type()} ${os.release()} ${os.machine?.() ?? os.arch()}`],
        ['arch_bits', 64],
        ['monotonic_clock', 'POSIX clock_gettime'],
        ['multiplexing_api', process.platform === 'linux' ? 'epoll' : 'kqueue'],
        ['atomicvar_api', 'c11-builtin'],
        ['gcc_version', '0.0.0'],
        ['process_id', process.pid],
        ['process_supervised', 'no'],
        ['run_id', node.runId],
        ['tcp_port', node.tcpPort],
        ['server_time_usec', now * 1000],
        ['uptime_in_seconds', uptime],
        ['uptime_in_days', Math.floor(uptime / 86400)],
        ['hz', 10],
        ['configured_hz', 10],
        ['lru_clock', Math.floor(now / 1000) & 0xffffff],
        ['executable', node.executable],
        ['config_file', node.configFile],
        ['io_threads_active', 0],
        ['redraft_version', '0.1.0'],
        ['node_version', process.version],
      ];
    }
    case 'clients':
      return [
        ['connected_clients', server.clients().length],
        ['cluster_connections', 0],
        ['maxclients', cfg('maxclients')],
        ['client_recent_max_input_buffer', 0],
        ['client_recent_max_output_buffer', 0],
        ['blocked_clients', ctx.server.blocking?.blockedClients ?? 0],
        ['tracking_clients', 0],
        ['clients_in_timeout_table', 0],
      ];
    case 'memory': {
      const mem = process.memoryUsage();
      const used = mem.heapUsed + mem.external + mem.arrayBuffers;
      const total = os.totalmem();
      const maxmemory = Number(cfg('maxmemory')) || 0;
      return [
        ['used_memory', used],
        ['used_memory_human', human(used)],
        ['used_memory_rss', mem.rss],
        ['used_memory_rss_human', human(mem.rss)],
        ['used_memory_peak', Math.max(used, mem.heapTotal)],
        ['used_memory_peak_human', human(Math.max(used, mem.heapTotal))],
        ['total_system_memory', total],
        ['total_system_memory_human', human(total)],
        ['maxmemory', maxmemory],
        ['maxmemory_human', human(maxmemory)],
        ['maxmemory_policy', cfg('maxmemory-policy')],
        ['mem_fragmentation_ratio', used > 0 ? (mem.rss / used).toFixed(2) : '0.00'],
        // Not jemalloc: the Tcl suite then skips allocator-specific assertions.
        ['mem_allocator', 'libc'],
        ['lazyfree_pending_objects', 0],
      ];
    }
    case 'persistence':
      // Every write is synced to the RocksDB log before it is acknowledged:
      // there is no background save or rewrite, ever.
      return [
        ['loading', 0],
        ['async_loading', 0],
        ['rdb_changes_since_last_save', 0],
        ['rdb_bgsave_in_progress', 0],
        ['rdb_last_save_time', Math.floor(node.startedAtMs / 1000)],
        ['rdb_last_bgsave_status', 'ok'],
        ['rdb_last_bgsave_time_sec', -1],
        ['rdb_current_bgsave_time_sec', -1],
        ['aof_enabled', cfg('appendonly') === 'yes' ? 1 : 0],
        ['aof_rewrite_in_progress', 0],
        ['aof_rewrite_scheduled', 0],
        ['aof_last_rewrite_time_sec', -1],
        ['aof_current_rewrite_time_sec', -1],
        ['aof_last_bgrewrite_status', 'ok'],
        ['aof_last_write_status', 'ok'],
      ];
    case 'stats':
      return [
        ['total_connections_received', node.totalConnectionsReceived],
        ['total_commands_processed', node.totalCommandsProcessed],
        ['instantaneous_ops_per_sec', 0],
        ['total_net_input_bytes', node.totalNetInputBytes],
        ['total_net_output_bytes', node.totalNetOutputBytes],
        ['rejected_connections', node.rejectedConnections],
        ['expired_keys', node.expiredKeys],
        ['evicted_keys', 0],
        ['keyspace_hits', 0],
        ['keyspace_misses', 0],
        // This store's subscriptions (PUBSUB CHANNELS/NUMPAT count the cluster's).
        ['pubsub_channels', server.pubsub?.stats().channels ?? 0],
        ['pubsub_patterns', server.pubsub?.stats().patterns ?? 0],
        ['total_error_replies', node.totalErrorReplies],
      ];
    case 'replication':
      return [
        ['role', 'master'],
        ['connected_slaves', 0],
        ['master_failover_state', 'no-failover'],
        ['master_replid', node.runId],
        ['master_replid2', '0'.repeat(40)],
        ['master_repl_offset', 0],
        ['second_repl_offset', -1],
        ['repl_backlog_active', 0],
      ];
    case 'cpu': {
      const cpu = process.cpuUsage();
      return [
        ['used_cpu_sys', (cpu.system / 1e6).toFixed(6)],
        ['used_cpu_user', (cpu.user / 1e6).toFixed(6)],
        ['used_cpu_sys_children', '0.000000'],
        ['used_cpu_user_children', '0.000000'],
      ];
    }
    case 'commandstats':
      return commandStatsFields();
    case 'modules':
    case 'errorstats':
    case 'latencystats':
      return [];
    case 'cluster': {
      const out: Array<[string, string | number]> = [['cluster_enabled', node.mode === 'cluster' ? 1 : 0]];
      if (node.regions) out.push(['regions', node.regions.hosted], ['regions_leading', node.regions.leading], ['regions_hibernating', node.regions.hibernating]);
      return out;
    }
    case 'keyspace': {
      // The whole cluster's keys, as DBSIZE counts them (at each region's leader).
      const count = () => keyspaceStats(ctx);
      const db0 = ({ keys, expires }: KeyCount): Fields => (keys > 0 ? [['db0', `keys=${keys},expires=${expires},avg_ttl=0`]] : []);
      if (!server.keyCounts) return db0(await count());
      // Not longer than a client's connect may wait (key-counts.ts).
      const shown = await server.keyCounts.forInfo(count);
      if (shown.ageMs === undefined && shown.count) return db0(shown.count);
      const out = shown.count ? db0(shown.count) : [];
      if (shown.ageMs !== undefined) out.push(['keyspace_count_age_ms', shown.ageMs]);
      out.push(['keyspace_counting', shown.counting ? 1 : 0]);
      return out;
    }
    default:
      return null;
  }
}

const SECTION_TITLES: Record<string, string> = {
  server: 'Server',
  clients: 'Clients',
  memory: 'Memory',
  persistence: 'Persistence',
  stats: 'Stats',
  replication: 'Replication',
  cpu: 'CPU',
  modules: 'Modules',
  commandstats: 'Commandstats',
  errorstats: 'Errorstats',
  latencystats: 'Latencystats',
  cluster: 'Cluster',
  keyspace: 'Keyspace',
};

/** The INFO text for the given section arguments (none: default), Redis 7.0's layout. */
export async function infoText(ctx: Ctx, sectionArgs: string[]): Promise<string> {
  let names: string[];
  const wanted = sectionArgs.map((s) => s.toLowerCase());
  if (wanted.length === 0 || wanted.includes('default')) names = [...DEFAULT_SECTIONS];
  else names = [];
  if (wanted.includes('all') || wanted.includes('everything')) names = [...ALL_SECTIONS];
  for (const w of wanted) if (w !== 'default' && w !== 'all' && w !== 'everything' && !names.includes(w)) names.push(w);
  if (wanted.length > 0 && !wanted.includes('default') && !wanted.includes('all') && !wanted.includes('everything')) {
    // Explicit sections print in Redis's fixed order.
    const order = ALL_SECTIONS;
    names.sort((a, b) => order.indexOf(a) - order.indexOf(b));
  }
  const parts: string[] = [];
  for (const name of names) {
    const fields = await infoSection(name, ctx);
    if (fields === null) continue;
    parts.push(`# ${SECTION_TITLES[name]}\r\n` + fields.map(([k, v]) => `${k}:${v}\r\n`).join(''));
  }
  return parts.join('\r\n');
}

/** INFO [section ...] — always answers (ioredis refuses a server whose INFO fails). */
const info: CommandHandler = async (ctx, args) => {
  const text = await infoText(ctx, args.slice(1).map((a) => a.toString('latin1')));
  return new VerbatimReply('txt', text);
};

/** TIME: [unix seconds, microseconds] as bulk strings, from this node's clock. */
const time: CommandHandler = () => {
  const us = BigInt(Math.floor((performance.timeOrigin + performance.now()) * 1000));
  return [(us / 1_000_000n).toString(), (us % 1_000_000n).toString()];
};

// ---- COMMAND ---------------------------------------------------------------------

function findCommand(server: ServerFacade, fullName: string): { spec: Spec; parent?: string } | null {
  const [name, sub] = fullName.toLowerCase().split('|', 2);
  const spec = server.commands.get(name);
  if (!spec) return null;
  if (sub === undefined) return { spec };
  const s = spec.subcommands?.find((x) => x.name === sub);
  return s ? { spec: s, parent: spec.name } : null;
}

/** CLIENT UNBLOCK id [TIMEOUT|ERROR]: 1 if that client was blocked here (blocking.ts). */
const clientUnblock: CommandHandler = async (ctx, args) => {
  const id = strictInt64(args[2]);
  if (id === null) throw new CommandError(NOT_INTEGER);
  let error = false;
  if (args.length === 4) {
    const how = args[3].toString('latin1').toLowerCase();
    if (how === 'error') error = true;
    else if (how !== 'timeout') throw new CommandError('ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR');
  } else if (args.length > 4) {
    throw new CommandError(SYNTAX);
  }
  return (await ctx.server.blocking?.unblock(Number(id), error)) ? 1 : 0;
};

/** All full names, subcommands after their container (COMMAND LIST). */
function allNames(server: ServerFacade): Array<{ name: string; spec: Spec }> {
  const out: Array<{ name: string; spec: Spec }> = [];
  for (const spec of server.commands.all()) {
    out.push({ name: spec.name, spec });
    for (const s of spec.subcommands ?? []) out.push({ name: `${spec.name}|${s.name}`, spec: s });
  }
  return out;
}

function specInfo(ctx: Ctx, found: { spec: Spec; parent?: string }): Reply {
  // The facade's info() renders a top-level spec; subcommands go through the table's own method.
  const t = ctx.server.commands as unknown as { info(s: Spec, parent?: string): Reply };
  return t.info(found.spec, found.parent);
}

const command: CommandHandler = (ctx, args) => {
  if (args.length > 1) throw new CommandError(`ERR unknown subcommand '${args[1].toString('latin1')}'. Try COMMAND HELP.`);
  return ctx.server.commands.all().map((s) => ctx.server.commands.info(s));
};

const commandCount: CommandHandler = (ctx) => ctx.server.commands.size;

const commandInfo: CommandHandler = (ctx, args) => {
  if (args.length === 2) return ctx.server.commands.all().map((s) => ctx.server.commands.info(s));
  return args.slice(2).map((a) => {
    const found = findCommand(ctx.server, a.toString('latin1'));
    return found ? specInfo(ctx, found) : null;
  });
};

const commandDocs: CommandHandler = (ctx, args) => {
  const t = ctx.server.commands as unknown as { docs(s: Spec, parent?: string): Reply };
  if (args.length === 2) return new MapReply(ctx.server.commands.all().map((s) => [s.name, ctx.server.commands.docs(s)] as [Reply, Reply]));
  const entries: Array<[Reply, Reply]> = [];
  for (const a of args.slice(2)) {
    const found = findCommand(ctx.server, a.toString('latin1'));
    if (!found) continue;
    entries.push([found.parent ? `${found.parent}|${found.spec.name}` : found.spec.name, t.docs(found.spec, found.parent)]);
  }
  return new MapReply(entries);
};

function aclCategories(spec: Spec): string[] {
  const cats = [spec.flags.includes('write') ? 'write' : 'read', spec.group, spec.flags.includes('fast') ? 'fast' : 'slow'];
  if (spec.flags.includes('admin')) cats.push('admin', 'dangerous');
  return cats;
}

/** COMMAND LIST [FILTERBY MODULE name | ACLCAT category | PATTERN pattern] */
const commandList: CommandHandler = (ctx, args) => {
  let filter: ((n: { name: string; spec: Spec }) => boolean) | null = null;
  for (let i = 2; i < args.length; i++) {
    const more = args.length - 1 - i;
    if (lower(args[i]) === 'filterby' && more === 2) {
      const kind = lower(args[i + 1]);
      const arg = args[i + 2];
      if (kind === 'module') filter = () => false;
      else if (kind === 'aclcat') filter = (n) => aclCategories(n.spec).includes(lower(arg));
      else if (kind === 'pattern') filter = (n) => globMatch(arg, Buffer.from(n.name), true);
      else throw new CommandError(SYNTAX);
      i += 2;
    } else {
      throw new CommandError(SYNTAX);
    }
  }
  return allNames(ctx.server)
    .filter((n) => !filter || filter(n))
    .map((n) => n.name);
};

/** COMMAND GETKEYS command [arg ...] (Redis's checks, in its order). */
const commandGetkeys: CommandHandler = (ctx, args) => {
  const target = args.slice(2);
  const top = ctx.server.commands.get(target[0].toString('latin1'));
  let spec = top;
  if (top?.subcommands && target.length >= 2) spec = top.subcommands.find((s) => s.name === lower(target[1])) ?? (top.handler ? top : undefined);
  if (!spec) throw new CommandError('ERR Invalid command specified');
  if (!spec.keys || spec.keys[0] <= 0) throw new CommandError('ERR The command has no key arguments');
  if (!ctx.server.commands.lookup(target).ok) throw new CommandError('ERR Invalid number of arguments specified for command');
  return CommandTable.keyPositions(spec, target).map((p) => target[p]);
};

const COMMAND_HELP = [
  '(no subcommand)',
  '    Return details about all Redis commands.',
  'COUNT',
  '    Return the total number of commands in this Redis server.',
  'LIST',
  '    Return a list of all commands in this Redis server.',
  'INFO [<command-name> ...]',
  '    Return details about multiple Redis commands.',
  '    If no command names are given, documentation details for all',
  '    commands are returned.',
  'DOCS [<command-name> ...]',
  '    Return documentation details about multiple Redis commands.',
  '    If no command names are given, documentation details for all',
  '    commands are returned.',
  'GETKEYS <full-command>',
  '    Return the keys from a full Redis command.',
];

// ---- CONFIG ----------------------------------------------------------------------

/**
 * The settings CONFIG GET knows, with their defaults. The node's live values
 * (ServerFacade.config()) override these; `set` says whether CONFIG SET may
 * change one: 'int' / 'enum' settings are encoding and tuning knobs that
 * redraft accepts and keeps but that change nothing in how it stores data.
 * Any other setting may only be "set" to its current value.
 */
interface Setting {
  name: string;
  alias?: string;
  default: string;
  set?: 'int' | 'mem' | 'notify' | { oneOf: string[] };
}

const SETTINGS: Setting[] = [
  { name: 'bind', default: '127.0.0.1' },
  { name: 'port', default: '6379' },
  { name: 'dir', default: process.cwd() },
  { name: 'databases', default: '1' },
  { name: 'daemonize', default: 'no' },
  { name: 'protected-mode', default: 'no' },
  { name: 'cluster-enabled', default: 'no' },
  { name: 'requirepass', default: '' },
  { name: 'timeout', default: '0' },
  { name: 'tcp-keepalive', default: '300' },
  { name: 'tcp-backlog', default: '511' },
  { name: 'maxclients', default: '10000' },
  { name: 'proto-max-bulk-len', default: '536870912' },
  { name: 'client-query-buffer-limit', default: '1073741824' },
  { name: 'maxmemory', default: '0' },
  { name: 'maxmemory-policy', default: 'noeviction' },
  { name: 'maxmemory-samples', default: '5', set: 'int' },
  // Durability: every acknowledged write is synced (the Raft log on RocksDB).
  { name: 'save', default: '' },
  { name: 'appendonly', default: 'yes' },
  { name: 'appendfsync', default: 'always' },
  { name: 'loglevel', default: 'notice' },
  { name: 'logfile', default: '' },
  { name: 'hz', default: '10' },
  { name: 'io-threads', default: '1' },
  { name: 'replica-read-only', alias: 'slave-read-only', default: 'yes' },
  { name: 'notify-keyspace-events', default: '', set: 'notify' },
  { name: 'lazyfree-lazy-eviction', default: 'no', set: { oneOf: ['yes', 'no'] } },
  { name: 'lazyfree-lazy-expire', default: 'no', set: { oneOf: ['yes', 'no'] } },
  { name: 'lazyfree-lazy-server-del', default: 'no', set: { oneOf: ['yes', 'no'] } },
  { name: 'lazyfree-lazy-user-del', default: 'no', set: { oneOf: ['yes', 'no'] } },
  { name: 'lazyfree-lazy-user-flush', default: 'no', set: { oneOf: ['yes', 'no'] } },
  { name: 'slowlog-log-slower-than', default: '10000', set: 'int' },
  { name: 'slowlog-max-len', default: '128', set: 'int' },
  { name: 'latency-tracking', default: 'yes', set: { oneOf: ['yes', 'no'] } },
  { name: 'sanitize-dump-payload', default: 'no', set: { oneOf: ['yes', 'no', 'clients'] } },
  { name: 'hash-max-listpack-entries', alias: 'hash-max-ziplist-entries', default: '128', set: 'int' },
  { name: 'hash-max-listpack-value', alias: 'hash-max-ziplist-value', default: '64', set: 'int' },
  { name: 'list-max-listpack-size', alias: 'list-max-ziplist-size', default: '-2', set: 'int' },
  { name: 'list-compress-depth', default: '0', set: 'int' },
  { name: 'set-max-intset-entries', default: '512', set: 'int' },
  { name: 'zset-max-listpack-entries', alias: 'zset-max-ziplist-entries', default: '128', set: 'int' },
  { name: 'zset-max-listpack-value', alias: 'zset-max-ziplist-value', default: '64', set: 'int' },
  { name: 'stream-node-max-bytes', default: '4096', set: 'mem' },
  { name: 'stream-node-max-entries', default: '100', set: 'int' },
];

function findSetting(name: string): Setting | undefined {
  const n = name.toLowerCase();
  return SETTINGS.find((s) => s.name === n || s.alias === n);
}

function configValue(server: ServerFacade, name: string): string | undefined {
  const s = findSetting(name);
  const live = server.config();
  if (!s) return live.get(name.toLowerCase());
  return live.get(s.name) ?? s.default;
}

/** CONFIG GET parameter [parameter ...]: globs (case-insensitive) over the known settings; a map. */
const configGet: CommandHandler = (ctx, args) => {
  const out = new Map<string, string>();
  const live = ctx.server.config();
  const known = new Set(SETTINGS.map((s) => s.name));
  // Globs see aliases too (hash-max-* gives the listpack and the ziplist names), as in Redis 7.0.
  const names = [...SETTINGS.flatMap((s) => (s.alias ? [s.name, s.alias] : [s.name])), ...[...live.keys()].filter((k) => !known.has(k))];
  for (const a of args.slice(2)) {
    const p = a.toString('latin1');
    if (!/[[*?]/.test(p)) {
      if (out.has(p)) continue;
      const v = configValue(ctx.server, p);
      if (v !== undefined && (findSetting(p) || live.has(p.toLowerCase()))) out.set(p, v);
      continue;
    }
    for (const n of names) {
      if (out.has(n)) continue;
      if (globMatch(a, Buffer.from(n), true)) out.set(n, configValue(ctx.server, n) ?? '');
    }
  }
  return new MapReply([...out]);
};

function validSettingValue(s: Setting, value: string): string | null {
  if (s.set === 'int') return /^-?\d+$/.test(value) ? null : 'argument couldn\'t be parsed into an integer';
  if (s.set === 'notify') return parseNotifyFlags(value) === null ? NOTIFY_FLAGS_ERROR : null;
  if (s.set === 'mem') return /^\d+(k|kb|m|mb|g|gb)?$/i.test(value) ? null : 'argument must be a memory value';
  if (s.set && typeof s.set === 'object') {
    return s.set.oneOf.includes(value.toLowerCase()) ? null : 'argument(s) must be one of the following: ' + s.set.oneOf.join(', ');
  }
  return null;
}

/** CONFIG SET parameter value [parameter value ...]: all or nothing, Redis's messages. */
const configSet: CommandHandler = async (ctx, args) => {
  if (args.length % 2 !== 0) throw new CommandError(SYNTAX);
  const changes: Array<[string, string]> = [];
  const seen = new Set<string>();
  for (let i = 2; i < args.length; i += 2) {
    const name = args[i].toString('latin1');
    const s = findSetting(name);
    if (!s) throw new CommandError(`ERR Unknown option or number of arguments for CONFIG SET - '${name}'`);
    if (seen.has(s.name)) throw new CommandError(`ERR CONFIG SET failed (possibly related to argument '${name}') - duplicate parameter`);
    seen.add(s.name);
    const value = args[i + 1].toString('latin1');
    const current = configValue(ctx.server, s.name);
    if (!s.set) {
      if (value === current) continue;
      throw new CommandError(`ERR CONFIG SET failed (possibly related to argument '${name}') - can't set immutable config`);
    }
    const problem = validSettingValue(s, value);
    if (problem) throw new CommandError(`ERR CONFIG SET failed (possibly related to argument '${name}') - ${problem}`);
    changes.push([s.name, s.set === 'int' ? value : s.set === 'notify' ? formatNotifyFlags(parseNotifyFlags(value)!) : value.toLowerCase()]);
  }
  const live = ctx.server.config();
  for (const [k, v] of changes) live.set(k, v);
  const notify = changes.find(([k]) => k === 'notify-keyspace-events');
  if (notify) await setNotifyFlags(ctx, notify[1]);
  return OK;
};

/**
 * notify-keyspace-events holds for the whole cluster: a write's events are
 * made on the store that runs it (its region's leader), whichever store the
 * client sent it to. So the store that gets CONFIG SET sends it on to every
 * other up store (as a forwarded command, which they do not send on again)
 * and answers once they did or 1 s passed. docs/pubsub.md has why.
 */
async function setNotifyFlags(ctx: CommandContext, value: string): Promise<void> {
  if (ctx.server.notifier) ctx.server.notifier.flags = parseNotifyFlags(value)!;
  if ((ctx.client as { forwarded?: boolean }).forwarded === true) return;
  await ctx.server.pubsub?.remote?.configure([Buffer.from('config'), Buffer.from('set'), Buffer.from('notify-keyspace-events'), Buffer.from(value)]);
}

const CONFIG_HELP = [
  'GET <pattern>',
  '    Return parameters matching the glob-like <pattern> and their values.',
  'SET <directive> <value>',
  '    Set the configuration <directive> to <value>.',
  'RESETSTAT',
  '    Reset statistics reported by the INFO command.',
  'REWRITE',
  '    Rewrite the configuration file.',
];

// ---- MEMORY ----------------------------------------------------------------------

/** MEMORY USAGE key [SAMPLES count]: an estimate of the key's bytes (metadata row + members). */
const memoryUsage: CommandHandler = async (ctx, args) => {
  const key = args[2];
  let samples = 5;
  for (let j = 3; j < args.length; j++) {
    if (lower(args[j]) === 'samples' && j + 1 < args.length) {
      const n = int64Arg(args[++j]);
      if (n < 0n) throw new CommandError(SYNTAX);
      samples = n === 0n ? Number.MAX_SAFE_INTEGER : Number(n > 1_000_000n ? 1_000_000n : n);
    } else {
      throw new CommandError(SYNTAX);
    }
  }
  const ks = await ctx.read([key]);
  const found = await ks.lookup(key);
  if (!found) return null;
  const OVERHEAD = 56; // per row: key framing, metadata header, allocator slack
  let bytes = OVERHEAD + key.length + (found.type === KeyType.String ? found.value.length : 16);
  if (found.type !== KeyType.String && found.size > 0) {
    // Like Redis: sample the first `samples` members and extrapolate.
    let seen = 0;
    let sum = 0;
    for await (const [m, v] of ks.members(found, { limit: Math.min(samples, found.size) })) {
      sum += OVERHEAD + key.length + m.length + v.length;
      seen++;
    }
    if (seen > 0) bytes += Math.round((sum / seen) * found.size);
  }
  return bytes;
};

const MEMORY_HELP = [
  'STATS',
  '    Return information about the memory usage of the server.',
  'USAGE <key> [SAMPLES <count>]',
  '    Return memory in bytes used by <key> and its value. Nested values are',
  '    sampled up to <count> times (default: 5, 0 means sample all).',
];

/** MEMORY STATS: the figures we have, in Redis's key names (a map). */
const memoryStats: CommandHandler = async (ctx) => {
  const mem = process.memoryUsage();
  const { keys } = await keyspaceStats(ctx);
  const used = mem.heapUsed + mem.external + mem.arrayBuffers;
  return new MapReply([
    ['peak.allocated', Math.max(used, mem.heapTotal)],
    ['total.allocated', used],
    ['startup.allocated', 0],
    ['clients.normal', 0],
    ['keys.count', keys],
    ['dataset.bytes', 0],
    ['allocator.resident', mem.rss],
  ]);
};

// ---- FUNCTION (the Tcl suite's harness flushes functions before each file) ---------

const functionFlush: CommandHandler = (_ctx, args) => {
  if (args.length === 3 && !['async', 'sync'].includes(lower(args[2]))) {
    throw new CommandError('ERR FUNCTION FLUSH only supports SYNC|ASYNC option');
  }
  return OK;
};

// ---- the table ---------------------------------------------------------------------

const CONN = { group: 'connection' } as const;
const SRV = { group: 'server' } as const;

function helpSpec(command: string, lines: string[]): Spec {
  return { group: command === 'client' || command === 'hello' ? 'connection' : 'server', name: 'help', arity: 2, flags: ['loading', 'stale'], since: '5.0.0', summary: 'Returns helpful text about the different subcommands.', complexity: 'O(1)', handler: () => helpReply(command, lines) };
}

export const SERVER_COMMANDS: Spec[] = [
  { ...CONN, name: 'ping', arity: -1, flags: ['fast'], since: '1.0.0', summary: 'Returns the server\'s liveliness response.', complexity: 'O(1)', handler: ping },
  { ...CONN, name: 'echo', arity: 2, flags: ['fast'], since: '1.0.0', summary: 'Returns the given string.', complexity: 'O(1)', handler: echo },
  { ...CONN, name: 'hello', arity: -1, flags: ['noscript', 'loading', 'stale', 'fast', 'no_auth', 'allow_busy'], since: '6.0.0', summary: 'Handshakes with the Redis server.', complexity: 'O(1)', handler: hello },
  { ...CONN, name: 'auth', arity: -2, flags: ['noscript', 'loading', 'stale', 'fast', 'no_auth', 'allow_busy'], since: '1.0.0', summary: 'Authenticates the connection.', complexity: 'O(N) where N is the number of passwords defined for the user', handler: auth },
  { ...CONN, name: 'quit', arity: -1, flags: ['noscript', 'loading', 'stale', 'fast', 'no_auth', 'allow_busy'], since: '1.0.0', summary: 'Closes the connection.', complexity: 'O(1)', handler: quit },
  { ...CONN, name: 'select', arity: 2, flags: ['loading', 'stale', 'fast'], since: '1.0.0', summary: 'Changes the selected database.', complexity: 'O(1)', handler: select },
  {
    ...CONN,
    name: 'client',
    arity: -2,
    flags: [],
    since: '2.4.0',
    summary: 'A container for client connection commands.',
    complexity: 'Depends on subcommand.',
    subcommands: [
      { ...CONN, name: 'setname', arity: 3, flags: ['noscript', 'loading', 'stale'], since: '2.6.9', summary: 'Sets the connection name.', complexity: 'O(1)', handler: (ctx, args) => (setName(ctx.client, args[2]), OK) },
      { ...CONN, name: 'getname', arity: 2, flags: ['noscript', 'loading', 'stale'], since: '2.6.9', summary: 'Returns the name of the connection.', complexity: 'O(1)', handler: (ctx) => (ctx.client.name ? ctx.client.name : null) },
      { ...CONN, name: 'id', arity: 2, flags: ['noscript', 'loading', 'stale'], since: '5.0.0', summary: 'Returns the unique client ID of the connection.', complexity: 'O(1)', handler: (ctx) => ctx.client.id },
      { ...CONN, name: 'info', arity: 2, flags: ['noscript', 'loading', 'stale'], since: '6.2.0', summary: 'Returns information about the connection.', complexity: 'O(1)', handler: (ctx) => new VerbatimReply('txt', clientInfoLine(ctx.client, Date.now()) + '\n') },
      { ...CONN, name: 'list', arity: -2, flags: ['admin', 'noscript', 'loading', 'stale'], since: '2.4.0', summary: 'Lists open connections.', complexity: 'O(N) where N is the number of client connections', handler: clientList },
      { ...CONN, name: 'unblock', arity: -3, flags: ['admin', 'noscript', 'loading', 'stale'], since: '5.0.0', summary: 'Unblocks a client blocked by a blocking command from a different connection.', complexity: 'O(log N) where N is the number of client connections', handler: clientUnblock },
      { ...CONN, name: 'kill', arity: -3, flags: ['admin', 'noscript', 'loading', 'stale'], since: '2.4.0', summary: 'Terminates open connections.', complexity: 'O(N) where N is the number of client connections', handler: clientKill },
      { ...CONN, name: 'setinfo', arity: 4, flags: ['noscript', 'loading', 'stale'], since: '7.2.0', summary: 'Sets information specific to the client or connection.', complexity: 'O(1)', handler: clientSetinfo },
      {
        ...CONN,
        name: 'reply',
        arity: 3,
        flags: ['noscript', 'loading', 'stale'],
        since: '3.2.0',
        summary: 'Instructs the server whether to reply to commands.',
        complexity: 'O(1)',
        // The connection applies the mode at this reply's place in the reply order (common/resp/server.ts).
        handler: (_ctx, args) => {
          const v = lower(args[2]);
          if (v !== 'on' && v !== 'off' && v !== 'skip') throw new CommandError(SYNTAX);
          return new ReplyModeChange(v);
        },
      },
      {
        ...CONN,
        name: 'no-evict',
        arity: 3,
        flags: ['admin', 'noscript', 'loading', 'stale'],
        since: '7.0.0',
        summary: 'Sets the client eviction mode of the connection.',
        complexity: 'O(1)',
        // No client eviction exists here: ON and OFF are both accepted and change nothing.
        handler: (_ctx, args) => {
          const v = lower(args[2]);
          if (v !== 'on' && v !== 'off') throw new CommandError(SYNTAX);
          return OK;
        },
      },
      helpSpec('client', CLIENT_HELP),
    ],
  },
  { ...SRV, name: 'info', arity: -1, flags: ['loading', 'stale'], since: '1.0.0', summary: 'Returns information and statistics about the server.', complexity: 'O(1)', handler: info },
  { ...SRV, name: 'time', arity: 1, flags: ['loading', 'stale', 'fast'], since: '2.6.0', summary: 'Returns the server time.', complexity: 'O(1)', handler: time },
  {
    ...SRV,
    name: 'command',
    arity: -1,
    flags: ['loading', 'stale'],
    since: '2.8.13',
    summary: 'Returns detailed information about all commands.',
    complexity: 'O(N) where N is the total number of Redis commands',
    handler: command,
    subcommands: [
      { ...SRV, name: 'count', arity: 2, flags: ['loading', 'stale'], since: '2.8.13', summary: 'Returns a count of commands.', complexity: 'O(1)', handler: commandCount },
      { ...SRV, name: 'info', arity: -2, flags: ['loading', 'stale'], since: '2.8.13', summary: 'Returns information about one, multiple or all commands.', complexity: 'O(N) where N is the number of commands to look up', handler: commandInfo },
      { ...SRV, name: 'docs', arity: -2, flags: ['loading', 'stale'], since: '7.0.0', summary: 'Returns documentary information about one, multiple or all commands.', complexity: 'O(N) where N is the number of commands to look up', handler: commandDocs },
      { ...SRV, name: 'list', arity: -2, flags: ['loading', 'stale'], since: '7.0.0', summary: 'Returns a list of command names.', complexity: 'O(N) where N is the total number of Redis commands', handler: commandList },
      { ...SRV, name: 'getkeys', arity: -4, flags: ['loading', 'stale'], since: '2.8.13', summary: 'Extracts the key names from an arbitrary command.', complexity: 'O(N) where N is the number of arguments to the command', handler: commandGetkeys },
      helpSpec('command', COMMAND_HELP),
    ],
  },
  {
    ...SRV,
    name: 'config',
    arity: -2,
    flags: [],
    since: '2.0.0',
    summary: 'A container for server configuration commands.',
    complexity: 'Depends on subcommand.',
    subcommands: [
      { ...SRV, name: 'get', arity: -3, flags: ['admin', 'noscript', 'loading', 'stale'], since: '2.0.0', summary: 'Returns the effective values of configuration parameters.', complexity: 'O(N) when N is the number of configuration parameters provided', handler: configGet },
      { ...SRV, name: 'set', arity: -4, flags: ['admin', 'noscript', 'loading', 'stale'], since: '2.0.0', summary: 'Sets configuration parameters in-flight.', complexity: 'O(N) when N is the number of configuration parameters provided', handler: configSet },
      { ...SRV, name: 'resetstat', arity: 2, flags: ['admin', 'noscript', 'loading', 'stale'], since: '2.0.0', summary: 'Resets the server\'s statistics.', complexity: 'O(1)', handler: () => OK },
      { ...SRV, name: 'rewrite', arity: 2, flags: ['admin', 'noscript', 'loading', 'stale'], since: '2.8.0', summary: 'Persists the effective configuration to file.', complexity: 'O(1)', handler: () => { throw new CommandError('ERR The server is running without a config file'); } },
      helpSpec('config', CONFIG_HELP),
    ],
  },
  {
    ...SRV,
    name: 'memory',
    arity: -2,
    flags: [],
    since: '4.0.0',
    summary: 'A container for memory diagnostics commands.',
    complexity: 'Depends on subcommand.',
    subcommands: [
      { ...SRV, name: 'usage', arity: -3, flags: ['readonly'], keys: [2, 2, 1], since: '4.0.0', summary: 'Estimates the memory usage of a key.', complexity: 'O(N) where N is the number of samples.', handler: memoryUsage },
      { ...SRV, name: 'stats', arity: 2, flags: [], since: '4.0.0', summary: 'Returns details about memory usage.', complexity: 'O(1)', handler: memoryStats },
      helpSpec('memory', MEMORY_HELP),
    ],
  },
  {
    group: 'scripting',
    name: 'function',
    arity: -2,
    flags: [],
    since: '7.0.0',
    summary: 'A container for function commands.',
    complexity: 'Depends on subcommand.',
    subcommands: [
      // No functions exist (no scripting), so flushing them is always done and the list always empty.
      { group: 'scripting', name: 'flush', arity: -2, flags: ['noscript'], since: '7.0.0', summary: 'Deletes all libraries and functions.', complexity: 'O(N) where N is the number of functions deleted', handler: functionFlush },
      { group: 'scripting', name: 'list', arity: -2, flags: ['noscript'], since: '7.0.0', summary: 'Returns information about all libraries.', complexity: 'O(N) where N is the number of functions', handler: () => [] },
      helpSpec('function', ['FLUSH [ASYNC|SYNC]', '    Delete all the libraries and functions.', 'LIST', '    Return general information on all the libraries (always empty here).']),
    ],
  },
];
