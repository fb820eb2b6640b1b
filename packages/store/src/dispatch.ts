// From an argument vector to a reply: table lookup and arity check, the
// per-client ordering gate, the handler, and errors turned into replies.
import { CommandTable, ErrorReply, keySlot } from '@redraft/common';
import type { Handler, KvReader, Reply, pb } from '@redraft/common';
import type { Logger } from 'pino';
import type { ClientState, CommandContext, ServerFacade } from './commands/context';
import { Keyspace } from './data/keyspace';
import { CommandError } from './data/errors';
import type { RegionHandle } from './region/region';

/** Where keys live: the store node answers it from its regions. */
export interface Router {
  /** The one region holding every key, or a CommandError (CROSSSLOT, MOVED, TRYAGAIN). */
  regionFor(slots: number[]): RegionHandle;
  engineReader(): KvReader;
}

/**
 * Commands of one client run in order: a command waits for the ones before
 * it, except that consecutive writes go out together (the log keeps their
 * order), which is what makes pipelined writes fast.
 */
interface Gate {
  tail: Promise<unknown>;
  pending: number;
  onlyWrites: boolean;
}

export class Dispatcher {
  private readonly gates = new WeakMap<ClientState, Gate>();

  constructor(
    readonly table: CommandTable<CommandContext>,
    private readonly router: Router,
    private readonly server: ServerFacade,
    private readonly log: Logger,
  ) {}

  execute(client: ClientState, args: Buffer[]): Promise<Reply> {
    const found = this.table.lookup(args);
    if (!found.ok) return Promise.resolve(found.error);
    const { spec, fullName } = found;
    client.lastCommand = fullName;
    const isWrite = spec.flags.includes('write');
    let gate = this.gates.get(client);
    if (!gate) this.gates.set(client, (gate = { tail: Promise.resolve(), pending: 0, onlyWrites: true }));
    const g = gate;
    const runNow = g.pending === 0 || (isWrite && g.onlyWrites);
    g.onlyWrites = (g.pending === 0 || g.onlyWrites) && isWrite;
    g.pending++;
    const run = (): Promise<Reply> => this.run(client, spec.handler!, args);
    const result = runNow ? run() : g.tail.then(run);
    g.tail = Promise.all([g.tail, result]).catch(() => undefined);
    return result.finally(() => {
      if (--g.pending === 0) g.onlyWrites = true;
    });
  }

  private async run(client: ClientState, handler: Handler<CommandContext>, args: Buffer[]): Promise<Reply> {
    try {
      return await handler(this.context(client), args);
    } catch (e) {
      if (e instanceof CommandError) return e.toReply();
      this.log.error({ err: e, command: args[0]?.toString('latin1') }, 'command failed');
      return new ErrorReply(`ERR internal error: ${(e as Error).message}`);
    }
  }

  private context(client: ClientState): CommandContext {
    const router = this.router;
    const now = Date.now();
    return {
      client,
      now,
      server: this.server,
      async read(keys: Buffer[]): Promise<Keyspace> {
        if (keys.length > 0) await router.regionFor(keys.map((k) => keySlot(k))).readBarrier();
        return new Keyspace(router.engineReader(), Date.now());
      },
      write(keys: Buffer[], op: Omit<pb.WriteCommand.$Properties, 'proposedAtMs'>): Promise<Reply> {
        const region = router.regionFor(keys.map((k) => keySlot(k)));
        return region.propose({ ...op, proposedAtMs: now });
      },
    };
  }
}
