// Active expiry and the reclaim of stale collection members on a 3-store
// cluster (issue 10, docs/expiry.md):
//  - keys of every type with TTLs disappear within a second or two of
//    expiring without being read, on every replica: each store's counter of
//    keys removed by applied ExpireKeys entries reaches them, and after the
//    stores stop, each one's RocksDB holds none of them and its Raft log
//    holds the ExpireKeys entries that removed them;
//  - a key persisted, re-set or given a later TTL before it expired survives;
//  - a mixed workload of every type (SPOP, SRANDMEMBER, ZRANDMEMBER,
//    HRANDFIELD, expiring keys, DEL and overwrite of big collections) leaves
//    every replica byte for byte the same, and the members of the dropped
//    collections are reclaimed through Raft (Reclaim entries) on every replica.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { RocksEngine, dataRange, decodeCollectionRow, decodeEntry, decodeExpireIndexKey, decodeMetaKey, isMetaKey, pb, raftLogRange } from '@redraft/common';
import { freePorts, metric, respMany, RespError, waitFor, withCluster, type Node } from '../support';

async function pipeline(s: Node, cmds: (string | number)[][], chunk = 200): Promise<void> {
  for (let i = 0; i < cmds.length; i += chunk) {
    const part = cmds.slice(i, i + chunk);
    const replies = await respMany(s.port, part, { timeoutMs: 30_000 });
    // The workload races with itself (three stores at once) and with expiry: a RENAME may find its key gone.
    const bad = replies.findIndex((r) => r instanceof RespError && !/^WRONGTYPE|^ERR no such key/.test(r.message));
    assert.equal(bad, -1, `${JSON.stringify(part[bad])} through ${s.name}: ${String(replies[bad])}`);
  }
}

async function expiredKeysInfo(s: Node): Promise<number> {
  const [info] = await respMany(s.port, [['INFO', 'stats']]);
  return Number(/expired_keys:(\d+)/.exec(String(info))?.[1] ?? 0);
}

/** What a stopped store's RocksDB holds for one region. */
async function inspect(s: Node, regionId: number) {
  const db = await RocksEngine.open(join(s.dataDir, 'db'));
  try {
    const metas = new Map<string, { expireAt: number; version: number | undefined }>();
    const indexRows: Array<{ key: string; expireAt: number }> = [];
    const collectionRows: Array<{ key: string; version: number }> = [];
    const [gte, lt] = dataRange(0, 16384);
    for await (const [k, v] of db.scan({ gte, lt })) {
      if (isMetaKey(k)) {
        const type = v[0];
        metas.set(decodeMetaKey(k).key.toString(), { expireAt: v.readUInt32BE(1) * 2 ** 32 + v.readUInt32BE(5), version: type === 0 ? undefined : v.readUInt32BE(9) * 2 ** 32 + v.readUInt32BE(13) });
      } else if (k[3] === 0x65) {
        const row = decodeExpireIndexKey(k);
        indexRows.push({ key: row.key.toString(), expireAt: row.expireAt });
      } else {
        const row = decodeCollectionRow(k);
        if (row) collectionRows.push({ key: row.key.toString(), version: row.version });
      }
    }
    let expireEntries = 0;
    let expireKeys = 0;
    let reclaimEntries = 0;
    const [lg, ll] = raftLogRange(regionId);
    for await (const [, v] of db.scan({ gte: lg, lt: ll })) {
      const e = decodeEntry(v);
      if (e.type !== 0 || e.data.length === 0) continue; // normal entries only
      const write = pb.RaftCommand.decode(e.data).write;
      if (write?.expireKeys) {
        expireEntries++;
        expireKeys += write.expireKeys.keys?.length ?? 0;
      }
      if (write?.reclaim) reclaimEntries++;
    }
    return { metas, indexRows, collectionRows, expireEntries, expireKeys, reclaimEntries };
  } finally {
    await db.close();
  }
}

test('active expiry and reclaim through Raft: every replica drops expired keys and dead members, with equal digests', { timeout: 240_000 }, async (t) => {
  const base = await freePorts(3);
  const metricsPorts = [base, base + 1, base + 2];
  const c = await withCluster(t, { perStoreArgs: metricsPorts.map((p) => ['--metrics-port', String(p)]) });
  const leader = await c.leaderStore();
  const [region] = await c.regionList(leader);
  const [a, b] = c.stores;

  // ---- keys of every type expire without being read ----------------------------------
  const ttlMs = 1000;
  const cmds: (string | number)[][] = [];
  const expiring: string[] = [];
  for (let i = 0; i < 300; i++) {
    cmds.push(['SET', `e:${i}`, 'v', 'PX', ttlMs]);
    expiring.push(`e:${i}`);
  }
  for (let i = 0; i < 10; i++) {
    cmds.push(['HSET', `eh:${i}`, 'f', 'v', 'g', 'w'], ['PEXPIRE', `eh:${i}`, ttlMs]);
    cmds.push(['RPUSH', `el:${i}`, 'a', 'b', 'c'], ['PEXPIRE', `el:${i}`, ttlMs]);
    cmds.push(['SADD', `es:${i}`, 'a', 'b'], ['PEXPIRE', `es:${i}`, ttlMs]);
    cmds.push(['ZADD', `ez:${i}`, 1, 'a', 2, 'b'], ['PEXPIRE', `ez:${i}`, ttlMs]);
    expiring.push(`eh:${i}`, `el:${i}`, `es:${i}`, `ez:${i}`);
  }
  for (let i = 0; i < 50; i++) cmds.push(['SET', `p:${i}`, 'kept']);
  // Survivors: their first TTL is replaced before it is due.
  cmds.push(['SET', 's:persist', 'v', 'PX', ttlMs], ['PERSIST', 's:persist']);
  cmds.push(['SET', 's:reset', 'v', 'PX', ttlMs], ['SET', 's:reset', 'again']);
  cmds.push(['SET', 's:later', 'v', 'PX', ttlMs], ['PEXPIRE', 's:later', 600_000]);
  const started = Date.now();
  await pipeline(a, cmds);
  const dueAt = started + ttlMs; // no key expires before this
  const expiredBy = await waitFor(
    async () => {
      const n = (await Promise.all(c.stores.map(expiredKeysInfo))).reduce((x, y) => x + y, 0);
      return n >= expiring.length ? Date.now() : undefined;
    },
    { timeoutMs: 30_000, intervalMs: 50, what: 'INFO expired_keys to count every expiring key' },
  );
  const lag = expiredBy - dueAt;
  process.stdout.write(`# ${expiring.length} keys expired actively, the last one counted ${lag} ms after the first could expire\n`);
  assert.ok(lag < 5000, `expired ${lag} ms after due`);
  // Every replica applied the same removals (counted by apply, on every store).
  let applied: number[] = [];
  await waitFor(
    async () => {
      applied = await Promise.all(metricsPorts.map((p) => metric(p, 'redraft_store_expiry_applied_keys_total')));
      return applied.every((n) => n >= expiring.length);
    },
    { timeoutMs: 10_000, what: 'every replica to apply the ExpireKeys entries' },
).catch((e) => assert.fail(`${(e as Error).message}: ${applied}`));
  assert.deepEqual(await respMany(b.port, [['GET', 's:persist'], ['GET', 's:reset'], ['EXISTS', 's:later'], ['DBSIZE']]), ['v', 'again', 1, 53]);
  await c.expectReplicasEqual(region.id);

  // ---- a mixed workload of every type; big collections dropped ---------------------------
  const big: (string | number)[][] = [];
  for (let i = 0; i < 3000; i += 500) big.push(['HSET', '{b}hash', ...Array.from({ length: 500 }, (_, j) => [`f${i + j}`, `v${i + j}`]).flat()]);
  for (let i = 0; i < 2000; i += 500) big.push(['ZADD', '{b}zset', ...Array.from({ length: 500 }, (_, j) => [i + j, `m${i + j}`]).flat()]);
  big.push(['SADD', '{b}set', ...Array.from({ length: 1000 }, (_, j) => `s${j}`)]);
  await pipeline(a, big, 10);
  await pipeline(b, [['DEL', '{b}hash'], ['SET', '{b}zset', 'now a string'], ['PEXPIRE', '{b}set', 200]]);
  const mixed: (string | number)[][] = [];
  for (let i = 0; i < 500; i++) {
    const tag = `{m${i % 9}}`;
    mixed.push(['SET', `${tag}s${i}`, `v${i}`, 'PX', 100 + ((i * 37) % 1400)]);
    mixed.push(['HSET', `${tag}h`, `f${i % 50}`, i], ['HINCRBY', `${tag}h`, 'n', 1]);
    mixed.push(['RPUSH', `${tag}l`, `x${i}`], ['LPUSH', `${tag}l`, `y${i}`]);
    mixed.push(['SADD', `${tag}set`, `m${i % 60}`, `n${i}`], ['ZADD', `${tag}z`, i % 97, `z${i % 70}`]);
    if (i % 3 === 0) mixed.push(['SPOP', `${tag}set`], ['SRANDMEMBER', `${tag}set`, -3], ['ZRANDMEMBER', `${tag}z`, 2, 'WITHSCORES'], ['HRANDFIELD', `${tag}h`, -2], ['LPOP', `${tag}l`]);
    if (i % 7 === 0) mixed.push(['PEXPIRE', `${tag}h`, 50 + (i % 300)], ['ZPOPMIN', `${tag}z`], ['SPOP', `${tag}set`, 2]);
    if (i % 11 === 0) mixed.push(['DEL', `${tag}l`], ['SET', `${tag}set`, 'overwritten'], ['ZUNIONSTORE', `${tag}zu`, 1, `${tag}z`], ['PEXPIRE', `${tag}zu`, 300]);
    if (i % 13 === 0) mixed.push(['RENAME', `${tag}z`, `${tag}z2`], ['COPY', `${tag}h`, `${tag}hc`, 'REPLACE'], ['PEXPIRE', `${tag}hc`, 100]);
  }
  const third = Math.ceil(mixed.length / 3);
  await Promise.all(c.stores.map((s, i) => pipeline(s, mixed.slice(i * third, (i + 1) * third))));
  // The dropped big collections' rows: 3000 hash fields, 2000 zset members + 2000 score rows, 1000 set members.
  await waitFor(async () => (await Promise.all(metricsPorts.map((p) => metric(p, 'redraft_store_reclaimed_rows_total')))).every((n) => n >= 8000), {
    timeoutMs: 60_000,
    intervalMs: 200,
    what: 'every replica to apply the Reclaim entries of the dropped big collections',
  });
  // Quiet: the expiry and reclaim counters stop moving (the sweep found nothing more in a whole pass, and rested).
  let last = '';
  let stableSince = Date.now();
  await waitFor(
    async () => {
      const now = JSON.stringify(await Promise.all(metricsPorts.flatMap((p) => [metric(p, 'redraft_store_reclaimed_rows_total'), metric(p, 'redraft_store_expiry_applied_keys_total')])));
      if (now !== last) {
        last = now;
        stableSince = Date.now();
      }
      return Date.now() - stableSince > 7000; // longer than the sweep's rest after a pass that found nothing
    },
    { timeoutMs: 60_000, intervalMs: 250, what: 'expiry and reclaim to settle' },
  );
  const digests = await c.expectReplicasEqual(region.id);
  process.stdout.write(`# expiry digests of region ${region.id}: ${JSON.stringify(digests)}\n`);

  // ---- every replica's RocksDB and Raft log ----------------------------------------------------
  const stoppedAt = Date.now();
  for (const s of c.stores) await s.stop();
  for (const s of c.stores) {
    const db = await inspect(s, region.id);
    for (const k of expiring) assert.ok(!db.metas.has(k), `${k} still on ${s.name}`);
    for (const [k, m] of db.metas) assert.ok(m.expireAt === 0 || m.expireAt > stoppedAt - 2000, `${k} expired at ${m.expireAt} still on ${s.name}`);
    for (const row of db.indexRows) assert.ok(row.expireAt > stoppedAt - 2000, `a stale expiry-index row of ${row.key} on ${s.name}`);
    const dead = db.collectionRows.filter((r) => db.metas.get(r.key)?.version !== r.version);
    assert.equal(dead.length, 0, `rows of dropped collections left on ${s.name}: ${JSON.stringify(dead.slice(0, 5))}`);
    assert.ok(db.metas.has('s:persist') && db.metas.has('s:reset') && db.metas.has('s:later') && db.metas.has('p:0'));
    assert.ok(db.expireEntries > 0 && db.expireKeys >= expiring.length, `ExpireKeys entries in the Raft log of ${s.name}: ${db.expireEntries} (${db.expireKeys} keys)`);
    assert.ok(db.reclaimEntries > 0, `Reclaim entries in the Raft log of ${s.name}`);
    process.stdout.write(`# ${s.name}: ${db.metas.size} keys, ${db.expireEntries} ExpireKeys entries (${db.expireKeys} keys), ${db.reclaimEntries} Reclaim entries in its log\n`);
  }
});
