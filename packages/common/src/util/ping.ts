// Readiness probe: does a RESP server answer PING on host:port?
import * as net from 'node:net';

export function pingOnce(port: number, host = '127.0.0.1', timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = net.connect({ port, host });
    let got = '';
    const done = (ok: boolean): void => {
      clearTimeout(timer);
      sock.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    sock.on('connect', () => sock.write('*1\r\n$4\r\nPING\r\n'));
    sock.on('data', (d) => {
      got += d.toString('latin1');
      if (got.includes('\r\n')) done(got.startsWith('+PONG'));
    });
    sock.on('error', () => done(false));
    sock.on('close', () => done(false));
  });
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
