#!/usr/bin/env node
// Draws a flame graph (an SVG, readable in any browser, hover a frame for its
// name and share) from a `perf record -g` of redraft's processes: every
// sample's stack from the root up, the width of a frame its share of all
// samples. The bottom rows are the process and the thread's kind (the JS
// main thread, or the other threads: libuv's pool, where RocksDB writes and
// syncs, and V8's compiler and GC helpers), so one graph of the playground
// shows its three stores side by side. Colours tell the kinds apart
// (scripts/perf-kinds.mjs, as perf-summary.mjs counts them): kernel,
// JavaScript, the RocksDB binding, V8's compiler and GC, the rest of V8,
// Node and libc.
//
// No library draws an SVG from perf's stacks in npm or Debian (0x and
// speedscope run their own collection and write HTML viewers), and the
// layout is a few lines: sort the folded stacks, give each frame the width
// of its samples.
//
// Usage: node scripts/flamegraph.mjs PERF_DATA --out FILE.svg [--title T] [--min-pct 0.05]
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { kindOf } from './perf-kinds.mjs';

const USAGE = 'usage: flamegraph.mjs PERF_DATA --out FILE.svg [--title T] [--min-pct 0.05]';
let values, positionals;
try {
  ({ values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      out: { type: 'string' },
      title: { type: 'string', default: 'redraft' },
      'min-pct': { type: 'string', default: '0.05' },
    },
  }));
} catch (e) {
  // An unknown option, or one missing its value: the usage, then the reason.
  console.error(`${USAGE}\nflamegraph: ${e.message}`);
  process.exit(2);
}
const minPct = Number(values['min-pct']);
if (positionals.length !== 1 || !values.out || !(minPct >= 0)) {
  console.error(USAGE);
  process.exit(2);
}

let text;
try {
  text = execFileSync('perf', ['script', '-i', positionals[0], '-F', 'pid,tid,ip,sym,dso'], {
    encoding: 'utf8',
    maxBuffer: 1024 * 1024 * 1024,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
} catch (e) {
  console.error(`flamegraph: perf script -i ${positionals[0]} failed: ${(e.stderr || e.message).toString().trim().split('\n')[0]}`);
  process.exit(1);
}

/** A frame's display name: JS frames without the checkout's path. */
function frameName(sym, dso) {
  if (!sym || sym === '[unknown]') return `[${dso.replace(/^.*\//, '').replace(/[()]/g, '') || 'unknown'}]`;
  return sym.replace(/\/[^ ]*\/packages\//, '').replace(/\/[^ ]*\/node_modules\//, '');
}

// Fold: "root;...;leaf" → samples, and each frame name's kind.
const folded = new Map();
const kinds = new Map();
let samples = 0;
let header = null;
let frames = [];
function flush() {
  if (header && frames.length) {
    const [pid, tid] = header;
    const stack = [`store pid ${pid}`, tid === pid ? 'main thread (JS, libuv loop)' : 'other threads (libuv pool: RocksDB, and V8 helpers)', ...frames.reverse()];
    const key = stack.join(';');
    folded.set(key, (folded.get(key) ?? 0) + 1);
    samples++;
  }
  header = null;
  frames = [];
}
for (const line of text.split('\n')) {
  if (line.trim() === '') continue;
  if (line[0] !== '\t') {
    flush();
    const m = /^\s*(\d+)\/(\d+)/.exec(line);
    header = m ? [m[1], m[2]] : null;
    continue;
  }
  // "\t  addr sym (dso)"
  const m = /^\s*[0-9a-f]+\s+(.*?)\s+\(([^)]*)\)\s*$/.exec(line);
  if (!m) continue;
  const name = frameName(m[1], m[2]).replace(/;/g, ',');
  if (!kinds.has(name)) kinds.set(name, kindOf(m[2], m[1] || ''));
  frames.push(name);
}
flush();
if (samples === 0) {
  console.error(`flamegraph: no samples with stacks in ${positionals[0]} (record with -g)`);
  process.exit(1);
}

// A tree of frames; children merged by name.
const root = { name: 'all', value: 0, children: new Map() };
for (const [key, n] of folded) {
  let node = root;
  node.value += n;
  for (const name of key.split(';')) {
    let child = node.children.get(name);
    if (!child) node.children.set(name, (child = { name, value: 0, children: new Map() }));
    child.value += n;
    node = child;
  }
}

const WIDTH = 1600;
const ROW = 16;
const TOP = 40;
const minValue = (samples * minPct) / 100;
const colours = {
  kernel: [230, 140, 50],
  js: [90, 180, 90],
  rocksdb: [80, 140, 220],
  compiler: [190, 120, 200],
  gc: [160, 90, 200],
  libc: [220, 90, 90],
  runtime: [220, 190, 80],
  root: [200, 200, 200],
};
let depthMax = 0;
const rects = [];
function layout(node, x, depth) {
  depthMax = Math.max(depthMax, depth);
  rects.push({ node, x, depth });
  let cx = x;
  for (const child of [...node.children.values()].sort((a, b) => a.name.localeCompare(b.name))) {
    if (child.value >= minValue) layout(child, cx, depth + 1);
    cx += child.value;
  }
}
layout(root, 0, 0);

const esc = (s) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const height = TOP + (depthMax + 1) * ROW + 10;
const scale = WIDTH / samples;
const out = [
  `<?xml version="1.0" standalone="no"?>`,
  `<svg version="1.1" width="${WIDTH}" height="${height}" xmlns="http://www.w3.org/2000/svg" font-family="Verdana, sans-serif" font-size="11">`,
  `<rect width="100%" height="100%" fill="#fafafa"/>`,
  `<text x="${WIDTH / 2}" y="18" text-anchor="middle" font-size="15">${esc(values.title)}</text>`,
  `<text x="${WIDTH / 2}" y="33" text-anchor="middle" fill="#555">${samples} samples; width = share of all samples; hover a frame for its name. ` +
    `Orange kernel, green JavaScript, blue RocksDB binding, purple V8 compiler/GC, red libc, yellow rest of V8/Node/libuv.</text>`,
];
for (const { node, x, depth } of rects) {
  const w = node.value * scale;
  const y = height - 10 - (depth + 1) * ROW;
  const kind = depth <= 2 ? 'root' : kinds.get(node.name);
  const [r, g, b] = colours[kind];
  // A little variation per name so that neighbours of one kind stay apart.
  let h = 0;
  for (let i = 0; i < node.name.length; i++) h = (h * 31 + node.name.charCodeAt(i)) >>> 0;
  const v = (h % 30) - 15;
  const fill = `rgb(${Math.min(255, r + v)},${Math.min(255, g + v)},${Math.min(255, b + v)})`;
  const pct = ((100 * node.value) / samples).toFixed(2);
  const label = w > 40 ? node.name.slice(0, Math.floor((w - 6) / 6.5)) : '';
  out.push(
    `<g><title>${esc(node.name)} (${node.value} samples, ${pct} %)</title>` +
      `<rect x="${(x * scale).toFixed(1)}" y="${y}" width="${w.toFixed(1)}" height="${ROW - 1}" fill="${fill}" rx="2"/>` +
      (label ? `<text x="${(x * scale + 3).toFixed(1)}" y="${y + ROW - 4}">${esc(label)}</text>` : '') +
      `</g>`,
  );
}
out.push('</svg>');
writeFileSync(values.out, out.join('\n') + '\n');
console.log(`flamegraph: ${samples} samples, ${rects.length} frames drawn → ${values.out}`);
