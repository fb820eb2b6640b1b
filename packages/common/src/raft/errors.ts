// Typed errors of the Raft core. Each sets its own name so logs and
// `instanceof` both work across module boundaries.

export class RaftError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** Storage: the requested index is older than the first available entry. */
export class ErrCompacted extends RaftError {
  constructor(message = 'requested index is unavailable due to compaction') {
    super(message);
  }
}

/** Storage: the requested index is newer than the last entry. */
export class ErrUnavailable extends RaftError {
  constructor(message = 'requested entry at index is unavailable') {
    super(message);
  }
}

/** Storage: the snapshot is being prepared; the leader retries later. */
export class ErrSnapshotTemporarilyUnavailable extends RaftError {
  constructor(message = 'snapshot is temporarily unavailable') {
    super(message);
  }
}

/** Storage: a snapshot older than the one already held was offered. */
export class ErrSnapOutOfDate extends RaftError {
  constructor(message = 'requested index is older than the existing snapshot') {
    super(message);
  }
}

export type DropReason =
  | 'no-leader'
  | 'forwarding-disabled'
  | 'transferring-leadership'
  | 'not-in-config'
  | 'conf-change-pending'
  | 'invalid-conf-change'
  | 'uncommitted-size-exceeded'
  | 'not-leader';

/** A proposal (or a ReadIndex request) that the core will not carry out. */
export class ErrProposalDropped extends RaftError {
  constructor(readonly reason: DropReason) {
    super(`raft proposal dropped: ${reason}`);
  }
}

/** Invalid Config. */
export class ConfigError extends RaftError {}

/** A caller broke the Ready/advance contract or stepped a local message. */
export class UsageError extends RaftError {}
