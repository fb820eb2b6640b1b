#!/usr/bin/env node
// Prints the functions with the most self time in V8 .cpuprofile files
// (written by `node --cpu-prof`), one table per file, and the share of
// time in a few groups (GC, idle, RocksDB binding, protobuf, RESP, raft)
// so a profile can be summarised in docs/performance.md.
//
// Usage: node scripts/cpuprofile-top.mjs [--top N] FILE.cpuprofile...
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';

const args = process.argv.slice(2);
let top = 25;
const files = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--top') top = Number(args[++i]);
  else files.push(args[i]);
}
if (files.length === 0 || !Number.isInteger(top) || top <= 0) {
  console.error('usage: node scripts/cpuprofile-top.mjs [--top N] FILE.cpuprofile...');
  process.exit(2);
}

/** Which group a frame's time counts toward, by its function name and file. */
function groupOf(fn, url) {
  if (fn === '(garbage collector)') return 'gc';
  if (fn === '(idle)') return 'idle';
  if (fn === '(program)') return 'program (native, outside JS)';
  if (/rocksdb|abstract-level|level-/.test(url)) return 'rocksdb binding';
  if (/protobufjs|\/gen\/proto/.test(url)) return 'protobuf';
  if (/redis-parser|\/resp\//.test(url)) return 'resp';
  if (/\/raft\//.test(url)) return 'raft core';
  if (/\/raftstore\//.test(url)) return 'raftstore';
  if (/\/apply\/|\/data\/|\/commands\//.test(url)) return 'commands + apply';
  if (/\/transport|peer-|\/net\//.test(url)) return 'transport';
  if (url.startsWith('node:') || url === '') return 'node internals';
  return 'other';
}

for (const file of files) {
  const p = JSON.parse(readFileSync(file, 'utf8'));
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const self = new Map();
  const deltas = p.timeDeltas ?? [];
  for (let i = 0; i < p.samples.length; i++) {
    const n = byId.get(p.samples[i]);
    self.set(n, (self.get(n) ?? 0) + (deltas[i] ?? 0));
  }
  const total = [...self.values()].reduce((a, b) => a + b, 0);
  const byFn = new Map();
  const byGroup = new Map();
  for (const [n, us] of self) {
    const cf = n.callFrame;
    const where = cf.url ? `${cf.url.replace(/^.*\/(packages|node_modules)\//, '$1/')}:${cf.lineNumber + 1}` : '';
    const key = `${cf.functionName || '(anonymous)'} ${where}`;
    byFn.set(key, (byFn.get(key) ?? 0) + us);
    const g = groupOf(cf.functionName, cf.url);
    byGroup.set(g, (byGroup.get(g) ?? 0) + us);
  }
  const pct = (us) => ((100 * us) / total).toFixed(1).padStart(5);
  const busy = total - (byGroup.get('idle') ?? 0);
  console.log(`\n== ${basename(file)}: ${(total / 1e6).toFixed(1)} s sampled, ${(busy / 1e6).toFixed(1)} s busy`);
  console.log('groups (% of sampled time):');
  for (const [g, us] of [...byGroup].sort((a, b) => b[1] - a[1])) console.log(`  ${pct(us)}%  ${g}`);
  console.log(`top ${top} functions by self time:`);
  for (const [k, us] of [...byFn].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`  ${pct(us)}%  ${k}`);
}
