// A seeded simulator: whole clusters of RawNodes over a network that drops,
// delays, reorders, duplicates and partitions; crashes that lose everything
// not yet written; random proposals, conf changes, transfers, compactions and
// reads. Invariants are checked after every step. Deterministic per seed.
import { Config, Mutations } from '../config';
import { ErrProposalDropped } from '../errors';
import { ReadOnlyOption } from '../readonly';
import { RawNode } from '../rawnode';
import { MemoryStorage } from '../storage';
import {
  ConfChangeType,
  ConfState,
  Entry,
  EntryType,
  Message,
  MessageType,
  Ready,
  Snapshot,
  StateRole,
  decodeConfChange,
} from '../types';
import { Rng } from './rng';

export const MUTATIONS: Record<string, Mutations> = {
  'vote-no-log-check': { voteWithoutLogCheck: true },
  'commit-old-term': { commitOldTermByCount: true },
  'lease-no-check-quorum': { leaseWithoutCheckQuorum: true },
  'no-truncate': { noTruncateOnConflict: true },
  'lease-across-hibernation': { leaseAcrossHibernation: true },
};

export interface SimOptions {
  seed: number;
  steps: number;
  /** 3 or 5; default: chosen by the seed. */
  nodes?: number;
  mutation?: string;
  /**
   * Idle groups hibernate (hibernateTicks = electionTick). A liveness oracle
   * stands in for the stores' heartbeats: a sleeping follower whose leader is
   * down or cut off from it wakes on the next tick.
   */
  hibernate?: boolean;
  /** Keep the last events and return them with a violation. */
  trace?: boolean;
}

export interface SimResult {
  seed: number;
  nodes: number;
  steps: number;
  violations: string[];
  /** Ticks from healing to a committed proposal, or undefined if never reached. */
  livenessTicks: number | undefined;
  stats: Record<string, number>;
  params: string;
  trace: string[];
}

interface SmState {
  applied: number;
  hash: number;
  confState: ConfState;
}

function cloneSm(s: SmState): SmState {
  return { applied: s.applied, hash: s.hash, confState: { voters: [...s.confState.voters], learners: [...s.confState.learners] } };
}

function u32(n: number): Uint8Array {
  return new Uint8Array([(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255]);
}

function readU32(b: Uint8Array): number {
  return ((b[0] << 24) | (b[1] << 16) | (b[2] << 8) | b[3]) >>> 0;
}

function bytesKey(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i++) s += String.fromCharCode(b[i]);
  return s;
}

function ek(e: Entry): string {
  return `${e.term}/${e.type}/${bytesKey(e.data)}`;
}

class SimStorage extends MemoryStorage {
  constructor(
    private readonly node: SimNode,
    private readonly sim: Sim,
  ) {
    super();
  }

  // Snapshots are made on demand at the applied index, as the store does.
  override snapshot(): Snapshot {
    const s = super.snapshot();
    const sm = this.node.sm;
    if (sm.applied > s.meta.index && sm.applied <= this.lastIndex() && sm.applied >= this.firstIndex() - 1) {
      return this.createSnapshot(sm.applied, sm.confState, this.sim.saveSm(sm));
    }
    return s;
  }
}

class SimNode {
  readonly storage: SimStorage;
  raw: RawNode | undefined;
  sm: SmState;
  /** Readys taken (messages sent) but not yet written, oldest first. */
  pending: Ready[] = [];
  destroyed = false;
  group = 0;
  readonly rng: Rng;

  constructor(
    readonly id: number,
    sim: Sim,
    rng: Rng,
  ) {
    this.storage = new SimStorage(this, sim);
    this.sm = { applied: 0, hash: 0, confState: { voters: [], learners: [] } };
    this.rng = rng;
  }

  get alive(): boolean {
    return this.raw !== undefined;
  }
}

interface InFlight {
  m: Message;
  at: number;
  /** The sending RawNode: snapshot status goes back to it. */
  sender: RawNode | undefined;
}

export class Sim {
  readonly rng: Rng;
  readonly nodeCount: number;
  readonly nodes = new Map<number, SimNode>();
  private nextId: number;
  private net: InFlight[] = [];
  private now = 0;
  private stepNo = 0;
  private propNo = 0;
  private readNo = 0;
  private destroyAt = new Map<number, number>();
  /** Cut links "a-b" (non-transitive partitions). */
  private cutLinks = new Set<string>();
  readonly violations: string[] = [];
  readonly stats: Record<string, number> = {
    ticks: 0,
    delivered: 0,
    dropped: 0,
    proposals: 0,
    committed: 0,
    reads: 0,
    leaseReads: 0,
    woken: 0,
    asleepTicks: 0,
    elections: 0,
    snapshotsSent: 0,
    confChanges: 0,
    transfers: 0,
    crashes: 0,
    compactions: 0,
  };
  private traceBuf: string[] = [];

  // checker state
  private leaders = new Map<number, number>();
  private entryReg = new Map<string, string>();
  private committed = new Map<number, string>();
  private maxCommitted = 1;
  private appliedAt = new Map<number, string>();
  private hashAt = new Map<number, number>();
  private reads = new Map<string, { node: number; min: number; step: number }>();
  private smStore = new Map<number, SmState>();
  private smNext = 1;
  private markerApplied = new Set<number>();

  // parameters
  readonly electionTick = 10;
  readonly heartbeatTick = 2;
  private readonly preVote: boolean;
  private readonly checkQuorum: boolean;
  private readonly readOnly: ReadOnlyOption;
  private readonly batch: boolean;
  private readonly deferCommit: boolean;
  private readonly forwarding: boolean;
  private readonly maxSizePerMsg: number;
  private readonly maxInflight: number;
  private dropP: number;
  private dupP: number;
  private maxDelay: number;
  private crashP: number;
  private readonly mutation: Mutations | undefined;
  readonly params: string;

  constructor(readonly opts: SimOptions) {
    this.rng = new Rng(opts.seed);
    this.nodeCount = opts.nodes ?? (this.rng.chance(0.5) ? 3 : 5);
    this.mutation = opts.mutation ? MUTATIONS[opts.mutation] : undefined;
    if (opts.mutation && !this.mutation) throw new Error(`unknown mutation ${opts.mutation}`);
    this.preVote = this.rng.chance(0.5);
    this.checkQuorum = this.rng.chance(0.6);
    this.readOnly = this.checkQuorum && this.rng.chance(0.5) ? ReadOnlyOption.LeaseBased : ReadOnlyOption.Safe;
    if (this.mutation?.leaseWithoutCheckQuorum) {
      // The wrong variant: lease reads from a leader that never checks its quorum.
      this.readOnly = ReadOnlyOption.LeaseBased;
      this.checkQuorum = false;
    }
    this.batch = this.rng.chance(0.5);
    // By the seed's parity, not a draw: a new draw would change every seed's schedule.
    this.deferCommit = this.batch && opts.seed % 2 === 0;
    this.forwarding = this.rng.chance(0.8);
    this.maxSizePerMsg = this.rng.pick([16, 16, 64, 256, 4096]);
    this.maxInflight = this.rng.pick([1, 2, 4, 16]);
    this.dropP = this.rng.pick([0, 0.02, 0.05, 0.15]);
    this.dupP = this.rng.pick([0, 0.02, 0.05]);
    this.maxDelay = this.rng.pick([0, 1, 3]);
    this.crashP = this.rng.pick([0, 0.002, 0.006]);
    this.params =
      `nodes=${this.nodeCount} preVote=${this.preVote} checkQuorum=${this.checkQuorum} readOnly=${this.readOnly} batch=${this.batch}${this.deferCommit ? ' deferCommit' : ''} ` +
      `forwarding=${this.forwarding} maxSizePerMsg=${this.maxSizePerMsg} maxInflight=${this.maxInflight} drop=${this.dropP} dup=${this.dupP} delay=${this.maxDelay} crash=${this.crashP}` +
      (opts.mutation ? ` mutation=${opts.mutation}` : '') +
      (opts.hibernate ? ' hibernate' : '');
    const voters: number[] = [];
    for (let id = 1; id <= this.nodeCount; id++) voters.push(id);
    const sm0: SmState = { applied: 1, hash: 0, confState: { voters, learners: [] } };
    this.hashAt.set(1, 0);
    for (const id of voters) {
      const n = new SimNode(id, this, this.rng.fork());
      n.storage.applySnapshot({ meta: { index: 1, term: 1, confState: sm0.confState }, data: this.saveSm(sm0) });
      n.storage.setHardState({ term: 1, vote: 0, commit: 1 });
      n.sm = cloneSm(sm0);
      this.nodes.set(id, n);
      this.start(n);
    }
    this.nextId = this.nodeCount + 1;
  }

  saveSm(sm: SmState): Uint8Array {
    const k = this.smNext++;
    this.smStore.set(k, cloneSm(sm));
    return u32(k);
  }

  private trace(s: string): void {
    if (!this.opts.trace) return;
    this.traceBuf.push(`[${this.stepNo} t${this.now}] ${s}`);
    if (this.traceBuf.length > 400) this.traceBuf.splice(0, 100);
  }

  private violation(s: string): void {
    this.trace(`VIOLATION ${s}`);
    if (this.violations.length < 10) this.violations.push(`step ${this.stepNo}: ${s}`);
  }

  private config(n: SimNode): Config {
    return {
      id: n.id,
      storage: n.storage,
      electionTick: this.electionTick,
      heartbeatTick: this.heartbeatTick,
      maxSizePerMsg: this.maxSizePerMsg,
      maxInflightMsgs: this.maxInflight,
      checkQuorum: this.checkQuorum,
      preVote: this.preVote,
      readOnlyOption: this.readOnly,
      disableProposalForwarding: !this.forwarding,
      random: () => n.rng.next(),
      applied: n.sm.applied,
      batchAppends: this.batch,
      deferCommit: this.deferCommit,
      hibernateTicks: this.opts.hibernate ? this.electionTick : 0,
      testMutations: this.mutation,
    };
  }

  private start(n: SimNode): void {
    n.raw = new RawNode(this.config(n));
    n.pending = [];
  }

  // ---- network -----------------------------------------------------------

  private send(from: SimNode, msgs: Message[]): void {
    for (const m of msgs) {
      if (this.rng.chance(this.dropP)) {
        this.stats.dropped++;
        if (m.type === MessageType.Snap) from.raw?.reportSnapshot(m.to, false);
        continue;
      }
      const at = this.now + (this.maxDelay > 0 ? this.rng.int(this.maxDelay + 1) : 0);
      this.net.push({ m, at, sender: from.raw });
      if (this.rng.chance(this.dupP)) this.net.push({ m, at: at + this.rng.int(3), sender: from.raw });
    }
  }

  private deliverOne(): boolean {
    if (this.net.length === 0) return false;
    // Reordering: any message that is due may go next.
    let tries = 0;
    let i = this.rng.int(this.net.length);
    while (this.net[i].at > this.now && tries < 4) {
      i = this.rng.int(this.net.length);
      tries++;
    }
    if (this.net[i].at > this.now) return false;
    const f = this.net[i];
    this.net[i] = this.net[this.net.length - 1];
    this.net.pop();
    this.deliver(f);
    return true;
  }

  private deliver(f: InFlight): void {
    const m = f.m;
    const to = this.nodes.get(m.to);
    const from = this.nodes.get(m.from);
    const cut =
      !to || !to.raw || to.destroyed || (from !== undefined && from.group !== to.group) || this.cutLinks.has(`${m.from}-${m.to}`);
    if (cut) {
      this.stats.dropped++;
      if (m.type === MessageType.Snap && f.sender && from && from.raw === f.sender) f.sender.reportSnapshot(m.to, false);
      return;
    }
    this.stats.delivered++;
    if (m.type === MessageType.Snap) this.stats.snapshotsSent++;
    to.raw!.step({ ...m });
    if (m.type === MessageType.Snap && f.sender && from && from.raw === f.sender) f.sender.reportSnapshot(m.to, true);
  }

  // ---- ready handling ------------------------------------------------------

  private readyA(n: SimNode): void {
    const raw = n.raw!;
    const rd = raw.ready();
    // Log matching: each (index, term) names one entry with one predecessor term.
    let prevTerm = rd.entries.length > 0 ? raw.raft.log.termOr0(rd.entries[0].index - 1) : 0;
    for (const e of rd.entries) {
      const key = `${e.index}:${e.term}`;
      const val = `${ek(e)}|${prevTerm}`;
      const had = this.entryReg.get(key);
      if (had === undefined) this.entryReg.set(key, val);
      else if (had !== val) this.violation(`log matching: node ${n.id} has a different entry at index ${e.index} term ${e.term}`);
      prevTerm = e.term;
    }
    for (const rs of rd.readStates) this.checkRead(n, rs.context, rs.index);
    if (rd.softState) this.trace(`n${n.id} ${rd.softState.role} lead=${rd.softState.leaderId} term=${raw.raft.term}`);
    this.send(n, rd.messages);
    n.pending.push(rd);
  }

  private readyB(n: SimNode): void {
    const raw = n.raw!;
    const rd = n.pending.shift()!;
    if (rd.snapshot) n.storage.applySnapshot(rd.snapshot);
    n.storage.append(rd.entries);
    if (rd.hardState) n.storage.setHardState(rd.hardState);
    this.send(n, rd.persistedMessages);
    if (rd.snapshot) {
      const sm = this.smStore.get(readU32(rd.snapshot.data));
      if (!sm || sm.applied !== rd.snapshot.meta.index) {
        this.violation(`snapshot data mismatch at node ${n.id}`);
      } else {
        if (sm.applied > n.sm.applied) {
          n.sm = cloneSm(sm);
          this.checkHash(n);
        }
      }
      this.trace(`n${n.id} installed snapshot ${rd.snapshot.meta.index}`);
    }
    for (const e of rd.committedEntries) this.apply(n, e);
    raw.advance(rd);
  }

  private apply(n: SimNode, e: Entry): void {
    if (e.index <= n.sm.applied) return;
    if (e.index !== n.sm.applied + 1) {
      this.violation(`node ${n.id} applies ${e.index} after ${n.sm.applied}`);
    }
    const key = ek(e);
    const had = this.appliedAt.get(e.index);
    if (had === undefined) this.appliedAt.set(e.index, key);
    else if (had !== key) this.violation(`state machine safety: node ${n.id} applied a different entry at ${e.index}`);
    const c = this.committed.get(e.index);
    if (c !== undefined && c !== key) this.violation(`node ${n.id} applied ${e.index} which differs from the committed entry`);
    if (e.type === EntryType.ConfChange) {
      const cc = decodeConfChange(e.data);
      n.sm.confState = n.raw!.applyConfChange(cc);
      n.storage.setConfState(n.sm.confState);
      this.stats.confChanges++;
      this.trace(`n${n.id} applied conf change ${ConfChangeType[cc.type]} ${cc.nodeId} at ${e.index} -> ${JSON.stringify(n.sm.confState)}`);
      if ((cc.type === ConfChangeType.AddNode || cc.type === ConfChangeType.AddLearner) && !this.nodes.has(cc.nodeId)) {
        const nn = new SimNode(cc.nodeId, this, this.rng.fork());
        this.nodes.set(cc.nodeId, nn);
        this.start(nn);
      }
      if (cc.type === ConfChangeType.RemoveNode && !this.destroyAt.has(cc.nodeId)) {
        this.destroyAt.set(cc.nodeId, this.now + 2 * this.electionTick);
      }
    } else if (e.data.length === 4) {
      const id = readU32(e.data);
      if (id >= 0x80000000) this.markerApplied.add(id);
    }
    n.sm.hash = (Math.imul(n.sm.hash, 31) + (e.term * 7 + e.index + e.data.length * 131 + (e.data.length === 4 ? readU32(e.data) : 0))) >>> 0;
    n.sm.applied = e.index;
    this.checkHash(n);
  }

  private checkHash(n: SimNode): void {
    const h = this.hashAt.get(n.sm.applied);
    if (h === undefined) this.hashAt.set(n.sm.applied, n.sm.hash);
    else if (h !== n.sm.hash) this.violation(`state machine safety: node ${n.id} state differs at ${n.sm.applied}`);
  }

  private checkRead(n: SimNode, ctx: Uint8Array, index: number): void {
    const k = bytesKey(ctx);
    const r = this.reads.get(k);
    if (!r) return;
    this.reads.delete(k);
    this.stats.reads++;
    if (index < r.min) {
      this.violation(`linearizable read: node ${n.id} read at ${index} but ${r.min} was committed when read ${k.length} was requested at step ${r.step}`);
    }
  }

  // ---- invariants after every step -------------------------------------------

  private checkStep(): void {
    for (const n of this.nodes.values()) {
      const raw = n.raw;
      if (!raw) continue;
      const r = raw.raft;
      if (r.state === StateRole.Leader) {
        const had = this.leaders.get(r.term);
        if (had === undefined) {
          this.leaders.set(r.term, n.id);
          this.stats.elections++;
          this.checkLeaderCompleteness(n);
        } else if (had !== n.id) {
          this.violation(`election safety: nodes ${had} and ${n.id} both lead term ${r.term}`);
        }
      }
      const c = r.log.committed;
      if (c > this.maxCommitted) {
        const lo = Math.max(this.maxCommitted + 1, r.log.firstIndex());
        if (lo <= c) {
          const ents = r.log.slice(lo, c + 1, Number.MAX_SAFE_INTEGER);
          for (const e of ents) {
            const had = this.committed.get(e.index);
            if (had === undefined) this.committed.set(e.index, ek(e));
            else if (had !== ek(e)) this.violation(`committed entry ${e.index} changed at node ${n.id}`);
          }
        }
        this.stats.committed += c - this.maxCommitted;
        this.maxCommitted = c;
        this.checkCommitDurable(r.voters);
      }
    }
  }

  /** (lastTerm, lastIndex) of a node's persisted log. */
  private persistedLast(n: SimNode): [number, number] {
    const li = n.storage.lastIndex();
    return [n.storage.term(li), li];
  }

  /**
   * A committed entry must be impossible to lose: no node lacking it may be
   * able to collect a majority of votes on the log up-to-date rule, judged
   * against the voters' persisted logs. Catches an unsafe commit the moment
   * it happens, not only when a later leader overwrites it.
   */
  private checkCommitDurable(voters: number[]): void {
    const want = this.committed.get(this.maxCommitted);
    if (want === undefined || voters.length === 0) return;
    for (const x of this.nodes.values()) {
      if (x.destroyed) continue;
      let lastTerm: number;
      let lastIndex: number;
      let has: boolean;
      if (x.raw) {
        const log = x.raw.raft.log;
        lastIndex = log.lastIndex();
        lastTerm = log.lastTerm();
        if (this.maxCommitted < log.firstIndex()) continue;
        has = this.maxCommitted <= lastIndex && log.slice(this.maxCommitted, this.maxCommitted + 1, Number.MAX_SAFE_INTEGER).some((e) => ek(e) === want);
      } else {
        [lastTerm, lastIndex] = this.persistedLast(x);
        if (this.maxCommitted < x.storage.firstIndex()) continue;
        has = this.maxCommitted <= lastIndex && ek(x.storage.entries(this.maxCommitted, this.maxCommitted + 1, Number.MAX_SAFE_INTEGER)[0]) === want;
      }
      if (has) continue;
      const grant: number[] = [];
      for (const v of voters) {
        const vn = this.nodes.get(v);
        if (!vn || vn.destroyed) continue;
        const [vt, vi] = this.persistedLast(vn);
        if (lastTerm > vt || (lastTerm === vt && lastIndex >= vi)) grant.push(v);
      }
      if (grant.length >= Math.floor(voters.length / 2) + 1) {
        this.violation(`committed entry ${this.maxCommitted} can be lost: node ${x.id} (last ${lastIndex}/${lastTerm}) lacks it and could win votes from ${grant.join(',')}`);
        return;
      }
    }
  }

  private checkLeaderCompleteness(n: SimNode): void {
    const log = n.raw!.raft.log;
    if (log.lastIndex() < this.maxCommitted) {
      this.violation(`leader completeness: leader ${n.id} term ${n.raw!.raft.term} lacks committed entries (last ${log.lastIndex()} < ${this.maxCommitted})`);
      return;
    }
    const lo = log.firstIndex();
    if (lo > this.maxCommitted) return;
    const ents = log.slice(lo, this.maxCommitted + 1, Number.MAX_SAFE_INTEGER);
    for (const e of ents) {
      const c = this.committed.get(e.index);
      if (c !== undefined && c !== ek(e)) {
        this.violation(`leader completeness: leader ${n.id} term ${n.raw!.raft.term} has a different entry at committed index ${e.index}`);
        return;
      }
    }
  }

  // ---- actions --------------------------------------------------------------

  private alive(): SimNode[] {
    const out: SimNode[] = [];
    for (const n of this.nodes.values()) if (n.raw && !n.destroyed) out.push(n);
    return out;
  }

  private leader(): SimNode | undefined {
    let best: SimNode | undefined;
    for (const n of this.alive()) {
      if (n.raw!.raft.state === StateRole.Leader && (!best || n.raw!.raft.term > best.raw!.raft.term)) best = n;
    }
    return best;
  }

  private tickAll(): void {
    this.now++;
    this.stats.ticks++;
    for (const n of this.alive()) n.raw!.tick();
    if (this.opts.hibernate) {
      for (const n of this.alive()) if (n.raw!.raft.hibernating) this.stats.asleepTicks++;
      this.wakeOrphans();
    }
    for (const [id, at] of this.destroyAt) {
      if (at <= this.now) this.destroy(id);
    }
  }

  /** The stores' liveness heartbeats, as an oracle: a sleeping follower whose leader it cannot hear wakes. */
  private wakeOrphans(): void {
    for (const n of this.alive()) {
      const r = n.raw!.raft;
      if (!r.hibernating || r.state === StateRole.Leader) continue;
      const l = this.nodes.get(r.lead);
      if (!l || !l.raw || l.destroyed || l.group !== n.group || this.cutLinks.has(`${l.id}-${n.id}`)) {
        this.stats.woken++;
        this.trace(`n${n.id} woken: its leader ${r.lead} is silent`);
        n.raw!.wake();
      }
    }
  }

  private destroy(id: number): void {
    this.destroyAt.delete(id);
    const n = this.nodes.get(id);
    if (!n || n.destroyed) return;
    this.trace(`n${id} destroyed`);
    n.destroyed = true;
    n.raw = undefined;
    n.pending = [];
  }

  private processReady(n: SimNode, both: boolean): boolean {
    if (!n.raw) return false;
    // Several Readys may be in flight (pipelined writes); they are written in order.
    const more = n.raw.hasReady();
    if (n.pending.length > 0 && (!more || n.pending.length >= 3 || this.rng.chance(0.5))) {
      this.readyB(n);
      return true;
    }
    if (!more) return false;
    this.readyA(n);
    if (both) while (n.pending.length > 0) this.readyB(n);
    return true;
  }

  private propose(n: SimNode, data: Uint8Array): boolean {
    try {
      n.raw!.propose(data);
      return true;
    } catch (e) {
      if (e instanceof ErrProposalDropped) return false;
      throw e;
    }
  }

  private requestRead(n: SimNode): void {
    const ctx = u32(++this.readNo);
    this.reads.set(bytesKey(ctx), { node: n.id, min: this.maxCommitted, step: this.stepNo });
    try {
      n.raw!.readIndex(ctx);
    } catch (e) {
      if (!(e instanceof ErrProposalDropped)) throw e;
      this.reads.delete(bytesKey(ctx));
    }
  }

  private leaseRead(n: SimNode): void {
    const r = n.raw!.raft;
    if (!n.raw!.leaseValid()) return;
    if (r.log.termOr0(r.log.committed) !== r.term) return;
    this.stats.leaseReads++;
    if (r.log.committed < this.maxCommitted) {
      this.violation(`linearizable read: lease read on leader ${n.id} term ${r.term} at ${r.log.committed} < committed ${this.maxCommitted}`);
    }
  }

  private confChange(): void {
    const l = this.leader();
    if (!l) return;
    const cs = l.raw!.raft.confState();
    const nv = cs.voters.length;
    const choice = this.rng.int(4);
    let cc: { type: ConfChangeType; nodeId: number } | undefined;
    if (choice === 0 && cs.learners.length > 0 && nv < this.nodeCount + 1) {
      cc = { type: ConfChangeType.AddNode, nodeId: this.rng.pick(cs.learners) };
    } else if (choice === 1 && nv + cs.learners.length < this.nodeCount + 2) {
      cc = { type: this.rng.chance(0.7) ? ConfChangeType.AddLearner : ConfChangeType.AddNode, nodeId: this.nextId++ };
    } else if (choice >= 2 && (nv > this.nodeCount - 1 || cs.learners.length > 0)) {
      const pool = nv > this.nodeCount - 1 ? [...cs.voters, ...cs.learners] : cs.learners;
      cc = { type: ConfChangeType.RemoveNode, nodeId: this.rng.pick(pool) };
    }
    if (!cc) return;
    try {
      l.raw!.proposeConfChange(cc);
      this.trace(`n${l.id} proposed ${ConfChangeType[cc.type]} ${cc.nodeId}`);
    } catch (e) {
      if (!(e instanceof ErrProposalDropped)) throw e;
    }
  }

  private compact(n: SimNode): void {
    const applied = n.sm.applied;
    const first = n.storage.firstIndex();
    if (applied < first + 2) return;
    if (applied > n.storage.snapshot().meta.index) {
      // snapshot() above made one on demand at the applied index
    }
    const to = this.rng.range(first, applied);
    n.storage.compact(to);
    this.stats.compactions++;
    this.trace(`n${n.id} compacted to ${to}`);
  }

  private crash(n: SimNode): void {
    this.trace(`n${n.id} crashed`);
    this.stats.crashes++;
    n.raw = undefined;
    n.pending = [];
  }

  private restart(n: SimNode): void {
    this.trace(`n${n.id} restarted`);
    this.start(n);
  }

  private repartition(): void {
    const ids = [...this.nodes.keys()];
    this.cutLinks.clear();
    if (this.rng.chance(0.4)) {
      for (const id of ids) this.nodes.get(id)!.group = 0;
      this.trace('healed partition');
      return;
    }
    if (this.rng.chance(0.4)) {
      // Non-transitive: cut some links both ways; a may reach b and c while b and c cannot talk.
      for (const id of ids) this.nodes.get(id)!.group = 0;
      for (const a of ids) {
        for (const b of ids) {
          if (a < b && this.rng.chance(0.3)) {
            this.cutLinks.add(`${a}-${b}`);
            this.cutLinks.add(`${b}-${a}`);
          }
        }
      }
      this.trace(`cut links ${[...this.cutLinks].join(' ')}`);
      return;
    }
    for (const id of ids) this.nodes.get(id)!.group = this.rng.int(2);
    this.trace(`partition ${ids.map((id) => `${id}:${this.nodes.get(id)!.group}`).join(' ')}`);
  }

  step(): void {
    this.stepNo++;
    if (this.opts.hibernate && this.rng.chance(0.01)) {
      this.idleSpell();
      return;
    }
    const x = this.rng.next();
    const alive = this.alive();
    if (x < 0.36) {
      if (!this.deliverOne()) this.tickAll();
    } else if (x < 0.48) {
      this.tickAll();
    } else if (x < 0.78) {
      if (alive.length > 0) this.processReady(this.rng.pick(alive), this.rng.chance(0.5));
    } else if (x < 0.86) {
      if (alive.length > 0) {
        const n = this.rng.chance(0.7) ? (this.leader() ?? this.rng.pick(alive)) : this.rng.pick(alive);
        const id = ++this.propNo;
        if (this.propose(n, u32(id))) this.stats.proposals++;
      }
    } else if (x < 0.9) {
      if (alive.length > 0) {
        const n = this.rng.chance(0.5) ? (this.leader() ?? this.rng.pick(alive)) : this.rng.pick(alive);
        this.requestRead(n);
      }
    } else if (x < 0.92) {
      // Every peer that believes it leads (a stale one included) tries a lease read.
      for (const n of alive) if (n.raw!.raft.state === StateRole.Leader) this.leaseRead(n);
    } else if (x < 0.93) {
      this.confChange();
    } else if (x < 0.94) {
      const l = this.leader();
      if (l) {
        const voters = l.raw!.raft.voters.filter((v) => v !== l.id);
        if (voters.length > 0) {
          const to = this.rng.pick(voters);
          this.stats.transfers++;
          this.trace(`n${l.id} transfer leader to ${to}`);
          l.raw!.transferLeader(to);
        }
      }
    } else if (x < 0.955) {
      if (alive.length > 0) this.compact(this.rng.pick(alive));
    } else if (x < 0.965) {
      if (this.rng.chance(0.5)) this.repartition();
    } else {
      // crash or restart
      if (this.rng.next() < this.crashP * 30 && alive.length > 0) {
        const n = this.rng.pick(alive);
        this.crash(n);
        if (this.rng.chance(0.4)) this.restart(n); // a quick bounce
      } else {
        const down = [...this.nodes.values()].filter((n) => !n.raw && !n.destroyed);
        if (down.length > 0) this.restart(this.rng.pick(down));
      }
    }
    this.checkStep();
  }

  /**
   * With hibernation: some ticks with no proposal, so groups go quiet and
   * sleep, with lease reads tried by every peer that believes it leads.
   */
  private idleSpell(): void {
    const ticks = 12 + this.rng.int(30);
    // Sometimes the network splits while the groups sleep.
    const cutAt = this.rng.chance(0.3) ? this.rng.int(ticks) : -1;
    this.trace(`idle for ${ticks} ticks`);
    for (let t = 0; t < ticks; t++) {
      if (t === cutAt) this.repartition();
      for (let round = 0; round < 50; round++) {
        let work = false;
        while (this.deliverOne()) work = true;
        for (const n of this.alive()) if (this.processReady(n, true)) work = true;
        this.checkStep();
        if (!work) break;
      }
      this.tickAll();
      for (const n of this.alive()) if (n.raw!.raft.state === StateRole.Leader) this.leaseRead(n);
      this.checkStep();
    }
  }

  /** Heals everything and measures ticks until a new proposal is committed and applied. */
  heal(maxTicks: number): number | undefined {
    for (const n of this.nodes.values()) n.group = 0;
    this.cutLinks.clear();
    this.dropP = 0;
    this.dupP = 0;
    this.maxDelay = 0;
    this.crashP = 0;
    for (const id of [...this.destroyAt.keys()]) this.destroy(id);
    for (const n of this.nodes.values()) if (!n.raw && !n.destroyed) this.restart(n);
    const marker = 0x80000000 + 1;
    let proposedAt = -1;
    for (let t = 0; t <= maxTicks; t++) {
      // Run to quiescence within this tick.
      for (let round = 0; round < 200; round++) {
        let work = false;
        while (this.deliverOne()) work = true;
        for (const n of this.alive()) if (this.processReady(n, true)) work = true;
        this.checkStep();
        if (!work) break;
      }
      if (this.violations.length > 0) return undefined;
      if (this.markerApplied.has(marker)) return t;
      const l = this.leader();
      if (l && (proposedAt < 0 || t - proposedAt > 4 * this.electionTick)) {
        if (this.propose(l, u32(marker))) proposedAt = t;
      }
      this.tickAll();
    }
    return undefined;
  }

  describe(): string {
    const out: string[] = [];
    for (const n of this.nodes.values()) {
      if (!n.raw) {
        out.push(`n${n.id}:${n.destroyed ? 'destroyed' : 'down'}`);
        continue;
      }
      const r = n.raw.raft;
      out.push(
        `n${n.id}:${r.state} term=${r.term} vote=${r.vote} lead=${r.lead} last=${r.log.lastIndex()}/${r.log.lastTerm()} commit=${r.log.committed} applied=${r.log.applied} ` +
          `voters=${r.voters.join(',')} learners=${r.learners.join(',')} transferee=${r.leadTransferee}` +
          (r.state === StateRole.Leader
            ? ' prs=' + [...r.progressStatus()].map(([id, p]) => `${id}:${p.state}/m${p.match}/n${p.next}/i${p.inflight}${p.paused ? '/paused' : ''}`).join(' ')
            : ''),
      );
    }
    return out.join('\n    ');
  }

  traceLines(): string[] {
    return this.traceBuf;
  }
}

export const LIVENESS_BOUND_TICKS = 300;

export function runSeed(opts: SimOptions): SimResult {
  const sim = new Sim(opts);
  let steps = 0;
  for (; steps < opts.steps && sim.violations.length === 0; steps++) sim.step();
  let livenessTicks: number | undefined;
  if (sim.violations.length === 0) {
    livenessTicks = sim.heal(LIVENESS_BOUND_TICKS);
    if (livenessTicks === undefined && sim.violations.length === 0) {
      sim.violations.push(`liveness: no proposal committed within ${LIVENESS_BOUND_TICKS} ticks after healing\n    ${sim.describe()}`);
    }
  }
  return {
    seed: opts.seed,
    nodes: sim.nodeCount,
    steps,
    violations: sim.violations,
    livenessTicks,
    stats: sim.stats,
    params: sim.params,
    trace: sim.traceLines(),
  };
}
