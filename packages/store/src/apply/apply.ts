// THE apply function: one committed log entry in, its writes into the batch
// and its reply out. It reads only the entry and the stored state (through
// the batch, so it sees the entries applied before it in the same batch);
// the time it uses is the entry's proposed_at_ms. Every replica that applies
// the same entries to the same state writes the same bytes.
import { ErrorReply, pb } from '@redraft/common';
import type { OverlayBatch, Reply } from '@redraft/common';
import { MutableKeyspace } from '../data/keyspace';
import { CommandError } from '../data/errors';
import { STRING_APPLIERS } from './strings';
import { KEY_APPLIERS } from './keys';
import { HASH_APPLIERS } from './hashes';
import { BIT_APPLIERS } from './bits';
import { LIST_APPLIERS } from './lists';
import { SET_APPLIERS } from './sets';
import { ZSET_APPLIERS } from './zsets';
import { TRANSACTION_APPLIERS } from './transactions';

type Op = NonNullable<pb.WriteCommand['op']>;
/** One function per operation of the WriteCommand oneof; each file of apply/ ends with its part. */
export type Applier = (op: any, ks: MutableKeyspace) => Promise<Reply>; // eslint-disable-line @typescript-eslint/no-explicit-any
export type Appliers = Partial<Record<Op, Applier>>;

const APPLIERS: Appliers = {
  ...STRING_APPLIERS,
  ...KEY_APPLIERS,
  ...HASH_APPLIERS,
  ...BIT_APPLIERS,
  ...LIST_APPLIERS,
  ...SET_APPLIERS,
  ...ZSET_APPLIERS,
  ...TRANSACTION_APPLIERS,
};

export interface LogEntry {
  index: number;
  /** The encoded WriteCommand. */
  data: Uint8Array;
}

/**
 * Applies one entry. A command that fails (wrong type, overflow...) answers
 * its error and leaves no write behind. Anything else thrown is a bug or a
 * storage failure and propagates: the region must stop rather than diverge.
 */
export async function apply(entry: LogEntry, batch: OverlayBatch): Promise<Reply> {
  const cmd = pb.WriteCommand.decode(entry.data);
  return applyCommand(cmd, entry.index, batch);
}

/** Runs one decoded operation on `ks`, throwing its CommandError (a transaction's commands, apply/transactions.ts). */
export async function applyOperation(cmd: pb.WriteCommand, ks: MutableKeyspace): Promise<Reply> {
  const opName = cmd.op;
  const applier = opName ? APPLIERS[opName] : undefined;
  if (!opName || !applier || opName === 'transaction') throw new CommandError(`ERR unsupported write operation '${opName ?? 'none'}'`);
  return applier(cmd[opName], ks);
}

export async function applyCommand(cmd: pb.WriteCommand, index: number, batch: OverlayBatch): Promise<Reply> {
  const opName = cmd.op;
  const applier = opName ? APPLIERS[opName] : undefined;
  if (!opName || !applier) return new ErrorReply(`ERR unsupported write operation '${opName ?? 'none'}'`);
  batch.mark();
  try {
    return await applier(cmd[opName], new MutableKeyspace(batch, Number(cmd.proposedAtMs), index));
  } catch (e) {
    if (e instanceof CommandError) {
      batch.rollback();
      return e.toReply();
    }
    throw e;
  }
}
