// Blocked clients (BLPOP, BLMOVE, BLMPOP...): who waits for which keys, on
// this store, in memory. A blocked command never takes an element outside
// the log: each of its attempts is a normal proposed write (a pop that
// answers NOTHING_POPPED when every list is empty). When apply writes a list
// (any replica of any region on this store: MutableKeyspace.putMeta calls
// keyReady), the waiters of that key try again. A store that stops leading
// still applies the entries as a follower, so its waiters wake, their
// attempt is routed anew and forwarded to the new leader (a clean retry).
//
// Redis serves blocked clients before the next command of anyone runs. To
// keep that order visible, the pusher's reply waits (bounded) until the
// waiters its write woke have finished their attempt: `settled()`.
import { ErrorReply, NullArray } from '@redraft/common';
import type { Reply, pb } from '@redraft/common';
import type { ClientState } from './commands/context';
import type { FoundKey, Keyspace } from './data/keyspace';
import type { KeyType } from './data/meta';

/**
 * What apply answers a blocking pop that found every list empty: nothing
 * was applied, the client keeps waiting. Never sent to a client, and never
 * kept as a forwarding session's reply (a later attempt must run again).
 */
export const NOTHING_POPPED = new ErrorReply('ERR nothing to pop (internal)');

/**
 * The key a blocking pop takes from, for apply. A woken attempt (not the
 * first) treats a key of another type as empty: Redis keeps such a client
 * blocked (LPUSH + DEL + SET in one MULTI); the first attempt answers WRONGTYPE.
 */
export async function popSource(ks: Keyspace, key: Buffer, type: KeyType, woken: boolean | null | undefined): Promise<FoundKey | null> {
  if (!woken) return ks.lookupTyped(key, type);
  const found = await ks.lookup(key);
  return found && found.type === type ? found : null;
}

/** CLIENT UNBLOCK ... ERROR: what the blocked client gets. */
export const UNBLOCKED_ERROR = new ErrorReply('UNBLOCKED client unblocked via CLIENT UNBLOCK');

/** How long a pusher's reply waits for the waiters it woke (a cycle of BLMOVEs could wait on itself). */
const SETTLE_BOUND_MS = 1000;
/** How often an idle blocked command checks that this store still leads its keys' region. */
const PROBE_MS = 1000;
/** setTimeout's longest delay; longer waits are done in steps. */
const MAX_TIMER_MS = 2 ** 31 - 1;

interface Waiter {
  clientId: number;
  /** The type it pops from: a write of another type at its key does not wake it (Redis). */
  type: KeyType;
  /** The forwarding session of a command another store forwarded here. */
  session: string | undefined;
  keys: string[];
  /** Set by CLIENT UNBLOCK: answered instead of waiting on (an element already popped still wins). */
  unblocked: Reply | undefined;
  /** Woken and not yet attempting again, or attempting: the key is not settled. */
  woken: boolean;
  attempting: boolean;
  wake: (() => void) | null;
  /** While its attempt waits in settled(): the waiters it waits for (to break cycles of BLMOVEs). */
  waitingFor: Set<Waiter>;
}

/** A blocked command's own handle, given to its attempts (for settled()). */
export type WaiterHandle = object;

/** What a RESP connection offers (a forwarded client has none of it): its end and close events. */
interface ClosingClient {
  closed: boolean;
  once(ev: 'close' | 'end', f: () => void): void;
  off(ev: 'close' | 'end', f: () => void): void;
}

const registries = new Set<BlockingRegistry>();

/** A list or sorted set at `key` was written by apply (on any replica here): its waiters for that type try again. */
export function keyReady(key: Buffer, type: KeyType): void {
  for (const r of registries) r.signal(key, type);
}

export class BlockingRegistry {
  private readonly byKey = new Map<string, Set<Waiter>>();
  private readonly waiters = new Set<Waiter>();
  private settleWatchers: Array<() => void> = [];
  private blocked = 0;

  constructor() {
    registries.add(this);
  }

  close(): void {
    registries.delete(this);
  }

  /** Blocking commands this store forwarded to a leader and still waits on. */
  private forwarded = 0;
  /** Those commands by client id: where they wait, in which session (for CLIENT UNBLOCK). */
  private readonly forwardedBy = new Map<number, { peerAddr: string; session: pb.ForwardSession.$Properties }>();
  /** Sends CLIENT UNBLOCK to the store where a forwarded command waits (set by the node). */
  remoteUnblock?: (peerAddr: string, session: pb.ForwardSession.$Properties, error: boolean) => Promise<boolean>;

  /**
   * Clients blocked right now (INFO blocked_clients): waiting here, or
   * waiting for the answer of a blocking command forwarded to the leader's
   * store (which is where it actually waits).
   */
  get blockedClients(): number {
    return this.blocked + this.forwarded;
  }

  /** Counts a forwarded blocking command as blocked until its answer comes. */
  async whileForwarded<T>(answer: Promise<T>, client?: ClientState, peerAddr?: string, session?: pb.ForwardSession.$Properties): Promise<T> {
    this.forwarded++;
    const tracked = client !== undefined && peerAddr !== undefined && session !== undefined;
    // A client that goes away must not have an element popped for it at the leader.
    const conn = client as Partial<ClosingClient> | undefined;
    const onClose = (): void => {
      if (tracked) this.remoteUnblock?.(peerAddr, session, false).catch(() => undefined);
    };
    if (tracked) {
      this.forwardedBy.set(client.id, { peerAddr, session });
      conn?.once?.('close', onClose);
      conn?.once?.('end', onClose);
    }
    try {
      return await answer;
    } finally {
      this.forwarded--;
      if (tracked) {
        conn?.off?.('close', onClose);
        conn?.off?.('end', onClose);
        if (this.forwardedBy.get(client.id)?.session === session) this.forwardedBy.delete(client.id);
      }
    }
  }

  /**
   * Runs `attempt` (a proposed pop) until it answers something other than
   * NOTHING_POPPED, trying again whenever one of `keys` is written. Answers
   * `onTimeout` once `timeoutMs` (0: never) passed without an element, or
   * when the client disconnects while idle. An attempt that popped is always
   * answered, even past the timeout: the element was applied for it.
   * `probe` runs every PROBE_MS while idle: it throws when this store no
   * longer leads the keys' region (the command is then routed anew, e.g.
   * when the region moved away and no write wakes it here any more).
   */
  async block(client: ClientState, keys: Buffer[], type: KeyType, timeoutMs: number, attempt: (self: WaiterHandle, woken: boolean) => Promise<Reply>, onTimeout: Reply, probe?: () => Promise<unknown>): Promise<Reply> {
    const fs = (client as { session?: pb.ForwardSession.$Properties }).session;
    const w: Waiter = { clientId: client.id, type, session: fs ? sessionName(fs) : undefined, keys: [...new Set(keys.map((k) => k.toString('latin1')))], unblocked: undefined, woken: false, attempting: false, wake: null, waitingFor: new Set() };
    this.waiters.add(w);
    for (const k of w.keys) {
      let set = this.byKey.get(k);
      if (!set) this.byKey.set(k, (set = new Set()));
      set.add(w);
    }
    const deadline = timeoutMs > 0 ? Date.now() + timeoutMs : Infinity;
    const conn = client as Partial<ClosingClient>;
    let disconnected = false;
    const onClose = (): void => {
      disconnected = true;
      w.wake?.();
    };
    conn.once?.('close', onClose);
    conn.once?.('end', onClose);
    try {
      for (let first = true; ; first = false) {
        w.woken = false;
        w.attempting = true;
        const r = await attempt(w, !first);
        w.attempting = false;
        if (r !== NOTHING_POPPED) return r;
        if (w.unblocked !== undefined) return w.unblocked;
        if (w.woken) continue; // written during the attempt: try again at once
        if (disconnected || conn.closed || Date.now() >= deadline) return onTimeout;
        this.notifySettled();
        this.blocked++;
        try {
          await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, Math.min(probe ? PROBE_MS : MAX_TIMER_MS, Math.max(0, deadline - Date.now())));
            w.wake = () => {
              clearTimeout(timer);
              resolve();
            };
          });
          w.wake = null;
          if (probe && !w.woken && w.unblocked === undefined && !disconnected && Date.now() < deadline) {
            // A wake-up during the probe goes ahead at once: waiters of a key
            // attempt in the order they blocked (Redis serves them FIFO).
            const probing = probe();
            probing.catch(() => undefined); // after a wake-up the attempt routes anew by itself
            await Promise.race([probing, new Promise<void>((resolve) => (w.wake = resolve))]);
          }
        } finally {
          w.wake = null;
          this.blocked--;
        }
        if (w.unblocked !== undefined) return w.unblocked;
        if (!w.woken && (disconnected || conn.closed || Date.now() >= deadline)) return onTimeout;
      }
    } finally {
      conn.off?.('close', onClose);
      conn.off?.('end', onClose);
      this.waiters.delete(w);
      for (const k of w.keys) {
        const set = this.byKey.get(k);
        set?.delete(w);
        if (set && set.size === 0) this.byKey.delete(k);
      }
      this.notifySettled();
    }
  }

  /**
   * CLIENT UNBLOCK: the client's blocked command answers `reply` (nil or an
   * UNBLOCKED error) unless its attempt in flight pops an element. False
   * when the client is not blocked here.
   */
  async unblock(clientId: number, error: boolean): Promise<boolean> {
    for (const w of this.waiters) {
      if (w.clientId !== clientId || w.session !== undefined || w.unblocked !== undefined) continue;
      w.unblocked = error ? UNBLOCKED_ERROR : NullArray.instance;
      w.wake?.();
      return true;
    }
    const remote = this.forwardedBy.get(clientId);
    if (remote && this.remoteUnblock) return this.remoteUnblock(remote.peerAddr, remote.session, error);
    return false;
  }

  /**
   * CLIENT UNBLOCK sent by the store that forwarded a blocking command here.
   * The command may still be on its way to its first wait: look again
   * briefly before answering that it is not blocked.
   */
  async unblockSession(session: pb.ForwardSession.$Properties, reply: Reply): Promise<boolean> {
    const name = sessionName(session);
    for (let attempt = 0; attempt < 20; attempt++) {
      for (const w of this.waiters) {
        if (w.session !== name || w.unblocked !== undefined) continue;
        w.unblocked = reply;
        w.wake?.();
        return true;
      }
      await new Promise((r) => setTimeout(r, 10));
    }
    return false;
  }

  /** Apply wrote `key` as a `type`: wake its waiters for that type (each attempts once more). */
  signal(key: Buffer, type: KeyType): void {
    const set = this.byKey.get(key.toString('latin1'));
    if (!set) return;
    for (const w of set) {
      if (w.type !== type) continue;
      w.woken = true;
      w.wake?.();
    }
  }

  /** True when someone waits for one of `keys`. */
  hasWaiters(keys: Buffer[]): boolean {
    return keys.some((k) => this.byKey.has(k.toString('latin1')));
  }

  /**
   * Resolves once no waiter of `keys` is woken or attempting (bounded), so
   * that a pusher answers after the blocked clients its write served. A
   * blocked command's own attempt (BLMOVE into a key others wait for)
   * passes its handle: it does not wait for itself, nor for a waiter that
   * is itself waiting for it (a cycle of BLMOVEs).
   */
  async settled(keys: Buffer[], self?: WaiterHandle): Promise<void> {
    const me = self as Waiter | undefined;
    const names = keys.map((k) => k.toString('latin1'));
    const blockers = (): Set<Waiter> => {
      const out = new Set<Waiter>();
      for (const n of names) {
        for (const w of this.byKey.get(n) ?? []) {
          if ((w.woken || w.attempting) && w !== me && !(me && dependsOn(w, me))) out.add(w);
        }
      }
      return out;
    };
    const until = Date.now() + SETTLE_BOUND_MS;
    try {
      for (let b = blockers(); b.size > 0 && Date.now() < until; b = blockers()) {
        if (me) {
          me.waitingFor = b;
          this.notifySettled(); // others may now see that they wait on a cycle
        }
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, Math.max(1, until - Date.now()));
          this.settleWatchers.push(() => {
            clearTimeout(timer);
            resolve();
          });
        });
      }
    } finally {
      if (me) me.waitingFor = new Set();
    }
  }

  private notifySettled(): void {
    const watchers = this.settleWatchers;
    this.settleWatchers = [];
    for (const f of watchers) f();
  }
}

function sessionName(fs: pb.ForwardSession.$Properties): string {
  return `${Number(fs.id)}:${Number(fs.seq)}`;
}

/** Whether `w`, settling, waits (directly or through others) for `target`. */
function dependsOn(w: Waiter, target: Waiter): boolean {
  const seen = new Set<Waiter>();
  const stack = [...w.waitingFor];
  while (stack.length > 0) {
    const x = stack.pop()!;
    if (x === target) return true;
    if (seen.has(x)) continue;
    seen.add(x);
    stack.push(...x.waitingFor);
  }
  return false;
}
