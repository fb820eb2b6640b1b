// A store without a network for unit tests of commands and apply: the real
// dispatcher, command table and apply over an in-memory engine and a
// single-replica region. End-to-end tests use the real server and RocksDB.
import { MemoryEngine } from '@redraft/common';
import type { Engine, Reply } from '@redraft/common';
import pino from 'pino';
import { Dispatcher } from '../src/dispatch';
import type { Router } from '../src/dispatch';
import { storeCommandTable } from '../src/commands/table';
import { LocalRegion } from '../src/region/local';
import type { ClientState, NodeInfo, ServerFacade } from '../src/commands/context';
import { Keyspace } from '../src/data/keyspace';
import { BlockingRegistry } from '../src/blocking';
import { PubSubHub } from '../src/pubsub';
import { KeyspaceNotifier } from '../src/notify';

export function testClient(id = 1): TestClient {
  return {
    id,
    name: '',
    protocol: 2,
    db: 0,
    libName: '',
    libVer: '',
    readonly: false,
    createdAt: Date.now(),
    lastCommand: '',
    remoteAddress: '127.0.0.1:50000',
    localAddress: '127.0.0.1:6379',
    closeAfterReply() {
      this.closed = 'after-reply';
    },
    kill() {
      this.closed = 'now';
    },
    closed: null,
  } as ClientState & { closed: 'after-reply' | 'now' | null };
}

/** A test client also records how it was asked to close (QUIT, CLIENT KILL). */
export type TestClient = ClientState & { closed: 'after-reply' | 'now' | null };

export interface TestStore {
  engine: Engine;
  region: LocalRegion;
  client: TestClient;
  /** The connected clients the fake facade reports (CLIENT LIST/KILL); the store's own client first. */
  clients: ClientState[];
  /** The fake node facts INFO reads; tests may change the counters. */
  node: NodeInfo;
  /** The live settings Map behind CONFIG GET/SET. */
  config: Map<string, string>;
  /** This store's Pub/Sub subscribers, and the keyspace notifications published through them. */
  pubsub: PubSubHub;
  notifier: KeyspaceNotifier;
  /** Runs one command as `client` (default: the store's own test client). */
  exec(...args: Array<string | Buffer | number>): Promise<Reply>;
  execAs(client: ClientState, ...args: Array<string | Buffer | number>): Promise<Reply>;
  dispatcher: Dispatcher;
}

/** `router` may replace the store's router (it gets the plain one: every key in the one region). */
export async function testStore(engine: Engine = new MemoryEngine(), router?: (plain: Router) => Router): Promise<TestStore> {
  const log = pino({ level: 'silent' });
  const region = await LocalRegion.open(engine, log);
  const table = storeCommandTable();
  const clients: ClientState[] = [];
  const node: NodeInfo = {
    mode: 'standalone',
    runId: 'a'.repeat(40),
    startedAtMs: Date.now() - 5000,
    tcpPort: 6379,
    executable: '/usr/bin/redraft',
    configFile: '',
    totalConnectionsReceived: 1,
    totalCommandsProcessed: 0,
    rejectedConnections: 0,
    totalNetInputBytes: 0,
    totalNetOutputBytes: 0,
    expiredKeys: 0,
    totalErrorReplies: 0,
  };
  const config = new Map<string, string>([
    ['port', '6379'],
    ['bind', '127.0.0.1'],
    ['dir', '/tmp/redraft-test'],
  ]);
  const pubsub = new PubSubHub();
  const notifier = new KeyspaceNotifier(pubsub);
  const facade: ServerFacade = {
    commands: table,
    regions: () => [{ id: region.id, startSlot: region.startSlot, endSlot: region.endSlot }],
    clients: () => clients,
    node: () => node,
    config: () => config,
    cluster: {
      myself: () => ({ id: 'a'.repeat(40), host: '127.0.0.1', port: 6379, busPort: 16379, connected: true, myself: true }),
      nodes: () => [],
      shards: () => [],
      replicas: () => [],
      digest: async () => [0, ''],
      transferLeader: () => {},
    },
    readRegion: async () => new Keyspace(engine, Date.now()),
    writeRegion: (_id, op) => region.propose({ ...op, proposedAtMs: Date.now() }),
    blocking: new BlockingRegistry(),
    pubsub,
    notifier,
  };
  const plainRouter: Router = { regionFor: () => region, engineReader: () => engine };
  const dispatcher = new Dispatcher(table, router ? router(plainRouter) : plainRouter, facade, log);
  const client = testClient();
  clients.push(client);
  const toBuf = (a: string | Buffer | number): Buffer => (Buffer.isBuffer(a) ? a : Buffer.from(String(a)));
  const execAs = (c: ClientState, ...args: Array<string | Buffer | number>): Promise<Reply> => dispatcher.execute(c, args.map(toBuf));
  return { engine, region, client, clients, node, config, pubsub, notifier, exec: (...args) => execAs(client, ...args), execAs, dispatcher };
}

/** Replies with Buffers turned into strings, for readable assertions. */
export function plain(reply: Reply): unknown {
  if (Buffer.isBuffer(reply)) return reply.toString('utf8');
  if (Array.isArray(reply)) return reply.map(plain);
  return reply;
}
