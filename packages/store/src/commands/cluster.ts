// Redis Cluster compatibility: regions appear as shards, their leaders as
// masters, so cluster-aware clients (ioredis Cluster, redis-cli -c,
// redis-benchmark --cluster) route straight to leaders.
import { ErrorReply, MapReply, OK, SimpleString, VerbatimReply, keySlot } from '@redraft/common';
import type { Reply } from '@redraft/common';
import type { CommandHandler, Spec } from './context';

export interface ClusterNode {
  /** 40 hex characters, stable for a store. */
  id: string;
  host: string;
  port: number;
  /** The store's peer port, shown as the cluster bus port. */
  busPort: number;
  connected: boolean;
  myself: boolean;
}

export interface ClusterShard {
  startSlot: number;
  /** Exclusive. */
  endSlot: number;
  /** Undefined while the region has no known leader. */
  leader?: ClusterNode;
  replicas: ClusterNode[];
}

/** One region replica hosted by this store (REGION LIST). */
export interface LocalReplica {
  id: number;
  startSlot: number;
  endSlot: number;
  role: string;
  applied: number;
  term: number;
  leaderPeer: number;
  peers: string;
  epoch: string;
  /** Leader only: each peer's replication progress, `peer:state/match/next`. */
  progress: string;
}

/** What the CLUSTER and REGION commands read; the store node provides it. */
export interface ClusterFacade {
  myself(): ClusterNode;
  shards(): ClusterShard[];
  nodes(): ClusterNode[];
  replicas(): LocalReplica[];
  /** [applied index, sha1 of the replica's data range] read at one consistent point. */
  digest(regionId: number): Promise<[number, string]>;
  /** Asks this store's leading replica of a region to hand leadership to its replica on a store (TimeoutNow). */
  transferLeader(regionId: number, toStoreId: number): void;
}

const slotsReply: CommandHandler = (ctx) => {
  const out: Reply[] = [];
  for (const s of ctx.server.cluster.shards()) {
    if (!s.leader) continue;
    const node = (n: { host: string; port: number; id: string }): Reply => [n.host, n.port, n.id];
    out.push([s.startSlot, s.endSlot - 1, node(s.leader), ...s.replicas.map(node)]);
  }
  return out;
};

const shards: CommandHandler = (ctx) => {
  const out: Reply[] = [];
  for (const s of ctx.server.cluster.shards()) {
    const node = (n: ClusterNode, role: string): Reply =>
      new MapReply([
        ['id', n.id],
        ['port', n.port],
        ['ip', n.host],
        ['endpoint', n.host],
        ['role', role],
        ['replication-offset', 0],
        ['health', n.connected ? 'online' : 'fail'],
      ]);
    const nodes = [...(s.leader ? [node(s.leader, 'master')] : []), ...s.replicas.map((r) => node(r, 'replica'))];
    out.push(new MapReply([['slots', [s.startSlot, s.endSlot - 1]], ['nodes', nodes]]));
  }
  return out;
};

/** Slot ranges each store leads, merged where adjacent. */
function ledRanges(shardList: ClusterShard[]): Map<string, Array<[number, number]>> {
  const led = new Map<string, Array<[number, number]>>();
  for (const s of [...shardList].sort((a, b) => a.startSlot - b.startSlot)) {
    if (!s.leader) continue;
    const list = led.get(s.leader.id) ?? [];
    const last = list[list.length - 1];
    if (last && last[1] === s.startSlot - 1) last[1] = s.endSlot - 1;
    else list.push([s.startSlot, s.endSlot - 1]);
    led.set(s.leader.id, list);
  }
  return led;
}

/**
 * The store a store that leads no region replicates, as Redis Cluster sees
 * it: the leader of most of the slots it holds a replica of (ties: the lower
 * slots). Undefined when it holds no replica of a region with a leader.
 */
function masterOf(node: ClusterNode, shardList: ClusterShard[]): string | undefined {
  const slotsByLeader = new Map<string, number>();
  let best: string | undefined;
  for (const s of [...shardList].sort((a, b) => a.startSlot - b.startSlot)) {
    if (!s.leader || s.leader.id === node.id || !s.replicas.some((r) => r.id === node.id)) continue;
    const n = (slotsByLeader.get(s.leader.id) ?? 0) + (s.endSlot - s.startSlot);
    slotsByLeader.set(s.leader.id, n);
    if (best === undefined || n > slotsByLeader.get(best)!) best = s.leader.id;
  }
  return best;
}

/**
 * CLUSTER NODES lines. A store that leads regions is a master of their
 * slots; one that leads none is a replica (`slave <master id>`) of the store
 * leading the regions it follows, as `redis-cli --cluster check` expects.
 * A store leading some regions and following others can only be one of the
 * two in Redis Cluster's model: it shows as a master, and CLUSTER SLOTS and
 * SHARDS still list it as a replica of the other regions.
 */
export function clusterNodeLines(all: ClusterNode[], shardList: ClusterShard[]): string[] {
  const led = ledRanges(shardList);
  return all.map((n) => {
    const slots = (led.get(n.id) ?? []).map(([a, b]) => (a === b ? `${a}` : `${a}-${b}`));
    const master = slots.length ? undefined : masterOf(n, shardList);
    const flags = [n.myself ? 'myself' : '', master ? 'slave' : 'master', n.connected ? '' : 'fail'].filter(Boolean).join(',');
    return [n.id, `${n.host}:${n.port}@${n.busPort}`, flags, master ?? '-', '0', '0', '1', n.connected ? 'connected' : 'disconnected', ...slots].join(' ');
  });
}

const nodes: CommandHandler = (ctx) => {
  const c = ctx.server.cluster;
  const text = clusterNodeLines(c.nodes(), c.shards()).join('\n') + '\n';
  return ctx.client.protocol === 3 ? new VerbatimReply('txt', text) : text;
};

const info: CommandHandler = (ctx) => {
  const c = ctx.server.cluster;
  const shardList = c.shards();
  let assigned = 0;
  let ok = 0;
  for (const s of shardList) {
    assigned += s.endSlot - s.startSlot;
    if (s.leader) ok += s.endSlot - s.startSlot;
  }
  const all = c.nodes();
  const text = [
    `cluster_state:${ok === 16384 ? 'ok' : 'fail'}`,
    `cluster_slots_assigned:${assigned}`,
    `cluster_slots_ok:${ok}`,
    'cluster_slots_pfail:0',
    `cluster_slots_fail:${assigned - ok}`,
    `cluster_known_nodes:${all.length}`,
    `cluster_size:${ledRanges(shardList).size}`,
    'cluster_current_epoch:1',
    'cluster_my_epoch:1',
    'cluster_stats_messages_sent:0',
    'cluster_stats_messages_received:0',
    'total_cluster_links_buffer_limit_exceeded:0',
  ].join('\r\n') + '\r\n';
  return ctx.client.protocol === 3 ? new VerbatimReply('txt', text) : text;
};

const keyslot: CommandHandler = (_ctx, [, , key]) => keySlot(key);
const myid: CommandHandler = (ctx) => ctx.server.cluster.myself().id;

const countKeysInSlot: CommandHandler = async (ctx, [, , slotArg]) => {
  const slot = Number(slotArg.toString());
  if (!/^\d+$/.test(slotArg.toString()) || slot >= 16384) return new ErrorReply('ERR Invalid slot');
  let n = 0;
  for (const r of ctx.server.regions()) {
    if (slot < r.startSlot || slot >= r.endSlot) continue;
    const ks = await ctx.server.readRegion(r.id);
    for await (const _ of ks.keys({ startSlot: slot, endSlot: slot + 1 })) n++;
  }
  return n;
};

const readonly: CommandHandler = (ctx) => {
  ctx.client.readonly = true;
  return OK;
};
const readwrite: CommandHandler = (ctx) => {
  ctx.client.readonly = false;
  return OK;
};
const asking: CommandHandler = () => OK;

const help: CommandHandler = () =>
  [
    'CLUSTER <subcommand> [<arg> [value] [opt] ...]. Subcommands are:',
    'INFO', '    Return information about the cluster.',
    'SLOTS', '    Return information about slots range mappings (regions and their leaders).',
    'SHARDS', '    Return information about slot range mappings and the nodes of each shard.',
    'NODES', '    Return cluster configuration seen by node.',
    'KEYSLOT <key>', '    Return the hash slot for <key>.',
    'COUNTKEYSINSLOT <slot>', '    Return the number of keys in <slot>.',
    'MYID', '    Return the node id.',
    'HELP', '    Print this help.',
  ].map((l) => new SimpleString(l));

const regionList: CommandHandler = (ctx) =>
  ctx.server.cluster
    .replicas()
    .map(
      (r) =>
        `id=${r.id} slots=${r.startSlot}-${r.endSlot - 1} role=${r.role} applied=${r.applied} term=${r.term} leader_peer=${r.leaderPeer} epoch=${r.epoch} peers=${r.peers}${r.progress ? ` progress=${r.progress}` : ''}`,
    );

const regionDigest: CommandHandler = async (ctx, [, , idArg]) => {
  const id = Number(idArg.toString());
  if (!/^\d+$/.test(idArg.toString()) || !Number.isSafeInteger(id)) return new ErrorReply('ERR region id must be a positive integer');
  const [applied, sha] = await ctx.server.cluster.digest(id);
  return [applied, sha];
};

const positiveId = (arg: Buffer): number | undefined => {
  const n = Number(arg.toString());
  return /^\d+$/.test(arg.toString()) && Number.isSafeInteger(n) && n > 0 ? n : undefined;
};

/** REGION TRANSFER-LEADER id storeId: on the store that leads the region; answers once asked (the transfer then takes an election). */
const regionTransferLeader: CommandHandler = (ctx, [, , idArg, storeArg]) => {
  const id = positiveId(idArg);
  const store = positiveId(storeArg);
  if (id === undefined) return new ErrorReply('ERR region id must be a positive integer');
  if (store === undefined) return new ErrorReply('ERR store id must be a positive integer');
  ctx.server.cluster.transferLeader(id, store);
  return OK;
};

const C = { group: 'cluster', since: '3.0.0' } as const;
const R = { group: 'region', since: '0.1.0' } as const;

export const CLUSTER_COMMANDS: Spec[] = [
  {
    ...C,
    name: 'cluster',
    arity: -2,
    flags: [],
    summary: 'A container for Redis Cluster commands (regions shown as shards).',
    subcommands: [
      { ...C, name: 'info', arity: 2, flags: ['stale'], summary: 'Returns information about the state of a node.', handler: info },
      { ...C, name: 'slots', arity: 2, flags: ['stale'], summary: 'Returns the mapping of cluster slots to nodes (region leaders as masters).', handler: slotsReply },
      { ...C, name: 'shards', arity: 2, flags: ['stale'], since: '7.0.0', summary: 'Returns the mapping of cluster slots to shards.', handler: shards },
      { ...C, name: 'nodes', arity: 2, flags: ['stale'], summary: 'Returns the cluster configuration for a node.', handler: nodes },
      { ...C, name: 'keyslot', arity: 3, flags: ['stale'], summary: 'Returns the hash slot for a key.', handler: keyslot },
      { ...C, name: 'countkeysinslot', arity: 3, flags: ['stale'], summary: 'Returns the number of keys in a hash slot.', handler: countKeysInSlot },
      { ...C, name: 'myid', arity: 2, flags: ['stale'], summary: 'Returns the ID of a node.', handler: myid },
      { ...C, name: 'help', arity: 2, flags: ['stale'], summary: 'Returns helpful text about the different subcommands.', handler: help },
    ],
  },
  {
    ...R,
    name: 'region',
    arity: -2,
    flags: [],
    summary: "This store's region replicas (REGION LIST), a digest of one replica's data (REGION DIGEST id), leader transfer (REGION TRANSFER-LEADER id storeId).",
    subcommands: [
      { ...R, name: 'list', arity: 2, flags: ['stale'], summary: 'Lists the region replicas hosted by this store: slots, role, applied index, term, leader.', handler: regionList },
      { ...R, name: 'digest', arity: 3, flags: ['stale'], summary: 'Returns [applied index, sha1 hex] of the local replica of a region, read at one consistent point.', handler: regionDigest },
      {
        ...R,
        name: 'transfer-leader',
        arity: 4,
        flags: ['admin'],
        summary: 'Hands the leadership of a region this store leads to its replica on another store (REGION TRANSFER-LEADER id storeId).',
        handler: regionTransferLeader,
      },
    ],
  },
  { ...C, name: 'readonly', arity: 1, flags: ['fast'], summary: 'Enables read-only queries on a follower replica (linearizable through ReadIndex).', handler: readonly },
  { ...C, name: 'readwrite', arity: 1, flags: ['fast'], summary: 'Disables read-only queries for a connection.', handler: readwrite },
  { ...C, name: 'asking', arity: 1, flags: ['fast'], summary: 'Accepted for Redis Cluster clients; redraft never answers ASK.', handler: asking },
];
