// The operator scripts against a real cluster: `redraft ctl split-region`,
// `transfer-leader` and `cluster-status` (table and --json), their exit codes
// and messages, and the meta's OPERATOR LIST/SHOW/CANCEL.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RespError, waitFor, withCluster, ctl } from '../support';

test('redraft ctl: split-region, transfer-leader, cluster-status; OPERATOR commands', { timeout: 180_000 }, async (t) => {
  const c = await withCluster(t);
  const meta = c.metas[0].port;
  const status = async () => JSON.parse((await ctl(meta, 'cluster-status', '--json')).stdout) as { state: string; regions: Record<string, string>[]; stores: Record<string, string>[]; operators: Record<string, string>[] };
  // The stores know the leader first; the meta once their heartbeats say so.
  const s0 = await waitFor(async () => {
    const s = await status();
    return s.state === 'ok' ? s : undefined;
  }, { timeoutMs: 15_000, what: 'cluster-status: cluster ok' });
  assert.equal(s0.regions.length, 1);
  const regionId = s0.regions[0].id;

  const split = await ctl(meta, 'split-region', regionId, '5000');
  assert.equal(split.code, 0, split.stderr + split.stdout);
  assert.match(split.stdout, /operator \d+ (running|done)/, 'progress lines (not a TTY)');
  assert.match(split.stdout, /done: split region \d+ at slot 5000/);
  const s1 = await status();
  assert.deepEqual(s1.regions.map((r) => r.slots), ['0-4999', '5000-16383']);

  // Transfer the first region's leader to another store, by script.
  const r0 = s1.regions[0];
  const target = ['1', '2', '3'].find((x) => x !== r0.leader_store)!;
  const tr = await ctl(meta, 'transfer-leader', r0.id, target);
  assert.equal(tr.code, 0, tr.stderr + tr.stdout);
  assert.match(tr.stdout, new RegExp(`done: store ${target} leads region ${r0.id}`));
  await waitFor(async () => (await status()).regions[0].leader_store === target, { timeoutMs: 10_000, what: `store ${target} leading in the map` });

  // Failures: exit 1 with the reason; bad arguments: exit 2.
  const noStore = await ctl(meta, 'transfer-leader', r0.id, '9');
  assert.equal(noStore.code, 1);
  assert.match(noStore.stderr, /no replica on store 9/);
  const badSlot = await ctl(meta, 'split-region', r0.id, '9000');
  assert.equal(badSlot.code, 1);
  assert.match(badSlot.stderr, /not inside region/);
  const usage = await ctl(meta, 'split-region', 'abc');
  assert.equal(usage.code, 2);
  assert.match(usage.stderr, /region id must be a positive integer/);

  // The table.
  const table = await ctl(meta, 'cluster-status');
  assert.equal(table.code, 0);
  assert.match(table.stdout, /cluster ok, view version \d+: 3\/3 stores up, 2 regions, 0 running operators/);
  assert.match(table.stdout, /REGION\s+SLOTS\s+EPOCH\s+LEADER/);
  t.diagnostic('\n' + table.stdout);

  // CLUSTER NODES on the meta: a store leading nothing is a replica of a leader, never a master without slots.
  const nodes = (await c.admin(c.metas[0], 'CLUSTER', 'NODES')).split('\n').filter(Boolean);
  assert.equal(nodes.length, 3);
  for (const line of nodes) {
    const f = line.split(' ');
    if (f[2].startsWith('master')) assert.ok(f.length > 8, `a master with slots: ${line}`);
    else assert.match(f[3], /^[0-9a-f]{40}$/, `a replica names its master: ${line}`);
  }

  // OPERATOR LIST / SHOW / CANCEL on the meta.
  const list = await c.admin(c.metas[0], 'OPERATOR', 'LIST');
  assert.match(list, /kind=split creator=script state=done/);
  assert.match(list, /kind=transfer-leader creator=script state=done/);
  const firstId = /id=(\d+)/.exec(list)![1];
  const cancelDone = await c.metas[0].call('OPERATOR', 'CANCEL', firstId);
  assert.ok(cancelDone instanceof RespError && /NOT_RUNNING operator \d+ is already done/.test(cancelDone.message), String(cancelDone));
  assert.equal(await c.metas[0].call('OPERATOR', 'SHOW', '99999'), null);
  const bad = await c.metas[0].call('OPERATOR', 'SHOW', 'x');
  assert.ok(bad instanceof RespError && /operator id must be a positive integer/.test(bad.message));
});
