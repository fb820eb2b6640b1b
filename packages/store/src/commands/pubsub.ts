// SUBSCRIBE, UNSUBSCRIBE, PSUBSCRIBE, PUNSUBSCRIBE, SSUBSCRIBE, SUNSUBSCRIBE,
// PUBLISH, SPUBLISH and PUBSUB, over the store's PubSubHub (../pubsub.ts),
// plus the RESP2 subscribed-mode rule that dispatch applies before queueing
// or running anything (`subscribedModeReply`). docs/pubsub.md has the decisions.
import { ErrorReply, RawPushReply, encodeReply, keySlot } from '@redraft/common';
import type { Lookup, Reply } from '@redraft/common';
import type { ClientState, CommandContext, CommandHandler, Spec } from './context';
import type { PubSubHub, SubscriptionKind } from '../pubsub';
import { CommandError } from '../data/errors';
import { RedirectError } from '../dispatch';
import { helpReply } from './server';

const PUBSUB = { group: 'pubsub' } as const;

/** Commands a RESP2 client may send while subscribed (Redis 7.0's list). */
const ALLOWED_WHILE_SUBSCRIBED = new Set(['subscribe', 'ssubscribe', 'psubscribe', 'unsubscribe', 'sunsubscribe', 'punsubscribe', 'ping', 'quit', 'reset']);

function hubOf(ctx: CommandContext): PubSubHub {
  const hub = ctx.server.pubsub;
  if (!hub) throw new CommandError('ERR Pub/Sub is not available on this server');
  return hub;
}

/**
 * What a RESP2 client in subscribed mode gets instead of running `found`:
 * Redis's error for commands outside the allowed few, and PING's
 * ["pong", message] form; undefined when the command runs as usual.
 * Decided when the command's turn comes, after the commands before it ran.
 */
export function subscribedModeReply(client: ClientState, found: Lookup<CommandContext>, args: Buffer[], hub: PubSubHub | undefined): Reply | undefined {
  if (!found.ok || client.protocol !== 2 || !hub?.isSubscribed(client)) return undefined;
  const name = found.fullName;
  if (!ALLOWED_WHILE_SUBSCRIBED.has(name)) {
    return new ErrorReply(`ERR Can't execute '${name}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context`);
  }
  if (name === 'ping') {
    if (args.length > 2) return new ErrorReply("ERR wrong number of arguments for 'ping' command");
    return ['pong', args.length === 2 ? args[1] : ''];
  }
  return undefined;
}

/** Several confirmations answer one command: they go out as one run of bytes, in the client's protocol. */
function confirmations(ctx: CommandContext, replies: Reply[]): Reply {
  if (replies.length === 1) return replies[0];
  return new RawPushReply(Buffer.concat(replies.map((r) => encodeReply(r, ctx.client.protocol))));
}

/**
 * The one slot of shard channels, checked to be served here: CROSSSLOT when
 * they differ (Redis Cluster's rule), MOVED (never forwarded: a subscription
 * lives on this connection) when another store leads it.
 */
function shardSlot(ctx: CommandContext, channels: Buffer[]): number {
  const slot = keySlot(channels[0]);
  for (const c of channels) if (keySlot(c) !== slot) throw new CommandError("CROSSSLOT Keys in request don't hash to the same slot");
  hubOf(ctx).remote?.checkSlot(slot, ctx.client, false);
  return slot;
}

function subscribe(kind: SubscriptionKind): CommandHandler {
  return (ctx, args) => {
    const hub = hubOf(ctx);
    const names = args.slice(1);
    if (kind === 'shard') {
      try {
        shardSlot(ctx, names);
      } catch (e) {
        if (e instanceof RedirectError) return new ErrorReply(`MOVED ${e.slot} ${e.clientAddr}`);
        throw e;
      }
    }
    return confirmations(ctx, hub.subscribe(ctx.client, kind, names));
  };
}

function unsubscribe(kind: SubscriptionKind): CommandHandler {
  return (ctx, args) => confirmations(ctx, hubOf(ctx).unsubscribe(ctx.client, kind, args.slice(1)));
}

const publish: CommandHandler = (ctx, [, channel, message]) => hubOf(ctx).publish(channel, message, false, keySlot(channel));

/**
 * SPUBLISH: sent from here to the stores holding the slot's region (where
 * shard subscribers can be); MOVED instead on a `--redirect moved` store
 * that does not lead the slot, as for keys.
 */
const spublish: CommandHandler = (ctx, [, channel, message]) => {
  const hub = hubOf(ctx);
  const slot = keySlot(channel);
  hub.remote?.checkPublish(slot, ctx.client);
  return hub.publish(channel, message, true, slot);
};

function channels(sharded: boolean): CommandHandler {
  return async (ctx, args) => {
    if (args.length > 3) throw new CommandError(`ERR unknown subcommand or wrong number of arguments for '${args[1].toString()}'. Try PUBSUB HELP.`);
    const view = await hubOf(ctx).clusterView({ sharded, pattern: args[2], names: [] });
    return view.channels;
  };
}

function numsub(sharded: boolean): CommandHandler {
  return async (ctx, args) => {
    const names = args.slice(2);
    const view = await hubOf(ctx).clusterView({ sharded, names });
    return names.flatMap((n, i) => [n, view.counts[i]]);
  };
}

const numpat: CommandHandler = async (ctx) => (await hubOf(ctx).clusterView({ sharded: false, names: [] })).patterns.length;

const PUBSUB_HELP = [
  'CHANNELS [<pattern>]',
  "    Return the currently active channels matching a <pattern> (default: '*').",
  'NUMPAT',
  '    Return number of subscriptions to patterns.',
  'NUMSUB [<channel> ...]',
  '    Return the number of subscribers for the specified channels, excluding',
  '    pattern subscriptions(default: no channels).',
  'SHARDCHANNELS [<pattern>]',
  "    Return the currently active shard level channels matching a <pattern> (default: '*').",
  'SHARDNUMSUB [<shardchannel> ...]',
  '    Return the number of subscribers for the specified shard level channel(s)',
];

const SUB_FLAGS = ['pubsub', 'noscript', 'loading', 'stale'] as Spec['flags'];

export const PUBSUB_COMMANDS: Spec[] = [
  { ...PUBSUB, name: 'subscribe', arity: -2, flags: SUB_FLAGS, since: '2.0.0', summary: 'Listens for messages published to channels.', complexity: 'O(N) where N is the number of channels to subscribe to.', handler: subscribe('channel') },
  { ...PUBSUB, name: 'unsubscribe', arity: -1, flags: SUB_FLAGS, since: '2.0.0', summary: 'Stops listening to messages posted to channels.', complexity: 'O(N) where N is the number of clients already subscribed to a channel.', handler: unsubscribe('channel') },
  { ...PUBSUB, name: 'psubscribe', arity: -2, flags: SUB_FLAGS, since: '2.0.0', summary: 'Listens for messages published to channels that match one or more patterns.', complexity: 'O(N) where N is the number of patterns to subscribe to.', handler: subscribe('pattern') },
  { ...PUBSUB, name: 'punsubscribe', arity: -1, flags: SUB_FLAGS, since: '2.0.0', summary: 'Stops listening to messages published to channels that match one or more patterns.', complexity: 'O(N) where N is the number of patterns to unsubscribe.', handler: unsubscribe('pattern') },
  { ...PUBSUB, name: 'ssubscribe', arity: -2, flags: SUB_FLAGS, keys: [1, -1, 1], since: '7.0.0', summary: 'Listens for messages published to shard channels.', complexity: 'O(N) where N is the number of shard channels to subscribe to.', handler: subscribe('shard') },
  { ...PUBSUB, name: 'sunsubscribe', arity: -1, flags: SUB_FLAGS, keys: [1, -1, 1], since: '7.0.0', summary: 'Stops listening to messages posted to shard channels.', complexity: 'O(N) where N is the number of shard channels to unsubscribe.', handler: unsubscribe('shard') },
  { ...PUBSUB, name: 'publish', arity: 3, flags: ['pubsub', 'loading', 'stale', 'fast', 'may_replicate'], since: '2.0.0', summary: 'Posts a message to a channel.', complexity: 'O(N+M) where N is the number of clients subscribed to the receiving channel and M is the total number of subscribed patterns (by any client).', handler: publish },
  { ...PUBSUB, name: 'spublish', arity: 3, flags: ['pubsub', 'loading', 'stale', 'fast', 'may_replicate'], keys: [1, 1, 1], since: '7.0.0', summary: 'Post a message to a shard channel', complexity: 'O(N) where N is the number of clients subscribed to the receiving shard channel.', handler: spublish },
  {
    ...PUBSUB,
    name: 'pubsub',
    arity: -2,
    flags: [],
    since: '2.8.0',
    summary: 'A container for Pub/Sub commands.',
    complexity: 'Depends on subcommand.',
    subcommands: [
      { ...PUBSUB, name: 'channels', arity: -2, flags: ['pubsub', 'loading', 'stale'], since: '2.8.0', summary: 'Returns the active channels.', complexity: 'O(N) where N is the number of active channels, and assuming constant time pattern matching (relatively short channels and patterns)', handler: channels(false) },
      { ...PUBSUB, name: 'numsub', arity: -2, flags: ['pubsub', 'loading', 'stale'], since: '2.8.0', summary: 'Returns a count of subscribers to channels.', complexity: 'O(N) for the NUMSUB subcommand, where N is the number of requested channels', handler: numsub(false) },
      { ...PUBSUB, name: 'numpat', arity: 2, flags: ['pubsub', 'loading', 'stale'], since: '2.8.0', summary: 'Returns a count of unique pattern subscriptions.', complexity: 'O(1)', handler: numpat },
      { ...PUBSUB, name: 'shardchannels', arity: -2, flags: ['pubsub', 'loading', 'stale'], since: '7.0.0', summary: 'Returns the active shard channels.', complexity: 'O(N) where N is the number of active shard channels, and assuming constant time pattern matching (relatively short shard channels).', handler: channels(true) },
      { ...PUBSUB, name: 'shardnumsub', arity: -2, flags: ['pubsub', 'loading', 'stale'], since: '7.0.0', summary: 'Returns the count of subscribers of shard channels.', complexity: 'O(N) for the SHARDNUMSUB subcommand, where N is the number of requested shard channels', handler: numsub(true) },
      { ...PUBSUB, name: 'help', arity: 2, flags: ['loading', 'stale'], since: '6.2.0', summary: 'Returns helpful text about the different subcommands.', complexity: 'O(1)', handler: () => helpReply('pubsub', PUBSUB_HELP) },
    ],
  },
];
