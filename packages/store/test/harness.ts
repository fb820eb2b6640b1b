// A store without a network for unit tests of commands and apply: the real
// dispatcher, command table and apply over an in-memory engine and a
// single-replica region. End-to-end tests use the real server and RocksDB.
import { MemoryEngine } from '@redraft/common';
import type { Engine, Reply } from '@redraft/common';
import pino from 'pino';
import { Dispatcher } from '../src/dispatch';
import { storeCommandTable } from '../src/commands/table';
import { LocalRegion } from '../src/region/local';
import type { ClientState, ServerFacade } from '../src/commands/context';
import { Keyspace } from '../src/data/keyspace';

export function testClient(id = 1): ClientState {
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
    closeAfterReply() {},
  };
}

export interface TestStore {
  engine: Engine;
  region: LocalRegion;
  client: ClientState;
  /** Runs one command as `client` (default: the store's own test client). */
  exec(...args: Array<string | Buffer | number>): Promise<Reply>;
  execAs(client: ClientState, ...args: Array<string | Buffer | number>): Promise<Reply>;
}

export async function testStore(engine: Engine = new MemoryEngine()): Promise<TestStore> {
  const log = pino({ level: 'silent' });
  const region = await LocalRegion.open(engine, log);
  const table = storeCommandTable();
  const clients: ClientState[] = [];
  const facade: ServerFacade = {
    commands: table,
    regions: () => [{ id: region.id, startSlot: region.startSlot, endSlot: region.endSlot }],
    clients: () => clients,
    info: async () => '# Server\r\nredis_version:7.0.15\r\n',
    config: () => new Map([['maxmemory', '0']]),
    cluster: {
      myself: () => ({ id: 'a'.repeat(40), host: '127.0.0.1', port: 6379, busPort: 16379, connected: true, myself: true }),
      nodes: () => [],
      shards: () => [],
    },
    readRegion: async () => new Keyspace(engine, Date.now()),
    writeRegion: (_id, op) => region.propose({ ...op, proposedAtMs: Date.now() }),
  };
  const dispatcher = new Dispatcher(table, { regionFor: () => region, engineReader: () => engine }, facade, log);
  const client = testClient();
  clients.push(client);
  const toBuf = (a: string | Buffer | number): Buffer => (Buffer.isBuffer(a) ? a : Buffer.from(String(a)));
  const execAs = (c: ClientState, ...args: Array<string | Buffer | number>): Promise<Reply> => dispatcher.execute(c, args.map(toBuf));
  return { engine, region, client, exec: (...args) => execAs(client, ...args), execAs };
}

/** Replies with Buffers turned into strings, for readable assertions. */
export function plain(reply: Reply): unknown {
  if (Buffer.isBuffer(reply)) return reply.toString('utf8');
  if (Array.isArray(reply)) return reply.map(plain);
  return reply;
}
