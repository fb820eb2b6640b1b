// A store node: one RocksDB, the regions it hosts, the RESP front end.
// In standalone mode (no meta) it hosts one single-replica region over all
// slots: the store of issue 2, which the replicated mode keeps under it.
import { join } from 'node:path';
import { RespServer, RocksEngine, SLOT_COUNT, keySlot } from '@redraft/common';
import type { Connection, Engine, KvReader, Logger, Reply, pb } from '@redraft/common';
import { Dispatcher } from './dispatch';
import { storeCommandTable } from './commands/table';
import type { ServerFacade } from './commands/context';
import { Keyspace } from './data/keyspace';
import { CommandError } from './data/errors';
import { LocalRegion } from './region/local';
import type { RegionHandle } from './region/region';

export interface StoreOptions {
  host: string;
  port: number;
  dataDir: string;
  maxBulkLen: number;
  maxMultibulkLen: number;
  log: Logger;
}

export class StoreNode {
  readonly startedAt = Date.now();
  private server!: RespServer;
  private region!: LocalRegion;
  private engine!: Engine;
  private dispatcher!: Dispatcher;

  constructor(readonly opts: StoreOptions) {}

  static async start(opts: StoreOptions): Promise<StoreNode> {
    const node = new StoreNode(opts);
    await node.open();
    return node;
  }

  get port(): number {
    return this.server.address().port;
  }

  private async open(): Promise<void> {
    const { log } = this.opts;
    this.engine = await RocksEngine.open(join(this.opts.dataDir, 'db'));
    this.region = await LocalRegion.open(this.engine, log);
    const table = storeCommandTable();
    this.dispatcher = new Dispatcher(table, this.router(), this.facade(table), log.child({ component: 'dispatch' }));
    this.server = new RespServer({
      host: this.opts.host,
      port: this.opts.port,
      maxBulkLen: this.opts.maxBulkLen,
      maxMultibulkLen: this.opts.maxMultibulkLen,
      logger: log.child({ component: 'resp' }),
      handler: (conn, args) => this.dispatcher.execute(conn, args),
    });
    await this.server.listen();
    log.info({ port: this.port, dataDir: this.opts.dataDir, appliedIndex: this.region.applied }, 'store ready');
  }

  private router() {
    const engine = this.engine;
    const region = this.region;
    return {
      regionFor(slots: number[]): RegionHandle {
        for (const s of slots) if (s < region.startSlot || s >= region.endSlot) throw new CommandError('CLUSTERDOWN Hash slot not served');
        return region;
      },
      engineReader(): KvReader {
        return engine;
      },
    };
  }

  private facade(table: ReturnType<typeof storeCommandTable>): ServerFacade {
    const node = this;
    return {
      commands: table,
      regions: () => [{ id: node.region.id, startSlot: node.region.startSlot, endSlot: node.region.endSlot }],
      clients: () => [...node.server.connections.values()],
      info: async () => '',
      config: () => node.configMap(),
      readRegion: async () => new Keyspace(node.engine, Date.now()),
      writeRegion: (_id: number, op: Omit<pb.WriteCommand.$Properties, 'proposedAtMs'>): Promise<Reply> =>
        node.region.propose({ ...op, proposedAtMs: Date.now() }),
    };
  }

  configMap(): Map<string, string> {
    return new Map([
      ['bind', this.opts.host],
      ['port', String(this.port)],
      ['dir', this.opts.dataDir],
      ['proto-max-bulk-len', String(this.opts.maxBulkLen)],
      ['databases', '1'],
      ['maxmemory', '0'],
      ['save', ''],
      ['appendonly', 'yes'],
      ['appendfsync', 'always'],
      ['cluster-enabled', 'no'],
    ]);
  }

  async stop(): Promise<void> {
    await this.server.close();
    await this.engine.close();
    this.opts.log.info('store stopped');
  }
}

export type { Connection };
void SLOT_COUNT;
void keySlot;
