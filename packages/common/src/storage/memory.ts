// An in-memory engine for unit tests of the layers above storage. Never used
// in place of RocksDB in end-to-end tests.
import type { Engine, ScanOptions, WriteBatch } from './engine';

export class MemoryEngine implements Engine {
  private readonly data = new Map<string, Buffer>();

  async get(key: Buffer): Promise<Buffer | undefined> {
    return this.data.get(key.toString('latin1'));
  }

  async getMany(keys: Buffer[]): Promise<Array<Buffer | undefined>> {
    return keys.map((k) => this.data.get(k.toString('latin1')));
  }

  async write(batch: WriteBatch): Promise<void> {
    for (const op of batch.ops) {
      if (op.type === 'put') this.data.set(op.key.toString('latin1'), op.value);
      else this.data.delete(op.key.toString('latin1'));
    }
  }

  async *scan(opts: ScanOptions): AsyncIterable<[Buffer, Buffer]> {
    const lo = opts.gte.toString('latin1');
    const hi = opts.lt.toString('latin1');
    const keys = [...this.data.keys()].filter((k) => k >= lo && k < hi).sort();
    if (opts.reverse) keys.reverse();
    const limit = opts.limit ?? -1;
    let n = 0;
    for (const k of keys) {
      if (limit >= 0 && n++ >= limit) return;
      yield [Buffer.from(k, 'latin1'), this.data.get(k)!];
    }
  }

  async approximateSize(gte: Buffer, lt: Buffer): Promise<number> {
    let n = 0;
    for await (const [k, v] of this.scan({ gte, lt })) n += k.length + v.length;
    return n;
  }

  async close(): Promise<void> {}
}
