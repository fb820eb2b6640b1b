// Pub/Sub on this store: who is subscribed to which channels, patterns and
// shard channels, and delivery of messages to them. Messages are not data:
// they never enter a Raft log (apply stays deterministic) and are lost if
// nobody listens, as in Redis. A PUBLISH reaches the subscribers of every
// store (Redis Cluster broadcasts it over its bus; here the node sends it to
// every up store over the peer transport, see `remote`), an SPUBLISH the
// shard subscribers on the stores that hold its slot's region.
import { PushReply, keySlot, pb } from '@redraft/common';
import type { Reply } from '@redraft/common';
import type { ClientState } from './commands/context';
import { globMatch } from './data/glob';
import type { RaftStore } from './raftstore/store';
import { RetryLaterError } from './dispatch';

export type SubscriptionKind = 'channel' | 'pattern' | 'shard';

/** What a subscriber's connection offers (the RESP Connection has all of it; a forwarded client none). */
export interface PushTarget {
  push(reply: Reply): void;
  readonly closed: boolean;
  readonly outputBufferBytes: number;
  once(ev: 'close', f: () => void): void;
  readonly flags?: Set<string>;
  subscriptions?: number;
  patternSubscriptions?: number;
  shardSubscriptions?: number;
}

/** The words of the confirmations and messages of each kind (Redis's). */
const WORDS: Record<SubscriptionKind, { subscribe: string; unsubscribe: string; message: string }> = {
  channel: { subscribe: 'subscribe', unsubscribe: 'unsubscribe', message: 'message' },
  pattern: { subscribe: 'psubscribe', unsubscribe: 'punsubscribe', message: 'pmessage' },
  shard: { subscribe: 'ssubscribe', unsubscribe: 'sunsubscribe', message: 'smessage' },
};

/**
 * A subscriber whose unsent output passes this is disconnected (Redis's
 * client-output-buffer-limit for pubsub clients, 32 MB hard): a reader that
 * stopped reading must not grow the store's memory without bound.
 */
export const SUBSCRIBER_OUTPUT_LIMIT = 32 * 1024 * 1024;

/** One client's subscriptions, by binary name (latin1 keeps every byte). */
interface Subscriber {
  readonly target: PushTarget;
  readonly client: ClientState;
  readonly names: Record<SubscriptionKind, Set<string>>;
}

/** The other stores, as the node reaches them (absent on a standalone store). */
export interface PubSubRemote {
  /**
   * Throws as command routing does (RedirectError, RetryLaterError) unless
   * this store serves `slot`: it leads its region, or holds a replica of it
   * and the client sent READONLY (shard subscriptions only, `write` false).
   */
  checkSlot(slot: number, client: ClientState, write: boolean): void;
  /**
   * Before an SPUBLISH: throws RedirectError on a store run with
   * `--redirect moved` that does not lead the slot (the client goes there),
   * RetryLaterError while the slot's region is unknown. Otherwise any store
   * sends it straight to the stores holding the region: no forward, so a
   * lost answer is never resent (a message is delivered at most once).
   */
  checkPublish(slot: number, client: ClientState): void;
  /** Delivers to the subscribers of other stores; resolves with how many got it (unreachable stores count 0). */
  publish(channel: Buffer, message: Buffer, sharded: boolean, slot: number): Promise<number>;
  /** The local views of the other up stores, for PUBSUB introspection. */
  query(q: PubsubQuery): Promise<PubsubView[]>;
  /** Runs a CONFIG SET (`args`) on every other up store, as a forwarded command; resolves when all answered or timed out. */
  configure(args: Buffer[]): Promise<void>;
}

export interface PubsubQuery {
  sharded: boolean;
  pattern?: Buffer;
  names: Buffer[];
}

export interface PubsubView {
  channels: Buffer[];
  counts: number[];
  patterns: Buffer[];
}

export class PubSubHub {
  private readonly byName: Record<SubscriptionKind, Map<string, Set<Subscriber>>> = {
    channel: new Map(),
    pattern: new Map(),
    shard: new Map(),
  };
  private readonly subscribers = new Map<ClientState, Subscriber>();
  /** Connections whose 'close' is already watched (once each, however often they resubscribe). */
  private readonly watched = new WeakSet<object>();
  /** Set by the node in replicated mode. */
  remote: PubSubRemote | undefined;

  /** Is the client subscribed to anything (Redis's CLIENT_PUBSUB flag)? */
  isSubscribed(client: ClientState): boolean {
    return this.subscribers.has(client);
  }

  /** (P|S)SUBSCRIBE: one confirmation per name, in the client's protocol (a push in RESP3). */
  subscribe(client: ClientState, kind: SubscriptionKind, names: Buffer[]): Reply[] {
    // A command that ran after its client left: nothing to record ('close' has come and gone).
    if ((client as Partial<PushTarget>).closed === true) return [];
    const sub = this.subscriberOf(client);
    const out: Reply[] = [];
    for (const name of names) {
      const key = name.toString('latin1');
      if (!sub.names[kind].has(key)) {
        sub.names[kind].add(key);
        let set = this.byName[kind].get(key);
        if (!set) this.byName[kind].set(key, (set = new Set()));
        set.add(sub);
      }
      out.push(new PushReply([WORDS[kind].subscribe, name, countOf(sub, kind)]));
    }
    this.mirror(sub);
    return out;
  }

  /** (P|S)UNSUBSCRIBE: `names` empty means all of that kind; always at least one confirmation. */
  unsubscribe(client: ClientState, kind: SubscriptionKind, names: Buffer[]): Reply[] {
    const sub = this.subscribers.get(client);
    const out: Reply[] = [];
    const list = names.length > 0 ? names : [...(sub?.names[kind] ?? [])].map((k) => Buffer.from(k, 'latin1'));
    for (const name of list) {
      if (sub) this.drop(sub, kind, name.toString('latin1'));
      out.push(new PushReply([WORDS[kind].unsubscribe, name, sub ? countOf(sub, kind) : 0]));
    }
    if (out.length === 0) out.push(new PushReply([WORDS[kind].unsubscribe, null, sub ? countOf(sub, kind) : 0]));
    if (sub) this.mirror(sub);
    return out;
  }

  /**
   * Delivers a message to this store's subscribers: channel subscribers
   * first, then matching patterns (none for shard channels); returns how
   * many deliveries were made (a client with a channel and a matching
   * pattern counts twice, as in Redis).
   */
  deliver(channel: Buffer, message: Buffer, sharded: boolean): number {
    let receivers = 0;
    const key = channel.toString('latin1');
    const kind: SubscriptionKind = sharded ? 'shard' : 'channel';
    for (const sub of this.byName[kind].get(key) ?? []) {
      this.send(sub, new PushReply([WORDS[kind].message, channel, message]));
      receivers++;
    }
    if (sharded) return receivers;
    for (const [pattern, subs] of this.byName.pattern) {
      const p = Buffer.from(pattern, 'latin1');
      if (!globMatch(p, channel)) continue;
      for (const sub of subs) {
        this.send(sub, new PushReply(['pmessage', p, channel, message]));
        receivers++;
      }
    }
    return receivers;
  }

  /** PUBLISH / SPUBLISH: this store's subscribers, then the other stores'. */
  async publish(channel: Buffer, message: Buffer, sharded: boolean, slot: number): Promise<number> {
    const local = this.deliver(channel, message, sharded);
    return local + (this.remote ? await this.remote.publish(channel, message, sharded, slot) : 0);
  }

  /** This store's answer to a PUBSUB question (also what other stores ask for). */
  localView(q: PubsubQuery): PubsubView {
    const kind: SubscriptionKind = q.sharded ? 'shard' : 'channel';
    const channels: Buffer[] = [];
    for (const name of this.byName[kind].keys()) {
      const b = Buffer.from(name, 'latin1');
      if (!q.pattern || globMatch(q.pattern, b)) channels.push(b);
    }
    return {
      channels,
      counts: q.names.map((n) => this.byName[kind].get(n.toString('latin1'))?.size ?? 0),
      patterns: [...this.byName.pattern.keys()].map((p) => Buffer.from(p, 'latin1')),
    };
  }

  /** The cluster's view: this store's merged with every other up store's (names once, counts summed). */
  async clusterView(q: PubsubQuery): Promise<PubsubView> {
    const views = [this.localView(q), ...(this.remote ? await this.remote.query(q) : [])];
    const channels = new Map<string, Buffer>();
    const patterns = new Map<string, Buffer>();
    const counts = q.names.map(() => 0);
    for (const v of views) {
      for (const c of v.channels) channels.set(c.toString('latin1'), c);
      for (const p of v.patterns) patterns.set(p.toString('latin1'), p);
      v.counts.forEach((n, i) => (counts[i] += n));
    }
    return { channels: [...channels.values()], counts, patterns: [...patterns.values()] };
  }

  /**
   * Unsubscribes everyone from the shard channels whose slot `served` says
   * this store no longer holds (its replica of the region moved away), each
   * with a `sunsubscribe` push, as Redis does when a slot leaves a node.
   */
  dropShardChannels(served: (slot: number) => boolean): void {
    for (const [key, subs] of [...this.byName.shard]) {
      const name = Buffer.from(key, 'latin1');
      if (served(keySlot(name))) continue;
      for (const sub of [...subs]) {
        this.drop(sub, 'shard', key);
        this.send(sub, new PushReply(['sunsubscribe', name, countOf(sub, 'shard')]));
        this.mirror(sub);
      }
    }
  }

  /** Subscription counts of this store (INFO stats pubsub_*). */
  stats(): { channels: number; patterns: number; shardChannels: number } {
    return { channels: this.byName.channel.size, patterns: this.byName.pattern.size, shardChannels: this.byName.shard.size };
  }

  // ---- internals -------------------------------------------------------------------------

  private subscriberOf(client: ClientState): Subscriber {
    let sub = this.subscribers.get(client);
    if (sub) return sub;
    const target = client as unknown as Partial<PushTarget>;
    if (typeof target.push !== 'function' || typeof target.once !== 'function') {
      throw new Error('this client cannot receive messages'); // a forwarded command: never routed so
    }
    sub = { target: target as PushTarget, client, names: { channel: new Set(), pattern: new Set(), shard: new Set() } };
    this.subscribers.set(client, sub);
    if (!this.watched.has(target)) {
      this.watched.add(target);
      target.once('close', () => {
        const gone = this.subscribers.get(client);
        if (gone) this.forget(gone);
      });
    }
    return sub;
  }

  private drop(sub: Subscriber, kind: SubscriptionKind, key: string): void {
    if (!sub.names[kind].delete(key)) return;
    const set = this.byName[kind].get(key);
    set?.delete(sub);
    if (set && set.size === 0) this.byName[kind].delete(key);
  }

  /** The client left: every subscription of it goes. */
  private forget(sub: Subscriber): void {
    for (const kind of ['channel', 'pattern', 'shard'] as const) for (const key of [...sub.names[kind]]) this.drop(sub, kind, key);
    this.subscribers.delete(sub.client);
  }

  /** Keeps the connection's CLIENT LIST fields and the pubsub flag in step; a client with nothing left leaves subscribed mode. */
  private mirror(sub: Subscriber): void {
    const t = sub.target;
    t.subscriptions = sub.names.channel.size;
    t.patternSubscriptions = sub.names.pattern.size;
    t.shardSubscriptions = sub.names.shard.size;
    const total = sub.names.channel.size + sub.names.pattern.size + sub.names.shard.size;
    if (total > 0) t.flags?.add('pubsub');
    else {
      t.flags?.delete('pubsub');
      this.subscribers.delete(sub.client);
    }
  }

  private send(sub: Subscriber, reply: Reply): void {
    const t = sub.target;
    if (t.closed) return;
    if (t.outputBufferBytes > SUBSCRIBER_OUTPUT_LIMIT) {
      (t as unknown as { kill?: () => void }).kill?.();
      return;
    }
    t.push(reply);
  }
}

/** The count a confirmation carries: channels + patterns, or shard channels alone (Redis 7.0). */
function countOf(sub: Subscriber, kind: SubscriptionKind): number {
  return kind === 'shard' ? sub.names.shard.size : sub.names.channel.size + sub.names.pattern.size;
}

/**
 * How long a PUBLISH waits for another store's count. A store that does not
 * answer in time (paused, partitioned) counts 0 receivers; the message may
 * still reach it, as a Redis Cluster bus message would.
 */
const PEER_PUBLISH_TIMEOUT_MS = 1000;

/**
 * The other stores over the peer transport: every up store for PUBLISH and
 * PUBSUB questions (the store list is the meta's, as heartbeats bring it),
 * the stores holding a replica of the slot's region for SPUBLISH (Redis
 * Cluster sends shard messages to the shard's master and replicas; shard
 * subscribers are only on those stores).
 */
export function remoteOverPeers(raft: RaftStore, checkSlot: PubSubRemote['checkSlot'], redirect: 'forward' | 'moved'): PubSubRemote {
  const otherUpStores = (): string[] =>
    raft
      .allStores()
      .filter((s) => Number(s.id) !== raft.storeId && (s.state ?? pb.StoreState.UP) === pb.StoreState.UP && !!s.peerAddr)
      .map((s) => String(s.peerAddr));
  const regionStores = (slot: number): string[] => {
    const ids = new Set((raft.routeOf(slot)?.peers ?? []).map((p) => Number(p.storeId)));
    ids.delete(raft.storeId);
    return [...ids].map((id) => raft.storeInfo(id)?.peerAddr).filter((a): a is string => !!a).map(String);
  };
  const ask = async (addr: string, type: string, body: Uint8Array): Promise<Uint8Array | undefined> => {
    try {
      return await raft.pool.request(addr, type, body, { timeoutMs: PEER_PUBLISH_TIMEOUT_MS });
    } catch {
      return undefined; // down, unreachable or slow: it counts nothing
    }
  };
  return {
    checkSlot,
    checkPublish(slot, client) {
      if (redirect === 'moved') checkSlot(slot, client, true);
      else if (!raft.routeOf(slot)) throw new RetryLaterError('CLUSTERDOWN Hash slot not served');
    },
    async publish(channel, message, sharded, slot) {
      const body = pb.PublishRequest.encode({ channel, message, sharded }).finish();
      const answers = await Promise.all((sharded ? regionStores(slot) : otherUpStores()).map((a) => ask(a, 'store.publish', body)));
      return answers.reduce((n, r) => n + (r ? pb.PublishResponse.decode(r).receivers : 0), 0);
    },
    async configure(args) {
      const body = pb.ForwardRequest.encode({ args, protocol: 2 } as pb.ForwardRequest.$Properties).finish();
      await Promise.all(otherUpStores().map((a) => ask(a, 'store.forward', body)));
    },
    async query(q) {
      const body = pb.PubsubQueryRequest.encode({ sharded: q.sharded, pattern: q.pattern, hasPattern: q.pattern !== undefined, names: q.names }).finish();
      const answers = await Promise.all(otherUpStores().map((a) => ask(a, 'store.pubsub_query', body)));
      return answers
        .filter((r): r is Uint8Array => !!r)
        .map((r) => {
          const v = pb.PubsubQueryResponse.decode(r);
          return { channels: v.channels.map((c) => Buffer.from(c)), counts: v.counts.map(Number), patterns: v.patterns.map((p) => Buffer.from(p)) };
        });
    },
  };
}

/** How often a store looks for shard channels of slots it no longer holds. */
const SHARD_WATCH_MS = 1000;

/**
 * This store's side of remoteOverPeers: answers other stores' publishes and
 * questions, and drops shard subscriptions of slots whose replica left this
 * store. Returns the function that stops it.
 */
export function servePeers(hub: PubSubHub, raft: RaftStore): () => void {
  const watch = setInterval(() => hub.dropShardChannels((slot) => raft.routeOf(slot)?.peer !== undefined), SHARD_WATCH_MS);
  watch.unref();
  raft.onPublish = (req) => hub.deliver(Buffer.from(req.channel), Buffer.from(req.message), !!req.sharded);
  raft.onPubsubQuery = (req) =>
    hub.localView({ sharded: !!req.sharded, pattern: req.hasPattern ? Buffer.from(req.pattern) : undefined, names: req.names.map((n) => Buffer.from(n)) });
  return () => clearInterval(watch);
}
