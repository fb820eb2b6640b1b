#!/usr/bin/env node
// The floor of any RESP server written in Node, for the bench (target
// `node-floor` in scripts/bench.sh): a bare server on the parser the stores
// use (redis-parser) that keeps keys in a Map and nothing else. No
// persistence, no replication, no expiry, no types beyond what
// redis-benchmark's SET, GET, INCR and HSET need. Replies of one read go out
// in one socket write, as the stores' front end sends them. What it costs
// per request is what a Node process pays for the protocol alone, before it
// stores anything: a durable store in Node on the same machine cannot be
// faster than this.
//
// Usage: node scripts/node-floor.mjs --port N
import { createServer } from 'node:net';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const Parser = require('redis-parser');

const portIdx = process.argv.indexOf('--port');
const port = Number(process.argv[portIdx + 1]);
if (portIdx < 0 || !Number.isInteger(port) || port <= 0 || port > 65535) {
  console.error('usage: node-floor.mjs --port N');
  process.exit(2);
}

const OK = Buffer.from('+OK\r\n');
const PONG = Buffer.from('+PONG\r\n');
const NIL = Buffer.from('$-1\r\n');
const EMPTY = Buffer.from('*0\r\n');
const strings = new Map();
const hashes = new Map();

const bulk = (b) => Buffer.concat([Buffer.from(`$${b.length}\r\n`), b, Buffer.from('\r\n')]);
const int = (n) => Buffer.from(`:${n}\r\n`);
const err = (m) => Buffer.from(`-ERR ${m}\r\n`);

/** One command's reply; args[0] is the command name. */
function run(args) {
  const name = args[0].toString('latin1').toLowerCase();
  switch (name) {
    case 'set':
      if (args.length < 3) return err("wrong number of arguments for 'set' command");
      strings.set(args[1].toString('latin1'), args[2]);
      return OK;
    case 'get': {
      const v = args.length === 2 ? strings.get(args[1].toString('latin1')) : undefined;
      return v ? bulk(v) : NIL;
    }
    case 'incr': {
      const key = args[1]?.toString('latin1') ?? '';
      const n = Number(strings.get(key) ?? 0) + 1;
      strings.set(key, Buffer.from(String(n)));
      return int(n);
    }
    case 'hset': {
      const key = args[1]?.toString('latin1') ?? '';
      let h = hashes.get(key);
      if (!h) hashes.set(key, (h = new Map()));
      let added = 0;
      for (let i = 2; i + 1 < args.length; i += 2) {
        const f = args[i].toString('latin1');
        if (!h.has(f)) added++;
        h.set(f, args[i + 1]);
      }
      return int(added);
    }
    case 'ping':
      return PONG;
    case 'config': // redis-benchmark asks for save and appendonly; an empty answer is fine
      return EMPTY;
    default:
      return err(`unknown command '${name}'`);
  }
}

createServer((socket) => {
  socket.setNoDelay(true);
  let out = [];
  const parser = new Parser({
    returnBuffers: true,
    returnReply: (args) => out.push(run(args)),
    returnError: () => {},
    returnFatalError: () => socket.destroy(),
  });
  socket.on('data', (chunk) => {
    parser.execute(chunk);
    if (out.length === 0) return;
    socket.write(out.length === 1 ? out[0] : Buffer.concat(out));
    out = [];
  });
  socket.on('error', () => {});
}).listen(port, '127.0.0.1');
