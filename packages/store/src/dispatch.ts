// From an argument vector to a reply: table lookup and arity check, the
// per-client ordering gate, the handler, routing to the region's leader
// (forward or MOVED), bounded retries while a region has no leader, and
// errors turned into replies.
import { CommandTable, ENTRY_TOO_LARGE, EntryTooLargeError, ErrorReply, NotLeaderError, OutcomeUnknownError, RawReply, isRefused, keySlot } from '@redraft/common';
import type { CommandSpec, Handler, KvReader, Lookup, Reply, pb } from '@redraft/common';
import type { Logger } from 'pino';
import type { ClientState, CommandContext, ServerFacade } from './commands/context';
import { Keyspace } from './data/keyspace';
import { CommandError } from './data/errors';
import type { RegionHandle } from './region/region';
import { interceptTransaction, type Intercepted } from './commands/transactions';
import { subscribedModeReply } from './commands/pubsub';
import { countCall } from './commands/command-stats';
import type { KeyspaceNotifier } from './notify';

/** What a command is about to do with its keys: routing differs for writes and follower reads. */
export interface Intent {
  write: boolean;
  client: ClientState;
}

/** Where keys live: the store node answers it from its regions. */
export interface Router {
  /** The one region holding every slot, or throws (CROSSSLOT, Redirect, RetryLater). */
  regionFor(slots: number[], intent: Intent): RegionHandle;
  /** The one region serving every key, when there is one (standalone): no slots to compute. */
  onlyRegion?(): RegionHandle | undefined;
  engineReader(): KvReader;
  /**
   * Where to forward a command on these slots when their region is led by
   * another store; undefined when it runs here or cannot be routed now (the
   * handler's own routing then answers). Never throws.
   */
  redirectFor?(slots: number[], intent: Intent): Redirect | undefined;
}

/** The store leading a slot's region, when that is not this store. */
export interface Redirect {
  readonly slot: number;
  /** host:port of the leader store's RESP front end (for MOVED). */
  readonly clientAddr: string;
  /** host:port of its peer transport (for forwarding). */
  readonly peerAddr: string;
}

/**
 * The keys' region is led by another store: forward the command there, or
 * answer MOVED. Thrown for every forwarded command, so it captures no stack
 * trace (capturing one was 3 % of a forwarding store's CPU at -P 16).
 */
export class RedirectError extends Error implements Redirect {
  constructor(
    readonly slot: number,
    /** host:port of the leader store's RESP front end (for MOVED). */
    readonly clientAddr: string,
    /** host:port of its peer transport (for forwarding). */
    readonly peerAddr: string,
  ) {
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    super(`MOVED ${slot} ${clientAddr}`);
    Error.stackTraceLimit = limit;
  }
}

/** Nothing happened and the same command may succeed shortly (no leader yet, leader changed). */
export class RetryLaterError extends CommandError {}

/** The wait before retry `attempt` while a region elects: 25 ms doubling to 250 ms. */
export function retryPause(attempt: number): Promise<void> {
  return new Promise((r) => setTimeout(r, Math.min(25 * 2 ** attempt, 250)));
}

/** A transport failure that proves the request never reached the other store (so a retry is safe). */
export function neverSent(err: unknown): boolean {
  const code = (err as { code?: string }).code;
  return code === 'UNAVAILABLE' || code === 'CLOSED' || code === 'TOO_LARGE' || code === 'OVERLOADED';
}

/** Too large for any frame or log entry: nothing was sent, and it could never be replicated. */
function tooLarge(err: unknown): boolean {
  return (err as { code?: string }).code === 'TOO_LARGE' || err instanceof EntryTooLargeError;
}

/**
 * A write whose outcome this store cannot learn (it may or may not have been
 * applied). Never an error reply — an error means "not applied" —: the
 * client's connection is closed instead, as a Redis server that dies
 * mid-command would do; a forwarding store resends it in the same session
 * (it arrives there typed, common/transport/rpc-errors.ts).
 */
export { OutcomeUnknownError };

/** How long a forwarded write whose answer was lost keeps being resent before its outcome counts as unknown. */
export const FORWARD_OUTCOME_BOUND_MS = 20_000;

export interface DispatchOptions {
  /** forward: answer through the leader's store (default); moved: answer -MOVED like Redis Cluster. */
  redirect: 'forward' | 'moved';
  /** How long a command keeps retrying while its region has no leader before -TRYAGAIN. */
  retryDeadlineMs: number;
  /** Sends a command to another store and returns its reply, encoded in `protocol`. */
  forward?(peerAddr: string, args: Buffer[], protocol: 2 | 3, readonlyClient: boolean, session: pb.ForwardSession.$Properties | undefined, slot: number, client?: ClientState): Promise<Buffer>;
  /** A (session, seq) for a write about to be forwarded: the same one for every resend. */
  newSession?(args: Buffer[]): pb.ForwardSession.$Properties;
  /** The forwarded write got its answer: its seq no longer holds back ackedBelow. */
  sessionDone?(session: pb.ForwardSession.$Properties): void;
}

/**
 * A client made for one command that came from another store: it is never
 * forwarded again, and runs outside any per-client order (the forwarding
 * store keeps its client's order).
 */
export interface ForwardedClient extends ClientState {
  readonly forwarded: true;
  /** The forwarding store's (session, seq) of this write, if it is one. */
  readonly session?: pb.ForwardSession.$Properties;
}

/** One execution of one command, across its retries. */
interface CommandRun {
  /** Set once the write was forwarded: every later attempt, here or elsewhere, carries it. */
  session?: pb.ForwardSession.$Properties;
  /** A forward was sent and its answer lost: the write may have been applied. */
  maybeApplied: boolean;
  /**
   * The slots of the command's keys, when it may be forwarded before its
   * handler runs (a data command outside a transaction, not blocking).
   */
  slots?: number[];
}

/**
 * Commands of one client run in order: a command waits for the ones before
 * it, except that consecutive commands of one kind start together — writes
 * (the log keeps their order), which makes pipelined writes fast, and reads
 * (none of them changes anything), which makes pipelined reads fast. A read
 * after a write waits for the write (it must see it), a write after a read
 * waits for the read, and any other command (PING, HELLO, READONLY, MULTI,
 * EXEC, SUBSCRIBE...) runs alone. Replies go out in order either way (the
 * RESP server keeps a slot per command).
 */
type Kind = 'write' | 'read' | 'other';

/** Consecutive commands of one client that start together. */
class Run {
  /** Commands of the run not finished yet. */
  pending = 0;
  /** Starts of the run's commands, held until every earlier run is finished. */
  held: Array<() => void> = [];

  constructor(
    readonly kind: Kind,
    /** The client's runs, this one among them. */
    private readonly runs: Run[],
  ) {}

  /**
   * One of the run's commands is done. When the oldest run is, the next one
   * starts (every earlier command has finished). One function per run, not
   * a closure per command.
   */
  readonly finished = (): void => {
    if (--this.pending > 0 || this !== this.runs[0]) return;
    const runs = this.runs;
    runs.shift();
    const next = runs[0];
    if (!next) return;
    const held = next.held;
    next.held = [];
    for (const go of held) go();
  };
}

/** A client's runs, oldest first: the first one's commands are running, the others wait. */
interface Gate {
  runs: Run[];
}

const DEFAULTS: DispatchOptions = { redirect: 'forward', retryDeadlineMs: 5000 };

export class Dispatcher {
  private readonly gates = new WeakMap<ClientState, Gate>();
  private readonly opts: DispatchOptions;
  /** Commands led elsewhere are forwarded before their handler runs (see attempt). */
  private readonly forwardsEarly: boolean;

  constructor(
    readonly table: CommandTable<CommandContext>,
    /** @internal */ readonly router: Router,
    /** @internal */ readonly server: ServerFacade,
    private readonly log: Logger,
    opts: Partial<DispatchOptions> = {},
  ) {
    this.opts = { ...DEFAULTS, ...opts };
    this.forwardsEarly = this.opts.redirect === 'forward' && !!this.opts.forward && !!router.redirectFor;
  }

  /** Runs one command of `client`; its reply, always as a promise (see `dispatch`). */
  execute(client: ClientState, args: Buffer[]): Promise<Reply> {
    const r = this.dispatch(client, args);
    return isPromiseLike(r) ? r : Promise.resolve(r);
  }

  /**
   * Runs one command of `client`: its reply, as it is when ready at once
   * (PING, an arity error...) and as a promise otherwise. The RESP server
   * takes either; a reply ready at once costs no promise.
   */
  dispatch(client: ClientState, args: Buffer[]): Reply | Promise<Reply> {
    const found = this.table.lookup(args);
    // MULTI ... EXEC: queueing and its errors are decided here, in arrival order.
    const tx = interceptTransaction(client, args, found);
    if (tx && 'reply' in tx) return tx.reply;
    if (!found.ok && !tx) return found.error;
    const spec = found.ok ? found.spec : undefined;
    const fullName = found.ok ? found.fullName : 'exec';
    client.lastCommand = fullName;
    countCall(fullName);
    // QUIT takes effect when it is read, as in Redis: nothing pipelined after it runs.
    if (fullName === 'quit') client.closeAfterReply();
    const isWrite = !tx && !!spec?.flags.includes('write');
    const kind: Kind = isWrite ? 'write' : !tx && spec?.flags.includes('readonly') && !spec.flags.includes('blocking') ? 'read' : 'other';
    // A forwarded command's client serves it alone (its forwarding store
    // keeps its client's order): no gate to pass, and it is never forwarded
    // again, so no slots either. (A gate per forwarded command, in the
    // WeakMap, was once an eighth of a leader's CPU under forwarded pipelined GETs.)
    if ((client as Partial<ForwardedClient>).forwarded === true) return this.start(client, found, args, tx, isWrite, false);
    let gate = this.gates.get(client);
    if (!gate) this.gates.set(client, (gate = { runs: [] }));
    const runs = gate.runs;
    let myRun = runs[runs.length - 1];
    if (!myRun || kind === 'other' || myRun.kind !== kind) runs.push((myRun = new Run(kind, runs)));
    myRun.pending++;
    // `finished` is called once the command is done: by run() when it
    // completes later, here when its reply is ready at once.
    const finished = myRun.finished;
    const early = this.forwardsEarly && kind !== 'other' && !spec!.flags.includes('blocking');
    let result: Reply | Promise<Reply>;
    if (myRun === runs[0]) {
      try {
        result = this.start(client, found, args, tx, isWrite, early, finished);
      } catch (e) {
        finished(); // the commands after it must still run
        throw e;
      }
      // Nothing can be held behind a command that ran to its end right now.
      if (!isPromiseLike(result)) finished();
    } else {
      result = new Promise<Reply>((resolve, reject) =>
        myRun.held.push(() => {
          let r: Reply | Promise<Reply>;
          try {
            r = this.start(client, found, args, tx, isWrite, early, finished);
          } catch (e) {
            reject(e); // as a rejection, never out of the loop that starts the held commands
            queueMicrotask(finished);
            return;
          }
          resolve(r);
          // Not from here: commands held one behind another would start each other recursively.
          if (!isPromiseLike(r)) queueMicrotask(finished);
        }),
      );
    }
    // A blocked client (BLPOP...) runs nothing else until it is answered, here or where it was forwarded, as in Redis.
    if (spec?.flags.includes('blocking') && isPromiseLike(result)) (client as Partial<{ blockUntil(p: PromiseLike<unknown>): void }>).blockUntil?.(result);
    return result;
  }

  /**
   * A command's turn came: refused (a RESP2 client in subscribed mode may
   * only (un)subscribe and PING, judged now), or run. `early`: its keys'
   * slots are computed first, so that it is forwarded before its handler
   * runs when another store leads them.
   */
  private start(client: ClientState, found: Lookup<CommandContext>, args: Buffer[], tx: Extract<Intercepted, { handler: unknown }> | undefined, isWrite: boolean, early: boolean, done?: () => void): Reply | Promise<Reply> {
    const refused = subscribedModeReply(client, found, args, this.server.pubsub);
    if (refused !== undefined) return refused;
    if (tx) return this.run(client, tx.handler, tx.args, false, done);
    const spec = (found as Lookup<CommandContext> & { ok: true }).spec;
    return this.run(client, spec.handler!, args, isWrite, done, early ? this.slotsOf(spec, args) : undefined);
  }

  /**
   * Runs a command's handler: its reply as it is when ready at once, else a
   * promise. The common case, a handler whose first attempt succeeds, costs
   * one `then` on the handler's promise; anything else (an error to turn
   * into a reply, a redirect, a retry, a keyspace notification that must
   * read first, a command led by another store) continues in `recover`.
   * `done`, if given, is called when a command that did not answer at once
   * has finished. `slots`: its keys' slots, when it may be forwarded before
   * its handler runs (see attempt).
   */
  private run(client: ClientState, handler: Handler<CommandContext>, args: Buffer[], isWrite: boolean, done?: () => void, slots?: number[]): Reply | Promise<Reply> {
    const forwarded = (client as Partial<ForwardedClient>).forwarded === true;
    const cmd: CommandRun = { session: (client as Partial<ForwardedClient>).session, maybeApplied: false, slots: forwarded ? undefined : slots };
    const notifier = isWrite ? this.server.notifier : undefined;
    const early = cmd.slots && this.router.redirectFor!(cmd.slots, { write: isWrite, client });
    if (early && !isWrite) return this.forwardRead(early, client, handler, args, cmd, done);
    if (early || notifier?.wantsAbsentKeys(args)) return this.recover(client, handler, args, isWrite, cmd, early || undefined, done);
    const ctx = this.context(client, isWrite, cmd);
    let r: Reply | Promise<Reply>;
    try {
      r = handler(ctx, args);
    } catch (e) {
      return this.recover(client, handler, args, isWrite, cmd, { error: e, started: ctx.now }, done);
    }
    if (!isPromiseLike(r)) return notifier ? this.notify(notifier, args, r, ctx.now) : r;
    return r.then(
      (reply) => {
        const out = notifier ? this.notify(notifier, args, reply, ctx.now) : reply;
        done?.();
        return out;
      },
      (e) => this.recover(client, handler, args, isWrite, cmd, { error: e, started: ctx.now }, done),
    );
  }

  /**
   * A read led by another store, forwarded without the attempt loop's two
   * async frames, and with one `then` on the forward itself (not on
   * `redirect`'s): a read has no session to end and no unknown outcome.
   * Anything but a reply (refused, the answer lost) pauses and routes again
   * in `recover`, as the attempt loop does.
   */
  private forwardRead(to: Redirect, client: ClientState, handler: Handler<CommandContext>, args: Buffer[], cmd: CommandRun, done?: () => void): Promise<Reply> {
    return this.send(to, client, args, undefined).then(
      (bytes) => {
        done?.();
        return new RawReply(bytes);
      },
      (err) => {
        if (!tooLarge(err)) return retryPause(0).then(() => this.recover(client, handler, args, false, cmd, undefined, done));
        done?.();
        return new ErrorReply(ENTRY_TOO_LARGE);
      },
    );
  }

  /** Keyspace notifications come from the store where the write ran (not a forwarder, not apply). */
  private notify(notifier: KeyspaceNotifier, args: Buffer[], reply: Reply, now: number): Reply {
    try {
      notifier.afterWrite(args, reply, now, undefined);
      return reply;
    } catch (e) {
      // As when it fails inside `attempt`.
      this.log.error({ err: e, command: args[0]?.toString('latin1') }, 'command failed');
      return new ErrorReply(`ERR internal error: ${(e as Error).message}`);
    }
  }

  /**
   * The rest of a command that did not simply succeed: the attempt loop
   * (from the first attempt's error or early route, if there was one), and its end — a
   * connection closed on an unknown outcome, the forwarding session done.
   */
  private async recover(
    client: ClientState,
    handler: Handler<CommandContext>,
    args: Buffer[],
    isWrite: boolean,
    cmd: CommandRun,
    first: FirstFailure | Redirect | undefined,
    done: (() => void) | undefined,
  ): Promise<Reply> {
    const forwarded = (client as Partial<ForwardedClient>).forwarded === true;
    try {
      return await this.attempt(client, handler, args, isWrite, cmd, forwarded, first);
    } catch (e) {
      if (e instanceof OutcomeUnknownError && !forwarded) {
        // Not an error reply (that would say "not applied"): close the connection.
        this.log.warn({ client: client.id, command: args[0]?.toString('latin1'), err: e.message }, 'outcome of a write unknown; closing the connection');
        client.kill();
      }
      throw e;
    } finally {
      if (cmd.session && !forwarded) this.opts.sessionDone?.(cmd.session);
      done?.();
    }
  }

  /**
   * Attempts until there is a reply. `first`: what `run` already found — the
   * first attempt threw this error (handled as any attempt's error), or the
   * command is led elsewhere (its first route).
   */
  private async attempt(
    client: ClientState,
    handler: Handler<CommandContext>,
    args: Buffer[],
    isWrite: boolean,
    cmd: CommandRun,
    forwarded: boolean,
    first?: FirstFailure | Redirect,
  ): Promise<Reply> {
    let failed = first && 'error' in first ? first : undefined;
    let routed = first && 'peerAddr' in first ? first : undefined;
    const started = failed ? failed.started : Date.now();
    const deadline = started + this.opts.retryDeadlineMs;
    for (let attempt = 0; ; attempt++) {
      // Led by another store: forwarded before the handler runs (the handler
      // would only find that out in its read or write, and throw).
      const early = routed ?? (!failed && cmd.slots ? this.router.redirectFor!(cmd.slots, { write: isWrite, client }) : undefined);
      routed = undefined;
      if (early) {
        const r = await this.redirect(early, client, args, isWrite, cmd);
        if (r !== undefined) return r;
      } else try {
        if (failed) {
          const e = failed.error;
          failed = undefined;
          throw e; // into the catch below, as if this attempt had thrown it
        }
        const ctx = this.context(client, isWrite, cmd);
        const notifier = isWrite ? this.server.notifier : undefined;
        const absent = notifier?.wantsAbsentKeys(args) ? await this.absentKeys(ctx, notifier, args) : undefined;
        const reply = await handler(ctx, args);
        // Keyspace notifications come from the store where the write ran (not a forwarder, not apply).
        notifier?.afterWrite(args, reply, ctx.now, absent);
        return reply;
      } catch (e) {
        if (e instanceof RedirectError) {
          // A forwarded command is never forwarded again: the forwarder routes it anew.
          if (forwarded) throw new NotLeaderError(0, e.peerAddr, 0, `NOT_LEADER slot ${e.slot}: its leader is at ${e.peerAddr}`);
          const r = await this.redirect(e, client, args, isWrite, cmd);
          if (r !== undefined) return r;
        } else if (e instanceof RetryLaterError) {
          if (Date.now() >= deadline && !cmd.maybeApplied) return e.toReply();
        } else if (e instanceof CommandError) {
          return e.toReply();
        } else if (e instanceof OutcomeUnknownError) {
          throw e;
        } else {
          this.log.error({ err: e, command: args[0]?.toString('latin1') }, 'command failed');
          if (cmd.maybeApplied) throw new OutcomeUnknownError(`internal error after a lost answer: ${(e as Error).message}`);
          return new ErrorReply(`ERR internal error: ${(e as Error).message}`);
        }
      }
      if (cmd.maybeApplied) {
        // A lost answer is resent in its session until the one true answer comes back.
        if (Date.now() - started >= FORWARD_OUTCOME_BOUND_MS) throw new OutcomeUnknownError('no answer for a forwarded write within the bound');
      } else if (Date.now() >= deadline) {
        return new ErrorReply('TRYAGAIN the region has no reachable leader; try again');
      }
      // The region is electing a leader or the route is stale: wait a little and route again.
      await retryPause(attempt);
    }
  }

  /** The slots of a command's keys, or undefined without keys (or when its key positions cannot be read). */
  private slotsOf(spec: CommandSpec<CommandContext>, args: Buffer[]): number[] | undefined {
    // Most commands have one key, right after their name (GET, SET, INCR, HSET...): no positions to list.
    const k = spec.keys;
    if (!spec.keysOf && k !== undefined && k[0] === 1 && k[1] === 1 && args.length > 1) return [keySlot(args[1])];
    let positions: number[];
    try {
      positions = CommandTable.keyPositions(spec, args);
    } catch {
      return undefined; // the handler answers the bad input
    }
    if (positions.length === 0) return undefined;
    const slots = new Array<number>(positions.length);
    for (let i = 0; i < positions.length; i++) slots[i] = keySlot(args[positions[i]]);
    return slots;
  }

  /** Forwards a command to the store leading its slot: its reply bytes, or the forward's failure as a rejection (never a throw). */
  private send(to: Redirect, client: ClientState, args: Buffer[], session: pb.ForwardSession.$Properties | undefined): Promise<Buffer> {
    try {
      return this.opts.forward!(to.peerAddr, args, client.protocol, client.readonly, session, to.slot, client);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /**
   * A reply through the leader's store, -MOVED, or undefined to route again
   * and retry. One promise per forward (no async frame): it runs for every
   * forwarded command.
   */
  private redirect(e: Redirect, client: ClientState, args: Buffer[], isWrite: boolean, cmd: CommandRun): Promise<Reply | undefined> {
    if (this.opts.redirect === 'moved' && !cmd.maybeApplied) return Promise.resolve(new ErrorReply(`MOVED ${e.slot} ${e.clientAddr}`));
    if (!this.opts.forward) return Promise.resolve(undefined);
    if (isWrite && !cmd.session) cmd.session = this.opts.newSession?.(args);
    return this.send(e, client, args, isWrite ? cmd.session : undefined).then(
      (bytes) => new RawReply(bytes),
      (err) => {
        if (tooLarge(err)) return new ErrorReply(ENTRY_TOO_LARGE);
        // Refused before anything ran there (not the leader any more, another epoch): route again.
        if (neverSent(err) || isRefused(err)) return undefined;
        // Sent, but the answer was lost: a read is simply retried; a write may
        // have been applied, so it is resent in its session (exactly once).
        if (isWrite) {
          if (!cmd.session) throw new OutcomeUnknownError(`no answer from ${e.peerAddr}: ${(err as Error).message}`);
          cmd.maybeApplied = true;
        }
        return undefined;
      },
    );
  }

  /**
   * The keys of `args` absent just before it runs, read after a read
   * barrier: writers are answered before their apply batch reaches RocksDB
   * (peer.ts appliedInBatch), so a plain engine read could miss a write this
   * very client was already answered for, and call its key new again.
   */
  private async absentKeys(ctx: CommandContext, notifier: KeyspaceNotifier, args: Buffer[]): Promise<Buffer[]> {
    const keys = this.keysOf(args);
    if (keys.length > 0) await ctx.read(keys);
    return notifier.absentKeys(this.router.engineReader(), keys, ctx.now);
  }

  /** The keys of a command (its table key positions). */
  private keysOf(args: Buffer[]): Buffer[] {
    const found = this.table.lookup(args);
    return found.ok ? CommandTable.keyPositions(found.spec, args).map((i) => args[i]) : [];
  }

  private context(client: ClientState, isWrite: boolean, cmd: CommandRun): CommandContext {
    return new DispatchContext(this, client, isWrite, cmd.session);
  }

  /** @internal For DispatchContext.runCommand: another command of the client, now (no ordering gate). */
  runNow(client: ClientState, args: Buffer[], handler?: Handler<CommandContext>): Promise<Reply> {
    let r: Reply | Promise<Reply>;
    if (handler) r = this.run(client, handler, args, true);
    else {
      const found = this.table.lookup(args);
      if (!found.ok) return Promise.resolve(found.error);
      r = this.run(client, found.spec.handler!, args, found.spec.flags.includes('write'));
    }
    return isPromiseLike(r) ? r : Promise.resolve(r);
  }
}

/**
 * What a handler gets for one attempt of one command. A class rather than
 * an object literal of closures: one allocation per command.
 */
class DispatchContext implements CommandContext {
  readonly now = Date.now();
  readonly server: ServerFacade;
  readonly random = Math.random;
  private readonly router: Router;

  constructor(
    private readonly dispatcher: Dispatcher,
    readonly client: ClientState,
    private readonly isWrite: boolean,
    /** The forwarding session of this command's writes (set once it was forwarded). */
    private readonly session: pb.ForwardSession.$Properties | undefined,
  ) {
    this.server = dispatcher.server;
    this.router = dispatcher.router;
  }

  runCommand(args: Buffer[], handler?: Handler<CommandContext>): Promise<Reply> {
    return this.dispatcher.runNow(this.client, args, handler);
  }

  async read(keys: Buffer[]): Promise<Keyspace> {
    const router = this.router;
    // Expiry is decided at the time the barrier gives (the leader's clock, also on a follower).
    const at = keys.length > 0 ? await this.regionOf(keys, this.isWrite).readBarrier() : Date.now();
    return new Keyspace(router.engineReader(), at);
  }

  readNow(keys: Buffer[]): Keyspace | undefined {
    const at = this.regionOf(keys, this.isWrite).readNow?.();
    return at === undefined ? undefined : new Keyspace(this.router.engineReader(), at);
  }

  write(keys: Buffer[], op: Omit<pb.WriteCommand.$Properties, 'proposedAtMs'>): Promise<Reply> {
    const region = this.regionOf(keys, true);
    // The region stamps the entry again as it appends it (region/clock.ts);
    // the field is here so that stamping keeps the object's shape.
    // Object.assign onto a literal, not { ...op, proposedAtMs }: adding a
    // property to a spread copy took V8's slow path (0.6 µs a write).
    return region.propose(Object.assign({ proposedAtMs: this.now }, op), this.session);
  }

  private regionOf(keys: Buffer[], write: boolean): RegionHandle {
    return this.router.onlyRegion?.() ?? this.router.regionFor(slotsOf(keys), { write, client: this.client });
  }
}

function slotsOf(keys: Buffer[]): number[] {
  const slots = new Array<number>(keys.length);
  for (let i = 0; i < keys.length; i++) slots[i] = keySlot(keys[i]);
  return slots;
}

/** The first attempt of a command failed with `error`; it started at `started` (ms). */
interface FirstFailure {
  error: unknown;
  started: number;
}

function isPromiseLike(v: unknown): v is Promise<Reply> {
  return typeof v === 'object' && v !== null && typeof (v as { then?: unknown }).then === 'function';
}
