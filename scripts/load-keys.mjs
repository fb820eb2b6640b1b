#!/usr/bin/env node
// Loads N string keys (key:0 .. key:N-1) of B bytes each, quickly: keys are
// grouped by slot and written with one MSET per slot group (so it works on
// redis-server, a standalone store, a playground through one store, and,
// with --cluster, straight to each slot's leader), many MSETs in flight.
// Used by scripts/bench.sh for "RSS with 1M keys"; prints keys/s.
//
// Usage: node scripts/load-keys.mjs --port P [--cluster] [--keys N] [--value-bytes B] [--inflight K] [--batch M]
import { Command } from 'commander';
import Redis from 'ioredis';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { keySlot } = require('../packages/common/dist/src/keys.js');

const positive = (name) => (v) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`${name} must be a positive integer, got ${v}`);
  return n;
};
const program = new Command()
  .requiredOption('--port <port>', 'a RESP port of the server', positive('--port'))
  .option('--host <host>', 'its host', '127.0.0.1')
  .option('--cluster', 'use a cluster client (each MSET straight to its slot\'s leader)')
  .option('--keys <n>', 'how many keys', positive('--keys'), 1_000_000)
  .option('--value-bytes <b>', 'bytes per value', positive('--value-bytes'), 100)
  .option('--inflight <k>', 'MSETs in flight', positive('--inflight'), 64)
  .option('--batch <m>', 'most keys in one MSET', positive('--batch'), 100)
  .parse();
const o = program.opts();

// Slot groups, cut into MSETs of at most --batch keys.
const bySlot = new Map();
for (let i = 0; i < o.keys; i++) {
  const key = `key:${i}`;
  const slot = keySlot(Buffer.from(key));
  let g = bySlot.get(slot);
  if (!g) bySlot.set(slot, (g = []));
  g.push(key);
}
const value = Buffer.alloc(o.valueBytes, 'x');
const commands = [];
for (const keys of bySlot.values()) {
  for (let i = 0; i < keys.length; i += o.batch) {
    const args = [];
    for (const k of keys.slice(i, i + o.batch)) args.push(k, value);
    commands.push(args);
  }
}

const client = o.cluster
  ? new Redis.Cluster([{ host: o.host, port: o.port }], { redisOptions: { maxRetriesPerRequest: 20 } })
  : new Redis({ host: o.host, port: o.port, maxRetriesPerRequest: 20 });
const started = performance.now();
let next = 0;
async function worker() {
  while (next < commands.length) {
    const args = commands[next++];
    await client.mset(...args);
  }
}
try {
  await Promise.all(Array.from({ length: o.inflight }, worker));
  const s = (performance.now() - started) / 1000;
  console.log(`loaded ${o.keys} keys of ${o.valueBytes} bytes in ${commands.length} MSETs, ${s.toFixed(1)} s (${Math.round(o.keys / s)} keys/s)`);
} catch (e) {
  console.error(`load-keys: ${e.message}`);
  process.exitCode = 1;
} finally {
  client.disconnect();
}
