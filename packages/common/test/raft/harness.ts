// A small in-memory cluster for scenario tests: nodes, a FIFO network with
// cuts, stabilize(), and a readable trace of every message delivered.
import {
  ConfChange,
  ConfState,
  Entry,
  EntryType,
  ErrProposalDropped,
  MemoryStorage,
  Message,
  MessageType,
  RawNode,
  ReadOnlyOption,
  ReadState,
  StateRole,
  decodeConfChange,
} from '../../src/raft';
import { Config } from '../../src/raft/config';
import { Rng } from '../../src/raft/sim/rng';

export interface TestNode {
  id: number;
  raw: RawNode;
  storage: MemoryStorage;
  applied: Entry[];
  readStates: ReadState[];
  confState: ConfState;
}

export type Overrides = Partial<Omit<Config, 'id' | 'storage'>>;

export const enc = (s: string): Uint8Array => Uint8Array.from(s, (c) => c.charCodeAt(0));
export const dec = (b: Uint8Array): string => String.fromCharCode(...b);

export function fmt(m: Message): string {
  const t = MessageType[m.type];
  let s = `${m.from}->${m.to} ${t} term=${m.term}`;
  switch (m.type) {
    case MessageType.App:
      s += ` prev=${m.index}/${m.logTerm} commit=${m.commit} ents=[${m.entries.map((e) => `${e.index}/${e.term}${e.data.length ? ':' + (e.type === EntryType.ConfChange ? 'cc' : dec(e.data)) : ''}`).join(' ')}]`;
      break;
    case MessageType.AppResp:
      s += ` index=${m.index}${m.reject ? ` reject hint=${m.rejectHint}/${m.logTerm}` : ''}`;
      break;
    case MessageType.Vote:
    case MessageType.PreVote:
      s += ` last=${m.index}/${m.logTerm}`;
      break;
    case MessageType.VoteResp:
    case MessageType.PreVoteResp:
      s += m.reject ? ' reject' : ' granted';
      break;
    case MessageType.Heartbeat:
      s += ` commit=${m.commit}`;
      break;
    case MessageType.Snap:
      s += ` snap=${m.snapshot?.meta.index}/${m.snapshot?.meta.term}`;
      break;
    case MessageType.ReadIndexResp:
      s += ` index=${m.index}`;
      break;
    case MessageType.Hibernate:
      s += ` last=${m.index}/${m.logTerm} commit=${m.commit}`;
      break;
    case MessageType.HibernateResp:
      s += ` index=${m.index}${m.reject ? ' reject' : ''}`;
      break;
  }
  if (m.context && m.context.length > 0 && m.type !== MessageType.Vote) s += ` ctx=${dec(m.context)}`;
  return s;
}

export class Env {
  readonly nodes = new Map<number, TestNode>();
  queue: Message[] = [];
  trace: string[] = [];
  private cuts = new Set<string>();
  /** Messages matching this are dropped on delivery. */
  dropIf: ((m: Message) => boolean) | undefined;

  constructor(
    readonly voters: number[],
    readonly learners: number[] = [],
    readonly overrides: Overrides = {},
  ) {
    for (const id of [...voters, ...learners]) this.addNode(id, { voters, learners });
  }

  static create(n: number, overrides: Overrides = {}): Env {
    return new Env(
      Array.from({ length: n }, (_, i) => i + 1),
      [],
      overrides,
    );
  }

  config(id: number, storage: MemoryStorage, extra: Overrides = {}): Config {
    const rng = new Rng(id * 7919);
    return {
      id,
      storage,
      electionTick: 10,
      heartbeatTick: 1,
      maxSizePerMsg: 1 << 20,
      maxInflightMsgs: 256,
      checkQuorum: false,
      preVote: false,
      readOnlyOption: ReadOnlyOption.Safe,
      disableProposalForwarding: false,
      random: () => rng.next(),
      ...this.overrides,
      ...extra,
    };
  }

  /** A node bootstrapped at index 1 / term 1 with conf state cs (or empty: it waits for a snapshot). */
  addNode(id: number, cs?: ConfState, extra: Overrides = {}): TestNode {
    const storage = new MemoryStorage();
    if (cs) {
      storage.applySnapshot({ meta: { index: 1, term: 0, confState: cs }, data: new Uint8Array(0) });
      // Term 0: a fresh peer (a restarted one with a term waits out one
      // election timeout before it grants votes; see docs/raft.md).
      storage.setHardState({ term: 0, vote: 0, commit: 1 });
    }
    const n: TestNode = {
      id,
      raw: new RawNode(this.config(id, storage, extra)),
      storage,
      applied: [],
      readStates: [],
      confState: cs ?? { voters: [], learners: [] },
    };
    this.nodes.set(id, n);
    return n;
  }

  node(id: number): TestNode {
    const n = this.nodes.get(id);
    if (!n) throw new Error(`no node ${id}`);
    return n;
  }

  raft(id: number) {
    return this.node(id).raw.raft;
  }

  /** Restarts a node from its storage (loses everything not persisted). */
  restart(id: number, extra: Overrides = {}): void {
    const n = this.node(id);
    const applied = n.applied.length > 0 ? n.applied[n.applied.length - 1].index : 1;
    n.raw = new RawNode(this.config(id, n.storage, { applied: Math.min(applied, n.storage.hardStateNow().commit), ...extra }));
  }

  /** Handles every pending Ready: persist, queue messages, apply, advance. */
  processReadies(): boolean {
    let any = false;
    for (const n of this.nodes.values()) {
      while (n.raw.hasReady()) {
        any = true;
        const rd = n.raw.ready();
        if (rd.snapshot) n.storage.applySnapshot(rd.snapshot);
        n.storage.append(rd.entries);
        if (rd.hardState) n.storage.setHardState(rd.hardState);
        this.queue.push(...rd.messages, ...rd.persistedMessages);
        if (rd.snapshot) n.confState = rd.snapshot.meta.confState;
        for (const e of rd.committedEntries) {
          if (e.type === EntryType.ConfChange) {
            n.confState = n.raw.applyConfChange(decodeConfChange(e.data));
            n.storage.setConfState(n.confState);
          }
          n.applied.push(e);
        }
        n.readStates.push(...rd.readStates);
        n.raw.advance(rd);
      }
    }
    return any;
  }

  private canReach(m: Message): boolean {
    return !this.cuts.has(`${m.from}-${m.to}`) && this.nodes.has(m.to) && !(this.dropIf?.(m) ?? false);
  }

  /** Delivers the queued messages (those matching `only`, if given) once; returns their trace. */
  deliver(only?: (m: Message) => boolean): string[] {
    this.processReadies();
    const now = this.queue;
    this.queue = [];
    const out: string[] = [];
    for (const m of now) {
      if (only && !only(m)) {
        this.queue.push(m);
        continue;
      }
      if (!this.canReach(m)) {
        out.push(`${fmt(m)} DROPPED`);
        continue;
      }
      out.push(fmt(m));
      this.node(m.to).raw.step({ ...m });
    }
    this.trace.push(...out);
    return out;
  }

  /** Delivers messages and handles Readys until nothing moves. Returns the trace. */
  stabilize(limit = 10000): string[] {
    const out: string[] = [];
    for (let i = 0; i < limit; i++) {
      this.processReadies();
      if (this.queue.length === 0) return out;
      out.push(...this.deliver());
    }
    throw new Error('stabilize: no quiescence');
  }

  /** Drops every queued message. */
  clearQueue(): void {
    this.processReadies();
    this.queue = [];
  }

  tick(id: number, n = 1): void {
    for (let i = 0; i < n; i++) this.node(id).raw.tick();
  }

  tickAll(n = 1): void {
    for (let i = 0; i < n; i++) for (const node of this.nodes.values()) node.raw.tick();
  }

  cut(a: number, b: number): void {
    this.cuts.add(`${a}-${b}`);
    this.cuts.add(`${b}-${a}`);
  }

  isolate(id: number): void {
    for (const other of this.nodes.keys()) if (other !== id) this.cut(id, other);
  }

  heal(): void {
    this.cuts.clear();
    this.dropIf = undefined;
  }

  campaign(id: number): string[] {
    this.node(id).raw.campaign();
    return this.stabilize();
  }

  /** Proposes; returns the drop reason, or undefined if accepted. */
  propose(id: number, data: string): string | undefined {
    try {
      this.node(id).raw.propose(enc(data));
      return undefined;
    } catch (e) {
      if (e instanceof ErrProposalDropped) return e.reason;
      throw e;
    }
  }

  proposeConfChange(id: number, cc: ConfChange): string | undefined {
    try {
      this.node(id).raw.proposeConfChange(cc);
      return undefined;
    } catch (e) {
      if (e instanceof ErrProposalDropped) return e.reason;
      throw e;
    }
  }

  role(id: number): StateRole {
    return this.raft(id).state;
  }

  leaders(): number[] {
    return [...this.nodes.values()].filter((n) => n.raw.raft.state === StateRole.Leader).map((n) => n.id);
  }

  /** Applied normal entries with data, as strings. */
  data(id: number): string[] {
    return this.node(id)
      .applied.filter((e) => e.type === EntryType.Normal && e.data.length > 0)
      .map((e) => dec(e.data));
  }

  commit(id: number): number {
    return this.raft(id).log.committed;
  }
}

export function types(trace: string[]): string[] {
  return trace.map((l) => l.split(' ').slice(0, 2).join(' '));
}
