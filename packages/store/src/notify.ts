// Keyspace notifications (Redis's notify-keyspace-events): the flags, and
// the notifier that publishes `__keyspace@0__:<key> <event>` and
// `__keyevent@0__:<event> <key>` through the PubSubHub, so that they reach
// subscribers on every store as a PUBLISH does. Events are made on the store
// that ran the write after apply answered it (commands/keyspace-events.ts
// says which events each command makes), never by apply itself: apply runs
// on every replica and must stay deterministic. docs/pubsub.md has the decisions.
import { RawReply, decodeReply, keySlot, metaKey } from '@redraft/common';
import type { KvReader, Reply } from '@redraft/common';
import { decodeMeta, isExpired } from './data/meta';
import type { PubSubHub } from './pubsub';
import { NOTIFY, writeEvents } from './commands/keyspace-events';

export { NOTIFY };


/** 'A': every class but key-miss and new-key (Redis's NOTIFY_ALL). */
const ALL =
  NOTIFY.generic | NOTIFY.string | NOTIFY.list | NOTIFY.set | NOTIFY.hash | NOTIFY.zset | NOTIFY.expired | NOTIFY.evicted | NOTIFY.stream | NOTIFY.module;

const LETTERS: Record<string, number> = {
  A: ALL,
  g: NOTIFY.generic,
  $: NOTIFY.string,
  l: NOTIFY.list,
  s: NOTIFY.set,
  h: NOTIFY.hash,
  z: NOTIFY.zset,
  x: NOTIFY.expired,
  e: NOTIFY.evicted,
  K: NOTIFY.keyspace,
  E: NOTIFY.keyevent,
  t: NOTIFY.stream,
  m: NOTIFY.keyMiss,
  d: NOTIFY.module,
  n: NOTIFY.newKey,
};

/** Redis's CONFIG SET error for a letter it does not know. */
export const NOTIFY_FLAGS_ERROR = "Invalid event class character. Use 'Ag$lshzxeKEtmdn'.";

/** The flags of a notify-keyspace-events string; null if a character is not a flag letter. */
export function parseNotifyFlags(s: string): number | null {
  let flags = 0;
  for (const c of s) {
    const f = LETTERS[c];
    if (f === undefined) return null;
    flags |= f;
  }
  return flags;
}

/** The canonical string CONFIG GET shows (Redis's keyspaceEventsFlagsToString order). */
export function formatNotifyFlags(flags: number): string {
  let s = '';
  if ((flags & ALL) === ALL) s += 'A';
  else {
    const order: Array<[string, number]> = [
      ['g', NOTIFY.generic],
      ['$', NOTIFY.string],
      ['l', NOTIFY.list],
      ['s', NOTIFY.set],
      ['h', NOTIFY.hash],
      ['z', NOTIFY.zset],
      ['x', NOTIFY.expired],
      ['e', NOTIFY.evicted],
      ['t', NOTIFY.stream],
      ['d', NOTIFY.module],
      ['n', NOTIFY.newKey], // not shown after 'A' (Redis 7.0 does the same)
    ];
    for (const [c, f] of order) if (flags & f) s += c;
  }
  if (flags & NOTIFY.keyspace) s += 'K';
  if (flags & NOTIFY.keyevent) s += 'E';
  if (flags & NOTIFY.keyMiss) s += 'm';
  return s;
}

export class KeyspaceNotifier {
  /** The parsed notify-keyspace-events of this store (CONFIG SET keeps it, and every store's, up to date). */
  flags = 0;

  constructor(private readonly hub: PubSubHub) {}

  /** Is anything published at all (K or E, and some class)? The cheap test on every write. */
  get enabled(): boolean {
    return (this.flags & (NOTIFY.keyspace | NOTIFY.keyevent)) !== 0 && (this.flags & ~(NOTIFY.keyspace | NOTIFY.keyevent)) !== 0;
  }

  /** One event of class `type` on `key` (Redis's notifyKeyspaceEvent, db 0). */
  notify(type: number, event: string, key: Buffer): void {
    const f = this.flags;
    if (!(f & type)) return;
    if (f & NOTIFY.keyspace) this.publish(Buffer.concat([Buffer.from('__keyspace@0__:'), key]), Buffer.from(event), key);
    if (f & NOTIFY.keyevent) this.publish(Buffer.from(`__keyevent@0__:${event}`), key, key);
  }

  /**
   * The hook of the active expiry cycle: call it on the region leader's
   * store for each key an ExpireKeys entry removed, once apply answered it.
   */
  notifyExpired(key: Buffer): void {
    this.notify(NOTIFY.expired, 'expired', key);
  }

  /**
   * Must the write `args` first look which of its keys are absent
   * (absentKeys)? For `new` events, and for a DEL/UNLINK of several keys
   * (its count alone does not say which existed).
   */
  wantsAbsentKeys(args: Buffer[]): boolean {
    if (!this.enabled) return false;
    if (this.flags & NOTIFY.newKey) return true;
    if (!(this.flags & NOTIFY.generic) || args.length < 3) return false;
    const name = args[0].toString('latin1').toLowerCase();
    return name === 'del' || name === 'unlink';
  }

  /**
   * The keys that do not exist (or are expired) in this store's applied
   * state, read just before a write runs, after a read barrier on their
   * region (the caller's: every write answered before is applied here).
   * Only meaningful where the write then runs (the region's leader); a
   * pipelined write to the same key still in flight is not seen, so `new`
   * is best effort under concurrency.
   */
  async absentKeys(reader: KvReader, keys: Buffer[], now: number): Promise<Buffer[]> {
    const out: Buffer[] = [];
    for (const key of keys) {
      const raw = await reader.get(metaKey(keySlot(key), key));
      if (!raw || isExpired(decodeMeta(raw), now)) out.push(key);
    }
    return out;
  }

  /**
   * A write command ran here and apply answered `reply`: its events (none
   * for an error). A key absent before (`absentBefore`) that got an event
   * other than a removal was created: `new` first, as Redis's dbAdd does.
   */
  afterWrite(args: Buffer[], reply: Reply, now: number, absentBefore?: Buffer[]): void {
    if (!this.enabled) return;
    const r = reply instanceof RawReply ? decodeRawSafely(reply.bytes) : reply;
    const events = writeEvents(args, r, now, absentBefore);
    if (absentBefore && absentBefore.length > 0 && this.flags & NOTIFY.newKey) {
      const created = new Set(events.filter(([, e]) => e !== 'del' && e !== 'rename_from').map(([, , k]) => k.toString('latin1')));
      for (const key of absentBefore) if (created.has(key.toString('latin1'))) this.notify(NOTIFY.newKey, 'new', key);
    }
    for (const [type, event, key] of events) this.notify(type, event, key);
  }

  /**
   * Cluster-wide, as PUBLISH: local subscribers now, the other stores' over
   * the peer transport (in order, one connection per pair). Not awaited:
   * the writer's reply does not wait for subscribers, as in Redis.
   */
  private publish(channel: Buffer, message: Buffer, key: Buffer): void {
    this.hub.publish(channel, message, false, keySlot(key)).catch(() => undefined);
  }
}

function decodeRawSafely(bytes: Buffer): Reply {
  try {
    return decodeReply(bytes);
  } catch {
    return null;
  }
}
