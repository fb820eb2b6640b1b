#!/usr/bin/env node
// Where the CPU of a `perf record` went, by kind: the kernel (syscalls,
// TCP, fsync, scheduling), the RocksDB binding (RocksDB itself runs inside
// it, mostly on libuv's threads), JavaScript compiled by V8, V8's compiler
// and garbage collector, the rest of V8 and Node (builtins, inline caches,
// the interpreter, libuv), and the C libraries; then the top symbols.
// Self time: each sample counts once, at its innermost frame.
//
// Usage: node scripts/perf-summary.mjs PERF_DATA [--top N]
import { execFileSync } from 'node:child_process';
import { KINDS, kindOf } from './perf-kinds.mjs';

const args = process.argv.slice(2);
const file = args.find((a) => !a.startsWith('--'));
const topIdx = args.indexOf('--top');
const top = topIdx >= 0 ? Number(args[topIdx + 1]) : 20;
if (!file || !Number.isInteger(top) || top < 0) {
  console.error('usage: perf-summary.mjs PERF_DATA [--top N]');
  process.exit(2);
}

const report = execFileSync('perf', ['report', '-i', file, '--no-children', '--sort', 'dso,sym', '--stdio', '-g', 'none'], {
  encoding: 'utf8',
  maxBuffer: 256 * 1024 * 1024,
  stdio: ['ignore', 'pipe', 'ignore'],
});

const kinds = new Map();
const syms = [];
for (const line of report.split('\n')) {
  // "    12.34%  dso  [.] symbol" (the dso column may hold spaces: "[JIT] tid 123")
  const m = /^\s+([\d.]+)%\s+(.+?)\s+\[([.k])\]\s+(.*)$/.exec(line);
  if (!m) continue;
  const pct = Number(m[1]);
  const dso = m[2].trim();
  const sym = m[4].trim();
  const kind = KINDS[kindOf(dso, sym)];
  kinds.set(kind, (kinds.get(kind) ?? 0) + pct);
  syms.push({ pct, dso, sym });
}
if (syms.length === 0) {
  console.error(`perf-summary: no samples in ${file}`);
  process.exit(1);
}
console.log('self share of the samples, by kind');
for (const [kind, pct] of [...kinds].sort((a, b) => b[1] - a[1])) console.log(`${pct.toFixed(1).padStart(6)} %  ${kind}`);
console.log(`\ntop ${top} symbols`);
for (const { pct, dso, sym } of syms.slice(0, top)) console.log(`${pct.toFixed(2).padStart(6)} %  ${sym.slice(0, 110)}  (${dso.replace(/^.*\//, '')})`);
