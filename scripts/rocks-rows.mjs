#!/usr/bin/env node
// What RocksDB's writes alone cost a store per replicated write, through the
// same RocksEngine.write (the binding's native batch) the stores use: each
// write leaves a replica one log row (put), one data row (put) and, once the
// log is compacted, the log row's delete (peer-storage.ts `compact`). Batches
// of the sizes a round holds (about 20 writes at -P 1 -c 50, 160 at -P 16),
// synced like a round's write, back to back; the batches are built before the
// clock starts, so the figure is the binding and RocksDB (its flush and
// compaction threads included: process.cpuUsage covers every thread), not
// the JavaScript that builds rows. The bench (scripts/bench.sh) prints it
// beside the CPU per request a target leaves the three stores.
//
// Usage: node scripts/rocks-rows.mjs [--writes N] [--batch B ...] [--csv]
//   --csv   one line per batch size: batch,us_per_write,us_per_put
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { RocksEngine, WriteBatch, raftLogKey, metaKey, applyStateKey, hardStateKey } = require(join(root, 'packages/common/dist/src/index.js'));

const args = process.argv.slice(2);
let writes = 100000;
const batches = [];
let csv = false;
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--writes') writes = Number(args[++i]);
  else if (args[i] === '--batch') batches.push(Number(args[++i]));
  else if (args[i] === '--csv') csv = true;
  else {
    console.error(`rocks-rows: unknown option ${args[i]}\nusage: rocks-rows.mjs [--writes N] [--batch B ...] [--csv]`);
    process.exit(2);
  }
}
if (batches.length === 0) batches.push(20, 160);
if (!Number.isInteger(writes) || writes < 1000 || batches.some((b) => !Number.isInteger(b) || b < 1)) {
  console.error('rocks-rows: --writes is a whole number of at least 1000, --batch at least 1');
  process.exit(2);
}

const REGION = 5;
const KEEP_LOG = 1000; // log rows kept before compaction deletes them
const entryValue = Buffer.alloc(60, 7); // an encoded Entry holding a SET of a short value
const dataValue = Buffer.alloc(12, 3); // a string's metadata row with its value inline

/** The batches of `n` writes of `shape`, `size` per batch, from log index `from`. */
function build(n, size, from, shape) {
  const out = [];
  for (let done = 0; done < n; done += size) {
    const b = new WriteBatch();
    for (let j = 0; j < size; j++) {
      const i = from + done + j;
      if (shape === 'write') b.put(raftLogKey(REGION, i), entryValue);
      b.put(metaKey(i % 16384, Buffer.from(`key:${String(i % 100000).padStart(12, '0')}`)), dataValue);
      if (shape === 'write' && i > KEEP_LOG) b.del(raftLogKey(REGION, i - KEEP_LOG));
    }
    if (shape === 'write') {
      b.put(applyStateKey(REGION), entryValue.subarray(0, 20));
      b.put(hardStateKey(REGION), entryValue.subarray(0, 16));
    }
    out.push(b);
  }
  return out;
}

/** CPU µs per write (user + system, every thread) of writing `shape` rows in batches of `size`. */
async function measure(size, shape) {
  const dir = mkdtempSync(join(tmpdir(), 'rocks-rows-'));
  const db = await RocksEngine.open(dir);
  try {
    for (const b of build(Math.min(writes, 20000), size, 1, shape)) await db.write(b, true); // warm-up
    const timed = build(writes, size, 20001, shape);
    const c0 = process.cpuUsage();
    for (const b of timed) await db.write(b, true);
    const c = process.cpuUsage(c0);
    return (c.user + c.system) / writes;
  } finally {
    await db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (!csv) {
  console.log(`RocksDB writes alone, through RocksEngine.write, synced batches back to back (${writes} writes per figure)`);
  console.log('batch   a replica\'s rows per write (log put, data put, log delete), us   one put alone, us   three replicas, us');
}
for (const size of batches) {
  const perWrite = await measure(size, 'write');
  const perPut = await measure(size, 'put');
  if (csv) console.log(`${size},${perWrite.toFixed(2)},${perPut.toFixed(2)}`);
  else console.log(`${String(size).padStart(5)}   ${perWrite.toFixed(2).padStart(66)}   ${perPut.toFixed(2).padStart(17)}   ${(3 * perWrite).toFixed(2).padStart(18)}`);
}
