// A store whose first heartbeat after the bootstrap comes later than the new
// leader's first Raft message (here forced with --heartbeat-ms 3000 on
// store-3; under load it happens by itself, 3 times in ~6 runs of the
// routing test before the harness started the meta first) creates its replica
// "on a message from its leader" with epoch 0/0 and no peers. The leader's
// progress for that peer stays `probe/0/6/paused` and no snapshot is ever
// sent: the replica stays empty for good, the store answers CLUSTER SLOTS
// with nothing, CLUSTER INFO cluster_state:fail, and every command through it
// -TRYAGAIN after 5 s. The region silently runs on two replicas.
// Fixed on main in 931fcd3 (the empty replica answers its leader); this is
// the regression test.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { respMany, withCluster } from '../support';

test(
  'a store whose heartbeat is late at bootstrap still gets its replica (an empty replica created by a leader message gets its snapshot)',
  { timeout: 90_000 },
  async (t) => {
    const c = await withCluster(t, { perStoreArgs: [[], [], ['--heartbeat-ms', '3000']], readyTimeoutMs: 20_000, bootstrapRetries: 0 });
    const late = c.stores[2];
    if (!late.log().includes('created an empty replica')) t.diagnostic(`${late.name} got its create_peer before the leader's first message this time: the path under test was not taken`);
    const [r] = await c.regionList(late);
    assert.match(r.line, /epoch=1\/1 peers=\S+/, `${late.name}'s replica is initialized: ${r.line}`);
    const [ok, , got] = await respMany(late.port, [['SET', 'late', '1'], ['READONLY'], ['GET', 'late']], { timeoutMs: 10_000 });
    assert.deepEqual([ok, got], ['OK', '1']);
  },
);
