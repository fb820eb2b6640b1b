// KEYS, SCAN, DBSIZE and RANDOMKEY over the whole cluster from any store:
// the keyspace is read a page at a time, region by region in slot order,
// each page at the region's leader after its read barrier (here when this
// store leads it, else over the 'store.regionKeys' RPC). Pages are named by
// slot and metadata row, never by region id, so a split or a leader move
// between two pages changes nothing: the next page is routed anew.
import { NotLeaderError, SLOT_COUNT, keySlot, pb } from '@redraft/common';
import type { Engine } from '@redraft/common';
import { Keyspace } from './data/keyspace';
import type { KeyType } from './data/meta';
import { globMatch } from './data/glob';
import { RetryLaterError, neverSent, retryPause } from './dispatch';
import type { RaftStore } from './raftstore/store';

/** One live key as the whole-keyspace commands see it. */
export interface ListedKey {
  key: Buffer;
  slot: number;
  type: KeyType;
  expireAt: number;
  /** Its metadata row (SCAN cursors resume after it). */
  row: Buffer;
}

export interface KeysPageRequest {
  fromSlot: number;
  after?: Buffer;
  limit: number;
  pattern?: Buffer;
  countOnly?: boolean;
}

export interface KeysPage {
  keys: ListedKey[];
  count: number;
  expires: number;
  /** The end of the region read: the next page starts there unless `more`. */
  endSlot: number;
  /** Stopped at the limit: continue after `lastRow`, in the same region. */
  more: boolean;
  lastRow?: Buffer;
}

/** How long a page keeps being re-routed while a region elects or moves. */
const PAGE_DEADLINE_MS = 5000;
/** A page asked of another store waits for it this long at least, even past the deadline. */
const PAGE_RPC_MIN_TIMEOUT_MS = 2000;
/** Served by RaftStore.onRegionKeys (raftstore/store.ts). */
const RPC = 'store.regionKeys';

/** The page was asked for but no answer came (timed out, or the connection dropped first). */
function answerLost(err: unknown): boolean {
  const code = (err as { code?: string }).code;
  return code === 'TIMEOUT' || code === 'DISCONNECTED';
}

/** Reads one page from a local keyspace over [fromSlot, endSlot). */
async function readPage(ks: Keyspace, endSlot: number, req: KeysPageRequest): Promise<KeysPage> {
  const page: KeysPage = { keys: [], count: 0, expires: 0, endSlot, more: false };
  let seen = 0;
  for await (const k of ks.keys({ startSlot: req.fromSlot, endSlot, after: req.after })) {
    if (seen === req.limit) {
      page.more = true;
      break;
    }
    seen++;
    page.lastRow = k.row;
    if (req.pattern && !globMatch(req.pattern, k.key)) continue;
    page.count++;
    if (k.expireAt !== 0) page.expires++;
    if (!req.countOnly) page.keys.push({ key: Buffer.from(k.key), slot: k.slot, type: k.type, expireAt: k.expireAt, row: Buffer.from(k.row) });
  }
  return page;
}

/** Pages of the cluster's keyspace for a replicated store; built by the node. */
export class KeysFanout {
  constructor(
    private readonly raft: RaftStore,
    private readonly engine: Engine,
  ) {}

  /** Serves a page another store asked for; NOT_LEADER when this store does not lead the slot's region. */
  async serve(body: Uint8Array): Promise<Uint8Array> {
    const req = pb.RegionKeysRequest.decode(body);
    const fromSlot = Number(req.fromSlot);
    const route = this.raft.routeOf(fromSlot);
    if (!route?.peer?.isLeader) throw new NotLeaderError(route?.peer?.id ?? 0, '', route?.leaderStoreId ?? 0, `NOT_LEADER slot ${fromSlot}`);
    let at: number;
    try {
      at = await route.peer.readBarrier();
    } catch (e) {
      // Leadership lost or an election under way: the asking store routes again.
      if (e instanceof RetryLaterError) throw new NotLeaderError(route.peer.id, '', 0, `NOT_LEADER slot ${fromSlot}: ${e.message}`);
      throw e;
    }
    const page = await readPage(new Keyspace(this.engine, at), route.endSlot, {
      fromSlot,
      after: req.after.length > 0 ? Buffer.from(req.after) : undefined,
      limit: Number(req.limit),
      pattern: req.pattern.length > 0 ? Buffer.from(req.pattern) : undefined,
      countOnly: req.countOnly,
    });
    return pb.RegionKeysResponse.encode({
      keys: page.keys.map((k) => ({ key: k.key, type: k.type, expireAt: k.expireAt, row: k.row })),
      count: page.count,
      expires: page.expires,
      endSlot: page.endSlot,
      more: page.more,
      lastRow: page.lastRow ?? Buffer.alloc(0),
    }).finish();
  }

  /** One page from the region holding `fromSlot`, wherever its leader is. */
  async page(req: KeysPageRequest): Promise<KeysPage> {
    const deadline = Date.now() + PAGE_DEADLINE_MS;
    for (let attempt = 0; ; attempt++) {
      const route = this.raft.routeOf(req.fromSlot);
      try {
        if (route?.peer?.isLeader) {
          const at = await route.peer.readBarrier();
          return await readPage(new Keyspace(this.engine, at), route.endSlot, req);
        }
        const leader = route?.leaderStoreId && route.leaderStoreId !== this.raft.storeId ? this.raft.storeInfo(route.leaderStoreId) : undefined;
        if (leader) return await this.remotePage(String(leader.peerAddr), req, Math.max(PAGE_RPC_MIN_TIMEOUT_MS, deadline - Date.now()));
      } catch (e) {
        // Not the leader any more, no leader yet, or no answer from it (a stopped
        // or cut-off store): route again. A read is safe to repeat, and past the
        // deadline its client gets -TRYAGAIN, not an internal error.
        const retry = e instanceof RetryLaterError || e instanceof NotLeaderError || neverSent(e) || answerLost(e);
        if (!retry) throw e;
      }
      if (Date.now() >= deadline) throw new RetryLaterError(`TRYAGAIN the region of slot ${req.fromSlot} has no reachable leader; try again`);
      await retryPause(attempt);
    }
  }

  private async remotePage(peerAddr: string, req: KeysPageRequest, timeoutMs: number): Promise<KeysPage> {
    const body = pb.RegionKeysRequest.encode({
      fromSlot: req.fromSlot,
      after: req.after ?? Buffer.alloc(0),
      limit: req.limit,
      pattern: req.pattern ?? Buffer.alloc(0),
      countOnly: !!req.countOnly,
    }).finish();
    const res = pb.RegionKeysResponse.decode(await this.raft.pool.request(peerAddr, RPC, body, { timeoutMs }));
    const endSlot = Number(res.endSlot);
    // A reply that does not move forward would loop for ever.
    if (endSlot <= req.fromSlot || endSlot > SLOT_COUNT) throw new NotLeaderError(0, '', 0, `bad page end ${endSlot} for slot ${req.fromSlot}: route again`);
    return {
      keys: res.keys.map((k) => {
        const key = Buffer.from(k.key ?? []);
        return { key, slot: keySlot(key), type: k.type as KeyType, expireAt: Number(k.expireAt), row: Buffer.from(k.row ?? []) };
      }),
      count: Number(res.count),
      expires: Number(res.expires),
      endSlot,
      more: res.more,
      lastRow: res.lastRow.length > 0 ? Buffer.from(res.lastRow) : undefined,
    };
  }
}
