// Free TCP ports on 127.0.0.1. freePort() asks the kernel (listen on 0);
// freePorts(n) finds n consecutive free ports (a playground serves P..P+n-1)
// below the kernel's ephemeral range, starting at a random base so that test
// files running in parallel rarely pick the same block.
import { createServer, type Server } from 'node:net';

function listen(port: number, host = '127.0.0.1'): Promise<Server | undefined> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(undefined));
    s.listen({ port, host, exclusive: true }, () => resolve(s));
  });
}

function close(s: Server): Promise<void> {
  return new Promise((resolve) => s.close(() => resolve()));
}

/** A port that was free a moment ago (the kernel's choice). */
export async function freePort(): Promise<number> {
  const s = await listen(0);
  if (!s) throw new Error('freePort: cannot listen on 127.0.0.1:0');
  const addr = s.address();
  await close(s);
  if (addr === null || typeof addr === 'string') throw new Error('freePort: no address');
  return addr.port;
}

/**
 * The first of n consecutive ports that were all free a moment ago, in
 * [lo, hi) (default 20000-32000: below Linux's ephemeral range 32768+, so an
 * outgoing connection does not take one of them in between).
 */
export async function freePorts(n: number, opts: { lo?: number; hi?: number; attempts?: number } = {}): Promise<number> {
  const lo = opts.lo ?? 20000;
  const hi = opts.hi ?? 32000;
  for (let attempt = 0; attempt < (opts.attempts ?? 200); attempt++) {
    const base = lo + Math.floor(Math.random() * (hi - lo - n));
    const held: Server[] = [];
    let ok = true;
    for (let i = 0; i < n; i++) {
      const s = await listen(base + i);
      if (!s) {
        ok = false;
        break;
      }
      held.push(s);
    }
    await Promise.all(held.map(close));
    if (ok) return base;
  }
  throw new Error(`freePorts: no ${n} consecutive free ports in [${lo}, ${hi})`);
}
