// The host's handle on one Raft peer: inputs in, one Ready out, advance().
import { Config } from './config';
import { ErrProposalDropped, UsageError } from './errors';
import { ProgressStatus, Raft } from './raft';
import {
  ConfChange,
  ConfState,
  EntryType,
  HardState,
  Message,
  MessageType,
  NONE,
  Ready,
  Snapshot,
  SoftState,
  StateRole,
  checkIndex,
  encodeConfChange,
  hardStateEqual,
  isEmptyHardState,
  isLocalMsg,
  isResponseMsg,
  message,
} from './types';

export interface Status {
  id: number;
  hardState: HardState;
  softState: SoftState;
  applied: number;
  lastIndex: number;
  firstIndex: number;
  leadTransferee: number;
  /** Leader only: a read at the commit index is safe now without a round trip. */
  leaseValid: boolean;
  /** Not ticking (hibernation). */
  hibernating: boolean;
  confState: ConfState;
  /** Leader only. */
  progress?: Map<number, ProgressStatus>;
}

export class RawNode {
  readonly raft: Raft;
  private prevSoft: SoftState;
  private prevHard: HardState;
  /** Readys handed out and not yet advanced, oldest first. */
  private inFlight: Ready[] = [];

  /**
   * Called on every call that may give this node a Ready (a step, a tick, a
   * proposal, an advance...): a host with many nodes asks only those for one.
   */
  onActivity: (() => void) | undefined;

  constructor(config: Config) {
    this.raft = new Raft(config);
    this.prevSoft = this.raft.softState();
    this.prevHard = this.raft.hardState();
  }

  get id(): number {
    return this.raft.id;
  }

  tick(): void {
    this.onActivity?.();
    this.raft.tick();
  }

  /** A leader's lease clock runs `ticks` more (real time its host could not tick for); see Raft.elapseLease. */
  elapseLease(ticks: number): void {
    this.raft.elapseLease(ticks);
  }

  /** Asleep (hibernation): ticks are no-ops, a host need not deliver them. */
  get hibernating(): boolean {
    return this.raft.hibernating;
  }

  /** News the core cannot see (a read, an operator step, a silent leader's store): leave hibernation. */
  wake(): void {
    this.onActivity?.();
    this.raft.wake();
  }

  /** Campaigns now (pre-vote first if enabled). Breaks other leaders' leases: for tests and bootstrap. */
  campaign(): void {
    this.onActivity?.();
    this.raft.step(message({ type: MessageType.Hup, from: this.raft.id }));
  }

  /** Throws ErrProposalDropped when the proposal cannot be carried. */
  propose(data: Uint8Array): void {
    this.proposeBatch([data]);
  }

  /** Several proposals in one message (one append, one MsgApp). */
  proposeBatch(datas: Uint8Array[]): void {
    if (datas.length === 0) return;
    this.onActivity?.();
    this.raft.step(
      message({
        type: MessageType.Prop,
        from: this.raft.id,
        entries: datas.map((data) => ({ term: 0, index: 0, type: EntryType.Normal, data })),
      }),
    );
  }

  proposeConfChange(cc: ConfChange): void {
    this.onActivity?.();
    this.raft.step(
      message({
        type: MessageType.Prop,
        from: this.raft.id,
        entries: [{ term: 0, index: 0, type: EntryType.ConfChange, data: encodeConfChange(cc) }],
      }),
    );
  }

  /** Call when a committed conf change entry is applied; returns the new configuration. */
  applyConfChange(cc: ConfChange): ConfState {
    this.onActivity?.();
    return this.raft.applyConfChange(cc);
  }

  /** A message from the network. Local message types are refused. */
  step(m: Message): void {
    if (isLocalMsg(m.type)) throw new UsageError(`raft: cannot step local message ${MessageType[m.type]}`);
    // The 2^53 bound, checked where numbers come in from the wire.
    checkIndex('term', m.term);
    checkIndex('index', m.index);
    checkIndex('logTerm', m.logTerm);
    checkIndex('commit', m.commit);
    if (isResponseMsg(m.type) && !this.raft.prs.has(m.from) && this.raft.state === StateRole.Leader) return;
    this.onActivity?.();
    try {
      this.raft.step(m);
    } catch (e) {
      // A forwarded proposal or read that cannot be served is dropped
      // silently: its proposer times out (or retries), as on message loss.
      if (e instanceof ErrProposalDropped) return;
      throw e;
    }
  }

  transferLeader(to: number): void {
    this.onActivity?.();
    this.raft.step(message({ type: MessageType.TransferLeader, from: to }));
  }

  /** Requests a linearizable read; the answer is a ReadState with this context in a later Ready. */
  readIndex(context: Uint8Array): void {
    this.onActivity?.();
    this.raft.step(message({ type: MessageType.ReadIndex, from: NONE, context }));
  }

  reportUnreachable(id: number): void {
    this.onActivity?.();
    this.raft.step(message({ type: MessageType.Unreachable, from: id }));
  }

  reportSnapshot(id: number, ok: boolean): void {
    this.onActivity?.();
    this.raft.step(message({ type: MessageType.SnapStatus, from: id, reject: !ok }));
  }

  /** A snapshot received and accepted by step(), not yet handed out in a Ready and advanced. */
  pendingSnapshot(): Snapshot | undefined {
    return this.raft.log.unstable.snapshot;
  }

  leaseValid(): boolean {
    return this.raft.leaseValid();
  }

  hasReady(): boolean {
    const r = this.raft;
    r.flush();
    const ss = r.softState();
    if (ss.leaderId !== this.prevSoft.leaderId || ss.role !== this.prevSoft.role) return true;
    const hs = r.hardState();
    if (!isEmptyHardState(hs) && !hardStateEqual(hs, this.prevHard)) return true;
    if (r.log.unstable.nextSnapshot()) return true;
    if (r.log.unstable.hasNextEntries()) return true;
    if (r.msgs.length > 0 || r.msgsAfterAppend.length > 0 || r.readStates.length > 0) return true;
    return r.log.hasNextCommittedEnts();
  }

  ready(): Ready {
    const r = this.raft;
    r.flush();
    const rd: Ready = {
      readStates: r.readStates,
      entries: r.log.unstable.nextEntries(),
      committedEntries: r.log.nextCommittedEnts(),
      messages: r.msgs,
      persistedMessages: r.msgsAfterAppend,
      mustSync: false,
    };
    r.readStates = [];
    r.msgs = [];
    r.msgsAfterAppend = [];
    const ss = r.softState();
    if (ss.leaderId !== this.prevSoft.leaderId || ss.role !== this.prevSoft.role) {
      rd.softState = ss;
      this.prevSoft = ss;
    }
    const hs = r.hardState();
    if (!isEmptyHardState(hs) && !hardStateEqual(hs, this.prevHard)) {
      rd.mustSync = hs.term !== this.prevHard.term || hs.vote !== this.prevHard.vote;
      rd.hardState = hs;
      this.prevHard = hs;
    }
    const snap = r.log.unstable.nextSnapshot();
    if (snap) rd.snapshot = snap;
    if (rd.entries.length > 0 || rd.snapshot) rd.mustSync = true;
    r.log.unstable.acceptInProgress();
    if (rd.committedEntries.length > 0) r.log.applying = rd.committedEntries[rd.committedEntries.length - 1].index;
    this.inFlight.push(rd);
    return rd;
  }

  /** The host has done everything the Ready asked. */
  advance(rd: Ready): void {
    if (rd !== this.inFlight[0]) throw new UsageError('raft: advance() must take the Readys in the order ready() returned them');
    this.onActivity?.();
    this.inFlight.shift();
    const r = this.raft;
    if (rd.snapshot) {
      r.log.stableSnapTo(rd.snapshot.meta.index);
      if (rd.snapshot.meta.index > r.log.applied) r.log.applied = rd.snapshot.meta.index;
      if (r.log.applied > r.log.applying) r.log.applying = r.log.applied;
    }
    if (rd.entries.length > 0) {
      const last = rd.entries[rd.entries.length - 1];
      r.log.stableTo(last.index, last.term);
    }
    if (rd.committedEntries.length > 0) {
      const last = rd.committedEntries[rd.committedEntries.length - 1].index;
      // Entries below a snapshot applied meanwhile are covered by it.
      if (last > r.log.applied) r.log.appliedTo(last);
    }
    r.onApplied(rd.committedEntries);
    r.onPersisted();
  }

  status(): Status {
    const r = this.raft;
    const s: Status = {
      id: r.id,
      hardState: r.hardState(),
      softState: r.softState(),
      applied: r.log.applied,
      lastIndex: r.log.lastIndex(),
      firstIndex: r.log.firstIndex(),
      leadTransferee: r.leadTransferee,
      leaseValid: r.leaseValid(),
      hibernating: r.hibernating,
      confState: r.confState(),
    };
    if (r.state === StateRole.Leader) s.progress = r.progressStatus();
    return s;
  }
}

