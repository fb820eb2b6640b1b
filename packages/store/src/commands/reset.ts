// RESET (Redis 6.2): puts the connection back as it was when it connected —
// out of MULTI with nothing watched, no subscriptions, RESP2, db 0, no name,
// READWRITE, replies on — and answers +RESET.
import { ReplyModeChange } from '@redraft/common';
import type { CommandHandler, Spec } from './context';
import { resetTransaction } from './transactions';

const reset: CommandHandler = (ctx) => {
  const client = ctx.client;
  resetTransaction(client);
  const hub = ctx.server.pubsub;
  if (hub?.isSubscribed(client)) {
    // Dropped silently: Redis sends no unsubscribe confirmations for RESET.
    for (const kind of ['channel', 'pattern', 'shard'] as const) hub.unsubscribe(client, kind, []);
  }
  client.db = 0;
  client.protocol = 2;
  client.name = '';
  client.readonly = false;
  // CLIENT REPLY back to ON: the connection switches when this reply's turn comes.
  return new ReplyModeChange('on', 'RESET');
};

export const RESET_COMMANDS: Spec[] = [
  {
    group: 'connection',
    name: 'reset',
    arity: 1,
    flags: ['noscript', 'loading', 'stale', 'fast', 'no_auth', 'allow_busy'],
    since: '6.2.0',
    summary: 'Resets the connection.',
    complexity: 'O(1)',
    handler: reset,
  },
];
