// Issue 4, "what it must show" #3: a store down while enough writes happen to
// compact the Raft log catches up through a snapshot after its restart, and
// then every replica's data is byte for byte the same (REGION DIGEST at one
// applied index).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { respMany, RespError, waitFor, withCluster, type Node } from '../support';

async function pipeline(s: Node, cmds: (string | number)[][], chunk = 200): Promise<void> {
  for (let i = 0; i < cmds.length; i += chunk) {
    const part = cmds.slice(i, i + chunk);
    const replies = await respMany(s.port, part, { timeoutMs: 30_000 });
    const bad = replies.findIndex((r) => r instanceof RespError);
    assert.equal(bad, -1, `${JSON.stringify(part[bad])} through ${s.name}: ${String(replies[bad])}`);
  }
}

test('a store down during many writes catches up by snapshot; replicas match byte for byte', { timeout: 150_000 }, async (t) => {
  const c = await withCluster(t, { storeArgs: ['--raft-log-gc-threshold', '200'] });
  const leader = await c.leaderStore();
  const [region] = await c.regionList(leader);
  assert.equal(region.role, 'leader', `CLUSTER SLOTS names ${leader.name} master; its REGION LIST says ${region.line}`);
  const victim = c.stores.find((s) => s !== leader)!;
  const survivor = c.stores.find((s) => s !== leader && s !== victim)!;

  // Some data while everyone is up.
  await pipeline(leader, Array.from({ length: 300 }, (_, i) => ['SET', `before:${i}`, `b${i}`]));

  await victim.kill9();
  const snapshotsBefore = (victim.log().match(/snapshot installed/g) ?? []).length;

  // Enough writes to compact the log well past the victim's position, through both live stores, of several kinds.
  const cmds: (string | number)[][] = [];
  for (let i = 0; i < 2500; i++) cmds.push(['SET', `k:${i}`, `value-${i}-${'x'.repeat(i % 50)}`]);
  for (let i = 0; i < 200; i++) cmds.push(['HSET', `h:${i % 20}`, `f${i}`, `${i}`]);
  for (let i = 0; i < 200; i++) cmds.push(['INCRBY', `n:${i % 10}`, i]);
  for (let i = 0; i < 300; i += 3) cmds.push(['DEL', `k:${i}`]);
  for (let i = 0; i < 100; i++) cmds.push(['APPEND', `before:${i}`, '-more']);
  for (let i = 0; i < 50; i++) cmds.push(['EXPIRE', `k:${1000 + i}`, 100000]);
  await pipeline(leader, cmds.slice(0, cmds.length / 2));
  await pipeline(survivor, cmds.slice(cmds.length / 2));
  const leaderRegion = (await c.regionList(leader))[0];

  victim.start();
  await victim.ready();
  await waitFor(() => (victim.log().match(/snapshot installed/g) ?? []).length > snapshotsBefore, {
    timeoutMs: 30_000,
    what: `${victim.name} to log "snapshot installed" after its restart (leader at ${leaderRegion.line})`,
    proc: victim.proc,
  });

  const digests = await c.convergedDigests(region.id);
  process.stdout.write(`# digests of region ${region.id}: ${JSON.stringify(digests)}\n`);
  for (const d of digests) assert.equal(d.sha1, digests[0].sha1, `replica digests differ at applied index ${d.applied}: ${JSON.stringify(digests)}`);
  assert.notEqual(digests[0].sha1, 'da39a3ee5e6b4b0d3255bfef95601890afd80709', 'the digest covers data (not the empty string)');

  // The restarted replica serves the data itself (READONLY: linearizable follower reads).
  const [, ...vals] = await respMany(victim.port, [['READONLY'], ['GET', 'k:2499'], ['GET', 'k:0'], ['HGET', 'h:3', 'f23'], ['GET', 'n:0'], ['GET', 'before:1']]);
  assert.deepEqual(vals, [`value-2499-${'x'.repeat(2499 % 50)}`, null, '23', String([0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110, 120, 130, 140, 150, 160, 170, 180, 190].reduce((a, b) => a + b)), 'b1-more']);

  // One more round of writes: the replicas still agree.
  await pipeline(victim, Array.from({ length: 100 }, (_, i) => ['SET', `after:${i}`, `${i}`]));
  const again = await c.convergedDigests(region.id);
  for (const d of again) assert.equal(d.sha1, again[0].sha1, `replica digests differ after more writes: ${JSON.stringify(again)}`);
});
