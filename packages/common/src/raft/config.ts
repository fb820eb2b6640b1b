// Configuration of one Raft peer, validated once on construction.
import { ConfigError } from './errors';
import { ReadOnlyOption } from './readonly';
import { Storage } from './storage';
import { NONE } from './types';

/** pino-compatible: `logger.info({ regionId }, 'became leader')`. */
export interface RaftLogger {
  debug?(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

/**
 * Known-wrong variants of the core, for proving that the simulator's checks
 * can fail. Never set outside tests and `npm run sim -- --mutation`.
 */
export interface Mutations {
  /** Grant votes without the "candidate's log is at least as up-to-date" check. */
  voteWithoutLogCheck?: boolean;
  /** Commit an entry of an earlier term by counting its replicas. */
  commitOldTermByCount?: boolean;
  /** Leader treats its lease as valid without check-quorum acknowledgements. */
  leaseWithoutCheckQuorum?: boolean;
  /** Follower keeps entries that conflict with the leader's instead of truncating. */
  noTruncateOnConflict?: boolean;
  /** A leader keeps its lease while hibernating and after waking (no clock jump). */
  leaseAcrossHibernation?: boolean;
}

export interface Config {
  /** This peer's id, a positive integer. */
  id: number;
  storage: Storage;
  /** Ticks without a leader before a follower campaigns (randomized in [e, 2e)). */
  electionTick: number;
  /** Ticks between a leader's heartbeats; must be < electionTick. */
  heartbeatTick: number;
  /** Bytes of entries per MsgApp (at least one entry is always sent). */
  maxSizePerMsg: number;
  /** MsgApp in flight per follower in Replicate state. */
  maxInflightMsgs: number;
  /** Bytes in flight per follower (0: no limit). */
  maxInflightBytes?: number;
  /** Bytes of uncommitted proposals a leader accepts (0: no limit). */
  maxUncommittedEntriesSize?: number;
  /** Bytes of committed entries per Ready (default 64 MiB). */
  maxCommittedSizePerReady?: number;
  checkQuorum: boolean;
  preVote: boolean;
  readOnlyOption: ReadOnlyOption;
  disableProposalForwarding: boolean;
  /** Seeded random source in [0, 1): the only randomness the core uses. */
  random: () => number;
  /** The state machine's applied index at restart. */
  applied?: number;
  logger?: RaftLogger;
  /** Ticks the leader lease stays short of the election timeout (default 2, ≥ 1). */
  leaseMarginTicks?: number;
  /**
   * Terms up to this one never had a leader (a new replica's initial term,
   * RAFT_INIT_TERM in the raftstore): a replica restarted at such a term
   * cannot have acked a lease, so it need not ignore votes after start
   * (default 0: any term > 0 is quiet for one election timeout).
   */
  initialTerm?: number;
  /** Coalesce MsgApp for all proposals made between two Readys (default true). */
  batchAppends?: boolean;
  /**
   * With batchAppends: a commit index that moved is not sent on its own at
   * once but rides the next MsgApp with entries, or goes out at the next tick
   * (commits of conf changes still go at once). Followers then apply up to a
   * tick late; under load it saves a commit-only MsgApp and its answer per
   * follower and round. Default false.
   */
  deferCommit?: boolean;
  /**
   * Hibernation (docs/decisions.md, "Hibernate idle regions"): a leader idle
   * for this many ticks asks its followers to stop ticking, and stops itself
   * once every voter agreed. 0 or unset: never (followers then also refuse
   * the hint).
   */
  hibernateTicks?: number;
  /**
   * The host's say on hibernation (a region frozen for a merge, an operator
   * step under way): asked on a quiet leader's tick and on a follower's hint.
   */
  canHibernate?: () => boolean;
  /** Test hook, off by default. */
  testMutations?: Mutations;
}

function positiveInt(name: string, v: unknown, min = 1): void {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min) {
    throw new ConfigError(`raft config: ${name} must be an integer ≥ ${min}, got ${String(v)}`);
  }
}

export function validateConfig(c: Config): void {
  if (c === null || typeof c !== 'object') throw new ConfigError('raft config: missing');
  positiveInt('id', c.id);
  if (c.id === NONE) throw new ConfigError('raft config: id must not be 0');
  if (!c.storage) throw new ConfigError('raft config: storage is required');
  positiveInt('heartbeatTick', c.heartbeatTick);
  positiveInt('electionTick', c.electionTick);
  if (c.electionTick <= c.heartbeatTick) {
    throw new ConfigError(`raft config: electionTick (${c.electionTick}) must be greater than heartbeatTick (${c.heartbeatTick})`);
  }
  positiveInt('maxSizePerMsg', c.maxSizePerMsg);
  positiveInt('maxInflightMsgs', c.maxInflightMsgs);
  if (c.maxInflightBytes !== undefined) positiveInt('maxInflightBytes', c.maxInflightBytes, 0);
  if (c.maxUncommittedEntriesSize !== undefined) positiveInt('maxUncommittedEntriesSize', c.maxUncommittedEntriesSize, 0);
  if (c.maxCommittedSizePerReady !== undefined) positiveInt('maxCommittedSizePerReady', c.maxCommittedSizePerReady);
  if (c.applied !== undefined) positiveInt('applied', c.applied, 0);
  if (c.hibernateTicks !== undefined) positiveInt('hibernateTicks', c.hibernateTicks, 0);
  if (typeof c.random !== 'function') throw new ConfigError('raft config: random must be a seeded function returning [0, 1)');
  if (c.readOnlyOption !== ReadOnlyOption.Safe && c.readOnlyOption !== ReadOnlyOption.LeaseBased) {
    throw new ConfigError(`raft config: readOnlyOption must be 'safe' or 'lease', got ${String(c.readOnlyOption)}`);
  }
  if (c.readOnlyOption === ReadOnlyOption.LeaseBased && !c.checkQuorum && !c.testMutations?.leaseWithoutCheckQuorum) {
    throw new ConfigError('raft config: readOnlyOption lease requires checkQuorum (the lease comes from its acknowledgements)');
  }
  const margin = c.leaseMarginTicks ?? 2;
  positiveInt('leaseMarginTicks', margin);
  if (margin >= c.electionTick) throw new ConfigError('raft config: leaseMarginTicks must be less than electionTick');
}
