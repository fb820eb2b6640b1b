// Generic keyspace commands (DEL, EXISTS, EXPIRE, SCAN, ...).
import type { CommandHandler, Spec } from './context';

const del: CommandHandler = (ctx, args) => {
  const keys = args.slice(1);
  return ctx.write(keys, { del: { keys } });
};

const exists: CommandHandler = async (ctx, args) => {
  const keys = args.slice(1);
  const ks = await ctx.read(keys);
  let n = 0;
  for (const k of keys) if (await ks.lookup(k)) n++;
  return n;
};

const KEYSPACE = { group: 'generic' } as const;

export const KEYSPACE_COMMANDS: Spec[] = [
  { ...KEYSPACE, name: 'del', arity: -2, flags: ['write'], keys: [1, -1, 1], since: '1.0.0', summary: 'Deletes one or more keys.', complexity: 'O(N)', handler: del },
  { ...KEYSPACE, name: 'exists', arity: -2, flags: ['readonly', 'fast'], keys: [1, -1, 1], since: '1.0.0', summary: 'Determines whether one or more keys exist.', complexity: 'O(N)', handler: exists },
];
