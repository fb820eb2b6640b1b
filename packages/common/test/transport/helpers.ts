// Shared helpers of the transport tests: real TCP on 127.0.0.1, free ports,
// and waiting on conditions or events, never on fixed sleeps.
import * as net from 'node:net';
import { once } from 'node:events';
import { PeerServer, type PeerServerOptions } from '../../src/transport';

export async function startServer(opts: Partial<PeerServerOptions> = {}): Promise<PeerServer> {
  const s = new PeerServer({ port: 0, ...opts });
  await s.listen();
  return s;
}

/** Resolves when cond() holds; checks every few ms; rejects after timeoutMs. */
export async function waitFor(cond: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

/** A raw TCP connection to a server, for feeding it hand-made bytes. */
export async function rawConnect(port: number): Promise<net.Socket> {
  const s = net.connect({ host: '127.0.0.1', port });
  s.on('error', () => {});
  await once(s, 'connect');
  return s;
}

/** Resolves when the socket is closed (by either side). */
export function closed(s: net.Socket): Promise<void> {
  if (s.closed) return Promise.resolve();
  return new Promise((r) => s.once('close', () => r()));
}

/** Deterministic pseudo-random bytes (mulberry32). */
export function seededBytes(seed: number, n: number): Buffer {
  const out = Buffer.alloc(n);
  let a = seed >>> 0;
  for (let i = 0; i < n; i++) {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = ((t ^ (t >>> 14)) >>> 0) & 0xff;
  }
  return out;
}

export function bytes(s: string): Uint8Array {
  return Buffer.from(s);
}

export function text(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString();
}
