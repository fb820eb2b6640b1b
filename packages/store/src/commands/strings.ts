// String commands. Handlers parse (pure validation) and then read or propose;
// the matching apply code is in apply/strings.ts.
import { pb } from '@redraft/common';
import type { Reply } from '@redraft/common';
import type { CommandHandler, Spec } from './context';
import { parseInt53, word } from './parse';
import { CommandError, syntaxError } from '../data/errors';

const get: CommandHandler = async (ctx, [, key]) => (await ctx.read([key])).getString(key);

/** Checks an expire time argument as Redis does and returns it in ms. */
export function expireArg(arg: Buffer, unitMs: number, commandName: string): number {
  const n = parseInt53(arg);
  if (n <= 0) throw new CommandError(`ERR invalid expire time in '${commandName}' command`);
  const ms = n * unitMs;
  if (!Number.isSafeInteger(ms)) throw new CommandError(`ERR invalid expire time in '${commandName}' command`);
  return ms;
}

/** SET key value [NX|XX] [GET] [EX s|PX ms|EXAT s|PXAT ms|KEEPTTL] */
const set: CommandHandler = (ctx, args) => {
  const [, key, value] = args;
  let condition = pb.Condition.ALWAYS;
  let get = false;
  let expiry: pb.Expiry.$Properties | undefined;
  for (let i = 3; i < args.length; i++) {
    const opt = word(args[i]);
    const hasNext = i + 1 < args.length;
    if (opt === 'NX' && condition === pb.Condition.ALWAYS) condition = pb.Condition.NX;
    else if (opt === 'XX' && condition === pb.Condition.ALWAYS) condition = pb.Condition.XX;
    else if (opt === 'GET') get = true;
    else if (opt === 'KEEPTTL' && !expiry) expiry = { keep: true };
    else if ((opt === 'EX' || opt === 'PX' || opt === 'EXAT' || opt === 'PXAT') && !expiry && hasNext) {
      const unit = opt === 'EX' || opt === 'EXAT' ? 1000 : 1;
      const ms = expireArg(args[++i], unit, 'set');
      const atMs = opt === 'EX' || opt === 'PX' ? ctx.now + ms : ms;
      if (!Number.isSafeInteger(atMs)) throw new CommandError("ERR invalid expire time in 'set' command");
      expiry = { atMs };
    } else throw syntaxError();
  }
  return ctx.write([key], { set: { key, value, condition, get, expiry } });
};

const STRING = { group: 'string' } as const;

export const STRING_COMMANDS: Spec[] = [
  { ...STRING, name: 'get', arity: 2, flags: ['readonly', 'fast'], keys: [1, 1, 1], since: '1.0.0', summary: 'Returns the string value of a key.', complexity: 'O(1)', handler: get },
  { ...STRING, name: 'set', arity: -3, flags: ['write', 'denyoom'], keys: [1, 1, 1], since: '1.0.0', summary: 'Sets the string value of a key, ignoring its type. The key is created if it doesn\'t exist.', complexity: 'O(1)', handler: set },
];

export type { Reply };
