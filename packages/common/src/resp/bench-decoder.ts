// Micro-benchmark: RequestDecoder against redis-parser (returnBuffers) on the
// same request streams, fed in socket-sized chunks.
//
//   node packages/common/dist/src/resp/bench-decoder.js [seconds per decoder per case, default 3]
//
// redis-parser parses multibulk (it is a reply parser, and a request is an
// array of bulk strings) but not inline commands, limits or Redis's request
// errors; it is here as the yardstick.

import { RequestDecoder } from './decoder';

// redis-parser has no type declarations.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const RedisParser: new (opts: {
  returnReply: (r: unknown) => void;
  returnError: (e: unknown) => void;
  returnFatalError?: (e: unknown) => void;
  returnBuffers?: boolean;
}) => { execute(b: Buffer): void } = require('redis-parser');

function mb(...args: (string | Buffer)[]): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)];
  for (const a of args) {
    const b = typeof a === 'string' ? Buffer.from(a) : a;
    parts.push(Buffer.from(`$${b.length}\r\n`), b, Buffer.from('\r\n'));
  }
  return Buffer.concat(parts);
}

function chunked(stream: Buffer, size: number): Buffer[] {
  const out: Buffer[] = [];
  // Fresh copies, as a socket hands out fresh buffers.
  for (let p = 0; p < stream.length; p += size) out.push(Buffer.from(stream.subarray(p, p + size)));
  return out;
}

interface Case {
  name: string;
  chunks: Buffer[];
  commands: number;
  bytes: number;
}

function makeCase(name: string, cmds: Buffer[], chunkSize: number): Case {
  const stream = Buffer.concat(cmds);
  return { name, chunks: chunked(stream, chunkSize), commands: cmds.length, bytes: stream.length };
}

function run(c: Case, seconds: number, kind: 'redraft' | 'redis-parser'): { cmdsPerSec: number; mbPerSec: number } {
  let decoded = 0;
  let rounds = 0;
  const t0 = process.hrtime.bigint();
  const limit = BigInt(Math.round(seconds * 1e9));
  for (;;) {
    if (kind === 'redraft') {
      const d = new RequestDecoder();
      for (const ch of c.chunks) decoded += d.write(ch).length;
    } else {
      const p = new RedisParser({
        returnReply: () => decoded++,
        returnError: () => {},
        returnFatalError: () => {},
        returnBuffers: true,
      });
      for (const ch of c.chunks) p.execute(ch);
    }
    rounds++;
    if (process.hrtime.bigint() - t0 > limit) break;
  }
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  if (decoded !== rounds * c.commands) throw new Error(`${kind} ${c.name}: decoded ${decoded}, want ${rounds * c.commands}`);
  return { cmdsPerSec: (rounds * c.commands) / s, mbPerSec: (rounds * c.bytes) / s / 1e6 };
}

function main(): void {
  const seconds = Number(process.argv[2] ?? 3);
  const small: Buffer[] = [];
  for (let i = 0; i < 20000; i++) small.push(mb('SET', `key:${i.toString().padStart(12, '0')}`, 'xxx'));
  const get: Buffer[] = [];
  for (let i = 0; i < 20000; i++) get.push(mb('GET', `key:${i}`));
  const kb: Buffer[] = [];
  const v1k = Buffer.alloc(1024, 'v');
  for (let i = 0; i < 5000; i++) kb.push(mb('SET', `key:${i}`, v1k));
  const many: Buffer[] = [];
  for (let i = 0; i < 200; i++) {
    const args: string[] = ['MSET'];
    for (let j = 0; j < 100; j++) args.push(`k${j}`, `v${i}-${j}`);
    many.push(mb(...args));
  }
  const big: Buffer[] = [];
  const v8m = Buffer.alloc(8 * 1024 * 1024, 'B');
  for (let i = 0; i < 4; i++) big.push(mb('SET', `big:${i}`, v8m));
  const cases: Case[] = [
    makeCase('SET 3-byte values, 64 KB chunks', small, 65536),
    makeCase('GET, 64 KB chunks', get, 65536),
    makeCase('GET, 100-byte chunks (frames split)', get.slice(0, 5000), 100),
    makeCase('SET 1 KB values, 64 KB chunks', kb, 65536),
    makeCase('MSET 100 pairs, 64 KB chunks', many, 65536),
    makeCase('SET 8 MB values, 64 KB chunks', big, 65536),
  ];
  console.log(`node ${process.version}, ${seconds} s per decoder per case, best of 6 alternating runs`);
  console.log('| case | redraft cmds/s | redis-parser cmds/s | redraft MB/s | redis-parser MB/s | ratio |');
  console.log('|---|---:|---:|---:|---:|---:|');
  for (const c of cases) {
    // Alternate short runs and keep the best of each: other processes on the
    // machine only ever slow a run down.
    run(c, 0.3, 'redraft');
    run(c, 0.3, 'redis-parser');
    const rounds = 6;
    let a = { cmdsPerSec: 0, mbPerSec: 0 };
    let b = { cmdsPerSec: 0, mbPerSec: 0 };
    for (let r = 0; r < rounds; r++) {
      const x = run(c, seconds / rounds, 'redraft');
      const y = run(c, seconds / rounds, 'redis-parser');
      if (x.cmdsPerSec > a.cmdsPerSec) a = x;
      if (y.cmdsPerSec > b.cmdsPerSec) b = y;
    }
    const f = (x: number): string => Math.round(x).toLocaleString('en-US');
    console.log(
      `| ${c.name} | ${f(a.cmdsPerSec)} | ${f(b.cmdsPerSec)} | ${f(a.mbPerSec)} | ${f(b.mbPerSec)} | ${(a.cmdsPerSec / b.cmdsPerSec).toFixed(2)}× |`,
    );
  }
}

if (require.main === module) main();
