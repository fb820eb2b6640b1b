// Helpers of the meta tests: free ports, temp dirs, a 1- or 3-replica meta
// group in this process, fake stores speaking the real RPCs over real TCP,
// and waiting on conditions (never fixed sleeps).
import * as net from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { PeerPool, pb } from '@redraft/common';
import { MetaNode, type MetaNodeOptions } from '../src/node';

export const silent = pino({ level: process.env.META_TEST_LOG ?? 'silent' });

export async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

export function tempDir(prefix = 'redraft-meta-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export async function waitFor<T>(cond: () => T | undefined | false | Promise<T | undefined | false>, what: string, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await cond();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export interface Group {
  nodes: Array<MetaNode | undefined>;
  peers: Map<number, string>;
  dirs: string[];
  opts: Partial<MetaNodeOptions>;
  start(i: number): Promise<MetaNode>;
  stop(i: number): Promise<void>;
  leader(): MetaNode | undefined;
  waitLeader(): Promise<MetaNode>;
  close(): Promise<void>;
}

/** n meta replicas with data dirs in a temp dir; ids 1..n. */
export async function startGroup(n: number, opts: Partial<MetaNodeOptions> = {}): Promise<Group> {
  const peers = new Map<number, string>();
  for (let i = 1; i <= n; i++) peers.set(i, `127.0.0.1:${await freePort()}`);
  const root = tempDir();
  const dirs = [...peers.keys()].map((id) => join(root, `meta-${id}`));
  const g: Group = {
    nodes: new Array(n).fill(undefined),
    peers,
    dirs,
    opts,
    async start(i) {
      const id = i + 1;
      const node = await MetaNode.start({
        id,
        peers,
        host: '127.0.0.1',
        adminPort: 0,
        peerPort: Number(peers.get(id)!.split(':')[1]),
        dataDir: dirs[i],
        log: silent,
        ...opts,
      });
      g.nodes[i] = node;
      return node;
    },
    async stop(i) {
      const node = g.nodes[i];
      g.nodes[i] = undefined;
      await node?.stop();
    },
    leader() {
      return g.nodes.find((x) => x?.isLeader);
    },
    waitLeader() {
      return waitFor(() => g.leader(), 'a meta leader');
    },
    async close() {
      for (let i = 0; i < n; i++) await g.stop(i);
      rmSync(root, { recursive: true, force: true });
    },
  };
  for (let i = 0; i < n; i++) await g.start(i);
  return g;
}

/** A store as the meta sees it: registers and heartbeats over the peer transport, following NOT_LEADER. */
export class FakeStore {
  id = 0;
  viewVersion = 0;
  view: pb.ClusterView | undefined;
  /** Region descriptors this store hosts (from create_peer instructions), with what it reports. */
  readonly regions = new Map<number, { region: pb.Region.$Properties; isLeader: boolean; term: number; leaderPeerId: number }>();
  readonly instructions: pb.Instruction[] = [];
  private readonly pool = new PeerPool({ requestTimeoutMs: 3000, backoffInitialMs: 10, backoffMaxMs: 100 });
  private leaderIdx = 0;

  constructor(
    readonly metaAddrs: string[],
    readonly peerAddr: string,
    readonly clientAddr: string,
  ) {}

  async rpc(type: string, body: Uint8Array, timeoutMs = 10_000): Promise<Uint8Array> {
    const deadline = Date.now() + timeoutMs;
    let last: Error | undefined;
    let target = this.metaAddrs[this.leaderIdx % this.metaAddrs.length];
    while (Date.now() < deadline) {
      try {
        const res = await this.pool.request(target, type, body, { timeoutMs: 2000 });
        this.leaderIdx = this.metaAddrs.indexOf(target);
        return res;
      } catch (e) {
        last = e as Error;
        const m = /^NOT_LEADER(?: (\S+))?$/.exec(last.message);
        if (!m && !/UNAVAILABLE|DISCONNECTED|TIMEOUT|SHUTDOWN|unreachable|timed out/i.test(last.message) && (e as { code?: string }).code === 'REMOTE') throw last;
        target = m?.[1] && this.metaAddrs.includes(m[1]) ? m[1] : this.metaAddrs[(this.metaAddrs.indexOf(target) + 1) % this.metaAddrs.length];
        if (!m?.[1]) await new Promise((r) => setTimeout(r, 20));
      }
    }
    throw last ?? new Error('rpc timed out');
  }

  async register(): Promise<number> {
    const res = pb.RegisterStoreResponse.decode(
      await this.rpc('meta.register', pb.RegisterStoreRequest.encode({ storeId: this.id, peerAddr: this.peerAddr, clientAddr: this.clientAddr }).finish()),
    );
    this.id = Number(res.storeId);
    return this.id;
  }

  /** One heartbeat; carries out create_peer instructions (and leads every region whose first peer is its own). */
  async heartbeat(): Promise<pb.StoreHeartbeatResponse> {
    const regions: pb.RegionStats.$Properties[] = [...this.regions.values()].map((r) => ({
      region: r.region,
      isLeader: r.isLeader,
      term: r.term,
      leaderPeerId: r.leaderPeerId,
      approximateKeys: r.isLeader ? 10 : 0,
    }));
    const req = pb.StoreHeartbeatRequest.encode({ store: { id: this.id, peerAddr: this.peerAddr, clientAddr: this.clientAddr, capacityBytes: 1000, usedBytes: 10 }, regions, knownViewVersion: this.viewVersion }).finish();
    const res = pb.StoreHeartbeatResponse.decode(await this.rpc('meta.heartbeat', req));
    if (res.view) {
      this.view = res.view as pb.ClusterView;
      this.viewVersion = Number(res.view.version);
    }
    for (const ins of res.instructions) {
      this.instructions.push(ins as pb.Instruction);
      if (ins.createPeer) {
        const r = ins.createPeer;
        const first = r.peers![0];
        const mine = r.peers!.find((p) => Number(p.storeId) === this.id)!;
        const lead = Number(first.storeId) === this.id;
        this.regions.set(Number(r.id), { region: r, isLeader: lead, term: 6, leaderPeerId: lead ? Number(mine.id) : Number(first.id) });
      }
    }
    return res;
  }

  async close(): Promise<void> {
    await this.pool.close();
  }
}

/** A minimal RESP client for the admin port: sends one command, reads one reply (via the common decoder). */
export async function respCall(port: number, ...args: string[]): Promise<unknown> {
  const sock = net.connect({ host: '127.0.0.1', port });
  await new Promise<void>((r, j) => {
    sock.once('connect', () => r());
    sock.once('error', j);
  });
  const payload = `*${args.length}\r\n` + args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('');
  sock.write(payload);
  let buf = Buffer.alloc(0);
  try {
    for (;;) {
      const chunk: Buffer = await new Promise((r, j) => {
        sock.once('data', r);
        sock.once('error', j);
        sock.once('close', () => j(new Error('closed')));
      });
      buf = Buffer.concat([buf, chunk]);
      const parsed = parseResp(buf, 0);
      if (parsed) return parsed[0];
    }
  } finally {
    sock.destroy();
  }
}

/** Several commands on one connection (e.g. HELLO 3 then a command); resolves with every reply. */
export async function respSession(port: number, commands: string[][]): Promise<unknown[]> {
  const sock = net.connect({ host: '127.0.0.1', port });
  await new Promise<void>((r, j) => {
    sock.once('connect', () => r());
    sock.once('error', j);
  });
  sock.write(commands.map((args) => `*${args.length}\r\n` + args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')).join(''));
  let buf = Buffer.alloc(0);
  const out: unknown[] = [];
  let pos = 0;
  try {
    while (out.length < commands.length) {
      const chunk: Buffer = await new Promise((r, j) => {
        sock.once('data', r);
        sock.once('error', j);
        sock.once('close', () => j(new Error('closed')));
      });
      buf = Buffer.concat([buf, chunk]);
      for (;;) {
        const parsed = out.length < commands.length ? parseResp(buf, pos) : undefined;
        if (!parsed) break;
        out.push(parsed[0]);
        pos = parsed[1];
      }
    }
    return out;
  } finally {
    sock.destroy();
  }
}

export class RespError extends Error {}

/** Parses one RESP2/3 value; undefined if incomplete. */
export function parseResp(b: Buffer, i: number): [unknown, number] | undefined {
  const eol = b.indexOf('\r\n', i);
  if (eol < 0) return undefined;
  const t = String.fromCharCode(b[i]);
  const line = b.toString('utf8', i + 1, eol);
  const next = eol + 2;
  switch (t) {
    case '+':
      return [line, next];
    case '-':
      return [new RespError(line), next];
    case ':':
      return [Number(line), next];
    case '_':
      return [null, next];
    case '$':
    case '=': {
      const len = Number(line);
      if (len < 0) return [null, next];
      if (b.length < next + len + 2) return undefined;
      const s = b.toString('utf8', next, next + len);
      return [t === '=' ? s.slice(4) : s, next + len + 2];
    }
    case '*':
    case '~':
    case '%': {
      let count = Number(line);
      if (count < 0) return [null, next];
      if (t === '%') count *= 2;
      const out: unknown[] = [];
      let j = next;
      for (let k = 0; k < count; k++) {
        const r = parseResp(b, j);
        if (!r) return undefined;
        out.push(r[0]);
        j = r[1];
      }
      return [out, j];
    }
    default:
      throw new Error(`bad RESP type ${t}`);
  }
}
