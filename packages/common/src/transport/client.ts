// The dialing side of the peer transport. A PeerClient owns one TCP
// connection to one address: connected lazily on first use, re-established
// with exponential backoff and jitter when lost. A PeerPool keeps one
// PeerClient per address.
import { EventEmitter } from 'node:events';
import * as net from 'node:net';
import type { Logger } from 'pino';
import pino from 'pino';
import { FramedConnection } from './connection';
import { DEFAULT_MAX_FRAME_BYTES, FRAME_HEADER_BYTES, Kind, encodeFrame } from './frame';
import type { Envelope } from './frame';
import { TransportError } from './errors';
import { decodeRpcError } from './rpc-errors';
import { newStats, type TransportStats } from './stats';
import { waitClosed } from './server';

export interface PeerClientOptions {
  /** this node's id, sent as from_store in every frame; default 0 */
  storeId?: number;
  logger?: Logger;
  /** maximum frame length, both directions; default 64 MiB */
  maxFrameBytes?: number;
  /** cap on bytes queued for one connection (ours + the socket's); default 128 MiB */
  maxQueueBytes?: number;
  /** first reconnect delay; default 50 ms */
  backoffInitialMs?: number;
  /** reconnect delay cap; default 1000 ms */
  backoffMaxMs?: number;
  /** source of jitter in [0, 1); default Math.random */
  random?: () => number;
  /** a connection attempt that takes longer fails; default 5000 ms */
  connectTimeoutMs?: number;
  /** default timeout of request(); default 5000 ms */
  requestTimeoutMs?: number;
  /** counters to update (a pool shares one set among its clients); default: own */
  stats?: TransportStats;
  /**
   * source address of outgoing connections (a node's own --host), so that a
   * peer sees it coming from that address and a firewall rule between two
   * nodes' addresses cuts exactly that link; default: the kernel's choice
   */
  localAddress?: string;
}

/** The host to bind outgoing connections to: a specific IP address, not a wildcard or a name. */
export function bindableLocalAddress(host: string | undefined): string | undefined {
  if (host === undefined || net.isIP(host) === 0 || host === '0.0.0.0' || host === '::') return undefined;
  return host;
}

export interface SendOptions {
  /** the receiving store's id; a server with another id refuses the frame. Default 0 (any) */
  toStore?: number;
}

export interface RequestOptions extends SendOptions {
  /** reject with TIMEOUT after this long; default the client's requestTimeoutMs */
  timeoutMs?: number;
  /**
   * write the frame (and any queued before it) at once rather than at the end
   * of the turn: for a caller that already gathered a turn's work (a batch
   * sent from setImmediate would otherwise wait one more loop iteration)
   */
  writeNow?: boolean;
}

/**
 * idle: never used; connecting: a connection attempt is under way (frames
 * queue); connected; backoff: waiting to reconnect (sends are dropped,
 * requests fail fast with UNAVAILABLE); closed: close() was called.
 */
export type PeerClientState = 'idle' | 'connecting' | 'connected' | 'backoff' | 'closed';

interface Pending {
  resolve: (body: Uint8Array) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

export function parseAddress(address: string): { host: string; port: number } {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(address) ?? /^([^:]+):(\d+)$/.exec(address);
  const port = m ? Number(m[2]) : NaN;
  if (!m || !Number.isInteger(port) || port <= 0 || port > 65535) throw new Error(`bad peer address ${JSON.stringify(address)} (want host:port)`);
  return { host: m[1], port };
}

/**
 * One connection to one peer address. Events: 'connect' (), 'disconnect'
 * (reason: string) — a lost connection or a failed attempt.
 */
export class PeerClient extends EventEmitter {
  private readonly host: string;
  private readonly port: number;
  private readonly logger: Logger;
  private readonly storeId: number;
  private readonly maxFrameBytes: number;
  private readonly maxQueueBytes: number;
  private readonly backoffInitialMs: number;
  private readonly backoffMaxMs: number;
  private readonly random: () => number;
  private readonly connectTimeoutMs: number;
  private readonly requestTimeoutMs: number;
  private readonly counters: TransportStats;
  private readonly localAddress: string | undefined;
  private _state: PeerClientState = 'idle';
  private conn: FramedConnection | null = null;
  private connectTimer: NodeJS.Timeout | null = null;
  private reconnectTimer: NodeJS.Timeout | null = null;
  private attempt = 0;
  private everConnected = false;
  private connectedAt = 0;
  private nextRequestId = 1;
  private readonly pending = new Map<number, Pending>();
  private closing: Promise<void> | null = null;

  constructor(readonly address: string, opts: PeerClientOptions = {}) {
    super();
    ({ host: this.host, port: this.port } = parseAddress(address));
    this.logger = (opts.logger ?? pino({ level: 'silent' })).child({ peer: address });
    this.storeId = opts.storeId ?? 0;
    this.maxFrameBytes = opts.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
    this.maxQueueBytes = opts.maxQueueBytes ?? 2 * DEFAULT_MAX_FRAME_BYTES;
    this.backoffInitialMs = opts.backoffInitialMs ?? 50;
    this.backoffMaxMs = opts.backoffMaxMs ?? 1000;
    this.random = opts.random ?? Math.random;
    this.connectTimeoutMs = opts.connectTimeoutMs ?? 5000;
    this.requestTimeoutMs = opts.requestTimeoutMs ?? 5000;
    this.counters = opts.stats ?? newStats();
    this.localAddress = opts.localAddress;
  }

  get state(): PeerClientState {
    return this._state;
  }

  /** Requests waiting for their response. */
  get pendingRequests(): number {
    return this.pending.size;
  }

  /** A copy of the counters (the pool's, when the client belongs to a pool). */
  stats(): TransportStats {
    return { ...this.counters };
  }

  /** Starts connecting if the client was never used; otherwise does nothing. */
  connect(): void {
    if (this._state === 'idle') this.startConnect();
  }

  /**
   * Queues a one-way frame, written at the end of this event-loop turn.
   * Returns false if it was dropped (counted): while in backoff, when the
   * queue is over its byte cap, when the frame is over the maximum size, or
   * after close(). A dropped frame is not an error: Raft retransmits.
   */
  send(type: string, body: Uint8Array, opts: SendOptions = {}): boolean {
    if (this._state === 'idle') this.startConnect();
    if (this._state === 'backoff' || this._state === 'closed' || this.conn === null) {
      this.counters.dropped++;
      return false;
    }
    const frame = encodeFrame({ kind: Kind.MESSAGE, fromStore: this.storeId, toStore: opts.toStore, type }, body);
    if (frame.bytes - FRAME_HEADER_BYTES > this.maxFrameBytes) {
      this.counters.dropped++;
      this.logger.warn({ type, bytes: frame.bytes }, 'dropped a frame over the maximum frame size');
      return false;
    }
    if (this.conn.outboundBytes + frame.bytes > this.maxQueueBytes) {
      this.counters.dropped++;
      return false;
    }
    this.conn.enqueue(frame);
    return true;
  }

  /**
   * Sends a request and resolves with the response body. Rejects with a
   * TransportError: TIMEOUT, DISCONNECTED (the connection dropped first),
   * UNAVAILABLE (in backoff: nothing was sent), OVERLOADED, TOO_LARGE,
   * CLOSED, or REMOTE (the remote handler failed) — or, when the remote
   * handler failed with a typed error, that error's class (rpc-errors.ts).
   */
  request(type: string, body: Uint8Array, opts: RequestOptions = {}): Promise<Uint8Array> {
    if (this._state === 'idle') this.startConnect();
    if (this._state === 'closed') return Promise.reject(new TransportError('CLOSED', 'peer client closed', this.address));
    this.counters.requests++;
    if (this._state === 'backoff' || this.conn === null) {
      this.counters.requestErrors++;
      return Promise.reject(new TransportError('UNAVAILABLE', `peer ${this.address} unreachable`, this.address));
    }
    const requestId = this.nextRequestId++;
    const frame = encodeFrame({ kind: Kind.REQUEST, fromStore: this.storeId, toStore: opts.toStore, requestId, type }, body);
    if (frame.bytes - FRAME_HEADER_BYTES > this.maxFrameBytes) {
      this.counters.requestErrors++;
      return Promise.reject(new TransportError('TOO_LARGE', `request of ${frame.bytes} bytes over the maximum frame size`, this.address));
    }
    if (this.conn.outboundBytes + frame.bytes > this.maxQueueBytes) {
      this.counters.requestErrors++;
      return Promise.reject(new TransportError('OVERLOADED', `outbound queue to ${this.address} full`, this.address));
    }
    const timeoutMs = opts.timeoutMs ?? this.requestTimeoutMs;
    const conn = this.conn;
    return new Promise<Uint8Array>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(requestId);
        this.counters.requestErrors++;
        this.counters.requestTimeouts++;
        reject(new TransportError('TIMEOUT', `request ${JSON.stringify(type)} to ${this.address} timed out after ${timeoutMs} ms`, this.address));
      }, timeoutMs);
      this.pending.set(requestId, { resolve, reject, timer });
      conn.enqueue(frame);
      if (opts.writeNow) conn.flush();
    });
  }

  private startConnect(): void {
    this._state = 'connecting';
    const socket = net.connect({ host: this.host, port: this.port, ...(this.localAddress ? { localAddress: this.localAddress } : {}) });
    socket.setNoDelay(true);
    socket.setKeepAlive(true, 10_000);
    const conn = new FramedConnection(
      socket,
      this.address,
      {
        maxFrameBytes: this.maxFrameBytes,
        logger: this.logger,
        stats: this.counters,
        onEnvelope: (env): boolean => this.onEnvelope(conn, env),
        onClose: () => this.onConnClose(conn),
      },
      false,
    );
    this.conn = conn;
    this.connectTimer = setTimeout(() => {
      this.connectTimer = null;
      this.logger.debug({ timeoutMs: this.connectTimeoutMs }, 'peer connect timed out');
      conn.destroy();
    }, this.connectTimeoutMs);
    socket.once('connect', () => {
      if (this.conn !== conn || conn.isClosed) return;
      this.clearConnectTimer();
      this._state = 'connected';
      this.connectedAt = Date.now();
      this.counters.connectionsOpened++;
      this.counters.connectionsOpen++;
      if (this.everConnected) {
        this.counters.reconnects++;
        this.logger.info('peer reconnected');
      }
      this.everConnected = true;
      conn.markConnected();
      this.emit('connect');
    });
  }

  private onEnvelope(conn: FramedConnection, env: Envelope): boolean {
    if (env.kind !== Kind.RESPONSE) {
      conn.refuse('a message or request sent to a client connection');
      return false;
    }
    const p = this.pending.get(env.requestId);
    if (p === undefined) return true; // timed out already
    this.pending.delete(env.requestId);
    clearTimeout(p.timer);
    if (env.error) {
      this.counters.requestErrors++;
      p.reject(decodeRpcError(env.error, env.body, this.address));
    } else {
      p.resolve(env.body);
    }
    return true;
  }

  private onConnClose(conn: FramedConnection): void {
    if (this.conn !== conn) return;
    this.conn = null;
    this.clearConnectTimer();
    const wasConnected = this._state === 'connected';
    if (wasConnected) {
      this.counters.connectionsOpen--;
      // A connection that lived a while resets the backoff; one that drops
      // right away (say, refused by the peer) keeps backing off.
      if (Date.now() - this.connectedAt >= this.backoffMaxMs) this.attempt = 0;
    } else if (this._state === 'connecting') {
      this.counters.connectFailures++;
    }
    this.failPending(new TransportError('DISCONNECTED', wasConnected ? `connection to ${this.address} lost` : `could not connect to ${this.address}`, this.address));
    if (this._state === 'closed') return;
    const delay = this.backoffDelay();
    this._state = 'backoff';
    this.logger[wasConnected ? 'info' : 'debug']({ reconnectInMs: Math.round(delay) }, wasConnected ? 'peer connection lost' : 'peer connect failed');
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      if (this._state === 'backoff') this.startConnect();
    }, delay);
    this.emit('disconnect', wasConnected ? 'connection lost' : 'connect failed');
  }

  /** Delay before the next attempt: exponential, capped, with "equal jitter" (half fixed, half random). */
  private backoffDelay(): number {
    const cap = Math.min(this.backoffMaxMs, this.backoffInitialMs * 2 ** Math.min(this.attempt, 30));
    this.attempt++;
    return cap / 2 + this.random() * (cap / 2);
  }

  private failPending(err: TransportError): void {
    if (this.pending.size === 0) return;
    const all = [...this.pending.values()];
    this.pending.clear();
    for (const p of all) {
      clearTimeout(p.timer);
      this.counters.requestErrors++;
      p.reject(err);
    }
  }

  private clearConnectTimer(): void {
    if (this.connectTimer !== null) {
      clearTimeout(this.connectTimer);
      this.connectTimer = null;
    }
  }

  /** Closes the connection, rejects pending requests with CLOSED, stops reconnecting. */
  close(): Promise<void> {
    if (this.closing !== null) return this.closing;
    const wasConnected = this._state === 'connected';
    this._state = 'closed';
    this.clearConnectTimer();
    if (this.reconnectTimer !== null) {
      clearTimeout(this.reconnectTimer);
      this.reconnectTimer = null;
    }
    this.failPending(new TransportError('CLOSED', 'peer client closed', this.address));
    const conn = this.conn;
    if (conn !== null) {
      this.conn = null;
      conn.destroy();
      if (wasConnected) this.counters.connectionsOpen--;
      this.closing = waitClosed(conn.socket);
    } else {
      this.closing = Promise.resolve();
    }
    return this.closing;
  }
}

/** One PeerClient per address, sharing options and counters. Events: 'connect' (address), 'disconnect' (address, reason). */
export class PeerPool extends EventEmitter {
  private readonly clients = new Map<string, PeerClient>();
  private readonly badAddresses = new Set<string>();
  private readonly counters: TransportStats;
  private closed = false;

  constructor(private readonly opts: PeerClientOptions = {}) {
    super();
    this.counters = opts.stats ?? newStats();
  }

  /** The client for an address, created (not yet connected) on first use. */
  client(address: string): PeerClient {
    let c = this.clients.get(address);
    if (c === undefined) {
      if (this.closed) throw new TransportError('CLOSED', 'peer pool closed', address);
      c = new PeerClient(address, { ...this.opts, stats: this.counters });
      c.on('connect', () => this.emit('connect', address));
      c.on('disconnect', (reason: string) => this.emit('disconnect', address, reason));
      this.clients.set(address, c);
    }
    return c;
  }

  /** See PeerClient.send. A malformed address drops the frame (counted, logged). */
  send(address: string, type: string, body: Uint8Array, opts?: SendOptions): boolean {
    const c = this.closed ? null : this.clientOrNull(address);
    if (c === null) {
      this.counters.dropped++;
      return false;
    }
    return c.send(type, body, opts);
  }

  /** See PeerClient.request. A malformed address rejects with UNAVAILABLE. */
  request(address: string, type: string, body: Uint8Array, opts?: RequestOptions): Promise<Uint8Array> {
    if (this.closed) return Promise.reject(new TransportError('CLOSED', 'peer pool closed', address));
    const c = this.clientOrNull(address);
    if (c === null) return Promise.reject(new TransportError('UNAVAILABLE', `bad peer address ${JSON.stringify(address)}`, address));
    return c.request(type, body, opts);
  }

  private clientOrNull(address: string): PeerClient | null {
    try {
      return this.client(address);
    } catch (e) {
      if (!this.badAddresses.has(address)) {
        if (this.badAddresses.size < 1000) this.badAddresses.add(address); // log each one once
        this.opts.logger?.error({ peer: address, err: (e as Error).message }, 'bad peer address');
      }
      return null;
    }
  }

  /** Addresses with a client. */
  addresses(): string[] {
    return [...this.clients.keys()];
  }

  /** Closes and forgets the client of an address (a store that left the cluster). */
  disconnect(address: string): Promise<void> {
    const c = this.clients.get(address);
    if (c === undefined) return Promise.resolve();
    this.clients.delete(address);
    c.removeAllListeners();
    return c.close();
  }

  /** A copy of the counters of all clients together. */
  stats(): TransportStats {
    return { ...this.counters };
  }

  /** Closes every client. */
  async close(): Promise<void> {
    this.closed = true;
    const all = [...this.clients.values()];
    this.clients.clear();
    await Promise.all(all.map((c) => c.close()));
  }
}
