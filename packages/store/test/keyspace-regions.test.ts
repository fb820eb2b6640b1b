// KEYS, SCAN, DBSIZE, RANDOMKEY and FLUSHDB over a node serving several
// regions (and not serving others): each region is read on its own, SCAN
// walks them in slot order, FLUSHDB proposes one FlushOp per region with its
// own slot range.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryEngine, OK, OverlayBatch, keySlot, pb } from '@redraft/common';
import type { Reply } from '@redraft/common';
import { KEYSPACE_COMMANDS } from '../src/commands/keyspace';
import { Keyspace } from '../src/data/keyspace';
import { apply } from '../src/apply/apply';
import type { CommandContext, ServerFacade } from '../src/commands/context';
import { testClient } from './harness';

type Op = Omit<pb.WriteCommand.$Properties, 'proposedAtMs'>;

async function node(regions: Array<{ id: number; startSlot: number; endSlot: number }>) {
  const engine = new MemoryEngine();
  let index = 0;
  const proposed: Array<{ regionId: number; op: Op }> = [];
  const run = async (op: Op): Promise<Reply> => {
    const batch = new OverlayBatch(engine);
    const reply = await apply({ index: ++index, data: pb.WriteCommand.encode({ ...op, proposedAtMs: Date.now() }).finish() }, batch);
    await engine.write(batch.batch);
    return reply;
  };
  const server = {
    regions: () => regions,
    readRegion: async () => new Keyspace(engine, Date.now()),
    writeRegion: (regionId: number, op: Op) => {
      proposed.push({ regionId, op });
      return run(op);
    },
  } as unknown as ServerFacade;
  const ctx: CommandContext = {
    client: testClient(),
    now: Date.now(),
    server,
    random: Math.random,
    runCommand: async () => null,
    read: async () => new Keyspace(engine, Date.now()),
    write: (_keys, op) => run(op),
  };
  const exec = (...args: Array<string | number>): Promise<Reply> => {
    const name = String(args[0]).toLowerCase();
    const spec = KEYSPACE_COMMANDS.find((s) => s.name === name)!;
    return Promise.resolve(spec.handler!(ctx, args.map((a) => Buffer.from(String(a)))));
  };
  return { exec, run, proposed };
}

test('several regions: SCAN in slot order, DBSIZE, KEYS; slots of other nodes are not listed', async () => {
  // This node serves [0, 5000) and [9000, 16384) as two regions; [5000, 9000) lives elsewhere
  // (its rows would not be in this engine; we put some there to check they are not listed).
  const n = await node([
    { id: 7, startSlot: 9000, endSlot: 16384 },
    { id: 3, startSlot: 0, endSlot: 5000 },
  ]);
  const keys: string[] = [];
  for (let i = 0; i < 200; i++) keys.push(`k${i}`);
  for (const k of keys) await n.run({ set: { key: Buffer.from(k), value: Buffer.from('v') } });
  const served = keys.filter((k) => keySlot(Buffer.from(k)) < 5000 || keySlot(Buffer.from(k)) >= 9000);
  assert.ok(served.length > 0 && served.length < keys.length);
  assert.equal(await n.exec('dbsize'), served.length);
  const listed = ((await n.exec('keys', '*')) as Buffer[]).map(String);
  assert.deepEqual(listed.sort(), served.slice().sort());
  const scanned: string[] = [];
  const slots: number[] = [];
  let cursor = '0';
  do {
    const [next, page] = (await n.exec('scan', cursor, 'COUNT', 3)) as [string, Buffer[]];
    cursor = next;
    for (const k of page) {
      scanned.push(String(k));
      slots.push(keySlot(k));
    }
  } while (cursor !== '0');
  assert.deepEqual(scanned.slice().sort(), served.slice().sort());
  assert.deepEqual(slots, slots.slice().sort((a, b) => a - b), 'slot order across regions');
  const r = String(await n.exec('randomkey'));
  assert.ok(served.includes(r));
});

test('FLUSHDB proposes one FlushOp per region, each with its own slots', async () => {
  const n = await node([
    { id: 1, startSlot: 0, endSlot: 8192 },
    { id: 2, startSlot: 8192, endSlot: 16384 },
  ]);
  for (let i = 0; i < 50; i++) await n.run({ set: { key: Buffer.from(`k${i}`), value: Buffer.from('v') } });
  assert.equal(await n.exec('flushdb'), OK);
  assert.deepEqual(
    n.proposed.map((p) => [p.regionId, p.op.flush?.startSlot, p.op.flush?.endSlot]),
    [
      [1, 0, 8192],
      [2, 8192, 16384],
    ],
  );
  assert.equal(await n.exec('dbsize'), 0);
});
