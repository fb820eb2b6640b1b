// The Raft state machine. Three inputs (step, tick, propose via step) and
// its outputs collected in msgs / msgsAfterAppend / readStates for RawNode's
// Ready. Roles swap behaviour: becomeX sets stepFn and tickFn. All term
// comparisons happen in step() before dispatch.
import { Config, Mutations, RaftLogger, validateConfig } from './config';
import { ErrCompacted, ErrProposalDropped, ErrSnapshotTemporarilyUnavailable, ErrUnavailable, UsageError, DropReason } from './errors';
import { RaftLog } from './log';
import { Progress, ProgressState, VoteResult, majority, quorumValue, tally } from './progress';
import { ReadOnly, ReadOnlyOption } from './readonly';
import {
  ConfChange,
  ConfChangeType,
  ConfState,
  Entry,
  EntryType,
  HardState,
  Message,
  MessageType,
  NONE,
  ReadState,
  Snapshot,
  SoftState,
  StateRole,
  checkIndex,
  decodeConfChange,
  isResponseMsg,
  isEmptyHardState,
  message,
  payloadSize,
} from './types';

const CAMPAIGN_TRANSFER = new Uint8Array([0x43, 0x54]); // "CT"

function isTransferContext(ctx: Uint8Array | undefined): boolean {
  return ctx !== undefined && ctx.length === 2 && ctx[0] === 0x43 && ctx[1] === 0x54;
}

enum CampaignType {
  PreElection,
  Election,
  Transfer,
}

export interface ProgressStatus {
  match: number;
  next: number;
  state: ProgressState;
  paused: boolean;
  inflight: number;
  isLearner: boolean;
  recentActive: boolean;
}

export class Raft {
  readonly id: number;
  term = 0;
  vote = NONE;
  readonly log: RaftLog;
  state: StateRole = StateRole.Follower;
  lead = NONE;
  isLearner = false;

  voters: number[] = [];
  learners: number[] = [];
  prs = new Map<number, Progress>();
  private votes = new Map<number, boolean>();

  /** Messages that may be sent at once. */
  msgs: Message[] = [];
  /** Messages to send only after the next Ready's writes are durable. */
  msgsAfterAppend: Message[] = [];
  readStates: ReadState[] = [];

  leadTransferee = NONE;
  pendingConfIndex = 0;
  uncommittedSize = 0;
  private readOnly: ReadOnly;
  private pendingReadIndexMessages: Message[] = [];

  electionElapsed = 0;
  private heartbeatElapsed = 0;
  private randomizedElectionTimeout = 0;
  /** Leader's lease clock: ticks since it became leader. */
  private leaseClock = 0;
  /** TimeoutNow went out in this term: the lease can no longer be trusted. */
  private timeoutNowSent = false;
  /** Restarted with a term: ignore votes for one election timeout (we may have acked a lease). */
  private startupQuiet: boolean;
  private needBcast = false;
  /** A commit every follower must hear at the next Ready (deferCommit: one that holds a conf change). */
  private needCommitBcast = false;
  /** The commit index before the last maybeCommit moved it. */
  private committedBefore = 0;
  private readonly deferCommit: boolean;
  /** TimeoutNow arrived while conf changes were unapplied: campaign once they are. */
  private transferCampaignPending = false;

  /**
   * Not ticking (see "hibernation" below): a leader whose every voter took
   * the hint, or a follower that took it. Any news wakes it.
   */
  hibernating = false;
  /** Leader: ticks in a row with nothing to do. */
  private quietTicks = 0;
  /** Leader: hints are out, waiting for every voter to take one. */
  private askingHibernate = false;
  /** Leader: peers that took the hint in this quiet spell. */
  private readonly hibernateAcks = new Set<number>();
  private readonly hibernateTicks: number;
  private readonly canHibernate: (() => boolean) | undefined;

  readonly electionTimeout: number;
  readonly heartbeatTimeout: number;
  readonly checkQuorum: boolean;
  readonly preVote: boolean;
  readonly readOnlyOption: ReadOnlyOption;
  private readonly disableProposalForwarding: boolean;
  private readonly maxMsgSize: number;
  private readonly maxInflight: number;
  private readonly maxInflightBytes: number;
  private readonly maxUncommittedSize: number;
  private readonly leaseMargin: number;
  private readonly batchAppends: boolean;
  private readonly random: () => number;
  private readonly logger: RaftLogger | undefined;
  readonly mut: Mutations;

  private tickFn: () => void = () => this.tickElection();
  private stepFn: (m: Message) => void = (m) => this.stepFollower(m);

  constructor(c: Config) {
    validateConfig(c);
    this.id = c.id;
    this.log = new RaftLog(c.storage, c.maxCommittedSizePerReady ?? 64 * 1024 * 1024);
    this.electionTimeout = c.electionTick;
    this.heartbeatTimeout = c.heartbeatTick;
    this.checkQuorum = c.checkQuorum;
    this.preVote = c.preVote;
    this.readOnlyOption = c.readOnlyOption;
    this.readOnly = new ReadOnly(c.readOnlyOption);
    this.disableProposalForwarding = c.disableProposalForwarding;
    this.maxMsgSize = c.maxSizePerMsg;
    this.maxInflight = c.maxInflightMsgs;
    this.maxInflightBytes = c.maxInflightBytes ?? 0;
    this.maxUncommittedSize = c.maxUncommittedEntriesSize ?? 0;
    this.leaseMargin = c.leaseMarginTicks ?? 2;
    this.batchAppends = c.batchAppends ?? true;
    this.deferCommit = this.batchAppends && (c.deferCommit ?? false);
    this.hibernateTicks = c.hibernateTicks ?? 0;
    this.canHibernate = c.canHibernate;
    this.random = c.random;
    this.logger = c.logger;
    this.mut = c.testMutations ?? {};
    this.log.mutations = { noTruncate: this.mut.noTruncateOnConflict };

    const { hardState, confState } = c.storage.initialState();
    this.applyConfState(confState);
    if (!isEmptyHardState(hardState)) this.loadState(hardState);
    if (c.applied !== undefined && c.applied > 0) {
      if (c.applied > this.log.committed) throw new UsageError(`applied ${c.applied} is beyond commit ${this.log.committed}`);
      if (c.applied >= this.log.applied) {
        this.log.applied = c.applied;
        this.log.applying = c.applied;
      }
    }
    if (this.term < this.log.lastTerm()) {
      throw new UsageError(`hard state term ${this.term} is below the log's last term ${this.log.lastTerm()}: bootstrap with a hard state term at least the snapshot's`);
    }
    this.becomeFollower(this.term, NONE);
    this.startupQuiet = this.checkQuorum && this.term > (c.initialTerm ?? 0);
    this.logger?.info({ id: this.id, term: this.term, commit: this.log.committed, applied: this.log.applied, lastIndex: this.log.lastIndex(), voters: this.voters, learners: this.learners }, 'raft: new peer');
  }

  private loadState(hs: HardState): void {
    checkIndex('term', hs.term);
    checkIndex('commit', hs.commit);
    if (hs.commit < this.log.committed || hs.commit > this.log.lastIndex()) {
      throw new UsageError(`hard state commit ${hs.commit} is out of range [${this.log.committed}, ${this.log.lastIndex()}]`);
    }
    this.log.committed = hs.commit;
    this.term = hs.term;
    this.vote = hs.vote;
  }

  // ---- state accessors -------------------------------------------------

  softState(): SoftState {
    return { leaderId: this.lead, role: this.state };
  }

  hardState(): HardState {
    return { term: this.term, vote: this.vote, commit: this.log.committed };
  }

  confState(): ConfState {
    return { voters: [...this.voters], learners: [...this.learners] };
  }

  progressStatus(): Map<number, ProgressStatus> {
    const out = new Map<number, ProgressStatus>();
    for (const [id, pr] of this.prs) {
      out.set(id, {
        match: pr.match,
        next: pr.next,
        state: pr.state,
        paused: pr.isPaused(),
        inflight: pr.inflights.count(),
        isLearner: pr.isLearner,
        recentActive: pr.recentActive,
      });
    }
    return out;
  }

  /**
   * On a leader: the voter to hand the leadership to when it steps down of
   * its own accord (a graceful stop). The one heard from lately whose log
   * matches the most of this one's; NONE when no other voter qualifies.
   */
  handOffTarget(): number {
    let best = NONE;
    let bestMatch = -1;
    for (const [id, pr] of this.prs) {
      if (id === this.id || pr.isLearner || !pr.recentActive || pr.match <= bestMatch) continue;
      best = id;
      bestMatch = pr.match;
    }
    return best;
  }

  private promotable(): boolean {
    const pr = this.prs.get(this.id);
    return pr !== undefined && !pr.isLearner && this.log.unstable.snapshot === undefined;
  }

  // ---- sending ---------------------------------------------------------

  private send(m: Message): void {
    if (m.from === NONE) m.from = this.id;
    if (m.type === MessageType.Vote || m.type === MessageType.VoteResp || m.type === MessageType.PreVote || m.type === MessageType.PreVoteResp) {
      if (m.term === 0) throw new UsageError(`term should be set when sending ${MessageType[m.type]}`);
    } else if (m.type !== MessageType.Prop && m.type !== MessageType.ReadIndex) {
      m.term = this.term;
    }
    // Answers that promise persisted state (our log, our vote) and our own
    // vote requests (our vote for ourselves) wait for the write.
    if (m.type === MessageType.AppResp || m.type === MessageType.VoteResp || m.type === MessageType.Vote) {
      // Several MsgApps handled before one write need one acceptance: the
      // highest index says all the lower ones (match, inflights), so it
      // replaces an acceptance just before it. Rejections all go.
      const last = this.msgsAfterAppend[this.msgsAfterAppend.length - 1];
      if (m.type === MessageType.AppResp && !m.reject && last?.type === MessageType.AppResp && !last.reject && last.to === m.to && last.term === m.term && last.index <= m.index) {
        this.msgsAfterAppend[this.msgsAfterAppend.length - 1] = m;
        return;
      }
      this.msgsAfterAppend.push(m);
    } else {
      this.msgs.push(m);
    }
  }

  /** Sends a MsgApp (or MsgSnap) to `to` if its progress allows; true if something was sent. */
  private maybeSendAppend(to: number, sendIfEmpty: boolean): boolean {
    const pr = this.prs.get(to);
    if (!pr || pr.isPaused()) return false;
    const prevIndex = pr.next - 1;
    let prevTerm: number;
    let ents: Entry[];
    try {
      prevTerm = this.log.term(prevIndex);
      ents = this.log.entries(pr.next, this.maxMsgSize);
    } catch (e) {
      if (e instanceof ErrCompacted || e instanceof ErrUnavailable) return this.maybeSendSnapshot(to, pr);
      throw e;
    }
    if (ents.length === 0 && !sendIfEmpty) return false;
    let bytes = 0;
    for (const e of ents) bytes += payloadSize(e);
    this.send(message({ type: MessageType.App, to, index: prevIndex, logTerm: prevTerm, entries: ents, commit: this.log.committed }));
    pr.sentCommit = this.log.committed;
    pr.sentEntries(ents.length, ents.length > 0 ? ents[ents.length - 1].index : prevIndex, bytes);
    if (pr.state === ProgressState.Probe) pr.probeSentAt = this.leaseClock;
    return true;
  }

  private maybeSendSnapshot(to: number, pr: Progress): boolean {
    if (!pr.recentActive) return false;
    let snap: Snapshot;
    try {
      snap = this.log.snapshot();
    } catch (e) {
      if (e instanceof ErrSnapshotTemporarilyUnavailable) return false;
      throw e;
    }
    if (snap.meta.index === 0) throw new UsageError('need non-empty snapshot');
    this.send(message({ type: MessageType.Snap, to, snapshot: snap }));
    pr.becomeSnapshot(snap.meta.index);
    this.logger?.info({ id: this.id, to, index: snap.meta.index }, 'raft: sent snapshot');
    return true;
  }

  private sendAppend(to: number): void {
    this.maybeSendAppend(to, true);
  }

  private sendHeartbeat(to: number, ctx: Uint8Array | undefined): void {
    const pr = this.prs.get(to)!;
    const commit = Math.min(pr.match, this.log.committed);
    this.send(message({ type: MessageType.Heartbeat, to, commit, index: this.leaseClock, context: ctx }));
  }

  private bcastAppend(): void {
    this.needBcast = false;
    this.needCommitBcast = false;
    for (const id of this.prs.keys()) {
      if (id !== this.id) this.sendAppend(id);
    }
  }

  private bcastHeartbeat(ctx: Uint8Array | undefined): void {
    for (const id of this.prs.keys()) {
      if (id !== this.id) this.sendHeartbeat(id, ctx);
    }
  }

  /**
   * Sends the MsgApps deferred by batching (RawNode calls it before a Ready):
   * one per follower carrying both the turn's new entries and the newest
   * commit index. Sending the commit as soon as it moved cost every follower a
   * second, commit-only MsgApp (and its answer) in nearly every busy round.
   */
  flush(): void {
    if ((this.needBcast || this.needCommitBcast) && this.state === StateRole.Leader) {
      const commitOnly = this.needCommitBcast || !this.deferCommit;
      for (const [id, pr] of this.prs) {
        if (id !== this.id) this.maybeSendAppend(id, commitOnly && pr.sentCommit < this.log.committed);
      }
    }
    this.needBcast = false;
    this.needCommitBcast = false;
  }

  /**
   * deferCommit, on each leader tick: a commit no MsgApp carried since it
   * moved goes out now, alone. Followers apply at most a tick late; the
   * leader answers clients from its own apply, so no reply waits for it.
   */
  private sendDeferredCommits(): void {
    for (const [id, pr] of this.prs) {
      if (id !== this.id && pr.sentCommit < this.log.committed) this.maybeSendAppend(id, true);
    }
  }

  // ---- role changes ----------------------------------------------------

  private reset(term: number): void {
    if (this.term !== term) {
      this.term = term;
      this.vote = NONE;
    }
    this.lead = NONE;
    this.electionElapsed = 0;
    this.heartbeatElapsed = 0;
    this.resetRandomizedElectionTimeout();
    this.abortLeaderTransfer();
    this.votes = new Map();
    const last = this.log.lastIndex();
    for (const [id, pr] of this.prs) {
      const np = new Progress(last + 1, this.maxInflight, this.maxInflightBytes, pr.isLearner);
      if (id === this.id) np.match = this.log.stableLastIndex();
      this.prs.set(id, np);
    }
    this.pendingConfIndex = 0;
    this.uncommittedSize = 0;
    this.readOnly = new ReadOnly(this.readOnlyOption);
    this.pendingReadIndexMessages = [];
    this.needBcast = false;
    this.needCommitBcast = false;
    this.transferCampaignPending = false;
    this.leaseClock = 0;
    this.timeoutNowSent = false;
    this.hibernating = false;
    this.quietTicks = 0;
    this.askingHibernate = false;
    this.hibernateAcks.clear();
  }

  private resetRandomizedElectionTimeout(): void {
    const r = this.random();
    this.randomizedElectionTimeout = this.electionTimeout + Math.min(this.electionTimeout - 1, Math.floor(r * this.electionTimeout));
  }

  becomeFollower(term: number, lead: number): void {
    this.stepFn = (m) => this.stepFollower(m);
    this.reset(term);
    this.tickFn = () => this.tickElection();
    this.lead = lead;
    this.state = StateRole.Follower;
  }

  private becomeCandidate(): void {
    if (this.state === StateRole.Leader) throw new UsageError('invalid transition [leader -> candidate]');
    this.stepFn = (m) => this.stepCandidate(m);
    this.reset(this.term + 1);
    this.tickFn = () => this.tickElection();
    this.vote = this.id;
    this.state = StateRole.Candidate;
    this.logger?.info({ id: this.id, term: this.term }, 'raft: became candidate');
  }

  private becomePreCandidate(): void {
    if (this.state === StateRole.Leader) throw new UsageError('invalid transition [leader -> pre-candidate]');
    // Pre-vote changes neither term nor vote.
    this.stepFn = (m) => this.stepCandidate(m);
    this.votes = new Map();
    this.tickFn = () => this.tickElection();
    this.lead = NONE;
    this.state = StateRole.PreCandidate;
  }

  private becomeLeader(): void {
    if (this.state === StateRole.Follower) throw new UsageError('invalid transition [follower -> leader]');
    this.stepFn = (m) => this.stepLeader(m);
    this.reset(this.term);
    this.tickFn = () => this.tickHeartbeat();
    this.lead = this.id;
    this.state = StateRole.Leader;
    const self = this.prs.get(this.id)!;
    self.becomeReplicate();
    self.recentActive = true;
    // The no-op that lets this term commit what earlier terms left behind.
    this.appendEntry([{ term: 0, index: 0, type: EntryType.Normal, data: new Uint8Array(0) }]);
    // No conf change until the no-op is applied: with one-voter-at-a-time
    // changes a leader must commit an entry of its term first (Ongaro's fix).
    this.pendingConfIndex = this.log.lastIndex();
    this.uncommittedSize = 0;
    this.bcastAppend();
    this.logger?.info({ id: this.id, term: this.term }, 'raft: became leader');
  }

  // ---- ticks -----------------------------------------------------------

  tick(): void {
    // Asleep, no time passes for this peer: no election, no lease (see leaseValid).
    if (this.hibernating) return;
    this.tickFn();
  }

  private tickElection(): void {
    this.electionElapsed++;
    if (this.startupQuiet && this.electionElapsed >= this.electionTimeout) this.startupQuiet = false;
    if (this.promotable() && this.electionElapsed >= this.randomizedElectionTimeout) {
      this.electionElapsed = 0;
      this.step(message({ type: MessageType.Hup, from: this.id }));
    }
  }

  /**
   * Ticks a stalled host missed, for the lease only: a leader's lease must
   * never outlast real time, but its election clock (check-quorum, transfer
   * time-out, heartbeats, hibernation) may run slow. Stepping down because
   * answers still unread in the socket "did not arrive" during a stall made
   * overloaded stores drop their leaderships by the thousand.
   */
  elapseLease(ticks: number): void {
    if (this.state === StateRole.Leader && !this.hibernating && ticks > 0) this.leaseClock += ticks;
  }

  private tickHeartbeat(): void {
    this.heartbeatElapsed++;
    this.electionElapsed++;
    this.leaseClock++;
    if (this.electionElapsed >= this.electionTimeout) {
      this.electionElapsed = 0;
      if (this.checkQuorum) this.step(message({ type: MessageType.CheckQuorum, from: this.id }));
      if (this.state === StateRole.Leader && this.leadTransferee !== NONE) {
        this.logger?.info({ id: this.id, transferee: this.leadTransferee }, 'raft: leader transfer timed out');
        this.abortLeaderTransfer();
      }
    }
    if (this.state !== StateRole.Leader) return;
    if (this.deferCommit) this.sendDeferredCommits();
    this.tickQuiet();
    if (this.heartbeatElapsed >= this.heartbeatTimeout) {
      this.heartbeatElapsed = 0;
      this.step(message({ type: MessageType.Beat, from: this.id }));
    }
  }

  // ---- step: term checks, then dispatch ----------------------------------

  step(m: Message): void {
    if (this.hibernating || this.askingHibernate) this.wakeOn(m);
    if (m.term === 0) {
      // local message (or a forwarded Prop/ReadIndex)
    } else if (m.term > this.term) {
      if (m.type === MessageType.Vote || m.type === MessageType.PreVote) {
        const force = isTransferContext(m.context);
        const inLease = this.checkQuorum && (this.lead !== NONE || this.startupQuiet) && this.electionElapsed < this.electionTimeout;
        if (!force && inLease) {
          // We heard from a leader within the election timeout: its lease stands.
          return;
        }
      }
      if (m.type === MessageType.PreVote) {
        // Never change our term in response to a PreVote.
      } else if (m.type === MessageType.PreVoteResp && !m.reject) {
        // The term in the response is the one we would campaign in; we bump
        // it only when we get a quorum.
      } else if (m.type === MessageType.App || m.type === MessageType.Heartbeat || m.type === MessageType.Snap || m.type === MessageType.Hibernate) {
        this.becomeFollower(m.term, m.from);
      } else {
        // A vote request we may refuse does not restart our election timer
        // (§5.2: only granting a vote does), or a candidate with a stale log
        // that keeps raising its term could hold off the peer that can win.
        const elapsed = this.electionElapsed;
        this.becomeFollower(m.term, NONE);
        if (m.type === MessageType.Vote) this.electionElapsed = Math.min(elapsed, this.electionTimeout);
      }
    } else if (m.term < this.term) {
      if ((this.checkQuorum || this.preVote) && (m.type === MessageType.Heartbeat || m.type === MessageType.App || m.type === MessageType.Hibernate)) {
        // A leader cut off from the group: tell it about our term so it steps down.
        this.send(message({ type: MessageType.AppResp, to: m.from }));
      } else if (m.type === MessageType.PreVote) {
        this.send(message({ type: MessageType.PreVoteResp, to: m.from, term: this.term, reject: true }));
      }
      return;
    }

    switch (m.type) {
      case MessageType.Hup:
        if (this.preVote) this.hup(CampaignType.PreElection);
        else this.hup(CampaignType.Election);
        return;
      case MessageType.Vote:
      case MessageType.PreVote: {
        const canVote =
          this.vote === m.from ||
          (this.vote === NONE && this.lead === NONE) ||
          (m.type === MessageType.PreVote && m.term > this.term);
        const upToDate = this.mut.voteWithoutLogCheck || this.log.isUpToDate(m.index, m.logTerm);
        const respType = m.type === MessageType.Vote ? MessageType.VoteResp : MessageType.PreVoteResp;
        if (canVote && upToDate) {
          this.send(message({ type: respType, to: m.from, term: m.term }));
          if (m.type === MessageType.Vote) {
            this.electionElapsed = 0;
            this.vote = m.from;
          }
        } else {
          this.send(message({ type: respType, to: m.from, term: this.term, reject: true }));
        }
        return;
      }
      default:
        this.stepFn(m);
    }
  }

  private hup(t: CampaignType): void {
    if (this.state === StateRole.Leader) return;
    if (!this.promotable()) return;
    if (this.hasUnappliedConfChanges()) {
      this.logger?.warn({ id: this.id }, 'raft: cannot campaign, unapplied conf changes');
      if (t === CampaignType.Transfer) this.transferCampaignPending = true;
      return;
    }
    this.campaign(t);
  }

  private hasUnappliedConfChanges(): boolean {
    if (this.log.applied >= this.log.committed) return false;
    try {
      const ents = this.log.slice(Math.max(this.log.applied + 1, this.log.firstIndex()), this.log.committed + 1, Number.MAX_SAFE_INTEGER);
      return ents.some((e) => e.type === EntryType.ConfChange);
    } catch (e) {
      if (e instanceof ErrCompacted) return false;
      throw e;
    }
  }

  private campaign(t: CampaignType): void {
    let voteMsg: MessageType;
    let term: number;
    if (t === CampaignType.PreElection) {
      this.becomePreCandidate();
      voteMsg = MessageType.PreVote;
      term = this.term + 1;
    } else {
      this.becomeCandidate();
      voteMsg = MessageType.Vote;
      term = this.term;
    }
    if (this.poll(this.id, true) === VoteResult.Won) {
      if (t === CampaignType.PreElection) this.campaign(CampaignType.Election);
      else this.becomeLeader();
      return;
    }
    const lastIndex = this.log.lastIndex();
    const lastTerm = this.log.lastTerm();
    for (const id of this.voters) {
      if (id === this.id) continue;
      this.send(
        message({
          type: voteMsg,
          to: id,
          term,
          index: lastIndex,
          logTerm: lastTerm,
          context: t === CampaignType.Transfer ? CAMPAIGN_TRANSFER : undefined,
        }),
      );
    }
  }

  private poll(id: number, granted: boolean): VoteResult {
    if (!this.votes.has(id)) this.votes.set(id, granted);
    return tally(this.voters, this.votes).result;
  }

  // ---- leader ----------------------------------------------------------

  private dropProposal(m: Message, reason: DropReason): void {
    this.logger?.debug?.({ id: this.id, reason }, 'raft: proposal dropped');
    if (m.from === NONE || m.from === this.id) throw new ErrProposalDropped(reason);
  }

  private appendEntry(es: Entry[]): boolean {
    let li = this.log.lastIndex();
    let size = 0;
    for (const e of es) size += payloadSize(e);
    if (this.maxUncommittedSize > 0 && this.uncommittedSize > 0 && size > 0 && this.uncommittedSize + size > this.maxUncommittedSize) {
      return false;
    }
    this.uncommittedSize += size;
    const ents = es.map((e) => ({ term: this.term, index: ++li, type: e.type, data: e.data }));
    checkIndex('index', li);
    this.log.append(ents);
    return true;
  }

  private maybeCommit(): boolean {
    const matches = this.voters.map((id) => this.prs.get(id)!.match);
    if (matches.length === 0) return false;
    const mci = quorumValue(matches, majority(matches.length));
    this.committedBefore = this.log.committed;
    return this.log.maybeCommit(mci, this.term, this.mut.commitOldTermByCount);
  }

  private committedEntryInCurrentTerm(): boolean {
    return this.log.termOr0(this.log.committed) === this.term;
  }

  private afterCommit(): void {
    if (this.pendingReadIndexMessages.length > 0 && this.committedEntryInCurrentTerm()) {
      const msgs = this.pendingReadIndexMessages;
      this.pendingReadIndexMessages = [];
      for (const m of msgs) this.sendReadIndexResponse(m);
    }
    if (!this.batchAppends) this.bcastAppend();
    else if (!this.deferCommit || this.commitsConfChange()) this.needCommitBcast = true;
    // else deferred: it rides the next MsgApp with entries, or the next tick's (sendDeferredCommits).
  }

  /**
   * The last commit took in a conf change (or, after an election, entries up
   * to the new leader's last index, where pendingConfIndex starts: one may
   * be a conf change). Every peer hears such a commit at once: a removed
   * replica learns its removal from it.
   */
  private commitsConfChange(): boolean {
    return this.pendingConfIndex > this.committedBefore && this.pendingConfIndex <= this.log.committed;
  }

  /** Called by RawNode.advance once the host has written entries up to stableIndex. */
  onPersisted(): void {
    if (this.state !== StateRole.Leader) return;
    const self = this.prs.get(this.id);
    if (!self) return;
    if (self.maybeUpdate(this.log.stableLastIndex()) && this.maybeCommit()) this.afterCommit();
  }

  /** Called by RawNode.advance with the entries the host applied. */
  onApplied(ents: Entry[]): void {
    if (this.transferCampaignPending && !this.hasUnappliedConfChanges()) {
      this.transferCampaignPending = false;
      this.hup(CampaignType.Transfer);
    }
    if (this.state !== StateRole.Leader || this.uncommittedSize === 0) return;
    let s = 0;
    for (const e of ents) s += payloadSize(e);
    this.uncommittedSize = Math.max(0, this.uncommittedSize - s);
  }

  leaseValid(): boolean {
    if (this.state !== StateRole.Leader) return false;
    // Asleep, the lease clock stands still while real time runs: no lease.
    if (this.hibernating && !this.mut.leaseAcrossHibernation) return false;
    if (this.mut.leaseWithoutCheckQuorum) return true;
    if (!this.checkQuorum || this.leadTransferee !== NONE || this.timeoutNowSent || !this.prs.has(this.id)) return false;
    // Until an entry of this term commits, the commit index may lag writes
    // that earlier leaders committed: not a valid read index yet.
    if (!this.committedEntryInCurrentTerm()) return false;
    const acks = this.voters.map((id) => (id === this.id ? this.leaseClock : this.prs.get(id)!.leaseAck));
    const q = quorumValue(acks, majority(acks.length));
    if (q < 0) return false;
    return this.leaseClock - q < this.electionTimeout - this.leaseMargin;
  }

  private quorumActive(): boolean {
    let active = 0;
    for (const id of this.voters) {
      // A peer that took the hibernation hint sleeps: it answers nothing until woken.
      if (id === this.id || this.prs.get(id)!.recentActive || this.hibernateAcks.has(id)) active++;
    }
    return active >= majority(this.voters.length);
  }

  private respondReadIndex(m: Message, index: number): void {
    if (m.from === NONE || m.from === this.id) {
      this.readStates.push({ index, context: m.context ?? new Uint8Array(0) });
    } else {
      // A follower's read waits until it applied `index`: with deferCommit it may not know that commit yet.
      const pr = this.prs.get(m.from);
      if (this.deferCommit && pr && pr.sentCommit < index) this.maybeSendAppend(m.from, true);
      this.send(message({ type: MessageType.ReadIndexResp, to: m.from, index, context: m.context }));
    }
  }

  private sendReadIndexResponse(m: Message): void {
    // The read index is the last entry appended, not the commit index (etcd's
    // choice): an entry carries its proposer's clock, and a read served at a
    // later time must not miss an entry proposed before it, or that entry
    // would apply at a time before the read's and a key the read found
    // expired could come back (docs/decisions.md, "One clock per region").
    const index = this.log.lastIndex();
    if (this.voters.length === 1 && this.voters[0] === this.id) {
      this.respondReadIndex(m, index);
      return;
    }
    if (this.readOnlyOption === ReadOnlyOption.LeaseBased && this.leaseValid()) {
      this.respondReadIndex(m, index);
      return;
    }
    this.readOnly.addRequest(index, m);
    this.readOnly.recvAck(this.id, m.context);
    this.bcastHeartbeat(m.context);
  }

  private stepLeader(m: Message): void {
    switch (m.type) {
      case MessageType.Beat:
        // While asking, a heartbeat would wake the peers that took the hint: the hint goes again to the others instead.
        if (this.askingHibernate) this.sendHibernateHints();
        else this.bcastHeartbeat(this.readOnly.lastPendingContext());
        return;
      case MessageType.CheckQuorum:
        if (!this.quorumActive()) {
          this.logger?.warn({ id: this.id, term: this.term }, 'raft: stepped down, quorum not active');
          this.becomeFollower(this.term, NONE);
        }
        for (const [id, pr] of this.prs) if (id !== this.id) pr.recentActive = false;
        return;
      case MessageType.Prop: {
        if (m.entries.length === 0) throw new UsageError('stepped empty MsgProp');
        if (!this.prs.has(this.id)) return this.dropProposal(m, 'not-in-config');
        if (this.leadTransferee !== NONE) return this.dropProposal(m, 'transferring-leadership');
        let ccAt = -1;
        for (let i = 0; i < m.entries.length; i++) {
          const e = m.entries[i];
          if (e.type !== EntryType.ConfChange) continue;
          if (ccAt >= 0 || this.pendingConfIndex > this.log.applied) return this.dropProposal(m, 'conf-change-pending');
          if (!this.validConfChange(decodeConfChange(e.data))) return this.dropProposal(m, 'invalid-conf-change');
          ccAt = i;
        }
        const first = this.log.lastIndex() + 1;
        if (!this.appendEntry(m.entries)) return this.dropProposal(m, 'uncommitted-size-exceeded');
        if (ccAt >= 0) this.pendingConfIndex = first + ccAt;
        if (this.batchAppends) this.needBcast = true;
        else this.bcastAppend();
        return;
      }
      case MessageType.ReadIndex:
        if (!this.committedEntryInCurrentTerm()) {
          this.pendingReadIndexMessages.push(m);
          return;
        }
        this.sendReadIndexResponse(m);
        return;
    }

    const pr = this.prs.get(m.from);
    if (!pr) return;
    switch (m.type) {
      case MessageType.AppResp: {
        pr.recentActive = true;
        if (m.reject) {
          let nextProbe = m.rejectHint;
          if (m.logTerm > 0) nextProbe = this.log.findConflictByTerm(m.rejectHint, m.logTerm).index;
          if (pr.maybeDecrTo(m.index, nextProbe)) {
            if (pr.state === ProgressState.Replicate) pr.becomeProbe();
            this.sendAppend(m.from);
          }
          return;
        }
        const oldPaused = pr.isPaused();
        if (!pr.maybeUpdate(m.index)) return;
        if (pr.state === ProgressState.Probe) {
          pr.becomeReplicate();
        } else if (pr.state === ProgressState.Snapshot && pr.match + 1 >= this.log.firstIndex()) {
          pr.becomeProbe();
          pr.becomeReplicate();
        } else if (pr.state === ProgressState.Replicate) {
          pr.inflights.freeLE(m.index);
        }
        if (this.maybeCommit()) {
          this.afterCommit();
        } else if (oldPaused) {
          this.sendAppend(m.from);
        }
        while (this.maybeSendAppend(m.from, false)) {
          // keep the pipeline full
        }
        if (m.from === this.leadTransferee && pr.match === this.log.lastIndex()) {
          this.sendTimeoutNow(m.from);
        }
        return;
      }
      case MessageType.HeartbeatResp: {
        pr.recentActive = true;
        // A probe that got no answer is sent again on the answer to a later
        // heartbeat (it was lost), never on answers to older ones: a follower
        // back from a stall answers every heartbeat it missed at once, and
        // each answer re-sent the whole probe (up to maxSizePerMsg of
        // entries), which stalled the leader and then that follower.
        if (pr.state !== ProgressState.Probe || m.index > pr.probeSentAt) pr.msgAppFlowPaused = false;
        if (m.index > pr.leaseAck) pr.leaseAck = m.index;
        // A MsgApp may have been lost with the window full: free a slot so the
        // next one goes out and the follower's rejection resets the window.
        if (pr.state === ProgressState.Replicate && pr.inflights.full()) pr.inflights.freeFirstOne();
        if (pr.match < this.log.lastIndex() || pr.state === ProgressState.Probe) this.sendAppend(m.from);
        // A lost TimeoutNow is sent again while the transfer runs.
        if (m.from === this.leadTransferee && pr.match === this.log.lastIndex()) this.sendTimeoutNow(m.from);
        if (!m.context || m.context.length === 0) return;
        const acks = this.readOnly.recvAck(m.from, m.context);
        if (!acks) return;
        let n = 0;
        for (const id of this.voters) if (acks.has(id)) n++;
        if (n < majority(this.voters.length)) return;
        for (const rs of this.readOnly.advance(m.context)) this.respondReadIndex(rs.req, rs.index);
        return;
      }
      case MessageType.HibernateResp:
        pr.recentActive = true;
        if (!this.askingHibernate || m.reject || m.index !== this.log.lastIndex()) return;
        this.hibernateAcks.add(m.from);
        this.maybeFinishHibernate();
        return;
      case MessageType.SnapStatus:
        if (pr.state !== ProgressState.Snapshot) return;
        if (m.reject) pr.pendingSnapshot = 0;
        pr.becomeProbe();
        // Wait for the follower's answer (or a heartbeat) before probing again.
        pr.msgAppFlowPaused = true;
        return;
      case MessageType.Unreachable:
        if (pr.state === ProgressState.Replicate) pr.becomeProbe();
        return;
      case MessageType.TransferLeader: {
        if (pr.isLearner) return;
        const to = m.from;
        if (this.leadTransferee !== NONE) {
          if (this.leadTransferee === to) return;
          this.abortLeaderTransfer();
        }
        if (to === this.id) return;
        this.logger?.info({ id: this.id, to }, 'raft: starting leader transfer');
        this.electionElapsed = 0;
        this.leadTransferee = to;
        if (pr.match === this.log.lastIndex()) this.sendTimeoutNow(to);
        else this.sendAppend(to);
        return;
      }
    }
  }

  private sendTimeoutNow(to: number): void {
    this.timeoutNowSent = true;
    this.send(message({ type: MessageType.TimeoutNow, to }));
  }

  private abortLeaderTransfer(): void {
    this.leadTransferee = NONE;
  }

  // ---- candidate and follower -------------------------------------------

  private stepCandidate(m: Message): void {
    const myResp = this.state === StateRole.PreCandidate ? MessageType.PreVoteResp : MessageType.VoteResp;
    switch (m.type) {
      case MessageType.Prop:
        return this.dropProposal(m, 'no-leader');
      case MessageType.ReadIndex:
        return this.dropProposal(m, 'no-leader');
      case MessageType.App:
        this.becomeFollower(m.term, m.from);
        return this.handleAppend(m);
      case MessageType.Heartbeat:
        this.becomeFollower(m.term, m.from);
        return this.handleHeartbeat(m);
      case MessageType.Snap:
        this.becomeFollower(m.term, m.from);
        return this.handleSnapshot(m);
      case MessageType.Hibernate:
        this.becomeFollower(m.term, m.from);
        return this.handleHibernate(m);
      case myResp: {
        const res = this.poll(m.from, !m.reject);
        if (res === VoteResult.Won) {
          if (this.state === StateRole.PreCandidate) this.campaign(CampaignType.Election);
          else this.becomeLeader();
        } else if (res === VoteResult.Lost) {
          this.becomeFollower(this.term, NONE);
        }
        return;
      }
    }
  }

  private stepFollower(m: Message): void {
    switch (m.type) {
      case MessageType.Prop:
        if (this.lead === NONE) return this.dropProposal(m, 'no-leader');
        if (this.disableProposalForwarding) return this.dropProposal(m, 'forwarding-disabled');
        m.to = this.lead;
        this.send(m);
        return;
      case MessageType.App:
        this.electionElapsed = 0;
        this.lead = m.from;
        return this.handleAppend(m);
      case MessageType.Heartbeat:
        this.electionElapsed = 0;
        this.lead = m.from;
        return this.handleHeartbeat(m);
      case MessageType.Snap:
        this.electionElapsed = 0;
        this.lead = m.from;
        return this.handleSnapshot(m);
      case MessageType.Hibernate:
        this.electionElapsed = 0;
        this.lead = m.from;
        return this.handleHibernate(m);
      case MessageType.TransferLeader:
        if (this.lead === NONE) return;
        m.to = this.lead;
        this.send(m);
        return;
      case MessageType.TimeoutNow:
        this.logger?.info({ id: this.id, term: this.term, from: m.from }, 'raft: TimeoutNow, campaigning');
        this.hup(CampaignType.Transfer);
        return;
      case MessageType.ReadIndex:
        if (this.lead === NONE) return this.dropProposal(m, 'no-leader');
        m.to = this.lead;
        this.send(m);
        return;
      case MessageType.ReadIndexResp:
        this.readStates.push({ index: m.index, context: m.context ?? new Uint8Array(0) });
        return;
    }
  }

  private handleAppend(m: Message): void {
    if (m.index < this.log.committed) {
      this.send(message({ type: MessageType.AppResp, to: m.from, index: this.log.committed }));
      return;
    }
    const last = this.log.maybeAppend(m.index, m.logTerm, m.commit, m.entries);
    if (last !== undefined) {
      this.send(message({ type: MessageType.AppResp, to: m.from, index: last }));
      return;
    }
    const hint = this.log.findConflictByTerm(Math.min(m.index, this.log.lastIndex()), m.logTerm);
    this.send(message({ type: MessageType.AppResp, to: m.from, index: m.index, reject: true, rejectHint: hint.index, logTerm: hint.term }));
  }

  private handleHeartbeat(m: Message): void {
    this.log.commitTo(Math.min(m.commit, this.log.lastIndex()));
    this.send(message({ type: MessageType.HeartbeatResp, to: m.from, index: m.index, context: m.context }));
  }

  /**
   * The leader's hint: sleep if our log is the leader's (same last entry,
   * same commit). The commit index is taken only up to an entry known to
   * match (Log Matching), as a heartbeat's is.
   */
  private handleHibernate(m: Message): void {
    const matches = this.log.matchTerm(m.index, m.logTerm);
    if (matches) this.log.commitTo(Math.min(m.commit, m.index));
    const ok = this.hibernateTicks > 0 && matches && this.log.lastIndex() === m.index && this.log.committed === m.commit && (this.canHibernate?.() ?? true);
    if (ok) this.hibernating = true;
    this.send(message({ type: MessageType.HibernateResp, to: m.from, index: m.index, reject: !ok }));
  }

  private handleSnapshot(m: Message): void {
    const s = m.snapshot;
    if (!s) return;
    if (this.restore(s)) {
      this.send(message({ type: MessageType.AppResp, to: m.from, index: this.log.lastIndex() }));
    } else {
      this.send(message({ type: MessageType.AppResp, to: m.from, index: this.log.committed }));
    }
  }

  private restore(s: Snapshot): boolean {
    if (s.meta.index <= this.log.committed) return false;
    if (this.state !== StateRole.Follower) {
      this.becomeFollower(this.term + 1, NONE);
      return false;
    }
    const cs = s.meta.confState;
    if (!cs.voters.includes(this.id) && !cs.learners.includes(this.id)) return false;
    if (this.log.matchTerm(s.meta.index, s.meta.term)) {
      this.log.commitTo(s.meta.index);
      return false;
    }
    this.log.restore(s);
    this.applyConfState(cs);
    this.logger?.info({ id: this.id, index: s.meta.index, term: s.meta.term }, 'raft: restored snapshot');
    return true;
  }

  // ---- hibernation ---------------------------------------------------------
  //
  // An idle group stops ticking (TiKV's hibernate regions, dragonboat's
  // quiesce). A leader with nothing to do for hibernateTicks ticks sends
  // every peer a hint; a follower whose log is the leader's takes it, answers,
  // and stops ticking; the leader stops once every voter took it (a voter
  // that never got the hint would campaign). Any news wakes a peer: a
  // proposal, a read, any message but the hint and its answer, or the host
  // (wake()). Hibernation is never persisted: a restart wakes everything.

  /** Leader, on each tick: count quiet ticks, ask once there were enough. */
  private tickQuiet(): void {
    if (this.hibernateTicks === 0) return;
    if (!this.quietNow()) {
      if (this.quietTicks > 0 || this.askingHibernate) this.wake();
      return;
    }
    this.quietTicks++;
    if (this.askingHibernate || this.quietTicks < this.hibernateTicks) return;
    this.askingHibernate = true;
    this.hibernateAcks.clear();
    this.heartbeatElapsed = 0;
    this.sendHibernateHints();
    this.maybeFinishHibernate();
  }

  /** Nothing in flight: every entry committed, applied, persisted and on every peer; no read, transfer or conf change pending. */
  private quietNow(): boolean {
    const last = this.log.lastIndex();
    if (this.leadTransferee !== NONE) return false;
    if (this.log.committed !== last || this.log.applied !== last || this.log.stableLastIndex() !== last) return false;
    if (!this.committedEntryInCurrentTerm() || this.pendingConfIndex > this.log.applied) return false;
    if (this.readOnly.pendingCount() > 0 || this.pendingReadIndexMessages.length > 0) return false;
    for (const pr of this.prs.values()) if (pr.match !== last) return false;
    return this.canHibernate?.() ?? true;
  }

  private sendHibernateHints(): void {
    const last = this.log.lastIndex();
    const lastTerm = this.log.lastTerm();
    for (const id of this.prs.keys()) {
      if (id === this.id || this.hibernateAcks.has(id)) continue;
      this.send(message({ type: MessageType.Hibernate, to: id, index: last, logTerm: lastTerm, commit: this.log.committed }));
    }
  }

  /** Every voter took the hint: the leader sleeps too (learners need not: they never campaign). */
  private maybeFinishHibernate(): void {
    if (!this.voters.every((id) => id === this.id || this.hibernateAcks.has(id))) return;
    this.askingHibernate = false;
    this.hibernating = true;
    this.logger?.debug?.({ id: this.id, term: this.term }, 'raft: hibernating');
  }

  /** What wakes a peer that sleeps or asks: anything but the hint and its answer (and, while only asking, answers and its own ticks). */
  private wakeOn(m: Message): void {
    const t = m.type;
    if (t === MessageType.Hibernate || t === MessageType.HibernateResp) return;
    if (!this.hibernating && (t === MessageType.Beat || t === MessageType.CheckQuorum || isResponseMsg(t))) return;
    this.wake();
  }

  /** Leaves hibernation, or stops asking for it. The host calls it for news the core cannot see. */
  wake(): void {
    this.quietTicks = 0;
    if (!this.hibernating && !this.askingHibernate) return;
    const slept = this.hibernating;
    this.hibernating = false;
    this.askingHibernate = false;
    this.hibernateAcks.clear();
    if (this.state !== StateRole.Leader) {
      // The election timer starts over: the leader has simply been silent.
      this.electionElapsed = 0;
      this.resetRandomizedElectionTimeout();
      return;
    }
    if (slept && !this.mut.leaseAcrossHibernation) {
      // No tick counted while asleep, so every ack the lease rests on is
      // older than the lease clock says: move the clock past all of them.
      // The lease holds again once a quorum acks a heartbeat sent from now.
      this.leaseClock += this.electionTimeout;
      this.electionElapsed = 0;
      this.heartbeatElapsed = 0;
      for (const [id, pr] of this.prs) if (id !== this.id) pr.recentActive = false;
    }
    // The peers that took the hint sleep until they hear from us.
    this.bcastHeartbeat(this.readOnly.lastPendingContext());
  }

  // ---- membership --------------------------------------------------------

  /** One voter at a time: any change that leaves at least one voter. */
  private validConfChange(cc: ConfChange): boolean {
    if (cc.nodeId === NONE) return false;
    const voters = new Set(this.voters);
    if (cc.type === ConfChangeType.RemoveNode || cc.type === ConfChangeType.AddLearner) voters.delete(cc.nodeId);
    return voters.size > 0;
  }

  private applyConfState(cs: ConfState): void {
    const voters = [...new Set(cs.voters)].sort((a, b) => a - b);
    const learners = [...new Set(cs.learners)].filter((id) => !voters.includes(id)).sort((a, b) => a - b);
    const next = this.log.lastIndex() + 1;
    const keep = new Set([...voters, ...learners]);
    for (const id of [...this.prs.keys()]) if (!keep.has(id)) this.prs.delete(id);
    for (const id of keep) {
      const learner = learners.includes(id);
      let pr = this.prs.get(id);
      if (!pr) {
        pr = new Progress(next, this.maxInflight, this.maxInflightBytes, learner);
        // A new peer counts as active, or check-quorum could step us down at once.
        pr.recentActive = true;
        if (id === this.id) pr.match = this.log.stableLastIndex();
        this.prs.set(id, pr);
      }
      pr.isLearner = learner;
    }
    this.voters = voters;
    this.learners = learners;
    this.isLearner = learners.includes(this.id);
  }

  applyConfChange(cc: ConfChange): ConfState {
    const voters = new Set(this.voters);
    const learners = new Set(this.learners);
    switch (cc.type) {
      case ConfChangeType.AddNode:
        learners.delete(cc.nodeId);
        voters.add(cc.nodeId);
        break;
      case ConfChangeType.AddLearner:
        voters.delete(cc.nodeId);
        learners.add(cc.nodeId);
        break;
      case ConfChangeType.RemoveNode:
        voters.delete(cc.nodeId);
        learners.delete(cc.nodeId);
        break;
    }
    if (voters.size === 0) {
      // Committed but invalid: every peer ignores it the same way.
      this.logger?.warn({ id: this.id, cc }, 'raft: ignored conf change that removes every voter');
      return this.confState();
    }
    this.applyConfState({ voters: [...voters], learners: [...learners] });
    if (this.state !== StateRole.Leader) return this.confState();

    if (!this.voters.includes(this.id)) {
      // The leader was removed (or demoted): hand over to the most caught-up
      // voter, then step down. It keeps no role in the group.
      let best = NONE;
      for (const id of this.voters) {
        const pr = this.prs.get(id)!;
        if (pr.match === this.log.lastIndex()) best = id;
      }
      if (best !== NONE) this.sendTimeoutNow(best);
      this.logger?.info({ id: this.id, transferTo: best }, 'raft: leader removed from config, stepping down');
      this.becomeFollower(this.term, NONE);
      return this.confState();
    }
    if (this.leadTransferee !== NONE && !this.voters.includes(this.leadTransferee)) this.abortLeaderTransfer();
    if (this.maybeCommit()) {
      this.afterCommit();
    } else {
      for (const id of this.prs.keys()) if (id !== this.id) this.maybeSendAppend(id, false);
    }
    return this.confState();
  }
}
