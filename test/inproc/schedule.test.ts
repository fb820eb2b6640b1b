// In process: 20 s of a seeded random schedule — message drops, a store or
// a meta cut off, a random partition of all nodes in two, heals, leader
// transfers, splits and replica moves — while clients of every kind (plain,
// READONLY, cluster) run the fault suite's workload (every kind of key:
// chaos/key-kinds.ts, FULL_MIX). Then everything
// heals: the history must be linearizable (test/chaos/checker.ts), no
// acknowledged write lost, every operator finished, and every region's
// replicas equal.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InprocCluster, Schedule, harnessSeed } from '../support/inproc';
import { waitFor } from '../support';
import { Workload } from '../chaos/workload';
import { FULL_MIX } from '../chaos/key-kinds';
import { checkHistory, explain, lostWrites } from '../chaos/checker';
import type { ChaosNode } from '../chaos/cluster';

const SECONDS = Number(process.env.HARNESS_SECONDS ?? 20);
/** Meta replicas: with 3, cutting off the meta leader moves the meta's leadership mid-schedule. */
const METAS = Number(process.env.HARNESS_METAS ?? 3);

test('inproc schedule: 20 s of seeded drops, partitions, transfers, splits and moves stay linearizable', { timeout: 300_000 }, async (t) => {
  const { rnd, stream } = harnessSeed(t, 'inproc/schedule');
  const c = await InprocCluster.start(t, { stores: 4, metas: METAS, raftLogGcThreshold: 500 });
  const lines: string[] = [];
  const log = (l: string) => lines.push(l);
  const workload = new Workload({
    stores: c.stores.map((s) => ({ name: s.name, host: '127.0.0.1', port: s.port }) as ChaosNode),
    clients: 8,
    registers: 6,
    counters: 6,
    ...FULL_MIX,
    opTimeoutMs: 3000,
    rnd: stream(2),
    log,
  });
  workload.start();
  t.after(() => workload.stop());

  const schedule = new Schedule(c, { rnd, dropRnd: stream(1), seconds: SECONDS, log });
  await schedule.run();
  // A loaded machine answers fewer operations: the workload runs on (healed) until the history has enough of them.
  await waitFor(() => workload.history.counts().ok >= 300, { timeoutMs: 60_000, what: '300 operations answered' });
  await workload.stop();
  await c.waitNoRunningOperators(90_000);

  // The durability check: every key read once more, after healing.
  await workload.finalReads(c.stores.map((s) => ({ host: '127.0.0.1', port: s.port })));
  const h = workload.history;
  const check = checkHistory(h.ops);
  const lost = lostWrites(h.ops);
  const counts = h.counts();
  const operators = (await c.metaLeader()).sm.operatorList().map((o) => `${o.id}:${o.kind}:${o.state}`);
  for (const l of lines.filter((x) => /^\+/.test(x))) t.diagnostic(l);
  t.diagnostic(`ops=${counts.ops} ok=${counts.ok} fail=${counts.fail} info=${counts.info} regions=${c.regions().length} operators=${operators.join(',')} dropped-frames=${c.net.counters.dropped}`);
  assert.ok(check.linearizable, `not linearizable:\n${explain(check)}`);
  assert.deepEqual(lost.map((l) => l.reason), []);
  await c.expectAllReplicasEqual(60_000);
});
