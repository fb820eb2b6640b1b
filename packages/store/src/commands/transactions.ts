// MULTI / EXEC / DISCARD / WATCH / UNWATCH, Redis 7 semantics.
//
// Queueing happens in the dispatcher's synchronous path (interceptTransaction,
// called for every command in the order the client sent them), so pipelined
// commands after MULTI are queued even before MULTI's reply is written.
//
// EXEC splits the queue: the commands with keys go, with the watched keys'
// fingerprints, into ONE TransactionOp entry of their region, which apply
// runs whole (apply/transactions.ts); the commands without keys (PING, ECHO,
// INFO, CLIENT, SELECT, DBSIZE, FLUSHALL...) run on this store right after
// that entry applied, their replies in their places. Keys (watched ones
// included) in several regions answer CROSSSLOT and nothing runs. When this
// store does not lead the region, the entry's part is forwarded to the
// leader's store as an internal EXEC form (exactly once, in its session).
// Design and limits: docs/decisions.md.
import { CommandTable, ErrorReply, OK, QUEUED, RawReply, pb } from '@redraft/common';
import type { Lookup, Reply } from '@redraft/common';
import type { ClientState, CommandContext, CommandHandler, Spec } from './context';
import { watchFingerprint } from '../apply/transactions';

const EMPTY = Buffer.alloc(0);

interface Watched {
  key: Buffer;
  fingerprint: Buffer;
}

interface TransactionState {
  /** Between MULTI and EXEC/DISCARD. */
  multi: boolean;
  queue: Buffer[][];
  /** A command was refused while queueing: EXEC answers EXECABORT. */
  aborted: boolean;
  watched: Map<string, Watched>;
}

const states = new WeakMap<ClientState, TransactionState>();

function stateOf(client: ClientState): TransactionState {
  let s = states.get(client);
  if (!s) states.set(client, (s = { multi: false, queue: [], aborted: false, watched: new Map() }));
  return s;
}

/** RESET: out of MULTI, nothing watched. */
export function resetTransaction(client: ClientState): void {
  const st = states.get(client);
  if (!st) return;
  endMulti(client, st);
  st.watched.clear();
}

/** Shows the state in CLIENT LIST (flags x and e, multi=) when the client is a RESP connection. */
function mirror(client: ClientState, st: TransactionState): void {
  const c = client as { flags?: Set<string>; multiQueued?: number };
  if (!c.flags) return;
  for (const [flag, on] of [['multi', st.multi], ['dirty_exec', st.multi && st.aborted]] as const) {
    if (on) c.flags.add(flag);
    else c.flags.delete(flag);
  }
  c.multiQueued = st.queue.length;
}

/**
 * The internal forms a store sends to a region's leader (forwarded like any
 * command, accepted only from another store): EXEC <mark> <TransactionOp>
 * runs a transaction's entry; WATCH <mark> key... answers the keys'
 * fingerprints, so that the WATCH state stays with the client's own store.
 */
const INTERNAL_MARK = Buffer.from('\0redraft-internal');

export type Intercepted = { reply: Reply } | { handler: CommandHandler; args: Buffer[] };

/**
 * Called by the dispatcher for every command, synchronously and in arrival
 * order, before its ordering gate. Answers at once (QUEUED, MULTI's OK,
 * errors), or gives the handler to run in the command's place (EXEC,
 * DISCARD), or undefined: not a transaction matter, run as usual.
 */
export function interceptTransaction(client: ClientState, args: Buffer[], found: Lookup<CommandContext>): Intercepted | undefined {
  const internal = internalForm(client, args);
  if (internal) return { handler: internal, args };
  const name = found.ok ? found.fullName : undefined;
  const st = states.get(client);
  if (!st?.multi) {
    if (name !== 'multi') return undefined;
    const s = stateOf(client);
    s.multi = true;
    s.queue = [];
    s.aborted = false;
    mirror(client, s);
    return { reply: OK };
  }
  // Refused while queueing (unknown command, wrong arity): the transaction is doomed.
  if (!found.ok) {
    st.aborted = true;
    mirror(client, st);
    return { reply: found.error };
  }
  switch (name) {
    case 'multi':
      return { reply: new ErrorReply('ERR MULTI calls can not be nested') };
    case 'watch':
      return { reply: new ErrorReply('ERR WATCH inside MULTI is not allowed') };
    case 'discard':
      endMulti(client, st);
      // UNWATCH waits its turn behind the client's earlier commands (a WATCH still running).
      return { handler: unwatch, args };
    case 'exec': {
      const queued = { commands: st.queue, aborted: st.aborted };
      endMulti(client, st);
      return { handler: (ctx) => exec(ctx, queued.commands, queued.aborted), args };
    }
    case 'quit':
      return undefined;
    case 'reset':
      // Leaves MULTI at arrival, so that commands pipelined after RESET are not queued.
      endMulti(client, st);
      return undefined;
    default:
      st.queue.push(args);
      mirror(client, st);
      return { reply: QUEUED };
  }
}

function endMulti(client: ClientState, st: TransactionState): void {
  st.multi = false;
  st.queue = [];
  st.aborted = false;
  mirror(client, st);
}

function internalForm(client: ClientState, args: Buffer[]): CommandHandler | undefined {
  if ((client as { forwarded?: boolean }).forwarded !== true || args.length < 3 || !args[1].equals(INTERNAL_MARK)) return undefined;
  const name = args[0].toString('latin1').toLowerCase();
  if (name === 'exec' && args.length === 3) return execInternal;
  if (name === 'watch') return watchInternal;
  return undefined;
}

function isWriteCommand(ctx: CommandContext, args: Buffer[]): boolean {
  const found = ctx.server.commands.lookup(args);
  return found.ok && found.spec.flags.includes('write');
}

/** The routing keys of one queued command (its table key positions). */
function keysOf(ctx: CommandContext, args: Buffer[]): Buffer[] {
  const found = ctx.server.commands.lookup(args);
  if (!found.ok) return [];
  return CommandTable.keyPositions(found.spec, args).map((i) => args[i]);
}

/** Takes the client's watched keys (EXEC and DISCARD always unwatch). */
function takeWatched(client: ClientState): Watched[] {
  const st = stateOf(client);
  const out = [...st.watched.values()];
  st.watched.clear();
  return out;
}

async function exec(ctx: CommandContext, queue: Buffer[][], aborted: boolean): Promise<Reply> {
  const watched = takeWatched(ctx.client);
  if (aborted) return new ErrorReply('EXECABORT Transaction discarded because of previous errors.');
  const keyed: number[] = [];
  const keyless: number[] = [];
  queue.forEach((args, i) => (keysOf(ctx, args).length > 0 ? keyed : keyless).push(i));
  const replies: Reply[] = new Array(queue.length).fill(null);
  // Watched keys are checked in the entry too (even with no keyed command), at the region's leader.
  if (keyed.length > 0 || watched.length > 0) {
    const op: pb.ITransactionOp = {
      commands: keyed.map((i) => ({ args: queue[i] })),
      watched: watched.map((w) => ({ key: w.key, fingerprint: w.fingerprint })),
      protocol: ctx.client.protocol,
    };
    const internal = [Buffer.from('exec'), INTERNAL_MARK, Buffer.from(pb.TransactionOp.encode(op).finish())];
    const r = await ctx.runCommand(internal, execInternal);
    const parts = r instanceof RawReply ? splitRespArray(r.bytes) : Array.isArray(r) ? r : null;
    // nil: a watched key changed; an error (CROSSSLOT...): nothing ran.
    if (!parts) return r;
    keyed.forEach((q, j) => (replies[q] = parts[j] ?? null));
    // The queued writes ran inside one entry: their keyspace events go out here, in queue order.
    for (const q of keyed) if (isWriteCommand(ctx, queue[q])) ctx.server.notifier?.afterWrite(queue[q], replies[q], ctx.now);
  }
  for (const i of keyless) replies[i] = await ctx.runCommand(queue[i]);
  return replies;
}

/** The keyed part of a transaction: one entry in the region of its keys (here or forwarded to its leader). */
const execInternal: CommandHandler = (ctx, args) => {
  const op = pb.TransactionOp.decode(args[2]);
  const keys: Buffer[] = op.watched.map((w) => Buffer.from(w.key ?? EMPTY));
  for (const c of op.commands) keys.push(...keysOf(ctx, (c.args ?? []).map((a) => Buffer.from(a))));
  return ctx.write(keys, { transaction: op });
};

/**
 * The elements of an encoded RESP array (a reply forwarded from the
 * leader's store, already in the client's protocol), each as raw bytes;
 * null when it is not an array (nil or an error).
 */
export function splitRespArray(buf: Buffer): Reply[] | null {
  if (buf[0] !== 0x2a) return null;
  const eol = buf.indexOf('\r\n', 1, 'latin1');
  const n = Number(buf.toString('latin1', 1, eol));
  if (!(n >= 0)) return null;
  const out: Reply[] = [];
  let at = eol + 2;
  for (let i = 0; i < n; i++) {
    const end = skipResp(buf, at);
    out.push(new RawReply(buf.subarray(at, end)));
    at = end;
  }
  return out;
}

/** The end of the RESP2/RESP3 value that starts at `at`. */
function skipResp(buf: Buffer, at: number): number {
  const type = buf[at];
  const eol = buf.indexOf('\r\n', at + 1, 'latin1');
  if (eol < 0) throw new Error('truncated RESP reply');
  const line = buf.toString('latin1', at + 1, eol);
  let next = eol + 2;
  switch (String.fromCharCode(type)) {
    case '$':
    case '=':
    case '!': {
      const len = Number(line);
      return len < 0 ? next : next + len + 2;
    }
    case '*':
    case '~':
    case '>':
    case '%':
    case '|': {
      const n = Number(line);
      const items = n < 0 ? 0 : type === 0x25 || type === 0x7c ? 2 * n : n;
      for (let i = 0; i < items; i++) next = skipResp(buf, next);
      return next;
    }
    default:
      return next;
  }
}

// ---- the commands (reached when not intercepted) -----------------------------------

const multi: CommandHandler = () => OK; // MULTI is answered by interceptTransaction.
const execWithoutMulti: CommandHandler = () => new ErrorReply('ERR EXEC without MULTI');
const discardWithoutMulti: CommandHandler = () => new ErrorReply('ERR DISCARD without MULTI');

/** WATCH key [key ...]: remembers each key's fingerprint, read at the region's leader (the first WATCH of a key counts). */
const watch: CommandHandler = async (ctx, args) => {
  const keys = args.slice(1);
  const r = await ctx.runCommand([args[0], INTERNAL_MARK, ...keys], watchInternal);
  const prints = r instanceof RawReply ? splitRespArray(r.bytes)?.map((p) => bulkOf((p as RawReply).bytes)) : Array.isArray(r) ? (r as Buffer[]) : null;
  if (!prints) return r; // an error (CROSSSLOT...)
  const st = stateOf(ctx.client);
  keys.forEach((key, i) => {
    const id = key.toString('latin1');
    if (!st.watched.has(id)) st.watched.set(id, { key, fingerprint: prints[i] ?? EMPTY });
  });
  return OK;
};

/** WATCH's internal form: the fingerprints of the keys, read after the region's read barrier. */
const watchInternal: CommandHandler = async (ctx, args) => {
  const keys = args.slice(2);
  const ks = await ctx.read(keys);
  const out: Buffer[] = [];
  for (const key of keys) out.push(await watchFingerprint(ks, key));
  return out;
};

/** The bytes of an encoded bulk string ($n CRLF bytes CRLF). */
function bulkOf(raw: Buffer): Buffer {
  const eol = raw.indexOf('\r\n', 0, 'latin1');
  const n = Number(raw.toString('latin1', 1, eol));
  return n > 0 ? Buffer.from(raw.subarray(eol + 2, eol + 2 + n)) : EMPTY;
}

const unwatch: CommandHandler = (ctx) => {
  stateOf(ctx.client).watched.clear();
  return OK;
};

const TX = { group: 'transactions' } as const;

export const TRANSACTION_COMMANDS: Spec[] = [
  { ...TX, name: 'multi', arity: 1, flags: ['noscript', 'loading', 'stale', 'fast', 'allow_busy'], since: '1.2.0', summary: 'Starts a transaction.', complexity: 'O(1)', handler: multi },
  { ...TX, name: 'exec', arity: 1, flags: ['noscript', 'loading', 'stale'], since: '1.2.0', summary: 'Executes all commands in a transaction.', complexity: 'Depends on commands in the transaction', handler: execWithoutMulti },
  { ...TX, name: 'discard', arity: 1, flags: ['noscript', 'loading', 'stale', 'fast', 'allow_busy'], since: '2.0.0', summary: 'Discards a transaction.', complexity: 'O(N), when N is the number of queued commands', handler: discardWithoutMulti },
  { ...TX, name: 'watch', arity: -2, flags: ['noscript', 'loading', 'stale', 'fast', 'allow_busy'], keys: [1, -1, 1], since: '2.2.0', summary: 'Monitors changes to keys to determine the execution of a transaction.', complexity: 'O(1) for every key (redraft: O(N) for a collection of N members).', handler: watch },
  { ...TX, name: 'unwatch', arity: 1, flags: ['noscript', 'loading', 'stale', 'fast', 'allow_busy'], since: '2.2.0', summary: 'Forgets about watched keys of a transaction.', complexity: 'O(1)', handler: unwatch },
];
