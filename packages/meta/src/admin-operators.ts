// Admin commands that create, show and cancel operators (docs/meta.md,
// "Operators"): REGION SPLIT, REGION TRANSFER-LEADER, REGION MOVE, REGION MERGE, OPERATOR LIST|SHOW|CANCEL.
// They run on the meta leader (a follower forwards them, see admin.ts).
import { ErrorReply, MapReply, OK, pb } from '@redraft/common';
import type { CommandSpec, Reply } from '@redraft/common';
import { text, type AdminContext } from './admin';
import type { MetaNode } from './node';
import { creatorName, describeStep, kindName, stateName, type OperatorRec } from './operators';
import { MetaError } from './state';
import { SCHEDULERS, SETTINGS, type SchedulerName } from './config';

type Spec = CommandSpec<AdminContext>;

/** Full names of the commands here: all of them run on the leader only. */
export const OPERATOR_COMMANDS = [
  'region|split',
  'region|transfer-leader',
  'region|move',
  'region|merge',
  'store|remove',
  'operator|list',
  'operator|show',
  'operator|cancel',
  'config|get',
  'config|set',
  'scheduler|list',
  'scheduler|enable',
  'scheduler|disable',
];

/** Redis-style glob (only * and ?) as a RegExp. */
function globRegExp(pattern: string): RegExp {
  const esc = pattern.toLowerCase().replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${esc}$`);
}

async function setSetting(meta: MetaNode, name: string, value: string): Promise<Reply> {
  const r = await meta.propose({ setConfig: { name, value } });
  if (r.kind === 'error') throw r.error;
  return OK;
}

function schedulerArg(b: Buffer): SchedulerName {
  const name = b.toString().toLowerCase();
  if (!(name in SCHEDULERS)) throw new ErrorReply(`ERR unknown scheduler '${name.slice(0, 64)}' (known: ${Object.keys(SCHEDULERS).join(', ')})`);
  return name as SchedulerName;
}

/** A positive integer argument, or a Redis-style error naming it. */
function idArg(b: Buffer, what: string): number {
  const s = b.toString();
  if (!/^\d+$/.test(s) || !Number.isSafeInteger(Number(s)) || Number(s) < 1) throw new ErrorReply(`ERR ${what} must be a positive integer, got '${s.slice(0, 64)}'`);
  return Number(s);
}

function resultOperator(r: Awaited<ReturnType<MetaNode['propose']>>): OperatorRec {
  if (r.kind === 'error') throw r.error;
  if (r.kind !== 'operator') throw new Error(`INTERNAL expected an operator, got ${r.kind}`);
  return r.operator;
}

/** A one-line summary: `id= region= kind= state= ...`. */
export function operatorLine(o: OperatorRec, nowMs: number): string {
  return [
    `id=${o.id}`,
    `region=${o.regionId}`,
    `kind=${kindName(o.kind)}`,
    `creator=${creatorName(o.creator)}`,
    `state=${stateName(o.state)}`,
    `step=${Math.min(o.step + 1, o.steps.length)}/${o.steps.length}`,
    `age_ms=${Math.max(0, (o.endMs || nowMs) - o.startMs)}`,
    `timeout_ms=${o.timeoutMs}`,
    `reason=${JSON.stringify(o.reason)}`,
  ].join(' ');
}

export function operatorMap(o: OperatorRec, nowMs: number): Reply {
  return new MapReply([
    ['id', o.id],
    ['region_id', o.regionId],
    ['kind', kindName(o.kind)],
    ['creator', creatorName(o.creator)],
    ['state', stateName(o.state)],
    ['step', o.step],
    ['steps', o.steps.map(describeStep)],
    ['start_ms', o.startMs],
    ['end_ms', o.endMs],
    ['age_ms', Math.max(0, (o.endMs || nowMs) - o.startMs)],
    ['timeout_ms', o.timeoutMs],
    ['reason', o.reason],
    ['region_epoch', `${o.regionEpoch.version}/${o.regionEpoch.confVer}`],
  ]);
}

/** Creates an operator, then nudges its first step to the region's leader store. */
export async function createAndNudge(meta: MetaNode, create: pb.CreateOperator.$Properties): Promise<OperatorRec> {
  await meta.readBarrier();
  const op = resultOperator(await meta.propose({ createOperator: create }));
  if (op.state !== pb.OperatorState.OP_RUNNING || op.step >= op.steps.length) return op;
  try {
    await meta.nudge(op.steps[op.step]);
  } catch (e) {
    const msg = (e as Error).message;
    // The store refused the step for good (a transfer to a replica that is not caught up): the operator ends here.
    const refusal = /^(NOT_CAUGHT_UP|REFUSED)\b/.exec(msg);
    if (refusal) {
      await meta.propose({ finishOperator: { operatorId: op.id, state: pb.OperatorState.OP_CANCELLED, reason: msg } }).catch(() => undefined);
      throw new MetaError(refusal[1], msg.slice(refusal[1].length).trim() + ` (operator ${op.id} cancelled)`);
    }
    // Not reachable now: the next heartbeat of the leader's store carries the step.
  }
  return op;
}

export function operatorSpecs(): { region: Spec[]; store: Spec[]; top: Spec[] } {
  const store: Spec[] = [
    {
      name: 'remove',
      arity: 3,
      flags: ['admin'],
      group: 'meta',
      summary: 'Drains a store: its replicas move to other stores, then it is removed for good (refused if it comes back).',
      since: '0.1.0',
      handler: async (ctx, args) => {
        const storeId = idArg(args[2], 'store id');
        await ctx.meta.readBarrier();
        const sm = ctx.meta.sm;
        const s = sm.store(storeId);
        if (!s) return new ErrorReply(`STORE_UNKNOWN store ${storeId} is not registered`);
        // Refused when the others could not hold every region's replicas.
        const others = sm.storeList().filter((x) => x.id !== storeId && x.state === pb.StoreState.UP && !x.draining).length;
        if (s.state !== pb.StoreState.TOMBSTONE && sm.replicaCount(storeId) > 0 && others < ctx.meta.replicaTarget) {
          return new ErrorReply(`ERR only ${others} other stores are up; regions need ${ctx.meta.replicaTarget} replicas`);
        }
        const r = await ctx.meta.propose({ removeStore: { storeId } });
        if (r.kind === 'error') throw r.error;
        return OK;
      },
    },
  ];
  const region: Spec[] = [
    {
      name: 'split',
      arity: -3,
      flags: ['admin'],
      group: 'meta',
      summary: 'Splits a region at a slot (default: the middle of its slots); the new region takes [slot, end). Replies the operator id.',
      since: '0.1.0',
      handler: async (ctx, args) => {
        if (args.length > 4) return new ErrorReply("ERR wrong number of arguments for 'region|split' command");
        const regionId = idArg(args[2], 'region id');
        await ctx.meta.readBarrier();
        const r = ctx.meta.sm.region(regionId);
        if (!r) return new ErrorReply(`NO_REGION region ${regionId} is not in the map`);
        const { startSlot, endSlot } = r.region;
        let slot: number;
        if (args.length === 4) {
          const s = args[3].toString();
          if (!/^\d+$/.test(s) || Number(s) > 16383) return new ErrorReply(`ERR slot must be an integer in 0-16383, got '${s.slice(0, 64)}'`);
          slot = Number(s);
        } else {
          if (endSlot - startSlot < 2) return new ErrorReply(`ERR region ${regionId} holds a single slot (${startSlot}); it cannot be split`);
          slot = Math.floor((startSlot + endSlot) / 2);
        }
        const op = await createAndNudge(ctx.meta, { regionId, kind: pb.OperatorKind.OP_SPLIT, creator: pb.OperatorCreator.BY_SCRIPT, splitSlot: slot });
        return op.id;
      },
    },
    {
      name: 'transfer-leader',
      arity: 4,
      flags: ['admin'],
      group: 'meta',
      summary: 'Moves the leader of a region to its voter on a store (refused if that voter is not caught up). Replies the operator id.',
      since: '0.1.0',
      handler: async (ctx, args) => {
        const regionId = idArg(args[2], 'region id');
        const storeId = idArg(args[3], 'store id');
        const op = await createAndNudge(ctx.meta, { regionId, kind: pb.OperatorKind.OP_TRANSFER_LEADER, creator: pb.OperatorCreator.BY_SCRIPT, transferToStore: storeId });
        return op.id;
      },
    },
    {
      name: 'move',
      arity: 5,
      flags: ['admin'],
      group: 'meta',
      summary: "Moves a region's replica from one store to another (add learner, promote, remove the old one). Replies the operator id.",
      since: '0.1.0',
      handler: async (ctx, args) => {
        const regionId = idArg(args[2], 'region id');
        const fromStore = idArg(args[3], 'source store id');
        const toStore = idArg(args[4], 'target store id');
        const op = await createAndNudge(ctx.meta, { regionId, kind: pb.OperatorKind.OP_MOVE_REGION, creator: pb.OperatorCreator.BY_SCRIPT, fromStore, toStore });
        return op.id;
      },
    },
    {
      name: 'merge',
      arity: -3,
      flags: ['admin'],
      group: 'meta',
      summary: 'Merges a region into an adjacent region on the same stores (the one after it, else the one before, or the one named). Replies the operator id.',
      since: '0.1.0',
      handler: async (ctx, args) => {
        if (args.length > 4) throw new ErrorReply('ERR syntax error: REGION MERGE region-id [target-region-id]');
        const regionId = idArg(args[2], 'region id');
        const mergeTarget = args.length === 4 ? idArg(args[3], 'target region id') : 0;
        const op = await createAndNudge(ctx.meta, { regionId, kind: pb.OperatorKind.OP_MERGE, creator: pb.OperatorCreator.BY_SCRIPT, mergeTarget });
        return op.id;
      },
    },
  ];
  const top: Spec[] = [
    {
      name: 'operator',
      arity: -2,
      flags: ['admin'],
      group: 'meta',
      summary: 'Operator commands.',
      since: '0.1.0',
      subcommands: [
        {
          name: 'list',
          arity: 2,
          flags: ['admin'],
          group: 'meta',
          summary: 'One line per operator (running and recently finished), oldest first.',
          since: '0.1.0',
          handler: async (ctx) => {
            await ctx.meta.readBarrier();
            const now = Math.max(Date.now(), ctx.meta.sm.clock);
            const s = ctx.meta.sm.operatorList().map((o) => operatorLine(o, now) + '\n').join('');
            return text(ctx, s);
          },
        },
        {
          name: 'show',
          arity: 3,
          flags: ['admin'],
          group: 'meta',
          summary: 'One operator as a map (nil if unknown).',
          since: '0.1.0',
          handler: async (ctx, args) => {
            const id = idArg(args[2], 'operator id');
            await ctx.meta.readBarrier();
            const o = ctx.meta.sm.operator(id);
            return o ? operatorMap(o, Math.max(Date.now(), ctx.meta.sm.clock)) : null;
          },
        },
        {
          name: 'cancel',
          arity: 3,
          flags: ['admin'],
          group: 'meta',
          summary: 'Cancels a running operator (a step the store already proposed may still take effect).',
          since: '0.1.0',
          handler: async (ctx, args) => {
            const id = idArg(args[2], 'operator id');
            const r = await ctx.meta.propose({ finishOperator: { operatorId: id, state: pb.OperatorState.OP_CANCELLED, reason: 'cancelled by OPERATOR CANCEL' } });
            if (r.kind === 'error') throw r.error;
            // A merge cancelled in its prepare: unfreeze the source now rather than at its next heartbeat.
            for (const step of ctx.meta.sm.rollbackSteps()) if (Number(step.operatorId) === id) await ctx.meta.nudge(step).catch(() => undefined);
            return OK;
          },
        },
      ],
    },
    {
      name: 'config',
      arity: -2,
      flags: ['admin'],
      group: 'meta',
      summary: 'The scheduling settings (replicated in the meta group).',
      since: '0.1.0',
      subcommands: [
        {
          name: 'get',
          arity: -3,
          flags: ['admin'],
          group: 'meta',
          summary: 'Settings matching the glob patterns, as name/value pairs.',
          since: '0.1.0',
          handler: async (ctx, args) => {
            await ctx.meta.readBarrier();
            const res = args.slice(2).map((a) => globRegExp(a.toString()));
            const out: Reply[] = [];
            for (const s of SETTINGS) if (res.some((re) => re.test(s.name))) out.push(s.name, ctx.meta.sm.setting(s.name));
            return out;
          },
        },
        {
          name: 'set',
          arity: -4,
          flags: ['admin'],
          group: 'meta',
          summary: 'Sets name value pairs (checked; all or none).',
          since: '0.1.0',
          handler: async (ctx, args) => {
            if (args.length % 2 !== 0) return new ErrorReply("ERR wrong number of arguments for 'config|set' command");
            const pairs: Array<[string, string]> = [];
            for (let i = 2; i < args.length; i += 2) pairs.push([args[i].toString(), args[i + 1].toString()]);
            // Checked before anything is proposed, so a bad pair changes nothing.
            for (const [n, v] of pairs) {
              const spec = SETTINGS.find((s) => s.name === n.toLowerCase());
              if (!spec) return new ErrorReply(`ERR unknown setting '${n.slice(0, 64)}' (known: ${SETTINGS.map((s) => s.name).join(', ')})`);
              try {
                spec.check(v);
              } catch (e) {
                return new ErrorReply(`ERR ${(e as Error).message.replace(/^INVALID /, '')}`);
              }
            }
            for (const [n, v] of pairs) await setSetting(ctx.meta, n, v);
            return OK;
          },
        },
      ],
    },
    {
      name: 'scheduler',
      arity: -2,
      flags: ['admin'],
      group: 'meta',
      summary: 'The meta\'s schedulers (split-checker, leader-balance).',
      since: '0.1.0',
      subcommands: [
        {
          name: 'list',
          arity: 2,
          flags: ['admin'],
          group: 'meta',
          summary: 'One line per scheduler: name=... state=on|off.',
          since: '0.1.0',
          handler: async (ctx) => {
            await ctx.meta.readBarrier();
            return text(ctx, Object.entries(SCHEDULERS).map(([name, setting]) => `name=${name} state=${ctx.meta.sm.setting(setting)}\n`).join(''));
          },
        },
        {
          name: 'enable',
          arity: 3,
          flags: ['admin'],
          group: 'meta',
          summary: 'Turns a scheduler on.',
          since: '0.1.0',
          handler: (ctx, args) => setSetting(ctx.meta, SCHEDULERS[schedulerArg(args[2])], 'on'),
        },
        {
          name: 'disable',
          arity: 3,
          flags: ['admin'],
          group: 'meta',
          summary: 'Turns a scheduler off.',
          since: '0.1.0',
          handler: (ctx, args) => setSetting(ctx.meta, SCHEDULERS[schedulerArg(args[2])], 'off'),
        },
      ],
    },
  ];
  return { region, store, top };
}
