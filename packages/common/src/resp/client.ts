// A small RESP2 client for operator tools (`redraft ctl`): one connection,
// commands sent one after another, replies parsed by redis-parser (the
// parser ioredis uses). Error replies resolve as RespClientError values'
// rejections; a lost connection or a timeout rejects too.
import { connect, type Socket } from 'node:net';

// redis-parser has no type declarations.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const RedisParser: new (opts: {
  returnReply: (r: unknown) => void;
  returnError: (e: Error) => void;
  returnFatalError?: (e: Error) => void;
}) => { execute(b: Buffer): void; reset(): void } = require('redis-parser');

/** An error reply (`-ERR ...`): the command was answered, with an error. */
export class RespClientError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RespClientError';
  }
}

export type ClientValue = string | number | null | ClientValue[];

export class RespClient {
  private readonly waiting: Array<{ resolve: (v: ClientValue) => void; reject: (e: Error) => void }> = [];
  private readonly parser = new RedisParser({
    returnReply: (r) => this.waiting.shift()?.resolve(r as ClientValue),
    returnError: (e) => this.waiting.shift()?.reject(new RespClientError(e.message)),
    returnFatalError: (e) => this.failAll(e),
  });
  private closed: Error | undefined;

  private constructor(private readonly socket: Socket, readonly address: string) {
    socket.on('data', (b) => this.parser.execute(b));
    socket.on('error', (e) => this.failAll(e));
    socket.on('close', () => this.failAll(new Error(`connection to ${address} closed`)));
  }

  /** Connects to host:port (rejects after timeoutMs). */
  static connect(host: string, port: number, timeoutMs = 3000): Promise<RespClient> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host, port });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`no connection to ${host}:${port} within ${timeoutMs} ms`));
      }, timeoutMs);
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.removeAllListeners('error');
        resolve(new RespClient(socket, `${host}:${port}`));
      });
      socket.once('error', (e) => {
        clearTimeout(timer);
        reject(new Error(`cannot connect to ${host}:${port}: ${e.message}`));
      });
    });
  }

  /** Sends one command; resolves with its reply, rejects with RespClientError on an error reply. */
  call(args: (string | number)[], timeoutMs = 10_000): Promise<ClientValue> {
    if (this.closed) return Promise.reject(this.closed);
    const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)];
    for (const a of args) {
      const b = Buffer.from(String(a));
      parts.push(Buffer.from(`$${b.length}\r\n`), b, Buffer.from('\r\n'));
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.failAll(new Error(`no reply from ${this.address} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiting.push({
        resolve: (v) => {
          clearTimeout(timer);
          resolve(v);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      this.socket.write(Buffer.concat(parts));
    });
  }

  close(): void {
    this.closed ??= new Error('client closed');
    this.socket.destroy();
  }

  private failAll(e: Error): void {
    this.closed ??= e;
    this.socket.destroy();
    for (const w of this.waiting.splice(0)) w.reject(e);
  }
}
