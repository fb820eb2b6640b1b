// What a command handler gets: its client, the clock reading of this
// command, and the two ways to touch data — read (after the region's
// linearizable read barrier) and write (proposed, answered after apply).
import type { CommandSpec, Handler, Reply, pb } from '@redraft/common';
import type { Keyspace } from '../data/keyspace';
import type { ClusterFacade } from './cluster';

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
  closeAfterReply(): void;
}

export interface CommandContext {
  readonly client: ClientState;
  /** Wall-clock ms when the command started; a write's proposed_at_ms. */
  readonly now: number;
  /** The keyspace to read `keys` from, once their region is ready for a linearizable read. */
  read(keys: Buffer[]): Promise<Keyspace>;
  /** Proposes `op` to the region of `keys`; resolves with apply's reply. */
  write(keys: Buffer[], op: Omit<pb.WriteCommand.$Properties, 'proposedAtMs'>): Promise<Reply>;
  /** Server-level facilities (INFO, DBSIZE, FLUSHALL, CLIENT LIST, COMMAND...). */
  readonly server: ServerFacade;
}

/** What server/connection commands need from the node; implemented by the store node. */
export interface ServerFacade {
  readonly commands: { all(): Spec[]; get(name: string): Spec | undefined; info(s: Spec): Reply; docs(s: Spec): Reply; size: number };
  /** Keys in every region this node serves (single replica: all). */
  regions(): Array<{ id: number; startSlot: number; endSlot: number }>;
  clients(): ClientState[];
  info(section: string | undefined): Promise<string>;
  config(): Map<string, string>;
  /** Reads at a given region (e.g. DBSIZE per region), after its read barrier. */
  readRegion(regionId: number): Promise<Keyspace>;
  writeRegion(regionId: number, op: Omit<pb.WriteCommand.$Properties, 'proposedAtMs'>): Promise<Reply>;
  /** Regions as Redis Cluster shards (CLUSTER SLOTS/NODES/...). */
  readonly cluster: ClusterFacade;
}

export type Spec = CommandSpec<CommandContext>;
export type CommandHandler = Handler<CommandContext>;
