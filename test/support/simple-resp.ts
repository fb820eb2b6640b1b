// A minimal RESP2 client for the cluster tests (resp.ts keeps every RESP3 type; this one gives plain JS values): one command over a fresh connection,
// the whole reply parsed (simple strings, errors, integers, bulk strings,
// arrays, nested). An error reply resolves as a RespError value (it is an
// answer, not a failure); connection problems and timeouts reject.
import { connect } from 'node:net';

export class RespError {
  constructor(readonly message: string) {}
  toString(): string {
    return `-${this.message}`;
  }
}

export type SimpleReply = string | number | null | RespError | SimpleReply[];

/** Parses one RESP2 value at buf[pos]; returns undefined if incomplete. */
export function parseResp(buf: Buffer, pos = 0): { value: SimpleReply; end: number } | undefined {
  const nl = buf.indexOf('\r\n', pos);
  if (nl < 0) return undefined;
  const type = String.fromCharCode(buf[pos]);
  const line = buf.toString('utf8', pos + 1, nl);
  switch (type) {
    case '+':
      return { value: line, end: nl + 2 };
    case '-':
      return { value: new RespError(line), end: nl + 2 };
    case ':':
      return { value: Number(line), end: nl + 2 };
    case '$': {
      const n = Number(line);
      if (n < 0) return { value: null, end: nl + 2 };
      if (buf.length < nl + 2 + n + 2) return undefined;
      return { value: buf.toString('utf8', nl + 2, nl + 2 + n), end: nl + 2 + n + 2 };
    }
    case '*': {
      const n = Number(line);
      if (n < 0) return { value: null, end: nl + 2 };
      const out: SimpleReply[] = [];
      let p = nl + 2;
      for (let i = 0; i < n; i++) {
        const r = parseResp(buf, p);
        if (!r) return undefined;
        out.push(r.value);
        p = r.end;
      }
      return { value: out, end: p };
    }
    default:
      throw new Error(`parseResp: unexpected type byte ${JSON.stringify(type)} in ${JSON.stringify(buf.toString('utf8', pos, Math.min(buf.length, pos + 80)))}`);
  }
}

export function encodeCommand(args: readonly (string | number)[]): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)];
  for (const a of args) {
    const b = Buffer.from(String(a));
    parts.push(Buffer.from(`$${b.length}\r\n`), b, Buffer.from('\r\n'));
  }
  return Buffer.concat(parts);
}

/**
 * Sends the commands over one fresh connection (pipelined) and resolves with
 * their replies in order. E.g. resp(port, [['READONLY'], ['GET', 'k']]).
 */
export function respMany(port: number, commands: readonly (readonly (string | number)[])[], opts: { host?: string; timeoutMs?: number } = {}): Promise<SimpleReply[]> {
  return new Promise((resolve, reject) => {
    const sock = connect({ port, host: opts.host ?? '127.0.0.1' });
    let buf: Buffer = Buffer.alloc(0);
    const replies: SimpleReply[] = [];
    let settled = false;
    const done = (err: Error | undefined) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      sock.destroy();
      if (err) reject(err);
      else resolve(replies);
    };
    const timeoutMs = opts.timeoutMs ?? 5000;
    const timer = setTimeout(() => done(new Error(`port ${port}: no complete reply within ${timeoutMs} ms to ${JSON.stringify(commands[0])}`)), timeoutMs);
    sock.once('error', (e) => done(e));
    sock.once('connect', () => sock.write(Buffer.concat(commands.map(encodeCommand))));
    sock.on('data', (d: Buffer) => {
      buf = buf.length ? Buffer.concat([buf, d]) : d;
      try {
        for (;;) {
          const r = parseResp(buf);
          if (!r) break;
          replies.push(r.value);
          buf = buf.subarray(r.end);
          if (replies.length === commands.length) return done(undefined);
        }
      } catch (e) {
        done(e as Error);
      }
    });
    sock.once('close', () => done(new Error(`port ${port} closed the connection after ${replies.length}/${commands.length} replies`)));
  });
}

/** One command over a fresh connection: resp(port, 'CLUSTER', 'SLOTS'). */
export async function resp(port: number, ...args: (string | number)[]): Promise<SimpleReply> {
  return (await respMany(port, [args]))[0];
}
