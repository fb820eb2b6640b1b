// The listening side of the peer transport: accepts connections and frames,
// hands one-way messages to onMessage and requests to onRequest, and writes
// each request's response back on the connection it came in on.
import * as net from 'node:net';
import type { Logger } from 'pino';
import pino from 'pino';
import { FramedConnection } from './connection';
import { DEFAULT_MAX_FRAME_BYTES, Kind, encodeFrame } from './frame';
import type { Envelope } from './frame';
import { newStats, type TransportStats } from './stats';
import { encodeRpcError } from './rpc-errors';

/** Who sent a frame. */
export interface PeerInfo {
  /** the sender's store id from the envelope (0 if it did not say) */
  storeId: number;
  /** remote host:port of the connection */
  remoteAddress: string;
  /** a process-unique id of the connection */
  connectionId: number;
}

export interface PeerServerOptions {
  /** address to listen on; default 127.0.0.1 */
  host?: string;
  /** port; 0 picks a free one (see `port` after listen()) */
  port: number;
  /** this node's id; frames addressed to another non-zero id are refused */
  storeId?: number;
  logger?: Logger;
  /** maximum frame length; default 64 MiB */
  maxFrameBytes?: number;
  /**
   * A connection stops reading while this many of its requests are being
   * handled, or while its unsent responses exceed maxQueueBytes; default 8192.
   */
  maxInflightRequests?: number;
  /** default 128 MiB */
  maxQueueBytes?: number;
  /**
   * A one-way message. `body` is the caller's encoded message; it may be kept.
   * If this throws, the body is taken as malformed: the frame is refused and
   * the connection closed.
   */
  onMessage?: (type: string, body: Uint8Array, from: PeerInfo) => void;
  /** A request; the resolved bytes are the response body, a rejection becomes a remote error. */
  onRequest?: (type: string, body: Uint8Array, from: PeerInfo) => Promise<Uint8Array>;
}

interface ServerConn {
  conn: FramedConnection;
  inflight: number;
  reading: boolean;
}

export class PeerServer {
  private readonly server: net.Server;
  private readonly conns = new Set<ServerConn>();
  private readonly logger: Logger;
  private readonly maxFrameBytes: number;
  private readonly maxInflight: number;
  private readonly maxQueueBytes: number;
  private readonly counters: TransportStats = newStats();
  private listening = false;
  private bound = { port: 0, address: '' };
  private stopping = false;
  private closing: Promise<void> | null = null;

  constructor(private readonly opts: PeerServerOptions) {
    this.logger = opts.logger ?? pino({ level: 'silent' });
    this.maxFrameBytes = opts.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
    this.maxInflight = opts.maxInflightRequests ?? 8192;
    this.maxQueueBytes = opts.maxQueueBytes ?? 2 * DEFAULT_MAX_FRAME_BYTES;
    this.server = net.createServer((socket) => this.accept(socket));
    this.server.on('error', (err) => this.logger.error({ err: err.message }, 'peer server error'));
  }

  /** Starts listening; resolves once bound, rejects if the address is taken. */
  listen(): Promise<void> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error) => reject(err);
      this.server.once('error', onError);
      this.server.listen({ host: this.opts.host ?? '127.0.0.1', port: this.opts.port }, () => {
        this.server.off('error', onError);
        this.listening = true;
        const a = this.server.address();
        if (a !== null && typeof a === 'object') {
          this.bound = { port: a.port, address: a.family === 'IPv6' ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}` };
        }
        resolve();
      });
    });
  }

  /** The bound port (after listen()). */
  get port(): number {
    return this.bound.port;
  }

  /** host:port to give to a PeerClient (after listen()). */
  get address(): string {
    return this.bound.address;
  }

  /** A copy of the counters. */
  stats(): TransportStats {
    return { ...this.counters };
  }

  private accept(socket: net.Socket): void {
    if (this.stopping) {
      socket.destroy();
      return;
    }
    socket.setNoDelay(true);
    socket.setKeepAlive(true, 10_000);
    const remote = `${socket.remoteAddress}:${socket.remotePort}`;
    const sc: ServerConn = { conn: null as unknown as FramedConnection, inflight: 0, reading: true };
    sc.conn = new FramedConnection(
      socket,
      remote,
      {
        maxFrameBytes: this.maxFrameBytes,
        logger: this.logger,
        stats: this.counters,
        onEnvelope: (env) => this.onEnvelope(sc, env),
        onClose: () => {
          this.conns.delete(sc);
          this.counters.connectionsOpen--;
        },
        onDrain: () => this.updateFlow(sc),
      },
      true,
    );
    this.conns.add(sc);
    this.counters.connectionsOpened++;
    this.counters.connectionsOpen++;
  }

  private onEnvelope(sc: ServerConn, env: Envelope): boolean {
    const conn = sc.conn;
    const me = this.opts.storeId ?? 0;
    if (me !== 0 && env.toStore !== 0 && env.toStore !== me) {
      conn.refuse(`frame for store ${env.toStore} reached store ${me}`);
      return false;
    }
    const from: PeerInfo = { storeId: env.fromStore, remoteAddress: conn.remote, connectionId: conn.id };
    const body = env.body;
    if (env.kind === Kind.MESSAGE) {
      const onMessage = this.opts.onMessage;
      if (!onMessage) {
        this.counters.dropped++;
        return true;
      }
      try {
        onMessage(env.type, body, from);
      } catch (e) {
        conn.refuse(`message of type ${JSON.stringify(env.type)} failed: ${e instanceof Error ? e.message : String(e)}`);
        return false;
      }
      return true;
    }
    if (env.kind !== Kind.REQUEST) {
      conn.refuse('a response sent to the server');
      return false;
    }
    this.counters.requests++;
    const requestId = env.requestId;
    sc.inflight++;
    this.updateFlow(sc);
    let result: Promise<Uint8Array>;
    try {
      const onRequest = this.opts.onRequest;
      result = onRequest ? onRequest(env.type, body, from) : Promise.reject(new Error(`no request handler for ${JSON.stringify(env.type)}`));
    } catch (e) {
      result = Promise.reject(e);
    }
    result.then(
      (resp) => {
        if (resp instanceof Uint8Array) this.respond(sc, requestId, resp, '');
        else {
          this.counters.requestErrors++;
          this.logger.error({ type: env.type }, 'request handler resolved with something other than bytes');
          this.respond(sc, requestId, null, 'request handler returned no bytes');
        }
      },
      (err) => {
        this.counters.requestErrors++;
        const msg = err instanceof Error ? err.message : String(err);
        // A typed error (rpc-errors.ts) travels as the body, next to its message.
        this.respond(sc, requestId, encodeRpcError(err), msg || 'error');
      },
    );
    return true;
  }

  private respond(sc: ServerConn, requestId: number, body: Uint8Array | null, error: string): void {
    sc.inflight--;
    if (sc.conn.isClosed) return;
    const me = this.opts.storeId ?? 0;
    let frame = encodeFrame({ kind: Kind.RESPONSE, fromStore: me, requestId, error }, body);
    if (frame.bytes - 4 > this.maxFrameBytes) {
      this.logger.error({ requestId, bytes: frame.bytes }, 'response over the maximum frame size');
      frame = encodeFrame({ kind: Kind.RESPONSE, fromStore: me, requestId, error: `response of ${frame.bytes} bytes over the maximum frame size` }, null);
    }
    // Never dropped: reading pauses before unsent responses pile up.
    sc.conn.enqueue(frame);
    this.updateFlow(sc);
  }

  private updateFlow(sc: ServerConn): void {
    const over = sc.inflight >= this.maxInflight || sc.conn.outboundBytes > this.maxQueueBytes;
    if (over === !sc.reading) return;
    sc.reading = !over;
    if (over) this.counters.readPauses++;
    sc.conn.setReading(sc.reading);
  }

  /** Stops listening and closes every connection; pending responses are discarded. */
  close(): Promise<void> {
    if (this.closing !== null) return this.closing;
    this.stopping = true;
    const sockets = [...this.conns].map((sc) => sc.conn.socket);
    for (const sc of [...this.conns]) sc.conn.destroy();
    const serverClosed = this.listening
      ? new Promise<void>((resolve) => this.server.close(() => resolve()))
      : Promise.resolve();
    this.closing = Promise.all([serverClosed, ...sockets.map(waitClosed)]).then(() => undefined);
    return this.closing;
  }
}

export function waitClosed(socket: net.Socket): Promise<void> {
  if (socket.closed) return Promise.resolve();
  return new Promise((resolve) => socket.once('close', () => resolve()));
}
