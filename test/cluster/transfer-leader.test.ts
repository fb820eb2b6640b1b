// REGION TRANSFER-LEADER id storeId on the leader's store hands leadership to
// the region's replica on that store; bad arguments get clear errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RespError, waitFor, withCluster } from '../support';

test('REGION TRANSFER-LEADER moves a region leader; errors are clear', { timeout: 120_000 }, async (t) => {
  const c = await withCluster(t);
  const leader = await c.leaderStore();
  const [region] = await c.regionList(leader);
  const storeIdOf = async (s: typeof leader): Promise<number> => {
    const line = (await c.regionList(s))[0].line;
    const peers = /peers=(\S+)/.exec(line)![1].split(',');
    const leaderPeer = /leader_peer=(\d+)/.exec(line)![1];
    return Number(peers.find((p) => p.startsWith(`${leaderPeer}@`))!.split('@')[1]);
  };
  const before = await storeIdOf(leader);
  const target = [1, 2, 3].find((x) => x !== before)!;
  assert.equal(await leader.call('REGION', 'TRANSFER-LEADER', String(region.id), String(target)), 'OK');
  await waitFor(async () => (await storeIdOf(leader)) === target, { timeoutMs: 10_000, what: `leadership on store ${target}` });
  assert.equal(await c.stores[0].call('SET', 'after-transfer', '1'), 'OK');
  const notLeader = await leader.call('REGION', 'TRANSFER-LEADER', String(region.id), String(before));
  assert.ok(notLeader instanceof RespError && /does not lead/.test(notLeader.message), String(notLeader));
  const bad = await leader.call('REGION', 'TRANSFER-LEADER', 'x', '1');
  assert.ok(bad instanceof RespError && /region id must be a positive integer/.test(bad.message));
  const noRegion = await leader.call('REGION', 'TRANSFER-LEADER', '999999', '1');
  assert.ok(noRegion instanceof RespError && /no replica of region 999999/.test(noRegion.message));
});
