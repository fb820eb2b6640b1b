// The command-table mechanism: each server (store, meta admin) declares its
// commands once — name, arity, flags, key positions, handler, doc — and this
// module checks arity, finds keys and answers COMMAND from that one table.
import { ErrorReply, MapReply, SetReply, SimpleString } from '../resp/reply';
import type { Reply } from '../resp/reply';

export type CommandFlag =
  | 'write'
  | 'readonly'
  | 'denyoom'
  | 'admin'
  | 'pubsub'
  | 'noscript'
  | 'blocking'
  | 'loading'
  | 'stale'
  | 'skip_monitor'
  | 'fast'
  | 'no_auth'
  | 'may_replicate'
  | 'allow_busy';

export type Handler<C> = (ctx: C, args: Buffer[]) => Reply | Promise<Reply>;

export interface CommandSpec<C> {
  /** Lower case; a subcommand's name is its own word (e.g. 'setname'). */
  name: string;
  /** n: exactly n arguments (name included); -n: at least n. */
  arity: number;
  flags: CommandFlag[];
  /** Key positions as Redis gives them: first, last (-1 = last argument), step; 0 0 0 for none. */
  keys?: [first: number, last: number, step: number];
  /** Key positions of commands whose keys move (a numkeys argument): overrides `keys` for routing and GETKEYS. */
  keysOf?: (args: Buffer[]) => number[];
  group: string;
  summary: string;
  since: string;
  complexity?: string;
  /** Absent only for container commands (CLIENT, CONFIG...) whose subcommands handle everything. */
  handler?: Handler<C>;
  subcommands?: CommandSpec<C>[];
}

export type Lookup<C> =
  | { readonly ok: true; readonly spec: CommandSpec<C>; readonly fullName: string }
  | { readonly ok: false; readonly error: ErrorReply };

/** A top-level command found by the bytes of its name, with the one Lookup that says so (shared: it never changes). */
interface NameEntry<C> {
  name: Buffer;
  spec: CommandSpec<C>;
  found: Lookup<C> & { ok: true };
}

export class CommandTable<C> {
  private readonly byName = new Map<string, CommandSpec<C>>();
  /**
   * The same specs by a hash of their name's bytes, ASCII case folded as
   * Redis does (strcasecmp): every command is looked up here, and a string
   * of its name, lower-cased and hashed, cost about four times as much.
   */
  private readonly byNameBytes = new Map<number, NameEntry<C>[]>();

  constructor(specs: Iterable<CommandSpec<C>>) {
    for (const spec of specs) {
      if (this.byName.has(spec.name)) throw new Error(`command ${spec.name} declared twice`);
      if (!spec.handler && !spec.subcommands) throw new Error(`command ${spec.name} has no handler`);
      if (spec.name !== spec.name.toLowerCase()) throw new Error(`command ${spec.name} must be declared in lower case`);
      this.byName.set(spec.name, spec);
      const name = Buffer.from(spec.name, 'latin1');
      const h = nameHash(name);
      const entries = this.byNameBytes.get(h) ?? [];
      entries.push({ name, spec, found: { ok: true, spec, fullName: spec.name } });
      this.byNameBytes.set(h, entries);
    }
  }

  get size(): number {
    return this.byName.size;
  }

  get(name: string): CommandSpec<C> | undefined {
    return this.byName.get(name.toLowerCase());
  }

  all(): CommandSpec<C>[] {
    return [...this.byName.values()];
  }

  /** Finds the spec for `args` (descending into subcommands) and checks arity, as Redis does. */
  lookup(args: Buffer[]): Lookup<C> {
    const entry = this.entryOf(args[0]);
    if (!entry) return { ok: false, error: unknownCommand(args[0].toString('utf8'), args) };
    const spec = entry.spec;
    if (!spec.subcommands) return arityOk(spec, args.length) ? entry.found : { ok: false, error: wrongArity(spec.name) };
    if (spec.handler === undefined || args.length >= 2) {
      if (args.length < 2) return { ok: false, error: wrongArity(spec.name) };
      const subName = args[1].toString('utf8');
      const sub = spec.subcommands.find((s) => s.name === subName.toLowerCase());
      if (!sub) {
        if (spec.handler) return this.checked(spec, spec.name, args);
        return {
          ok: false,
          error: new ErrorReply(
            `ERR unknown subcommand '${clip(subName)}'. Try ${spec.name.toUpperCase()} HELP.`,
          ),
        };
      }
      return this.checked(sub, `${spec.name}|${sub.name}`, args);
    }
    return this.checked(spec, spec.name, args);
  }

  private checked(spec: CommandSpec<C>, fullName: string, args: Buffer[]): Lookup<C> {
    return arityOk(spec, args.length) ? { ok: true, spec, fullName } : { ok: false, error: wrongArity(fullName) };
  }

  /** The top-level command named by `name` (ASCII case-insensitive), without making a string of it. */
  private entryOf(name: Buffer): NameEntry<C> | undefined {
    const entries = this.byNameBytes.get(nameHash(name));
    if (!entries) return undefined;
    next: for (const e of entries) {
      const want = e.name;
      if (want.length !== name.length) continue;
      for (let i = 0; i < want.length; i++) if (foldAscii(name[i]) !== want[i]) continue next;
      return e;
    }
    return undefined;
  }

  // ---- COMMAND ------------------------------------------------------------

  /** COMMAND INFO reply for one spec (Redis 7 layout). */
  info(spec: CommandSpec<C>, parent?: string): Reply {
    const [first, last, step] = spec.keys ?? [0, 0, 0];
    const name = parent ? `${parent}|${spec.name}` : spec.name;
    return [
      name,
      spec.arity,
      new SetReply(spec.flags.map((f) => new SimpleString(f))),
      first,
      last,
      step,
      new SetReply(aclCategories(spec).map((c) => new SimpleString(c))),
      [],
      first > 0
        ? [
            new MapReply([
              ['flags', new SetReply(spec.flags.includes('write') ? [new SimpleString('RW')] : [new SimpleString('RO')])],
              ['begin_search', new MapReply([['type', 'index'], ['spec', new MapReply([['index', first]])]])],
              [
                'find_keys',
                new MapReply([
                  ['type', 'range'],
                  ['spec', new MapReply([['lastkey', last < 0 ? last : last - first], ['keystep', step], ['limit', 0]])],
                ]),
              ],
            ]),
          ]
        : [],
      (spec.subcommands ?? []).map((s) => this.info(s, spec.name)),
    ];
  }

  /** COMMAND DOCS entry for one spec. */
  docs(spec: CommandSpec<C>, parent?: string): Reply {
    const entries: Array<[Reply, Reply]> = [
      ['summary', spec.summary],
      ['since', spec.since],
      ['group', spec.group],
    ];
    if (spec.complexity) entries.push(['complexity', spec.complexity]);
    if (spec.subcommands) {
      entries.push([
        'subcommands',
        new MapReply(spec.subcommands.map((s) => [`${spec.name}|${s.name}`, this.docs(s, spec.name)] as [Reply, Reply])),
      ]);
    }
    void parent;
    return new MapReply(entries);
  }

  /** Positions of the keys in `args` for a spec found by lookup(). */
  static keyPositions<C>(spec: CommandSpec<C>, args: Buffer[]): number[] {
    if (spec.keysOf) return spec.keysOf(args);
    const [first, lastSpec, step] = spec.keys ?? [0, 0, 0];
    if (first <= 0) return [];
    const last = lastSpec < 0 ? args.length + lastSpec : lastSpec;
    const out: number[] = [];
    for (let i = first; i <= last && i < args.length; i += step || 1) out.push(i);
    return out;
  }
}

function aclCategories<C>(spec: CommandSpec<C>): string[] {
  const cats = [spec.flags.includes('write') ? '@write' : '@read', `@${spec.group}`];
  cats.push(spec.flags.includes('fast') ? '@fast' : '@slow');
  if (spec.flags.includes('admin')) cats.push('@admin', '@dangerous');
  return cats;
}

function clip(s: string): string {
  return s.length > 128 ? s.slice(0, 128) : s;
}

export function wrongArity(fullName: string): ErrorReply {
  return new ErrorReply(`ERR wrong number of arguments for '${fullName}' command`);
}

/** n arguments (the name included) fit the spec's arity: exactly n when positive, at least -n when negative. */
function arityOk(spec: { arity: number }, n: number): boolean {
  return spec.arity > 0 ? n === spec.arity : n >= -spec.arity;
}

/** An ASCII upper-case letter's lower-case byte; any other byte as it is. */
function foldAscii(c: number): number {
  return c >= 0x41 && c <= 0x5a ? c + 0x20 : c;
}

/** A hash of a command name's case-folded bytes (it only picks the entries to compare). */
function nameHash(name: Buffer): number {
  let h = name.length;
  for (let i = 0; i < name.length; i++) h = (Math.imul(h, 31) + foldAscii(name[i])) | 0;
  return h;
}

export function unknownCommand(name: string, args: Buffer[]): ErrorReply {
  // As Redis: arguments are listed while the list (quotes included) is under 128 characters.
  let rest = '';
  for (const a of args.slice(1)) {
    if (rest.length >= 128) break;
    rest += `'${a.toString('utf8').slice(0, 128 - rest.length)}' `;
  }
  return new ErrorReply(`ERR unknown command '${clip(name)}', with args beginning with: ${rest}`);
}
