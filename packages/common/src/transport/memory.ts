// An in-memory PeerNetwork: several stores and meta replicas in one process
// exchange frames through a switchboard instead of TCP, with filters that
// drop traffic between named nodes (ideas: hashicorp/raft's InmemTransport,
// TiKV test_raftstore's Filters). For the in-process harness (test/support/inproc).
//
// Semantics, chosen to match what TCP between processes shows a node:
//  - frames are delivered asynchronously (setImmediate), in order, copied;
//  - a one-way frame a filter drops is lost silently (send still says true,
//    as a frame queued on a socket that never arrives);
//  - a request a filter drops is never delivered: UNAVAILABLE (a refused
//    connection); a response a filter drops rejects with DISCONNECTED (the
//    connection was lost after the request may have run);
//  - an address no listener holds: send returns false, request UNAVAILABLE;
//  - closing a listener fails the requests it is handling with DISCONNECTED.
import type { PeerClientOptions, RequestOptions, SendOptions } from './client';
import type { PeerInfo, PeerServerOptions } from './server';
import type { PeerListener, PeerNetwork, PeerSender } from './network';
import { TransportError } from './errors';
import { decodeRpcError, encodeRpcError } from './rpc-errors';
import { newStats, type TransportStats } from './stats';

/** What a filter sees of one frame. `from`/`to` are node names given to endpoint(). */
export interface LinkEvent {
  from: string;
  to: string;
  type: string;
  kind: 'message' | 'request' | 'response';
}

/** Returns true to drop the frame. */
export type LinkFilter = (e: LinkEvent) => boolean;

export interface MemoryCounters {
  delivered: number;
  dropped: number;
}

export class InMemoryNetwork {
  private readonly listeners = new Map<string, MemoryListener>();
  private readonly filters = new Set<LinkFilter>();
  readonly counters: MemoryCounters = { delivered: 0, dropped: 0 };
  private nextPort = 40_000;
  private nextSenderId = 1;

  /** The PeerNetwork of one node; `name` is how filters see it. */
  endpoint(name: string): PeerNetwork {
    return {
      sender: (opts) => new MemorySender(this, name, this.nextSenderId++, opts),
      listener: (opts) => new MemoryListener(this, name, opts),
    };
  }

  /** Adds a filter; returns the function that removes it. */
  addFilter(f: LinkFilter): () => void {
    this.filters.add(f);
    return () => this.filters.delete(f);
  }

  clearFilters(): void {
    this.filters.clear();
  }

  /** Cuts every link of `name` (both ways). Returns the heal of this cut only. */
  isolate(name: string): () => void {
    return this.addFilter((e) => e.from !== e.to && (e.from === name || e.to === name));
  }

  /** Cuts the links between two groups of nodes (both ways). */
  partition(a: readonly string[], b: readonly string[]): () => void {
    const sa = new Set(a);
    const sb = new Set(b);
    return this.addFilter((e) => (sa.has(e.from) && sb.has(e.to)) || (sb.has(e.from) && sa.has(e.to)));
  }

  /** Drops this share of one-way frames (Raft messages) of the links `which` accepts (default all), drawn from `random`. */
  dropMessages(share: number, random: () => number, which: (e: LinkEvent) => boolean = () => true): () => void {
    return this.addFilter((e) => e.kind === 'message' && which(e) && random() < share);
  }

  /** @internal */
  blocked(e: LinkEvent): boolean {
    for (const f of this.filters) {
      if (f(e)) {
        this.counters.dropped++;
        return true;
      }
    }
    return false;
  }

  /** @internal */
  bind(l: MemoryListener, host: string, port: number): string {
    const address = `${host}:${port || this.nextPort++}`;
    const had = this.listeners.get(address);
    if (had && had !== l) throw new TransportError('UNAVAILABLE', `address ${address} already in use (in memory)`, address);
    this.listeners.set(address, l);
    return address;
  }

  /** @internal */
  unbind(address: string, l: MemoryListener): void {
    if (this.listeners.get(address) === l) this.listeners.delete(address);
  }

  /** @internal */
  listenerAt(address: string): MemoryListener | undefined {
    return this.listeners.get(address);
  }
}

interface Pending {
  reject: (e: Error) => void;
  settle: () => void;
}

class MemorySender implements PeerSender {
  private readonly counters: TransportStats;
  private readonly pending = new Set<Pending>();
  private closed = false;
  private readonly requestTimeoutMs: number;

  constructor(
    private readonly net: InMemoryNetwork,
    private readonly name: string,
    private readonly connectionId: number,
    private readonly opts: PeerClientOptions,
  ) {
    this.counters = opts.stats ?? newStats();
    this.requestTimeoutMs = opts.requestTimeoutMs ?? 5000;
  }

  private from(): PeerInfo {
    return { storeId: this.opts.storeId ?? 0, remoteAddress: this.name, connectionId: this.connectionId };
  }

  send(address: string, type: string, body: Uint8Array, opts: SendOptions = {}): boolean {
    const l = this.closed ? undefined : this.net.listenerAt(address);
    if (!l || !l.open) {
      this.counters.dropped++;
      return false;
    }
    this.counters.framesOut++;
    this.counters.bytesOut += body.length;
    if (this.net.blocked({ from: this.name, to: l.name, type, kind: 'message' })) return true;
    const copy = body.slice();
    const from = this.from();
    setImmediate(() => l.deliverMessage(type, copy, from, opts.toStore ?? 0));
    return true;
  }

  request(address: string, type: string, body: Uint8Array, opts: RequestOptions = {}): Promise<Uint8Array> {
    if (this.closed) return Promise.reject(new TransportError('CLOSED', 'peer sender closed', address));
    this.counters.requests++;
    const l = this.net.listenerAt(address);
    if (!l || !l.open || this.net.blocked({ from: this.name, to: l.name, type, kind: 'request' })) {
      this.counters.requestErrors++;
      return Promise.reject(new TransportError('UNAVAILABLE', `peer ${address} unreachable`, address));
    }
    const copy = body.slice();
    const from = this.from();
    const timeoutMs = opts.timeoutMs ?? this.requestTimeoutMs;
    return new Promise<Uint8Array>((resolve, reject) => {
      let done = false;
      const p: Pending = {
        reject: (e) => finish(() => reject(e), true),
        settle: () => {},
      };
      const finish = (f: () => void, failed: boolean) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        this.pending.delete(p);
        l.forget(p);
        if (failed) this.counters.requestErrors++;
        f();
      };
      const timer = setTimeout(() => {
        this.counters.requestTimeouts++;
        p.reject(new TransportError('TIMEOUT', `request ${JSON.stringify(type)} to ${address} timed out after ${timeoutMs} ms`, address));
      }, timeoutMs);
      this.pending.add(p);
      setImmediate(() => {
        if (done) return;
        l.deliverRequest(type, copy, from, opts.toStore ?? 0, p).then(
          (res) => {
            setImmediate(() => {
              if (done) return;
              if (this.net.blocked({ from: l.name, to: this.name, type, kind: 'response' })) {
                p.reject(new TransportError('DISCONNECTED', `connection to ${address} lost`, address));
                return;
              }
              this.net.counters.delivered++;
              finish(() => resolve(res.slice()), false);
            });
          },
          (err) => {
            setImmediate(() => {
              if (done) return;
              if (this.net.blocked({ from: l.name, to: this.name, type, kind: 'response' })) {
                p.reject(new TransportError('DISCONNECTED', `connection to ${address} lost`, address));
                return;
              }
              // Through the same encoding as on TCP: a typed error stays typed.
              const msg = err instanceof Error ? err.message : String(err);
              p.reject(err instanceof TransportError && err.code === 'DISCONNECTED' ? err : decodeRpcError(msg || 'error', encodeRpcError(err) ?? new Uint8Array(0), address));
            });
          },
        );
      });
    });
  }

  stats(): TransportStats {
    return { ...this.counters };
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const p of [...this.pending]) p.reject(new TransportError('CLOSED', 'peer sender closed'));
  }
}

class MemoryListener implements PeerListener {
  open = false;
  private bound = '';
  private readonly handling = new Set<Pending>();

  constructor(
    private readonly net: InMemoryNetwork,
    readonly name: string,
    private readonly opts: PeerServerOptions,
  ) {}

  get port(): number {
    const m = /:(\d+)$/.exec(this.bound);
    return m ? Number(m[1]) : 0;
  }

  get address(): string {
    return this.bound;
  }

  async listen(): Promise<void> {
    this.bound = this.net.bind(this, this.opts.host ?? '127.0.0.1', this.opts.port);
    this.open = true;
  }

  async close(): Promise<void> {
    if (!this.open) return;
    this.open = false;
    this.net.unbind(this.bound, this);
    for (const p of [...this.handling]) p.reject(new TransportError('DISCONNECTED', `connection to ${this.bound} lost`, this.bound));
    this.handling.clear();
  }

  forget(p: Pending): void {
    this.handling.delete(p);
  }

  private wrongStore(toStore: number): boolean {
    const me = this.opts.storeId ?? 0;
    return me !== 0 && toStore !== 0 && toStore !== me;
  }

  deliverMessage(type: string, body: Uint8Array, from: PeerInfo, toStore: number): void {
    if (!this.open || !this.opts.onMessage || this.wrongStore(toStore)) {
      this.net.counters.dropped++;
      return;
    }
    this.net.counters.delivered++;
    try {
      this.opts.onMessage(type, body, from);
    } catch (e) {
      // TCP would close the connection: the frame is lost either way.
      this.opts.logger?.warn({ type, err: (e as Error).message }, 'refused an in-memory peer frame');
    }
  }

  deliverRequest(type: string, body: Uint8Array, from: PeerInfo, toStore: number, p: Pending): Promise<Uint8Array> {
    if (!this.open) return Promise.reject(new TransportError('DISCONNECTED', `connection to ${this.bound} lost`, this.bound));
    if (this.wrongStore(toStore)) return Promise.reject(new TransportError('DISCONNECTED', `frame for store ${toStore} refused`, this.bound));
    this.handling.add(p);
    this.net.counters.delivered++;
    try {
      const h = this.opts.onRequest;
      return h ? h(type, body, from) : Promise.reject(new Error(`no request handler for ${JSON.stringify(type)}`));
    } catch (e) {
      return Promise.reject(e);
    }
  }
}
