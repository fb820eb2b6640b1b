// OBJECT ENCODING / OBJECT HELP. redraft keeps every type the same way on
// disk (docs/decisions.md); OBJECT ENCODING answers the name Redis 7.0 would
// give the same contents with its default limits, so tools and scripts that
// look at it see familiar values. REFCOUNT, IDLETIME and FREQ have no
// meaning here (no shared objects, no LRU/LFU clock) and are not offered.
import type { CommandHandler, Spec } from './context';
import type { FoundKey, Keyspace } from '../data/keyspace';
import { KeyType } from '../data/meta';
import { helpReply } from './server';
import { strictInt64 } from '../apply/hashes';

/** Redis 7.0 defaults: hash-max-listpack-*, set-max-intset-entries, zset-max-listpack-*. */
const HASH_MAX_ENTRIES = 128;
const HASH_MAX_VALUE = 64;
const SET_MAX_INTSET = 512;
const ZSET_MAX_ENTRIES = 128;

async function smallMembers(ks: Keyspace, found: FoundKey, max: number, ok: (m: Buffer, v: Buffer) => boolean): Promise<boolean> {
  if (found.size > max) return false;
  for await (const [m, v] of ks.members(found, { limit: max + 1 })) if (!ok(m, v)) return false;
  return true;
}

export async function encodingOf(ks: Keyspace, found: FoundKey): Promise<string> {
  switch (found.type) {
    case KeyType.String: {
      if (found.value.length <= 20 && strictInt64(found.value) !== null) return 'int';
      return found.value.length <= 44 ? 'embstr' : 'raw';
    }
    case KeyType.Hash:
      return (await smallMembers(ks, found, HASH_MAX_ENTRIES, (m, v) => m.length <= HASH_MAX_VALUE && v.length <= HASH_MAX_VALUE)) ? 'listpack' : 'hashtable';
    case KeyType.List:
      return 'quicklist'; // every list in Redis 7.0
    case KeyType.Set:
      return (await smallMembers(ks, found, SET_MAX_INTSET, (m) => strictInt64(m) !== null)) ? 'intset' : 'hashtable';
    default:
      return found.size <= ZSET_MAX_ENTRIES ? 'listpack' : 'skiplist';
  }
}

const objectEncoding: CommandHandler = async (ctx, [, , key]) => {
  const ks = await ctx.read([key]);
  const found = await ks.lookup(key);
  return found ? encodingOf(ks, found) : null; // a bulk string, as Redis
};

const HELP = ['ENCODING <key>', '    Return the kind of internal representation used in order to store the value', '    associated with a <key>.'];

export const OBJECT_COMMANDS: Spec[] = [
  {
    group: 'generic',
    name: 'object',
    arity: -2,
    flags: [],
    since: '2.2.3',
    summary: 'A container for object introspection commands.',
    complexity: 'Depends on subcommand.',
    subcommands: [
      { group: 'generic', name: 'encoding', arity: 3, flags: ['readonly'], keys: [2, 2, 1], since: '2.2.3', summary: 'Returns the internal encoding of a Redis object.', complexity: 'O(1)', handler: objectEncoding },
      { group: 'generic', name: 'help', arity: 2, flags: ['loading', 'stale'], since: '6.2.0', summary: 'Returns helpful text about the different subcommands.', complexity: 'O(1)', handler: () => helpReply('object', HELP) },
    ],
  },
];
