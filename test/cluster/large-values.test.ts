// Size limits end to end (real stores, real RocksDB, raw RESP clients): a
// write larger than the largest replicated entry is refused with an error
// naming the limit, whichever store it enters by, and the region keeps
// serving; values of several MB, and one grown by APPEND past both the entry
// limit and the snapshot chunk size, reach a store that was down through a
// streamed snapshot; the replicas then match byte for byte.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ENTRY_TOO_LARGE, MAX_ENTRY_BYTES } from '@redraft/common';
import { respMany, RespError, waitFor, withCluster } from '../support';

/**
 * One command, sent again while it answers TRYAGAIN (not applied: an
 * election under way, which multi-MB entries on a loaded 2-core machine can
 * bring about); its first other reply.
 */
async function untilApplied(port: number, cmd: (string | number)[]): Promise<unknown> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const [r] = await respMany(port, [cmd], { timeoutMs: 60_000 });
    if (!(r instanceof RespError && r.message.startsWith('TRYAGAIN')) || Date.now() > deadline) return r;
    await new Promise((res) => setTimeout(res, 100));
  }
}

test('an over-large write is refused naming the limit; big values catch up by snapshot', { timeout: 240_000 }, async (t) => {
  const c = await withCluster(t, { storeArgs: ['--raft-log-gc-threshold', '20'] });
  const leader = await c.leaderStore();
  const [region] = await c.regionList(leader);
  const victim = c.stores.find((s) => s !== leader)!;
  const other = c.stores.find((s) => s !== leader && s !== victim)!;

  // Refused before proposing: through the leader, and through a follower that forwards it.
  const tooBig = 'x'.repeat(MAX_ENTRY_BYTES + 1);
  for (const via of [leader, other]) {
    const refused = await untilApplied(via.port, ['SET', 'too-big', tooBig]);
    assert.ok(refused instanceof RespError, `${via.name}: ${String(refused)}`);
    assert.equal(refused.message, ENTRY_TOO_LARGE);
    assert.equal(await untilApplied(via.port, ['SET', 'small', via.name]), 'OK', `${via.name}: the region keeps serving`);
  }
  assert.equal((await respMany(leader.port, [['EXISTS', 'too-big']]))[0], 0, 'the refused write was not applied');

  await victim.kill9();
  const installedBefore = (victim.log().match(/snapshot installed/g) ?? []).length;
  // Values of 3 MB, and one grown to 40 MB by APPENDs of 20 MB (each under the entry limit).
  for (let i = 0; i < 8; i++) {
    assert.equal(await untilApplied(other.port, ['SET', `big:${i}`, String.fromCharCode(97 + i).repeat(3_000_000)]), 'OK');
  }
  for (let i = 0; i < 2; i++) {
    assert.equal(await untilApplied(other.port, ['APPEND', 'grown', String(i).repeat(20_000_000)]), (i + 1) * 20_000_000);
  }
  // Enough small writes to compact the log past the victim's position.
  for (let i = 0; i < 60; i++) assert.equal(await untilApplied(other.port, ['SET', `small:${i}`, String(i)]), 'OK');

  victim.start();
  await victim.ready();
  await waitFor(() => (victim.log().match(/snapshot installed/g) ?? []).length > installedBefore, {
    timeoutMs: 90_000,
    what: `${victim.name} to log "snapshot installed"`,
    proc: victim.proc,
  });
  const digests = await c.convergedDigests(region.id, 90_000);
  for (const d of digests) assert.equal(d.sha1, digests[0].sha1, `replica digests differ: ${JSON.stringify(digests)}`);
  const [, len, big] = await respMany(victim.port, [['READONLY'], ['STRLEN', 'grown'], ['STRLEN', 'big:7']], { timeoutMs: 30_000 });
  assert.deepEqual([len, big], [40_000_000, 3_000_000]);
});
