// Apply of a transaction (MULTI ... EXEC): ONE log entry holding the queued
// commands' argument vectors. Apply checks the watched keys, then runs every
// command's own handler in order against this entry's keyspace: reads see
// the writes before them, writes go through the same appliers as single
// commands, and nothing else can come in between. Design: docs/decisions.md.
//
// Handlers here get a context whose read() is the entry's keyspace, whose
// write() applies at once, whose clock is the entry's and whose random
// numbers come from a generator seeded by the entry index: every replica
// computes the same writes and the same replies (the replies of forwarded
// writes are kept in the replicated client sessions).
import { createHash } from 'node:crypto';
import { ErrorReply, NullArray, encodeReply, pb } from '@redraft/common';
import type { CommandTable, Reply } from '@redraft/common';
import type { Appliers } from './apply';
import type { Keyspace, MutableKeyspace } from '../data/keyspace';
import { KeyType, encodeMeta } from '../data/meta';
import { CommandError } from '../data/errors';
import { seededRandom } from '../data/sample';
import type { ClientState, CommandContext, ServerFacade } from '../commands/context';

const EMPTY = Buffer.alloc(0);

/**
 * What WATCH remembers of a key: empty when absent, else a SHA-256 over its
 * metadata row (type, expiry, version, size or a string's value) and, for a
 * collection, every member row. Any write that changes the key changes it;
 * a write that puts back the very same bytes does not (Redis would count
 * it). Costs O(N) for a collection of N members, at WATCH and at EXEC.
 */
export async function watchFingerprint(ks: Keyspace, key: Buffer): Promise<Buffer> {
  const found = await ks.lookup(key);
  if (!found) return EMPTY;
  const h = createHash('sha256');
  h.update(encodeMeta(found));
  if (found.type !== KeyType.String) {
    const len = Buffer.alloc(4);
    for await (const [member, value] of ks.members(found)) {
      len.writeUInt32BE(member.length);
      h.update(len);
      h.update(member);
      len.writeUInt32BE(value.length);
      h.update(len);
      h.update(value);
    }
  }
  return h.digest();
}

const notHere = (): never => {
  throw new CommandError('ERR this command cannot run inside a transaction');
};

/** Server facilities are per store, not replicated state: not available in apply. */
const NO_SERVER = new Proxy({}, { get: notHere }) as ServerFacade;

function applyClient(protocol: 2 | 3): ClientState {
  return {
    id: 0,
    name: '',
    protocol,
    db: 0,
    libName: '',
    libVer: '',
    readonly: false,
    createdAt: 0,
    lastCommand: '',
    remoteAddress: 'transaction',
    localAddress: 'transaction',
    closeAfterReply: notHere,
    kill: notHere,
  };
}

/** The context the queued commands' handlers run with, inside apply. */
function applyContext(ks: MutableKeyspace, protocol: 2 | 3): CommandContext {
  const random = seededRandom(ks.entryIndex);
  return {
    client: applyClient(protocol),
    now: ks.now,
    server: NO_SERVER,
    random,
    inTransaction: true,
    read: async () => ks,
    async write(_keys, op) {
      // The same bytes the log would carry, so appliers see a decoded message.
      const cmd = pb.WriteCommand.decode(pb.WriteCommand.encode({ ...op, proposedAtMs: ks.now }).finish());
      try {
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const { applyOperation } = require('./apply') as typeof import('./apply'); // apply.ts imports this module
        return await applyOperation(cmd, ks);
      } catch (e) {
        if (e instanceof CommandError) {
          ks.batch.rollback();
          return e.toReply();
        }
        throw e;
      }
    },
    runCommand: notHere,
  };
}

let table: CommandTable<CommandContext> | undefined;
/** The command table, built on first use (commands import apply modules; this avoids a cycle at load). */
function commandTable(): CommandTable<CommandContext> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  table ??= (require('../commands/table') as typeof import('../commands/table')).storeCommandTable();
  return table;
}

/**
 * MULTI/EXEC: nil (nothing applied) if a watched key changed since WATCH,
 * else every command's reply in order. A command that fails answers its
 * error and leaves no write; the others still run (Redis's semantics).
 */
async function transaction(op: pb.TransactionOp, ks: MutableKeyspace): Promise<Reply> {
  for (const w of op.watched) {
    const now = await watchFingerprint(ks, Buffer.from(w.key ?? EMPTY));
    if (!now.equals(Buffer.from(w.fingerprint ?? EMPTY))) return NullArray.instance;
  }
  const ctx = applyContext(ks, op.protocol === 3 ? 3 : 2);
  const replies: Reply[] = [];
  for (const c of op.commands) {
    const args = (c.args ?? []).map((a) => Buffer.from(a));
    const found = commandTable().lookup(args);
    if (!found.ok) {
      replies.push(found.error);
      continue;
    }
    ks.batch.mark();
    try {
      const reply = await found.spec.handler!(ctx, args);
      // Encoding now catches a reply that cannot be encoded before it is kept.
      encodeReply(reply, ctx.client.protocol);
      replies.push(reply);
    } catch (e) {
      // A handler's own error on odd input (TypeError, RangeError) depends only
      // on the entry and the state, so every replica answers it alike; anything
      // else (storage) stops the region, as for any entry.
      if (!(e instanceof CommandError || e instanceof TypeError || e instanceof RangeError)) throw e;
      ks.batch.rollback();
      replies.push(e instanceof CommandError ? e.toReply() : new ErrorReply(`ERR internal error: ${e.message}`));
    }
  }
  return replies;
}

export const TRANSACTION_APPLIERS: Appliers = { transaction };
