// Hash commands; the matching apply code is in apply/hashes.ts.
import type { CommandHandler, Spec } from './context';
import { KeyType } from '../data/meta';
import { CommandError } from '../data/errors';

const hset: CommandHandler = (ctx, args) => {
  if (args.length % 2 !== 0) throw new CommandError("ERR wrong number of arguments for 'hset' command");
  const key = args[1];
  const fields: Buffer[] = [];
  const values: Buffer[] = [];
  for (let i = 2; i < args.length; i += 2) {
    fields.push(args[i]);
    values.push(args[i + 1]);
  }
  return ctx.write([key], { hset: { key, fields, values } });
};

const hget: CommandHandler = async (ctx, [, key, field]) => {
  const ks = await ctx.read([key]);
  const hash = await ks.lookupTyped(key, KeyType.Hash);
  if (!hash) return null;
  return (await ks.getMember(hash, field)) ?? null;
};

const HASH = { group: 'hash' } as const;

export const HASH_COMMANDS: Spec[] = [
  { ...HASH, name: 'hset', arity: -4, flags: ['write', 'denyoom', 'fast'], keys: [1, 1, 1], since: '2.0.0', summary: 'Creates or modifies the value of a field in a hash.', complexity: 'O(N) where N is the number of fields being set.', handler: hset },
  { ...HASH, name: 'hget', arity: 3, flags: ['readonly', 'fast'], keys: [1, 1, 1], since: '2.0.0', summary: 'Returns the value of a field in a hash.', complexity: 'O(1)', handler: hget },
];
