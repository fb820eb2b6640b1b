// The meta's admin RESP port: PING, ECHO, HELLO, INFO, COMMAND, CLIENT,
// CLUSTER INFO/SLOTS/NODES/SHARDS/KEYSLOT, STORE LIST, REGION LIST/GET, ROUTE.
//
// Commands that read the cluster map are answered by the leader after a read
// barrier (lease or ReadIndex), so they never show a stale map. A replica that
// does not lead forwards them to the leader over the peer port (RPC
// "meta.admin") and relays the leader's reply; with no leader they answer
// `-CLUSTERDOWN the meta group has no leader`. PING, ECHO, HELLO, INFO,
// COMMAND and CLIENT are answered by the replica itself.
import {
  CommandTable,
  ErrorReply,
  MapReply,
  OK,
  PONG,
  RawReply,
  SLOT_COUNT,
  VerbatimReply,
  keySlot,
  parseAddress,
  pb,
} from '@redraft/common';
import type { CommandSpec, Connection, Handler, Protocol, Reply } from '@redraft/common';
import type { MetaNode } from './node';
import type { RegionRec, StoreRec } from './state';
import { OPERATOR_COMMANDS, operatorSpecs } from './admin-operators';

export interface AdminContext {
  meta: MetaNode;
  protocol: Protocol;
  /** Absent when the command was forwarded from another replica. */
  conn?: Connection;
}

type Spec = CommandSpec<AdminContext>;

/** Commands (full names) that read the cluster map: run on the leader only. */
const LEADER_ONLY = new Set(['cluster|info', 'cluster|slots', 'cluster|nodes', 'cluster|shards', 'store|list', 'region|list', 'region|get', 'route', ...OPERATOR_COMMANDS]);

const VERSION = '0.1.0';

export class AdminCommands {
  readonly table: CommandTable<AdminContext>;

  constructor(private readonly meta: MetaNode) {
    this.table = new CommandTable<AdminContext>(adminSpecs());
  }

  /** A command from a client of this replica's admin port. */
  async execute(conn: Connection, args: Buffer[]): Promise<Reply> {
    const found = this.table.lookup(args);
    if (!found.ok) return found.error;
    conn.lastCommand = found.fullName;
    if (LEADER_ONLY.has(found.fullName) && !this.meta.isLeader) {
      try {
        return new RawReply(await this.meta.forwardAdmin(args, conn.protocol));
      } catch (e) {
        return errorOf(e);
      }
    }
    return this.run(found.spec, { meta: this.meta, protocol: conn.protocol, conn }, args);
  }

  /** A command forwarded by another replica: this replica leads. */
  async runLocal(args: Buffer[], protocol: Protocol): Promise<Reply> {
    if (args.length === 0) return new ErrorReply('ERR empty command');
    const found = this.table.lookup(args);
    if (!found.ok) return found.error;
    return this.run(found.spec, { meta: this.meta, protocol }, args);
  }

  private async run(spec: Spec, ctx: AdminContext, args: Buffer[]): Promise<Reply> {
    try {
      return await spec.handler!(ctx, args);
    } catch (e) {
      return errorOf(e);
    }
  }
}


/** A handler that answers from the map after a read barrier: only the leader's map, at least as new as every write it acknowledged. */
function leaderRead(read: (ctx: AdminContext, args: Buffer[]) => Reply): Handler<AdminContext> {
  return async (ctx, args) => {
    await ctx.meta.readBarrier();
    return read(ctx, args);
  };
}

function errorOf(e: unknown): ErrorReply {
  if (e instanceof ErrorReply) return e;
  const msg = e instanceof Error ? e.message : String(e);
  // Meta errors carry their code as the first word (NOT_LEADER, TIMEOUT, CLUSTERDOWN...).
  if (/^[A-Z_]+( |$)/.test(msg)) return new ErrorReply(msg);
  return new ErrorReply(`ERR ${msg}`);
}

// ---- formatting helpers -----------------------------------------------------------

/** A Redis Cluster style 40-hex-digit node id for a store: its id in hex, zero-padded. */
export function storeNodeId(storeId: number): string {
  return storeId.toString(16).padStart(40, '0');
}

function hostPort(addr: string): [string, number] {
  try {
    const { host, port } = parseAddress(addr);
    return [host, port];
  } catch {
    return [addr, 0];
  }
}

/** up, down, draining (STORE REMOVE under way) or removed. */
export function storeStateName(s: StoreRec): string {
  if (s.state === pb.StoreState.TOMBSTONE) return 'removed';
  if (s.draining) return 'draining';
  return s.state === pb.StoreState.UP ? 'up' : 'down';
}

function peerList(r: RegionRec): string {
  return r.region.peers.map((p) => `${p.id}@${p.storeId}${p.role === pb.PeerRole.LEARNER ? '(learner)' : ''}`).join(',');
}

function slotRange(r: RegionRec): string {
  return `${r.region.startSlot}-${r.region.endSlot - 1}`;
}

export function text(ctx: AdminContext, s: string): Reply {
  return ctx.protocol === 3 ? new VerbatimReply('txt', s) : s;
}

function storeLine(meta: MetaNode, s: StoreRec, now: number): string {
  return [
    `id=${s.id}`,
    `peer_addr=${s.peerAddr}`,
    `client_addr=${s.clientAddr}`,
    `state=${storeStateName(s)}`,
    `regions=${s.regionCount}`,
    `leaders=${s.leaderCount}`,
    `last_heartbeat_ms_ago=${s.heartbeatCount > 0 || s.lastHeartbeatMs > 0 ? Math.max(0, now - s.lastHeartbeatMs) : -1}`,
    `heartbeats=${s.heartbeatCount}`,
    `used_bytes=${s.usedBytes}`,
    `capacity_bytes=${s.capacityBytes}`,
  ].join(' ');
  void meta;
}

/** Fewer voters on up stores that are not draining than the cluster's replica count. */
function underReplicated(meta: MetaNode, r: RegionRec): boolean {
  const healthy = r.region.peers.filter((p) => {
    const s = meta.sm.store(p.storeId);
    return p.role === pb.PeerRole.VOTER && s?.state === pb.StoreState.UP && !s.draining;
  });
  return healthy.length < meta.replicaTarget;
}

function regionLine(meta: MetaNode, r: RegionRec): string {
  const leader = meta.sm.leaderStore(r);
  return [
    `id=${r.region.id}`,
    `slots=${slotRange(r)}`,
    `epoch=${r.region.epoch.version}/${r.region.epoch.confVer}`,
    `peers=${peerList(r)}`,
    `leader_peer=${r.leaderPeerId}`,
    `leader_store=${r.leaderStoreId}`,
    `leader_addr=${leader?.clientAddr ?? ''}`,
    `term=${r.term}`,
    `keys=${r.approximateKeys}`,
    `bytes=${r.approximateBytes}`,
    `under_replicated=${underReplicated(meta, r) ? 'yes' : 'no'}`,
  ].join(' ');
}

function regionMap(meta: MetaNode, r: RegionRec): Reply {
  const leader = meta.sm.leaderStore(r);
  return new MapReply([
    ['id', r.region.id],
    ['start_slot', r.region.startSlot],
    ['end_slot', r.region.endSlot],
    ['epoch_version', r.region.epoch.version],
    ['epoch_conf_ver', r.region.epoch.confVer],
    [
      'peers',
      r.region.peers.map(
        (p) =>
          new MapReply([
            ['id', p.id],
            ['store_id', p.storeId],
            ['role', p.role === pb.PeerRole.LEARNER ? 'learner' : 'voter'],
            ['client_addr', meta.sm.store(p.storeId)?.clientAddr ?? ''],
          ]),
      ),
    ],
    ['leader_peer_id', r.leaderPeerId],
    ['leader_store_id', r.leaderStoreId],
    ['leader_addr', leader?.clientAddr ?? null],
    ['term', r.term],
    ['approximate_keys', r.approximateKeys],
    ['approximate_bytes', r.approximateBytes],
    ['updated_at_ms', r.updatedAtMs],
  ]);
}

/** Slots in regions whose leader is known and on a store that is up. */
function slotsOk(meta: MetaNode): number {
  let ok = 0;
  for (const r of meta.sm.regionList()) {
    const s = meta.sm.leaderStore(r);
    if (s && s.state === pb.StoreState.UP) ok += r.region.endSlot - r.region.startSlot;
  }
  return ok;
}

export function clusterInfo(meta: MetaNode): string {
  const sm = meta.sm;
  const assigned = sm.slotsAssigned();
  const ok = slotsOk(meta);
  const state = sm.bootstrapped && ok === SLOT_COUNT ? 'ok' : 'fail';
  const stores = sm.storeList().filter((s) => s.state !== pb.StoreState.TOMBSTONE);
  const lines = [
    `cluster_state:${state}`,
    `cluster_slots_assigned:${assigned}`,
    `cluster_slots_ok:${ok}`,
    `cluster_slots_pfail:0`,
    `cluster_slots_fail:${assigned - ok}`,
    `cluster_known_nodes:${stores.length}`,
    `cluster_size:${sm.regionList().length}`,
    `cluster_current_epoch:${sm.version}`,
    `cluster_my_epoch:${sm.version}`,
    `cluster_stats_messages_sent:0`,
    `cluster_stats_messages_received:0`,
    `total_cluster_links_buffer_limit_exceeded:0`,
    `meta_bootstrapped:${sm.bootstrapped ? 1 : 0}`,
    `meta_view_version:${sm.version}`,
    `meta_stores_up:${stores.filter((s) => s.state === pb.StoreState.UP).length}`,
    `meta_stores_down:${stores.filter((s) => s.state === pb.StoreState.DOWN).length}`,
    `meta_regions:${sm.regionList().length}`,
    `meta_regions_without_leader:${sm.regionList().filter((r) => !sm.leaderStore(r)).length}`,
  ];
  return lines.join('\r\n') + '\r\n';
}

function nodeEntry(meta: MetaNode, storeId: number): Reply {
  const s = meta.sm.store(storeId);
  const [host, port] = hostPort(s?.clientAddr ?? '');
  return [host, port, storeNodeId(storeId)];
}

function clusterSlots(meta: MetaNode): Reply {
  const out: Reply[] = [];
  for (const r of meta.sm.regionList()) {
    const leader = meta.sm.leaderStore(r);
    if (!leader) continue;
    const entry: Reply[] = [r.region.startSlot, r.region.endSlot - 1, nodeEntry(meta, leader.id)];
    for (const p of r.region.peers) if (p.storeId !== leader.id && meta.sm.store(p.storeId)) entry.push(nodeEntry(meta, p.storeId));
    out.push(entry);
  }
  return out;
}

function clusterNodes(meta: MetaNode): string {
  // One line per store: Redis's CLUSTER NODES layout, a store is a master of
  // the slot ranges whose region it leads.
  const sm = meta.sm;
  const lines: string[] = [];
  for (const s of sm.storeList()) {
    if (s.state === pb.StoreState.TOMBSTONE) continue;
    const [host, port] = hostPort(s.clientAddr);
    const ranges = sm
      .regionList()
      .filter((r) => r.leaderStoreId === s.id)
      .map((r) => (r.region.endSlot - r.region.startSlot === 1 ? `${r.region.startSlot}` : slotRange(r)));
    // A store that leads nothing is shown as a replica of the leader of a
    // region it holds (as redis-cli --cluster check expects), not as a master without slots.
    const followed = ranges.length ? undefined : sm.regionList().find((r) => r.leaderStoreId && r.leaderStoreId !== s.id && r.region.peers.some((p) => p.storeId === s.id));
    const role = followed ? 'slave' : 'master';
    const flags = s.state === pb.StoreState.DOWN ? `${role},fail` : role;
    const master = followed ? storeNodeId(followed.leaderStoreId) : '-';
    lines.push(`${storeNodeId(s.id)} ${host}:${port}@${port + 10000} ${flags} ${master} 0 ${s.lastHeartbeatMs} ${sm.version} connected${ranges.length ? ' ' + ranges.join(' ') : ''}`);
  }
  return lines.map((l) => l + '\n').join('');
}

function clusterShards(meta: MetaNode): Reply {
  const sm = meta.sm;
  return sm.regionList().map((r) => {
    const nodes = r.region.peers.map((p) => {
      const s = sm.store(p.storeId);
      const [host, port] = hostPort(s?.clientAddr ?? '');
      const healthy = s?.state === pb.StoreState.UP;
      return new MapReply([
        ['id', storeNodeId(p.storeId)],
        ['port', port],
        ['ip', host],
        ['endpoint', host],
        ['role', p.storeId === r.leaderStoreId ? 'master' : 'replica'],
        ['replication-offset', 0],
        ['health', healthy ? 'online' : 'fail'],
      ]);
    });
    return new MapReply([
      ['slots', [r.region.startSlot, r.region.endSlot - 1]],
      ['nodes', nodes],
    ]);
  });
}

function infoText(ctx: AdminContext, section: string | undefined): string {
  const m = ctx.meta;
  const sm = m.sm;
  const stores = sm.storeList();
  const sections: Array<[string, string[]]> = [
    [
      'server',
      [
        'redis_version:7.0.15',
        `redraft_version:${VERSION}`,
        'redis_mode:meta',
        'redraft_role:meta',
        `process_id:${process.pid}`,
        `tcp_port:${m.adminPort}`,
        `peer_port:${m.peerPort}`,
        `uptime_in_seconds:${Math.floor((Date.now() - m.startedAt) / 1000)}`,
      ],
    ],
    ['clients', [`connected_clients:${m.adminClients}`]],
    ['persistence', ['loading:0']],
    [
      'meta',
      [
        `meta_id:${m.metaId}`,
        `meta_role:${m.roleName}`,
        `meta_term:${m.term}`,
        `meta_leader_id:${m.leader}`,
        `meta_leader_addr:${m.leaderAddr}`,
        `meta_applied_index:${m.applied}`,
        `meta_snapshots_installed:${m.snapshotsInstalled}`,
        `meta_replicas:${m.peerAddrs.size}`,
        `meta_peers:${[...m.peerAddrs].map(([id, a]) => `${id}=${a}`).join(',')}`,
        `cluster_bootstrapped:${sm.bootstrapped ? 1 : 0}`,
        `cluster_view_version:${sm.version}`,
        `cluster_replicas:${m.replicaTarget}`,
        `stores:${stores.length}`,
        `stores_up:${stores.filter((s) => s.state === pb.StoreState.UP).length}`,
        `stores_down:${stores.filter((s) => s.state === pb.StoreState.DOWN).length}`,
        `regions:${sm.regionList().length}`,
      ],
    ],
  ];
  const want = section?.toLowerCase();
  const picked = !want || want === 'all' || want === 'everything' || want === 'default' ? sections : sections.filter(([name]) => name === want);
  return picked.map(([name, lines]) => `# ${name[0].toUpperCase()}${name.slice(1)}\r\n${lines.join('\r\n')}\r\n`).join('\r\n');
}

// ---- the table ------------------------------------------------------------------------

function adminSpecs(): Spec[] {
  const ops = operatorSpecs();
  const specs: Spec[] = [
    ...ops.top,
    {
      name: 'ping',
      arity: -1,
      flags: ['fast', 'stale'],
      group: 'connection',
      summary: 'Returns the server\'s liveliness response.',
      since: '1.0.0',
      handler: (_ctx, args) => {
        if (args.length > 2) return new ErrorReply("ERR wrong number of arguments for 'ping' command");
        return args.length === 2 ? args[1] : PONG;
      },
    },
    {
      name: 'echo',
      arity: 2,
      flags: ['fast', 'stale'],
      group: 'connection',
      summary: 'Returns the given string.',
      since: '1.0.0',
      handler: (_ctx, args) => args[1],
    },
    {
      name: 'hello',
      arity: -1,
      flags: ['fast', 'stale', 'no_auth'],
      group: 'connection',
      summary: 'Handshakes with the server.',
      since: '6.0.0',
      handler: (ctx, args) => {
        let i = 1;
        if (args.length >= 2) {
          const v = args[1].toString();
          if (!/^\d+$/.test(v)) return new ErrorReply('ERR Protocol version is not an integer or out of range');
          const ver = Number(v);
          if (ver !== 2 && ver !== 3) return new ErrorReply('NOPROTO unsupported protocol version');
          i = 2;
          for (; i < args.length; i++) {
            const opt = args[i].toString().toLowerCase();
            if (opt === 'auth' && i + 2 < args.length) i += 2;
            else if (opt === 'setname' && i + 1 < args.length) {
              i++;
              if (ctx.conn) ctx.conn.name = args[i].toString();
            } else return new ErrorReply(`ERR Syntax error in HELLO option '${args[i].toString()}'`);
          }
          if (ctx.conn) ctx.conn.protocol = ver as Protocol;
          ctx.protocol = ver as Protocol;
        }
        return new MapReply([
          ['server', 'redraft'],
          ['version', VERSION],
          ['proto', ctx.protocol],
          ['id', ctx.conn?.id ?? 0],
          ['mode', 'meta'],
          ['role', ctx.meta.isLeader ? 'master' : 'replica'],
          ['modules', []],
        ]);
      },
    },
    {
      name: 'quit',
      arity: -1,
      flags: ['fast', 'stale', 'no_auth'],
      group: 'connection',
      summary: 'Closes the connection.',
      since: '1.0.0',
      handler: (ctx) => {
        ctx.conn?.closeAfterReply();
        return OK;
      },
    },
    {
      name: 'client',
      arity: -2,
      flags: ['stale'],
      group: 'connection',
      summary: 'A container for client connection commands.',
      since: '2.4.0',
      subcommands: [
        { name: 'setinfo', arity: 4, flags: ['fast', 'stale'], group: 'connection', summary: 'Sets information specific to the client.', since: '7.2.0', handler: () => OK },
        {
          name: 'setname',
          arity: 3,
          flags: ['fast', 'stale'],
          group: 'connection',
          summary: 'Sets the connection name.',
          since: '2.6.9',
          handler: (ctx, args) => {
            if (ctx.conn) ctx.conn.name = args[2].toString();
            return OK;
          },
        },
        { name: 'getname', arity: 2, flags: ['fast', 'stale'], group: 'connection', summary: 'Returns the name of the connection.', since: '2.6.9', handler: (ctx) => ctx.conn?.name || null },
        { name: 'id', arity: 2, flags: ['fast', 'stale'], group: 'connection', summary: 'Returns the unique client ID of the connection.', since: '5.0.0', handler: (ctx) => ctx.conn?.id ?? 0 },
      ],
    },
    {
      name: 'info',
      arity: -1,
      flags: ['stale'],
      group: 'server',
      summary: 'Returns information about this meta replica and the cluster map it holds.',
      since: '1.0.0',
      handler: (ctx, args) => text(ctx, infoText(ctx, args[1]?.toString())),
    },
    {
      name: 'command',
      arity: -1,
      flags: ['stale'],
      group: 'server',
      summary: 'Returns detailed information about all commands.',
      since: '2.8.13',
      handler: (ctx) => commandTable(ctx).all().map((s) => commandTable(ctx).info(s)),
      subcommands: [
        { name: 'count', arity: 2, flags: ['stale'], group: 'server', summary: 'Returns a count of commands.', since: '2.8.13', handler: (ctx) => commandTable(ctx).size },
        {
          name: 'info',
          arity: -2,
          flags: ['stale'],
          group: 'server',
          summary: 'Returns information about one, multiple or all commands.',
          since: '2.8.13',
          handler: (ctx, args) => {
            const t = commandTable(ctx);
            if (args.length === 2) return t.all().map((s) => t.info(s));
            return args.slice(2).map((a) => {
              const s = t.get(a.toString());
              return s ? t.info(s) : null;
            });
          },
        },
        {
          name: 'docs',
          arity: -2,
          flags: ['stale'],
          group: 'server',
          summary: 'Returns documentary information about one, multiple or all commands.',
          since: '7.0.0',
          handler: (ctx, args) => {
            const t = commandTable(ctx);
            const specs = args.length === 2 ? t.all() : args.slice(2).map((a) => t.get(a.toString())).filter((s): s is Spec => !!s);
            return new MapReply(specs.map((s) => [s.name, t.docs(s)] as [Reply, Reply]));
          },
        },
        { name: 'list', arity: -2, flags: ['stale'], group: 'server', summary: 'Returns a list of command names.', since: '7.0.0', handler: (ctx) => commandTable(ctx).all().map((s) => s.name) },
      ],
    },
    {
      name: 'cluster',
      arity: -2,
      flags: ['stale'],
      group: 'cluster',
      summary: 'The cluster map as Redis Cluster describes it (regions as shards, region leaders as masters).',
      since: '3.0.0',
      subcommands: [
        {
          name: 'info',
          arity: 2,
          flags: ['stale'],
          group: 'cluster',
          summary: 'Returns the state of the cluster: cluster_state:ok once bootstrapped and every slot is in a region with a known leader.',
          since: '3.0.0',
          handler: leaderRead((ctx) => text(ctx, clusterInfo(ctx.meta))),
        },
        {
          name: 'slots',
          arity: 2,
          flags: ['stale'],
          group: 'cluster',
          summary: 'Returns the slot ranges of the regions with a known leader: the leader store\'s client address first, then the other replicas.',
          since: '3.0.0',
          handler: leaderRead((ctx) => clusterSlots(ctx.meta)),
        },
        {
          name: 'nodes',
          arity: 2,
          flags: ['stale'],
          group: 'cluster',
          summary: 'Returns one line per store in the CLUSTER NODES format.',
          since: '3.0.0',
          handler: leaderRead((ctx) => text(ctx, clusterNodes(ctx.meta))),
        },
        {
          name: 'shards',
          arity: 2,
          flags: ['stale'],
          group: 'cluster',
          summary: 'Returns one shard per region.',
          since: '7.0.0',
          handler: leaderRead((ctx) => clusterShards(ctx.meta)),
        },
        {
          name: 'keyslot',
          arity: 3,
          flags: ['stale'],
          group: 'cluster',
          summary: 'Returns the hash slot of a key.',
          since: '3.0.0',
          handler: (_ctx, args) => keySlot(args[2]),
        },
      ],
    },
    {
      name: 'store',
      arity: -2,
      flags: ['admin'],
      group: 'meta',
      summary: 'Store commands.',
      since: '0.1.0',
      subcommands: [
        {
          name: 'list',
          arity: 2,
          flags: ['admin'],
          group: 'meta',
          summary: 'One line per store: id, addresses, state, regions, leaders, milliseconds since its last heartbeat.',
          since: '0.1.0',
          handler: leaderRead((ctx) => {
            const now = Date.now();
            return text(ctx, ctx.meta.sm.storeList().map((s) => storeLine(ctx.meta, s, now) + '\n').join(''));
          }),
        },
        ...ops.store,
      ],
    },
    {
      name: 'region',
      arity: -2,
      flags: ['admin'],
      group: 'meta',
      summary: 'Region commands.',
      since: '0.1.0',
      subcommands: [
        {
          name: 'list',
          arity: 2,
          flags: ['admin'],
          group: 'meta',
          summary: 'One line per region in slot order: id, slots (inclusive), epoch, peers (peer@store), leader, term, approximate keys and bytes.',
          since: '0.1.0',
          handler: leaderRead((ctx) => text(ctx, ctx.meta.sm.regionList().map((r) => regionLine(ctx.meta, r) + '\n').join(''))),
        },
        {
          name: 'get',
          arity: 3,
          flags: ['admin'],
          group: 'meta',
          summary: 'One region as a map (nil if there is no such region).',
          since: '0.1.0',
          handler: async (ctx, args) => {
            const s = args[2].toString();
            if (!/^\d+$/.test(s) || !Number.isSafeInteger(Number(s))) return new ErrorReply('ERR region id is not an integer or out of range');
            await ctx.meta.readBarrier();
            const r = ctx.meta.sm.region(Number(s));
            return r ? regionMap(ctx.meta, r) : null;
          },
        },
        ...ops.region,
      ],
    },
    {
      name: 'route',
      arity: 2,
      flags: ['admin'],
      group: 'meta',
      summary: 'Where a key lives: its slot, region, and the client address of the store that leads it.',
      since: '0.1.0',
      handler: leaderRead((ctx, args) => {
        const slot = keySlot(args[1]);
        const r = ctx.meta.sm.regionForSlot(slot);
        const leader = r ? ctx.meta.sm.leaderStore(r) : undefined;
        return new MapReply([
        ['slot', slot],
        ['region_id', r ? r.region.id : null],
        ['epoch', r ? `${r.region.epoch.version}/${r.region.epoch.confVer}` : null],
        ['leader_store_id', leader ? leader.id : null],
        ['leader_addr', leader ? leader.clientAddr : null],
        ]);
      }),
    },
  ];
  return specs;
}

function commandTable(ctx: AdminContext): CommandTable<AdminContext> {
  return ctx.meta.commands.table;
}
