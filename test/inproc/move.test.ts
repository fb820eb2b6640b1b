// In process: a replica moves (add learner on the target, snapshot, promote,
// remove the source: REGION MOVE) while clients write and the target store
// is cut off from everyone for a while, from a seeded moment on. The move
// must wait out the partition and finish; then the region lives on the
// target and not on the source, its replicas agree, and every acknowledged
// write reads back.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InprocCluster, harnessSeed } from '../support/inproc';
import { startWriters, waitFor, type Node } from '../support';
import { between, pick } from '../chaos/random';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('inproc move-region: the target store is partitioned during the move', { timeout: 180_000 }, async (t) => {
  const { rnd } = harnessSeed(t, 'inproc/move');
  const c = await InprocCluster.start(t, { stores: 4 });
  const [{ region }] = c.regions();
  const target = c.stores.find((s) => !c.replicaStores(region.id).includes(s))!;
  const leader = await c.waitLeader(region.id);
  // Half the time the leader's own replica moves: it hands leadership over first.
  const source = rnd() < 0.5 ? leader : pick(rnd, c.replicaStores(region.id).filter((s) => s !== leader));
  const writers = startWriters(c.stores as unknown as Node[], 4, 'move');
  t.after(() => writers.stop());
  await sleep(between(rnd, 300, 1000));

  // The cut starts up to 1 s before the move (the learner cannot get its snapshot) or up to 300 ms after it (mid-way).
  const cutAt = between(rnd, -1000, 300);
  const cutFor = between(rnd, 1500, 3000);
  t.diagnostic(`moving region ${region.id} from ${source.name}${source === leader ? ' (its leader)' : ''} to ${target.name}; ${target.name} cut off at ${cutAt} ms for ${cutFor} ms`);
  let heal = () => {};
  let healAt = Infinity;
  if (cutAt < 0) {
    heal = c.net.isolate(target.name);
    healAt = Date.now() + cutFor;
    await sleep(-cutAt);
  }
  const id = Number(await c.admin('REGION', 'MOVE', region.id, source.id, target.id));
  if (cutAt >= 0) {
    await sleep(cutAt);
    heal = c.net.isolate(target.name);
    healAt = Date.now() + cutFor;
  }
  await sleep(Math.max(0, healAt - Date.now()));
  const stateAtHeal = c.operator(id)!;
  heal();
  // Cut off before the move began, the learner never got its snapshot: it must not have been promoted (an empty voter).
  if (cutAt < 0) assert.ok(stateAtHeal.state === 0 && stateAtHeal.step <= 1, `the move went past its promotion with the target cut off: step ${stateAtHeal.step + 1}, state ${stateAtHeal.state}`);
  t.diagnostic(`healed at step ${stateAtHeal.step + 1}/${stateAtHeal.steps.length} of the move (state ${stateAtHeal.state})`);
  const op = await c.operatorEnd(id, 90_000);
  assert.equal(op.state, 1, `the move ended ${op.state} (${op.reason})`); // OP_DONE
  t.diagnostic(`move done in ${op.endMs - op.startMs} ms`);
  // Some writes after the faults too (counted, not timed: a loaded machine writes slowly).
  const want = writers.acks.length + 30;
  await waitFor(() => writers.acks.length >= want, { timeoutMs: 60_000, what: '30 more acknowledged writes' });
  await writers.stop();

  const members = c.replicaStores(region.id);
  assert.ok(members.includes(target) && !members.includes(source), `replicas on ${members.map((s) => s.name)}`);
  await c.expectReplicasEqual(region.id);
  assert.equal(source.hasReplica(region.id), false, `${source.name} still has its replica`);
  const values = await c.readAll(writers.acks.map((a) => a.key));
  const missing = writers.acks.filter((a, i) => values[i] !== a.value);
  assert.deepEqual(missing.slice(0, 5), [], `${missing.length} acknowledged writes not read back`);
  t.diagnostic(`${writers.acks.length} writes acknowledged and read back`);
});
