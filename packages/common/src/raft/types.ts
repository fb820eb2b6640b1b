// The data types of the Raft core. Plain objects only: the transport maps them
// to protobuf, the core never encodes anything except a conf change's data.
//
// Indexes and terms are JS numbers checked against MAX_INDEX (2^53 - 1); see
// docs/raft.md for why a number and not a bigint.

/** No node / no leader. Node ids are positive integers. */
export const NONE = 0;

/** The largest index or term the core accepts: Number.MAX_SAFE_INTEGER. */
export const MAX_INDEX = Number.MAX_SAFE_INTEGER;

export enum EntryType {
  Normal = 0,
  ConfChange = 1,
}

export interface Entry {
  term: number;
  index: number;
  type: EntryType;
  data: Uint8Array;
}

export interface HardState {
  term: number;
  vote: number;
  commit: number;
}

export interface ConfState {
  voters: number[];
  learners: number[];
}

export interface SnapshotMeta {
  index: number;
  term: number;
  confState: ConfState;
}

export interface Snapshot {
  meta: SnapshotMeta;
  data: Uint8Array;
}

export enum MessageType {
  // Local only: never sent over the wire.
  Hup = 0,
  Beat = 1,
  CheckQuorum = 2,
  Unreachable = 3,
  SnapStatus = 4,
  // Wire messages.
  Prop = 10,
  App = 11,
  AppResp = 12,
  Vote = 13,
  VoteResp = 14,
  PreVote = 15,
  PreVoteResp = 16,
  Heartbeat = 17,
  HeartbeatResp = 18,
  Snap = 19,
  TimeoutNow = 20,
  ReadIndex = 21,
  ReadIndexResp = 22,
  TransferLeader = 23,
  /**
   * Hibernation hint (leader → follower): the group is idle, stop ticking if
   * your log matches (index = last index, logTerm = its term, commit). The
   * answer's reject says whether it did. Neither wakes a hibernating peer.
   */
  Hibernate = 24,
  HibernateResp = 25,
}

export function isLocalMsg(t: MessageType): boolean {
  return t < MessageType.Prop;
}

export function isResponseMsg(t: MessageType): boolean {
  return (
    t === MessageType.AppResp ||
    t === MessageType.VoteResp ||
    t === MessageType.PreVoteResp ||
    t === MessageType.HeartbeatResp ||
    t === MessageType.ReadIndexResp ||
    t === MessageType.HibernateResp ||
    t === MessageType.Unreachable
  );
}

/**
 * One Raft message. Field use per type follows etcd/raft, with one addition:
 * Heartbeat.index carries the leader's lease clock (its tick count when the
 * heartbeat was sent) and HeartbeatResp.index echoes it back.
 */
export interface Message {
  type: MessageType;
  from: number;
  to: number;
  term: number;
  logTerm: number;
  index: number;
  entries: Entry[];
  commit: number;
  reject: boolean;
  rejectHint: number;
  snapshot?: Snapshot;
  context?: Uint8Array;
}

export enum ConfChangeType {
  AddNode = 0,
  AddLearner = 1,
  RemoveNode = 2,
}

export interface ConfChange {
  type: ConfChangeType;
  nodeId: number;
  /** Opaque bytes for the application (e.g. the peer's store address). */
  context?: Uint8Array;
}

export interface ReadState {
  index: number;
  context: Uint8Array;
}

export enum StateRole {
  Follower = 'follower',
  Candidate = 'candidate',
  PreCandidate = 'pre-candidate',
  Leader = 'leader',
}

export interface SoftState {
  leaderId: number;
  role: StateRole;
}

/**
 * What the core asks the host to do, all of it since the previous Ready.
 * Handle it in this order:
 *  1. send `messages` (may go at once, even before anything is written);
 *  2. write `snapshot`, `entries` and `hardState` (fsync if `mustSync`);
 *  3. send `persistedMessages` (only after step 2 is durable);
 *  4. apply `snapshot` then `committedEntries` to the state machine, serve `readStates`
 *     once the applied index reaches their index;
 *  5. call `advance(rd)`.
 * `ready()` may be called again before `advance()` (pipelined writes): each
 * Ready carries only what earlier ones did not; write and advance them in order.
 */
export interface Ready {
  softState?: SoftState;
  hardState?: HardState;
  readStates: ReadState[];
  entries: Entry[];
  snapshot?: Snapshot;
  committedEntries: Entry[];
  messages: Message[];
  persistedMessages: Message[];
  mustSync: boolean;
}

export function emptyHardState(): HardState {
  return { term: 0, vote: NONE, commit: 0 };
}

export function isEmptyHardState(h: HardState): boolean {
  return h.term === 0 && h.vote === NONE && h.commit === 0;
}

export function hardStateEqual(a: HardState, b: HardState): boolean {
  return a.term === b.term && a.vote === b.vote && a.commit === b.commit;
}

export function emptySnapshot(): Snapshot {
  return { meta: { index: 0, term: 0, confState: { voters: [], learners: [] } }, data: new Uint8Array(0) };
}

export function isEmptySnapshot(s: Snapshot | undefined): boolean {
  return s === undefined || s.meta.index === 0;
}

export function message(m: Partial<Message> & { type: MessageType }): Message {
  return {
    from: NONE,
    to: NONE,
    term: 0,
    logTerm: 0,
    index: 0,
    entries: [],
    commit: 0,
    reject: false,
    rejectHint: 0,
    ...m,
  };
}

/** Checks an index or term that came from outside (storage, wire, config). */
export function checkIndex(name: string, v: number): number {
  if (!Number.isSafeInteger(v) || v < 0) {
    throw new RangeError(`${name} must be an integer in [0, 2^53): got ${v}`);
  }
  return v;
}

/** Size accounting for flow control: payload bytes plus a fixed header. */
export function entrySize(e: Entry): number {
  return e.data.length + 16;
}

export function payloadSize(e: Entry): number {
  return e.data.length;
}

// --- conf change encoding: [type u8][nodeId as 2 x u32 big-endian][context...]

export function encodeConfChange(cc: ConfChange): Uint8Array {
  checkIndex('nodeId', cc.nodeId);
  const ctx = cc.context ?? new Uint8Array(0);
  const out = new Uint8Array(9 + ctx.length);
  const dv = new DataView(out.buffer);
  dv.setUint8(0, cc.type);
  dv.setUint32(1, Math.floor(cc.nodeId / 0x100000000));
  dv.setUint32(5, cc.nodeId >>> 0);
  out.set(ctx, 9);
  return out;
}

export function decodeConfChange(data: Uint8Array): ConfChange {
  if (data.length < 9) throw new RangeError('conf change: too short');
  const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const type = dv.getUint8(0);
  if (type > ConfChangeType.RemoveNode) throw new RangeError(`conf change: bad type ${type}`);
  const nodeId = dv.getUint32(1) * 0x100000000 + dv.getUint32(5);
  const cc: ConfChange = { type, nodeId };
  if (data.length > 9) cc.context = data.slice(9);
  return cc;
}
