// Raw RESP over a socket for end-to-end tests: a reply parser that keeps
// every RESP2/RESP3 type visible (so a test can tell a map '%' from an
// array '*'), and RawConn, a connection that writes exact bytes and reads
// replies or waits for the server to close it.
import { connect, type Socket } from 'node:net';

/** One parsed reply. `type` is the RESP type byte. */
export type RespValue =
  | { type: '+' | '-' | '(' | ','; value: string }
  | { type: ':'; value: bigint }
  | { type: '$' | '='; value: Buffer | null }
  | { type: '!'; value: Buffer }
  | { type: '_'; value: null }
  | { type: '#'; value: boolean }
  | { type: '*' | '~' | '>'; value: RespValue[] | null }
  | { type: '%' | '|'; value: Array<[RespValue, RespValue]> };

class Incomplete extends Error {}

/**
 * Parses one reply at buf[pos...]; returns it and the position after it, or
 * undefined if the buffer ends inside it. Throws on bytes that are not RESP.
 */
export function parseReply(buf: Buffer, pos = 0): { value: RespValue; next: number } | undefined {
  try {
    return parseAt(buf, pos);
  } catch (e) {
    if (e instanceof Incomplete) return undefined;
    throw e;
  }
}

function line(buf: Buffer, pos: number): { text: string; next: number } {
  const end = buf.indexOf('\r\n', pos, 'latin1');
  if (end < 0) throw new Incomplete();
  return { text: buf.toString('utf8', pos, end), next: end + 2 };
}

function parseAt(buf: Buffer, pos: number): { value: RespValue; next: number } {
  if (pos >= buf.length) throw new Incomplete();
  const t = String.fromCharCode(buf[pos]!);
  const { text, next } = line(buf, pos + 1);
  switch (t) {
    case '+':
    case '-':
    case '(':
    case ',':
      return { value: { type: t, value: text }, next };
    case ':':
      return { value: { type: ':', value: BigInt(text) }, next };
    case '_':
      return { value: { type: '_', value: null }, next };
    case '#':
      return { value: { type: '#', value: text === 't' }, next };
    case '$':
    case '=':
    case '!': {
      const n = Number(text);
      if (n < 0) {
        if (t === '!') throw new Error(`bad blob error length ${text}`);
        return { value: { type: t, value: null }, next };
      }
      if (next + n + 2 > buf.length) throw new Incomplete();
      if (buf[next + n] !== 13 || buf[next + n + 1] !== 10) throw new Error(`bulk of ${n} bytes not followed by CRLF`);
      const data = Buffer.from(buf.subarray(next, next + n));
      return { value: t === '!' ? { type: '!', value: data } : { type: t, value: data }, next: next + n + 2 };
    }
    case '*':
    case '~':
    case '>': {
      const n = Number(text);
      if (n < 0) return { value: { type: t, value: null }, next };
      const items: RespValue[] = [];
      let p = next;
      for (let i = 0; i < n; i++) {
        const r = parseAt(buf, p);
        items.push(r.value);
        p = r.next;
      }
      return { value: { type: t, value: items }, next: p };
    }
    case '%':
    case '|': {
      const n = Number(text);
      const pairs: Array<[RespValue, RespValue]> = [];
      let p = next;
      for (let i = 0; i < n; i++) {
        const k = parseAt(buf, p);
        const v = parseAt(buf, k.next);
        pairs.push([k.value, v.value]);
        p = v.next;
      }
      return { value: { type: t, value: pairs }, next: p };
    }
    default:
      throw new Error(`not a RESP type byte: ${JSON.stringify(t)} at offset ${pos}`);
  }
}

/** A reply as plain JS for assertions: strings, bigint, null, arrays, Maps (with string keys), errors as { error }. */
export type Plain = string | bigint | boolean | null | { error: string } | Plain[] | Map<string, Plain>;

export function plain(v: RespValue): Plain {
  switch (v.type) {
    case '+':
    case '(':
    case ',':
      return v.value;
    case '-':
      return { error: v.value };
    case '!':
      return { error: v.value.toString('utf8') };
    case ':':
      return v.value;
    case '$':
    case '=':
      return v.value === null ? null : v.value.toString('utf8');
    case '_':
      return null;
    case '#':
      return v.value;
    case '*':
    case '~':
    case '>':
      return v.value === null ? null : v.value.map(plain);
    case '%':
    case '|':
      return new Map(v.value.map(([k, val]) => [String(plain(k)), plain(val)]));
  }
}

/** Encodes a command as a RESP multibulk. */
export function encodeCommand(args: Array<string | Buffer>): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)];
  for (const a of args) {
    const b = typeof a === 'string' ? Buffer.from(a) : a;
    parts.push(Buffer.from(`$${b.length}\r\n`), b, Buffer.from('\r\n'));
  }
  return Buffer.concat(parts);
}

/**
 * A raw connection: write exact bytes, read parsed replies in order, see
 * whether and when the server closed the connection.
 */
export class RawConn {
  private buf: Buffer = Buffer.alloc(0);
  private waiters: Array<() => void> = [];
  /** Replies parsed so far and not yet taken by read(). */
  private replies: RespValue[] = [];
  closed = false;
  error: Error | undefined;

  private constructor(readonly sock: Socket) {
    sock.on('data', (d: Buffer) => {
      this.buf = this.buf.length === 0 ? d : Buffer.concat([this.buf, d]);
      this.drain();
      this.wake();
    });
    sock.on('error', (e) => {
      this.error = e;
    });
    sock.on('close', () => {
      this.closed = true;
      this.wake();
    });
  }

  static open(port: number, host = '127.0.0.1', timeoutMs = 5000): Promise<RawConn> {
    return new Promise((resolve, reject) => {
      const sock = connect({ port, host });
      const timer = setTimeout(() => {
        sock.destroy();
        reject(new Error(`connect to ${host}:${port}: timeout`));
      }, timeoutMs);
      sock.once('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
      sock.once('connect', () => {
        clearTimeout(timer);
        sock.removeAllListeners('error');
        resolve(new RawConn(sock));
      });
    });
  }

  private drain(): void {
    let pos = 0;
    for (;;) {
      let r: { value: RespValue; next: number } | undefined;
      try {
        r = parseReply(this.buf, pos);
      } catch (e) {
        this.error = e as Error;
        break;
      }
      if (!r) break;
      this.replies.push(r.value);
      pos = r.next;
    }
    if (pos > 0) this.buf = this.buf.subarray(pos);
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  private async until(cond: () => boolean, timeoutMs: number, what: () => string): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!cond()) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`RawConn: timed out after ${timeoutMs} ms waiting for ${what()}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  write(data: string | Buffer): Promise<void> {
    return new Promise((resolve, reject) => this.sock.write(data, (e) => (e ? reject(e) : resolve())));
  }

  /** Sends one command (multibulk) and returns its reply. */
  async call(...args: Array<string | Buffer>): Promise<RespValue> {
    await this.write(encodeCommand(args));
    const [r] = await this.read(1);
    return r!;
  }

  /** The next n replies (waits for them; fails if the connection closes first). */
  async read(n: number, timeoutMs = 10_000): Promise<RespValue[]> {
    await this.until(
      () => this.replies.length >= n || this.closed || this.error !== undefined,
      timeoutMs,
      () => `${n} replies (have ${this.replies.length}, unparsed ${JSON.stringify(this.buf.toString('latin1').slice(0, 200))})`,
    );
    if (this.replies.length < n) {
      throw new Error(
        `RawConn: ${this.closed ? 'connection closed' : `error ${this.error?.message}`} after ${this.replies.length} of ${n} replies: ${JSON.stringify(this.replies.map(plainForMessage))}`,
      );
    }
    return this.replies.splice(0, n);
  }

  /** Waits until the server closes the connection; returns every reply received and not yet read. */
  async readUntilClosed(timeoutMs = 10_000): Promise<RespValue[]> {
    await this.until(() => this.closed, timeoutMs, () => `the server to close the connection (replies so far: ${JSON.stringify(this.replies.map(plainForMessage))})`);
    return this.replies.splice(0);
  }

  /** Bytes received that do not (yet) form a whole reply. */
  get pending(): Buffer {
    return this.buf;
  }

  close(): void {
    this.sock.destroy();
  }
}

function plainForMessage(v: RespValue): unknown {
  return JSON.parse(JSON.stringify(plain(v), (_k, x) => (typeof x === 'bigint' ? `${x}` : x instanceof Map ? Object.fromEntries(x) : x)));
}

/** Sends bytes on a fresh connection, and returns the replies up to the server's close (or up to `replies` replies). */
export async function exchange(port: number, data: string | Buffer, opts: { replies?: number; timeoutMs?: number } = {}): Promise<{ replies: RespValue[]; closed: boolean }> {
  const c = await RawConn.open(port);
  try {
    await c.write(data).catch(() => undefined);
    if (opts.replies !== undefined) {
      const replies = await c.read(opts.replies, opts.timeoutMs);
      return { replies, closed: c.closed };
    }
    const replies = await c.readUntilClosed(opts.timeoutMs);
    return { replies, closed: true };
  } finally {
    c.close();
  }
}
