// THE command table of the store: every command it answers, from one list
// per group. Dispatch, arity checks and COMMAND all read it.
import { CommandTable } from '@redraft/common';
import type { CommandContext } from './context';
import { STRING_COMMANDS } from './strings';
import { KEYSPACE_COMMANDS } from './keyspace';
import { HASH_COMMANDS } from './hashes';
import { LIST_COMMANDS } from './lists';
import { SET_COMMANDS } from './sets';
import { OBJECT_COMMANDS } from './object';
import { BIT_COMMANDS } from './bits';
import { SERVER_COMMANDS } from './server';
import { CLUSTER_COMMANDS } from './cluster';
import { ZSET_COMMANDS } from './zsets';
import { TRANSACTION_COMMANDS } from './transactions';
import { PUBSUB_COMMANDS } from './pubsub';
import { RESET_COMMANDS } from './reset';

export function storeCommandTable(): CommandTable<CommandContext> {
  return new CommandTable<CommandContext>([
    ...STRING_COMMANDS,
    ...KEYSPACE_COMMANDS,
    ...HASH_COMMANDS,
    ...LIST_COMMANDS,
    ...SET_COMMANDS,
    ...OBJECT_COMMANDS,
    ...BIT_COMMANDS,
    ...SERVER_COMMANDS,
    ...CLUSTER_COMMANDS,
    ...ZSET_COMMANDS,
    ...TRANSACTION_COMMANDS,
    ...PUBSUB_COMMANDS,
    ...RESET_COMMANDS,
  ]);
}
