// RocksEngine's row cache never answers what the engine would not: reads
// and writes of overlapping rows, many in flight at once, on real RocksDB,
// compared at every quiet moment with an iterator (which never goes
// through the cache).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RocksEngine } from '../../src/storage/rocks';
import { WriteBatch } from '../../src/storage/engine';

const cacheable = (k: Buffer): boolean => k[0] === 0x6d; // 'm'
const KEYS = [...Array.from({ length: 12 }, (_, i) => Buffer.from(`m${i}`)), Buffer.from('x0'), Buffer.from('x1')];

/** A small seeded generator (mulberry32), so that a failure replays. */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

async function truth(engine: RocksEngine): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for await (const [k, v] of engine.scan({ gte: Buffer.from([0]), lt: Buffer.from([0xff]) })) out.set(k.toString(), v.toString());
  return out;
}

async function withEngine(maxBytes: number, body: (engine: RocksEngine) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'redraft-rowcache-'));
  const engine = await RocksEngine.open(join(dir, 'db'), { rowCache: { cacheable, maxBytes } });
  try {
    await body(engine);
  } finally {
    await engine.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

for (const [name, maxBytes] of [['roomy', 1 << 20], ['evicting', 1500]] as const) {
  test(`row cache (${name}): overlapping reads and writes in flight, then every read equals the engine`, async () => {
    await withEngine(maxBytes, async (engine) => {
      const rnd = random(name === 'roomy' ? 7 : 11);
      const pick = (): Buffer => KEYS[Math.floor(rnd() * KEYS.length)];
      for (let round = 0; round < 300; round++) {
        const inFlight: Array<Promise<unknown>> = [];
        const steps = 1 + Math.floor(rnd() * 6);
        for (let s = 0; s < steps; s++) {
          const r = rnd();
          if (r < 0.35) {
            const b = new WriteBatch();
            for (let i = 0, n = 1 + Math.floor(rnd() * 3); i < n; i++) {
              if (rnd() < 0.25) b.del(pick());
              else b.put(pick(), Buffer.from(`v${round}.${s}.${i}`));
            }
            inFlight.push(engine.write(b, rnd() < 0.3));
          } else if (r < 0.7) {
            inFlight.push(engine.get(pick()));
          } else {
            inFlight.push(engine.getMany([pick(), pick(), pick()]));
          }
          // Sometimes let the thread pool move, so that writes and reads land in between.
          if (rnd() < 0.3) await new Promise((res) => setImmediate(res));
        }
        await Promise.all(inFlight);
        // Quiet: everything the engine answers (cache or disk) is what it holds.
        const want = await truth(engine);
        const got = await engine.getMany(KEYS);
        for (let i = 0; i < KEYS.length; i++) assert.equal(got[i]?.toString(), want.get(KEYS[i].toString()), `round ${round}, key ${KEYS[i]}`);
        for (const k of KEYS) assert.equal((await engine.get(k))?.toString(), want.get(k.toString()), `round ${round}, get ${k}`);
      }
      const stats = engine.cache!.stats;
      assert.ok(stats.hits > 0 && stats.fills > 0, `the cache was used: ${JSON.stringify(stats)}`);
      if (name === 'evicting') assert.ok(engine.cache!.size < KEYS.length, 'the byte bound holds rows out');
    });
  });
}

test('row cache: a write alone keeps the rows it changes that were cached; other rows are read once', async () => {
  await withEngine(1 << 20, async (engine) => {
    await engine.write(new WriteBatch().put(Buffer.from('m1'), Buffer.from('a')).put(Buffer.from('m2'), Buffer.from('b')), true);
    assert.equal((await engine.get(Buffer.from('m1')))?.toString(), 'a'); // fills m1
    const before = { ...engine.cache!.stats };
    await engine.write(new WriteBatch().put(Buffer.from('m1'), Buffer.from('a2')).put(Buffer.from('m2'), Buffer.from('b2')), false);
    assert.equal((await engine.get(Buffer.from('m1')))?.toString(), 'a2');
    assert.equal(engine.cache!.stats.hits, before.hits + 1, 'm1 stayed cached with its new value');
    assert.equal((await engine.get(Buffer.from('m2')))?.toString(), 'b2');
    assert.equal(engine.cache!.stats.misses, before.misses + 1, 'm2 was not cached by the write');
    // A delete is cached as "absent".
    await engine.write(new WriteBatch().del(Buffer.from('m1')), false);
    assert.equal(await engine.get(Buffer.from('m1')), undefined);
    assert.equal(engine.cache!.stats.hits, before.hits + 2);
    // Rows the predicate refuses are never cached.
    await engine.write(new WriteBatch().put(Buffer.from('x1'), Buffer.from('y')), false);
    await engine.get(Buffer.from('x1'));
    await engine.get(Buffer.from('x1'));
    assert.equal(engine.cache!.stats.hits, before.hits + 2);
  });
});
