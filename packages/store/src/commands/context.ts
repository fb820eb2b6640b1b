// What a command handler gets: its client, the clock reading of this
// command, and the two ways to touch data — read (after the region's
// linearizable read barrier) and write (proposed, answered after apply).
import type { CommandSpec, Handler, Lookup, Reply, pb } from '@redraft/common';
import type { Keyspace } from '../data/keyspace';
import type { ClusterFacade } from './cluster';
import type { BlockingRegistry } from '../blocking';
import type { PubSubHub } from '../pubsub';
import type { KeyspaceNotifier } from '../notify';
import type { KeysPage, KeysPageRequest } from '../keys-fanout';
import type { KeyCounts } from './key-counts';

/** Per-client state the commands use; the RESP server's Connection provides it. */
export interface ClientState {
  readonly id: number;
  name: string;
  protocol: 2 | 3;
  db: number;
  libName: string;
  libVer: string;
  readonly: boolean;
  readonly createdAt: number;
  lastCommand: string;
  readonly remoteAddress: string;
  readonly localAddress: string;
  /** Closes the connection once the reply of the current command is written (QUIT, CLIENT KILL of oneself). */
  closeAfterReply(): void;
  /** Closes the connection now, dropping pending replies (CLIENT KILL of another client). */
  kill(): void;
  // Optional figures for CLIENT LIST / CLIENT INFO (the RESP Connection has them):
  /** Wall-clock ms of the client's last command (idle=); createdAt when absent. */
  readonly lastInteraction?: number;
  /** Bytes waiting in the query buffer (qbuf=) and in the output buffer (omem=). */
  readonly queryBufferBytes?: number;
  readonly outputBufferBytes?: number;
  /** The socket's file descriptor (fd=); -1 when unknown. */
  readonly fd?: number;
}

export interface CommandContext {
  readonly client: ClientState;
  /** Wall-clock ms when the command started; a write's proposed_at_ms. */
  readonly now: number;
  /** The keyspace to read `keys` from, once their region is ready for a linearizable read. */
  read(keys: Buffer[]): Promise<Keyspace>;
  /**
   * The keyspace to read `keys` from now, when their region needs no wait
   * for a linearizable read (RegionHandle.readNow); undefined: use `read`.
   * Absent where reads are never immediate (inside apply).
   */
  readNow?(keys: Buffer[]): Keyspace | undefined;
  /** Proposes `op` to the region of `keys`; resolves with apply's reply. */
  write(keys: Buffer[], op: Omit<pb.WriteCommand.$Properties, 'proposedAtMs'>): Promise<Reply>;
  /**
   * A uniform number in [0, 1) for random choices (ZRANDMEMBER...): Math.random
   * when serving a client, a generator seeded by the entry when a transaction
   * runs in apply (so every replica chooses alike).
   */
  random(): number;
  /** True when the command runs inside a transaction's apply (blocking commands must not block). */
  readonly inTransaction?: boolean;
  /**
   * Runs another command for this client now (no ordering gate), with the
   * usual routing, forwarding and retries: EXEC runs its queued commands so.
   * `handler` replaces the table's (EXEC's internal form).
   */
  runCommand(args: Buffer[], handler?: CommandHandler): Promise<Reply>;
  /** Server-level facilities (INFO, DBSIZE, FLUSHALL, CLIENT LIST, COMMAND...). */
  readonly server: ServerFacade;
}

/**
 * Facts about the running node for INFO, HELLO and CLIENT (see commands/server.ts,
 * which formats them as Redis 7.0 does). Counters are cumulative since the start.
 */
export interface NodeInfo {
  /** 'standalone' for the single-replica store; 'cluster' once regions are served as a cluster. */
  readonly mode: 'standalone' | 'cluster';
  /** 40 hex characters, random at every process start (INFO run_id). */
  readonly runId: string;
  /** Wall-clock ms when the process started (uptime, rdb_last_save_time). */
  readonly startedAtMs: number;
  /** The RESP port this node listens on. */
  readonly tcpPort: number;
  /** Absolute path of the program and of the config file ('' when none). */
  readonly executable: string;
  readonly configFile: string;
  readonly totalConnectionsReceived: number;
  readonly totalCommandsProcessed: number;
  readonly rejectedConnections: number;
  readonly totalNetInputBytes: number;
  readonly totalNetOutputBytes: number;
  /** Keys removed because they expired (0 until the expiry cycle exists). */
  readonly expiredKeys: number;
  readonly totalErrorReplies: number;
  /** Replicated mode: region replicas here, those that lead, those that hibernate (INFO cluster). */
  readonly regions?: { hosted: number; leading: number; hibernating: number };
}

/** What server/connection commands need from the node; implemented by the store node. */
export interface ServerFacade {
  readonly commands: {
    all(): Spec[];
    get(name: string): Spec | undefined;
    info(s: Spec): Reply;
    docs(s: Spec): Reply;
    size: number;
    /** The table's own lookup (subcommands, arity): COMMAND GETKEYS. */
    lookup(args: Buffer[]): Lookup<CommandContext>;
  };
  /** Keys in every region this node serves (single replica: all). */
  regions(): Array<{ id: number; startSlot: number; endSlot: number }>;
  /** Every connected client (CLIENT LIST/KILL, INFO connected_clients). */
  clients(): ClientState[];
  /** Node facts and counters for INFO (sections are formatted in commands/server.ts). */
  node(): NodeInfo;
  /**
   * The node's last key count (key-counts.ts): INFO keyspace waits for a
   * count only so long, then shows the last one. Absent: INFO counts, however
   * long that takes.
   */
  readonly keyCounts?: KeyCounts;
  /**
   * The live settings, by canonical Redis name (port, bind, dir,
   * proto-max-bulk-len, maxclients, ...). CONFIG GET reads it over the
   * defaults of commands/server.ts; CONFIG SET writes the settings declared
   * settable there into this same Map, so the node can read them live.
   */
  config(): Map<string, string>;
  /** Reads at a given region (e.g. DBSIZE per region), after its read barrier. */
  readRegion(regionId: number): Promise<Keyspace>;
  writeRegion(regionId: number, op: Omit<pb.WriteCommand.$Properties, 'proposedAtMs'>): Promise<Reply>;
  /**
   * A page of the cluster's live keys from `fromSlot` on, read at the
   * leader of that slot's region (keys-fanout.ts). Absent: every region is
   * read here (a single-replica node).
   */
  keysPage?(req: KeysPageRequest): Promise<KeysPage>;
  /** Regions as Redis Cluster shards (CLUSTER SLOTS/NODES/...). */
  readonly cluster: ClusterFacade;
  /** Clients blocked in BLPOP & co. on this store (blocking.ts). */
  readonly blocking?: BlockingRegistry;
  /** Channel, pattern and shard-channel subscribers on this store (pubsub.ts). */
  readonly pubsub?: PubSubHub;
  /** Keyspace notifications (notify.ts): told of every write this store ran. */
  readonly notifier?: KeyspaceNotifier;
}

export type Spec = CommandSpec<CommandContext>;
export type CommandHandler = Handler<CommandContext>;
