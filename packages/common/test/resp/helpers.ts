// Test helpers: a raw TCP client that reads bytes, and condition waits.
import * as net from 'node:net';

/** Waits until `cond()` holds, polling; fails after `ms` (a safety net, not a delay). */
export async function until(cond: () => boolean, what: string, ms = 20000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

export class RawClient {
  private chunks: Buffer[] = [];
  private received = 0;
  private waiters: Array<() => void> = [];
  closed = false;
  error: Error | null = null;

  private constructor(readonly socket: net.Socket) {
    socket.on('data', (c: Buffer) => {
      this.chunks.push(c);
      this.received += c.length;
      this.wake();
    });
    socket.on('error', (e) => {
      this.error = e;
    });
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
  }

  static connect(port: number, host = '127.0.0.1'): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const s = net.connect({ port, host }, () => {
        s.off('error', reject);
        resolve(new RawClient(s));
      });
      s.once('error', reject);
    });
  }

  /** Bytes received and not yet read. */
  get available(): number {
    return this.received;
  }

  send(data: string | Buffer): void {
    this.socket.write(typeof data === 'string' ? Buffer.from(data, 'latin1') : data);
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  private wait(): Promise<void> {
    return new Promise((r) => this.waiters.push(r));
  }

  private takeAll(): Buffer {
    const b = Buffer.concat(this.chunks);
    this.chunks = [];
    this.received = 0;
    return b;
  }

  /** Reads exactly `n` bytes; rejects if the connection closes first. */
  async read(n: number): Promise<Buffer> {
    while (this.received < n) {
      if (this.closed) throw new Error(`connection closed after ${this.received} of ${n} bytes: ${JSON.stringify(this.takeAll().toString('latin1').slice(0, 200))}`);
      await this.wait();
    }
    const all = this.takeAll();
    if (all.length > n) {
      this.chunks = [all.subarray(n)];
      this.received = all.length - n;
    }
    return all.subarray(0, n);
  }

  /** Reads `expected.length` bytes as a latin1 string. */
  async readString(expected: string): Promise<string> {
    return (await this.read(Buffer.byteLength(expected, 'latin1'))).toString('latin1');
  }

  /** Reads everything until the server closes the connection. */
  async readToClose(): Promise<Buffer> {
    while (!this.closed) await this.wait();
    return this.takeAll();
  }

  close(): void {
    this.socket.destroy();
  }
}

/** A promise with its resolve function. */
export function deferred<T>(): { promise: Promise<T>; resolve: (v: T) => void; reject: (e: unknown) => void } {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Encodes a command as a multibulk request. */
export function mb(...args: (string | Buffer)[]): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)];
  for (const a of args) {
    const b = typeof a === 'string' ? Buffer.from(a, 'latin1') : a;
    parts.push(Buffer.from(`$${b.length}\r\n`), b, Buffer.from('\r\n'));
  }
  return Buffer.concat(parts);
}
