// Readiness probes: does a RESP server answer a command as expected on host:port?
import * as net from 'node:net';

/**
 * Sends one command on a fresh connection; `judge` sees the reply text so
 * far and returns true/false once it can tell, undefined to read more.
 * False on timeout, error or close.
 */
export function probeOnce(port: number, args: string[], judge: (got: string) => boolean | undefined, host = '127.0.0.1', timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = net.connect({ port, host });
    let got = '';
    const done = (ok: boolean): void => {
      clearTimeout(timer);
      sock.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    sock.on('connect', () => sock.write(`*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`));
    sock.on('data', (d) => {
      got += d.toString('latin1');
      const verdict = judge(got);
      if (verdict !== undefined) done(verdict);
    });
    sock.on('error', () => done(false));
    sock.on('close', () => done(false));
  });
}

export function pingOnce(port: number, host = '127.0.0.1', timeoutMs = 1000): Promise<boolean> {
  return probeOnce(port, ['PING'], (got) => (got.includes('\r\n') ? got.startsWith('+PONG') : undefined), host, timeoutMs);
}

/** Does this store say every slot is served by a region with a leader (CLUSTER INFO cluster_state:ok)? */
export function clusterOkOnce(port: number, host = '127.0.0.1', timeoutMs = 2000): Promise<boolean> {
  return probeOnce(port, ['CLUSTER', 'INFO'], (got) => (got.includes('cluster_state:') ? got.includes('cluster_state:ok') : undefined), host, timeoutMs);
}

/** Polls until the server answers PING, or rejects after `timeoutMs`. */
export async function waitForPing(port: number, host = '127.0.0.1', timeoutMs = 30000, isAlive: () => boolean = () => true): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let delay = 20;
  while (Date.now() < deadline) {
    if (!isAlive()) throw new Error(`process serving port ${port} exited`);
    if (await pingOnce(port, host)) return;
    await new Promise((r) => setTimeout(r, delay));
    delay = Math.min(delay * 2, 250);
  }
  throw new Error(`no PONG from ${host}:${port} within ${timeoutMs} ms`);
}
