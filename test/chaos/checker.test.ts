// The linearizability checker on hand-made histories (each must pass or must
// fail) and on a large random history generated from a sequential model.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkHistory, explain, idleClients, lostWrites, step, writeGaps } from './checker';
import { FINAL_CLIENT, type Op, type OpKind, type Outcome } from './history';
import { seededRandom } from './random';
import { pairValue } from './key-kinds';

let nextId = 0;
/** One op: [invokeAt, returnAt] in ms; returnAt undefined for info. */
function op(kind: OpKind, key: string, value: string | null | undefined, invokeAt: number, returnAt: number | undefined, outcome: Outcome = 'ok', clientId = 'c'): Op {
  const o: Op = { id: nextId++, clientId, kind, key, invokeAt, outcome };
  if (value !== undefined) o.value = value;
  if (returnAt !== undefined && outcome !== 'info') o.returnAt = returnAt;
  return o;
}
const w = (v: string, a: number, b?: number, outcome: Outcome = 'ok') => op('write', 'k', v, a, b, outcome);
const r = (v: string | null, a: number, b: number) => op('read', 'k', v, a, b);
const inc = (v: string | undefined, a: number, b?: number, outcome: Outcome = 'ok') => op('incr', 'n', v, a, b, outcome);
const rn = (v: string | null, a: number, b: number) => op('read', 'n', v, a, b);

function linearizable(ops: Op[]): boolean {
  const res = checkHistory(ops);
  assert.equal(res.unknown, false, 'the search must not give up');
  return res.linearizable;
}

test('model: INCR of a missing key is 1; a read must see the state', () => {
  assert.equal(step(null, inc('1', 0, 1)), '1');
  assert.equal(step('1', inc('3', 0, 1)), undefined);
  assert.equal(step('abc', inc(undefined, 0, undefined, 'info')), undefined);
  assert.equal(step('x', r('x', 0, 1)), 'x');
  assert.equal(step('x', r(null, 0, 1)), undefined);
});

test('sequential and overlapping histories that are linearizable', () => {
  assert.ok(linearizable([w('a', 0, 1), r('a', 2, 3), w('b', 4, 5), r('b', 6, 7)]));
  // A read overlapping a write may see either value.
  assert.ok(linearizable([w('a', 0, 1), w('b', 2, 10), r('b', 3, 4), r('b', 5, 6)]));
  assert.ok(linearizable([w('a', 0, 1), w('b', 2, 10), r('a', 3, 4), r('b', 5, 6)]));
  // Concurrent writes in either order.
  assert.ok(linearizable([w('a', 0, 10), w('b', 1, 9), r('a', 11, 12)]));
  assert.ok(linearizable([w('a', 0, 10), w('b', 1, 9), r('b', 11, 12)]));
  assert.ok(linearizable([r(null, 0, 1)]));
  assert.ok(linearizable([]));
});

test('a stale read is caught', () => {
  const h = [w('a', 0, 1), w('b', 2, 3), r('a', 4, 5)];
  const res = checkHistory(h);
  assert.equal(res.linearizable, false);
  assert.match(explain(res), /key k: not linearizable/);
  assert.match(explain(res), /GET k -> "a"/);
});

test('a read flipping back to an old value is caught', () => {
  assert.equal(linearizable([w('a', 0, 1), w('b', 2, 20), r('b', 3, 4), r('a', 5, 6)]), false);
});

test('a lost write is caught (by the final read and by lostWrites)', () => {
  const h = [w('a', 0, 1), op('read', 'k', null, 10, 11, 'ok', FINAL_CLIENT)];
  assert.equal(linearizable(h), false);
  const lost = lostWrites(h);
  assert.equal(lost.length, 1);
  assert.equal(lost[0].count, 1);
  assert.match(lost[0].reason, /never written/);
  // Superseded by a later write: not lost.
  const ok = [w('a', 0, 1), w('b', 2, 3), op('read', 'k', 'b', 10, 11, 'ok', FINAL_CLIENT)];
  assert.equal(linearizable(ok), true);
  assert.deepEqual(lostWrites(ok), []);
  // The final value was acknowledged before the later write was sent: that write is lost.
  const back = [w('a', 0, 1), w('b', 2, 3), op('read', 'k', 'a', 10, 11, 'ok', FINAL_CLIENT)];
  assert.equal(linearizable(back), false);
  assert.equal(lostWrites(back)[0].count, 1);
});

test('a counter going backwards is caught', () => {
  assert.equal(linearizable([inc('1', 0, 1), inc('2', 2, 3), rn('1', 4, 5)]), false);
  assert.equal(linearizable([inc('1', 0, 1), inc('1', 2, 3)]), false);
  assert.equal(linearizable([inc('2', 0, 1)]), false);
  assert.equal(linearizable([inc('1', 0, 1), inc('2', 2, 3), rn('2', 4, 5)]), true);
  // Concurrent increments may answer in either order.
  assert.equal(linearizable([inc('2', 0, 10), inc('1', 1, 9), rn('2', 11, 12)]), true);
  const lost = lostWrites([inc('1', 0, 1), inc('2', 2, 3), op('read', 'n', '1', 10, 11, 'ok', FINAL_CLIENT)]);
  assert.equal(lost.length, 1);
  assert.equal(lost[0].count, 1);
});

test('a value seen before its write was sent is caught', () => {
  assert.equal(linearizable([r('x', 0, 1), w('x', 2, 3)]), false);
  // Overlapping is fine.
  assert.equal(linearizable([r('x', 0, 5), w('x', 2, 3)]), true);
});

test('fail ops never happened', () => {
  assert.equal(linearizable([w('a', 0, 1, 'fail'), r('a', 2, 3)]), false);
  // The report names the failed write whose value was read.
  const failed = w('b', 0, 1, 'fail');
  failed.error = 'ERR no answer from the leader';
  assert.match(explain(checkHistory([failed, r('b', 2, 3)])), /hint: .* written by #\d+ whose client got an ERROR reply \(ERR no answer from the leader\)/);
  assert.equal(linearizable([w('a', 0, 1, 'fail'), r(null, 2, 3)]), true);
  assert.equal(linearizable([inc(undefined, 0, 1, 'fail'), inc('1', 2, 3)]), true);
});

test('info ops may take effect any time after their call, or never', () => {
  // It took effect (even long after the client gave up).
  assert.equal(linearizable([w('a', 0, undefined, 'info'), r(null, 1, 2), r('a', 100, 101)]), true);
  // It never took effect.
  assert.equal(linearizable([w('a', 0, undefined, 'info'), r(null, 100, 101)]), true);
  // But never before it was sent.
  assert.equal(linearizable([r('a', 0, 1), w('a', 2, undefined, 'info')]), false);
  // And at most once: a then b then a again needs two effects of one write.
  assert.equal(linearizable([w('a', 0, undefined, 'info'), r('a', 1, 2), w('b', 3, 4), r('a', 5, 6)]), false);
  // An info INCR may explain a jump; without it the jump is caught.
  assert.equal(linearizable([inc('1', 0, 1), inc(undefined, 2, undefined, 'info'), inc('3', 5, 6)]), true);
  assert.equal(linearizable([inc('1', 0, 1), inc('3', 5, 6)]), false);
  // An info read tells nothing.
  assert.equal(linearizable([w('a', 0, 1), op('read', 'k', undefined, 2, undefined, 'info'), r('a', 3, 4)]), true);
});

test('many pending info INCRs stay cheap (interchangeable ones are tried once)', () => {
  const infos = Array.from({ length: 40 }, (_, i) => inc(undefined, i, undefined, 'info'));
  const t0 = performance.now();
  assert.equal(linearizable([...infos, rn('25', 100, 101), inc('27', 102, 103)]), true);
  assert.equal(linearizable([...infos, rn('41', 100, 101)]), false);
  assert.equal(linearizable([...infos, rn('25', 100, 101), rn('24', 102, 103)]), false);
  assert.ok(performance.now() - t0 < 2000, `took ${performance.now() - t0} ms`);
});

test('the durability check ignores keys without a final read and a counter at or above its acks', () => {
  assert.deepEqual(lostWrites([w('a', 0, 1)]), []);
  assert.deepEqual(lostWrites([inc('1', 0, 1), inc(undefined, 2, undefined, 'info'), op('read', 'n', '2', 10, 11, 'ok', FINAL_CLIENT)]), []);
  // An info write may be the final value even though an acked write came later... if they overlapped.
  assert.deepEqual(lostWrites([w('a', 0, undefined, 'info'), w('b', 1, 2), op('read', 'k', 'a', 10, 11, 'ok', FINAL_CLIENT)]), []);
});

/**
 * A valid history: clients run ops back to back with random durations; each
 * op takes effect at a random point inside its interval (info ops: somewhere
 * after their call, or never), and its answer comes from applying the ops in
 * the order of those points to a sequential model.
 */
function randomHistory(seed: number, clients: number, opsPerClient: number, keys: string[], infoRate: number): Op[] {
  const rnd = seededRandom(seed);
  const planned: { op: Op; at: number | undefined }[] = [];
  let id = 0;
  let writeSeq = 0;
  for (let c = 0; c < clients; c++) {
    let t = rnd() * 5;
    for (let i = 0; i < opsPerClient; i++) {
      const key = keys[Math.floor(rnd() * keys.length)];
      const counter = key.startsWith('n');
      const kind: OpKind = rnd() < 0.5 ? 'read' : counter ? 'incr' : 'write';
      const invokeAt = t;
      const returnAt = t + 0.1 + rnd() * 10;
      const info = rnd() < infoRate;
      const op: Op = { id: id++, clientId: `c${c}`, kind, key, invokeAt, outcome: info ? 'info' : 'ok' };
      if (kind === 'write') op.value = `v${writeSeq++}`;
      if (!info) op.returnAt = returnAt;
      // An info op takes effect with probability 1/2, possibly long after the client gave up.
      const at = info ? (rnd() < 0.5 ? invokeAt + rnd() * 50 : undefined) : invokeAt + rnd() * (returnAt - invokeAt);
      planned.push({ op, at });
      t = returnAt + rnd() * 2;
    }
  }
  const state = new Map<string, string | null>();
  for (const p of planned.filter((x) => x.at !== undefined).sort((a, b) => a.at! - b.at!)) {
    const cur = state.get(p.op.key) ?? null;
    if (p.op.kind === 'read') {
      if (p.op.outcome === 'ok') p.op.value = cur;
    } else if (p.op.kind === 'write') state.set(p.op.key, p.op.value!);
    else {
      const next = String((cur === null ? 0 : Number(cur)) + 1);
      state.set(p.op.key, next);
      if (p.op.outcome === 'ok') p.op.value = next;
    }
  }
  return planned.map((p) => p.op);
}

test('a large random valid history passes quickly', () => {
  const h = randomHistory(42, 10, 1000, ['r1', 'r2', 'r3', 'r4', 'n1', 'n2', 'n3', 'n4'], 0.02);
  const t0 = performance.now();
  const res = checkHistory(h);
  const ms = performance.now() - t0;
  assert.equal(res.unknown, false);
  assert.equal(res.linearizable, true, explain(res));
  assert.ok(ms < 10_000, `checking ${h.length} ops took ${ms.toFixed(0)} ms`);
  // Survives a JSON round trip (info ops have no returnAt).
  assert.equal(checkHistory(JSON.parse(JSON.stringify(h)) as Op[]).linearizable, true);
});

test('random valid histories with many info ops pass; corrupting a read makes one fail', () => {
  for (let seed = 1; seed <= 20; seed++) {
    const h = randomHistory(seed, 5, 60, ['r1', 'n1'], 0.15);
    const res = checkHistory(h);
    assert.equal(res.linearizable, true, `seed ${seed}: ${explain(res)}`);
  }
  // A read that returns a value no one ever wrote.
  const h = randomHistory(7, 5, 60, ['r1', 'n1'], 0.05);
  const read = h.find((o) => o.kind === 'read' && o.outcome === 'ok' && o.key === 'r1')!;
  read.value = 'never-written';
  assert.equal(checkHistory(h).linearizable, false);
});

test('writeGaps: the longest time without an acknowledged write after each fault', () => {
  const h = [w('a', 0, 10), w('b', 11, 20), r('b', 21, 25), w('c', 30, 70), inc('1', 71, 75)];
  // Fault at 15: acks at 20, 70, 75, next fault at 80 → longest 50 (20..70). Fault at 80: nothing until the end at 100 → 20.
  assert.deepEqual(writeGaps(h, [15, 80], 100), [50, 20]);
  assert.deepEqual(writeGaps(h, [], 100), []);
});

test('idleClients: the clients with no answered operation in the last part of the run', () => {
  const h = [
    op('write', 'k', 'a', 0, 10, 'ok', 'alive'),
    op('read', 'k', 'a', 85, 90, 'ok', 'alive'),
    op('write', 'k', 'b', 0, 20, 'ok', 'died'),
    op('write', 'k', 'c', 30, 31, 'fail', 'died'),
    op('read', 'k', null, 95, undefined, 'info', 'died'),
    op('read', 'k', null, 50, 51, 'fail', 'never'),
    op('read', 'k', 'a', 99, 100, 'ok', FINAL_CLIENT),
  ];
  assert.deepEqual(idleClients(h, 100, 30), [
    { clientId: 'died', lastOkAt: 20 },
    { clientId: 'never', lastOkAt: -1 },
  ]);
  assert.deepEqual(idleClients(h, 100, 100), [{ clientId: 'never', lastOkAt: -1 }]);
});

test('pairs: a torn transaction (halves that disagree) fits no counter, and its final read loses writes', () => {
  assert.equal(pairValue('3', '3'), '3');
  assert.equal(pairValue(null, null), null);
  assert.equal(pairValue('3', '2'), '3|2');
  assert.equal(pairValue('1', null), '1|nil');
  const t = (kind: OpKind, v: string | null | undefined, a: number, b: number, clientId = 'c') => op(kind, 't', v, a, b, 'ok', clientId);
  assert.ok(linearizable([t('incr', '1', 0, 1), t('read', '1', 2, 3), t('incr', '2', 4, 5)]));
  assert.ok(!linearizable([t('incr', '1', 0, 1), t('read', pairValue('1', null), 2, 3)]));
  assert.ok(!linearizable([t('incr', pairValue('1', 'ERR TRYAGAIN'), 0, 1)]));
  const lost = lostWrites([t('incr', '1', 0, 1), t('read', pairValue('1', '0'), 2, 3, FINAL_CLIENT)]);
  assert.equal(lost.length, 1);
  assert.match(lost[0].reason, /counter t is 1\|0 at the end/);
});

/** A DEL (or HDEL, ZREM) of key k answered `removed`, or an HSET answered `added`. */
function del(key: string, removed: number | undefined, a: number, b?: number, outcome: Outcome = 'ok', command?: string): Op {
  const o = op('del', key, undefined, a, b, outcome);
  if (removed !== undefined) o.length = removed;
  if (command) o.command = command;
  return o;
}
function hset(v: string, added: number, a: number, b: number): Op {
  const o = op('write', 'k', v, a, b);
  o.length = added;
  o.command = 'HSET';
  return o;
}

test('deletes: the count they answer must fit the state, and they reset it', () => {
  assert.equal(step('x', del('k', 1, 0, 1)), null);
  assert.equal(step(null, del('k', 0, 0, 1)), null);
  assert.equal(step(null, del('k', 1, 0, 1)), undefined); // removed a key that was not there
  assert.equal(step('x', del('k', 0, 0, 1)), undefined); // found nothing where a value was
  assert.equal(step('x', del('k', undefined, 0, undefined, 'info')), null);
  assert.ok(linearizable([w('a', 0, 1), del('k', 1, 2, 3), r(null, 4, 5), w('b', 6, 7), r('b', 8, 9)]));
  // A read of the old value after the delete answered: stale.
  assert.equal(linearizable([w('a', 0, 1), del('k', 1, 2, 3), r('a', 4, 5)]), false);
  // A delete that answered 0 after an acknowledged write: it missed the write.
  assert.equal(linearizable([w('a', 0, 1), del('k', 0, 2, 3)]), false);
  // A counter starts again from nothing.
  assert.ok(linearizable([inc('1', 0, 1), inc('2', 2, 3), del('n', 1, 4, 5), inc('1', 6, 7), rn('1', 8, 9)]));
  assert.equal(linearizable([inc('1', 0, 1), del('n', 1, 2, 3), inc('2', 4, 5)]), false);
  // An unanswered delete may land late, so a final read of nothing is no lost write...
  const h = [w('a', 0, 1), del('k', undefined, 2, undefined, 'info'), op('read', 'k', null, 10, 11, 'ok', FINAL_CLIENT)];
  assert.ok(linearizable(h));
  assert.deepEqual(lostWrites(h), []);
  // ... but an acknowledged write after the acknowledged delete must survive it.
  const lost = [w('a', 0, 1), del('k', 1, 2, 3), w('b', 4, 5), op('read', 'k', null, 10, 11, 'ok', FINAL_CLIENT)];
  assert.equal(linearizable(lost), false);
});

test('hash fields: HSET must answer 1 for a field it added and 0 for one it overwrote', () => {
  assert.ok(linearizable([hset('a', 1, 0, 1), hset('b', 0, 2, 3), r('b', 4, 5)]));
  assert.equal(linearizable([hset('a', 1, 0, 1), hset('b', 1, 2, 3)]), false);
  assert.equal(linearizable([hset('a', 0, 0, 1)]), false);
  // After an HDEL the field is new again.
  assert.ok(linearizable([hset('a', 1, 0, 1), del('k', 1, 2, 3, 'ok', 'HDEL'), hset('b', 1, 4, 5)]));
  const res = checkHistory([hset('a', 1, 0, 1), del('k', 0, 2, 3, 'ok', 'HDEL')]);
  assert.match(explain(res), /HSET k "a" -> 1/);
  assert.match(explain(res), /HDEL k -> 0/);
});

/** SET k v PX ttl over [a, b]. */
function wx(v: string, ttl: number, a: number, b?: number, outcome: Outcome = 'ok'): Op {
  const o = op('write', 'k', v, a, b, outcome);
  o.ttlMs = ttl;
  return o;
}

test('expiring values: there until the time to live may have passed, gone after, never back', () => {
  // Written over [0, 10] with 100 ms: it expires at some time in [100, 110].
  assert.ok(linearizable([wx('a', 100, 0, 10), r('a', 20, 30), r('a', 105, 106), r(null, 120, 121), r(null, 500, 501)]));
  // Read while the expiry window is open: either answer.
  assert.ok(linearizable([wx('a', 100, 0, 10), r(null, 101, 102)]));
  assert.ok(linearizable([wx('a', 100, 0, 10), r('a', 108, 109)]));
  // Seen after it surely expired (and the clocks' slack).
  const late = checkHistory([wx('a', 100, 0, 10), r('a', 200, 201)]);
  assert.equal(late.linearizable, false);
  assert.match(explain(late), /SET k "a" PX 100 -> OK/);
  assert.match(explain(late), /expiring between 100\.0 and 110\.0 ms/);
  // Gone before it could expire.
  assert.equal(linearizable([wx('a', 100, 0, 10), r(null, 50, 60)]), false);
  // Back after a read found it gone.
  assert.equal(linearizable([wx('a', 100, 0, 10), r(null, 104, 105), r('a', 106, 107)]), false);
  // A SET without a time to live keeps its value.
  assert.ok(linearizable([wx('a', 100, 0, 10), w('b', 20, 30), r('b', 500, 501)]));
  // DEL answers 1 while the value may be there, 0 once it may be gone.
  assert.ok(linearizable([wx('a', 100, 0, 10), del('k', 1, 20, 30), r(null, 40, 41)]));
  assert.ok(linearizable([wx('a', 100, 0, 10), del('k', 0, 300, 301)]));
  assert.equal(linearizable([wx('a', 100, 0, 10), del('k', 1, 300, 301)]), false);
  assert.equal(linearizable([wx('a', 100, 0, 10), del('k', 0, 20, 30)]), false);
  // An unanswered SET PX may land late, and expire later still.
  assert.ok(linearizable([wx('a', 100, 0, undefined, 'info'), r(null, 20, 21), r('a', 1000, 1001), r(null, 5000, 5001)]));
  // An expired key at the end is no lost write.
  assert.deepEqual(lostWrites([wx('a', 100, 0, 10), op('read', 'k', null, 500, 501, 'ok', FINAL_CLIENT)]), []);
});

/** PEXPIRE k ttl over [a, b], answered `set` (1: the key was there). */
function pexpire(ttl: number, set: number | undefined, a: number, b?: number, outcome: Outcome = 'ok'): Op {
  const o = op('expire', 'k', undefined, a, b, outcome);
  o.ttlMs = ttl;
  if (set !== undefined) o.length = set;
  return o;
}

test('PEXPIRE: gives the value there a new time to live, and answers whether there was one', () => {
  assert.ok(linearizable([w('a', 0, 1), pexpire(100, 1, 10, 20), r('a', 50, 51), r(null, 125, 126)]));
  // The new time to live replaces the old one, longer or shorter.
  assert.ok(linearizable([wx('a', 100, 0, 10), pexpire(1000, 1, 20, 30), r('a', 500, 501)]));
  assert.equal(linearizable([wx('a', 1000, 0, 10), pexpire(100, 1, 20, 30), r('a', 500, 501)]), false);
  // Nothing there: 0, and nothing changes.
  assert.ok(linearizable([pexpire(100, 0, 0, 1), r(null, 2, 3)]));
  assert.equal(linearizable([pexpire(100, 1, 0, 1)]), false);
  assert.equal(linearizable([w('a', 0, 1), pexpire(100, 0, 2, 3)]), false);
  // After the value expired, PEXPIRE finds nothing.
  assert.ok(linearizable([wx('a', 100, 0, 10), pexpire(100, 0, 200, 201), r(null, 202, 203)]));
  assert.equal(linearizable([wx('a', 100, 0, 10), pexpire(100, 1, 200, 201)]), false);
  // Unanswered while the value may be there or gone: reads may find it until the later window closes.
  assert.ok(linearizable([wx('a', 100, 0, 10), pexpire(1000, undefined, 100, undefined, 'info'), r('a', 600, 601), r(null, 5000, 5001)]));
  assert.ok(linearizable([wx('a', 100, 0, 10), pexpire(1000, undefined, 100, undefined, 'info'), r(null, 150, 151)]));
  const res = checkHistory([w('a', 0, 1), pexpire(100, 0, 2, 3)]);
  assert.match(explain(res), /PEXPIRE k 100 -> 0/);
});

/** PERSIST k over [a, b], answered `removed` (1: the key had a time to live). */
function persist(removed: number | undefined, a: number, b?: number, outcome: Outcome = 'ok'): Op {
  const o = op('expire', 'k', undefined, a, b, outcome);
  if (removed !== undefined) o.length = removed;
  return o;
}

/** SET k v KEEPTTL over [a, b]. */
function wk(v: string, a: number, b?: number, outcome: Outcome = 'ok'): Op {
  const o = op('write', 'k', v, a, b, outcome);
  o.keepTtl = true;
  return o;
}

test('PERSIST: the value there stays for good, and the answer says whether it had a time to live', () => {
  assert.ok(linearizable([wx('a', 100, 0, 10), persist(1, 20, 30), r('a', 500, 501)]));
  assert.equal(linearizable([wx('a', 100, 0, 10), persist(1, 20, 30), r(null, 500, 501)]), false);
  // After the value expired: 0, and it stays gone.
  assert.ok(linearizable([wx('a', 100, 0, 10), persist(0, 200, 201), r(null, 202, 203)]));
  assert.equal(linearizable([wx('a', 100, 0, 10), persist(1, 200, 201)]), false);
  // No time to live, or no key: 0, and nothing changes.
  assert.ok(linearizable([w('a', 0, 1), persist(0, 2, 3), r('a', 4, 5)]));
  assert.equal(linearizable([w('a', 0, 1), persist(1, 2, 3)]), false);
  assert.ok(linearizable([persist(0, 0, 1), r(null, 2, 3)]));
  // Unanswered: the value may stay, or expire as it would have.
  assert.ok(linearizable([wx('a', 100, 0, 10), persist(undefined, 20, undefined, 'info'), r('a', 500, 501)]));
  assert.ok(linearizable([wx('a', 100, 0, 10), persist(undefined, 20, undefined, 'info'), r(null, 500, 501)]));
  const res = checkHistory([w('a', 0, 1), persist(1, 2, 3)]);
  assert.match(explain(res), /PERSIST k -> 1/);
});

test('SET KEEPTTL: the new value keeps the old one\'s time to live, or none if it had gone', () => {
  assert.ok(linearizable([wx('a', 100, 0, 10), wk('b', 20, 30), r('b', 50, 51), r(null, 120, 121)]));
  assert.equal(linearizable([wx('a', 100, 0, 10), wk('b', 20, 30), r('b', 500, 501)]), false);
  // Written after the old value expired: it stays.
  assert.ok(linearizable([wx('a', 100, 0, 10), wk('b', 200, 201), r('b', 5000, 5001)]));
  assert.equal(linearizable([wx('a', 100, 0, 10), wk('b', 200, 201), r(null, 5000, 5001)]), false);
  // Written while the old value may have expired or not: either.
  assert.ok(linearizable([wx('a', 100, 0, 10), wk('b', 95, 105), r('b', 5000, 5001)]));
  assert.ok(linearizable([wx('a', 100, 0, 10), wk('b', 95, 105), r(null, 5000, 5001)]));
  // On a value with no time to live: none.
  assert.ok(linearizable([w('a', 0, 1), wk('b', 2, 3), r('b', 5000, 5001)]));
  assert.match(explain(checkHistory([wx('a', 100, 0, 10), wk('b', 20, 30), r('b', 500, 501)])), /SET k "b" KEEPTTL -> OK/);
});

/** PTTL k over [a, b], answered `ms`. */
const pttl = (ms: number, a: number, b: number): Op => op('pttl', 'k', String(ms), a, b);

test('PTTL: the ms left fit the expiry window, -1 only without a time to live, -2 once gone', () => {
  // Written over [0, 10] with 100 ms, read over [20, 22]: 78 to 90 ms left (5 ms of slack each way).
  assert.ok(linearizable([wx('a', 100, 0, 10), pttl(85, 20, 22)]));
  assert.ok(linearizable([wx('a', 100, 0, 10), pttl(74, 20, 22), pttl(94, 20, 22)]));
  assert.equal(linearizable([wx('a', 100, 0, 10), pttl(70, 20, 22)]), false);
  assert.equal(linearizable([wx('a', 100, 0, 10), pttl(96, 20, 22)]), false);
  // A value with a time to live never answers -1; one without always does; no key, -2.
  assert.equal(linearizable([wx('a', 100, 0, 10), pttl(-1, 20, 22)]), false);
  assert.ok(linearizable([w('a', 0, 1), pttl(-1, 2, 3)]));
  assert.equal(linearizable([w('a', 0, 1), pttl(50, 2, 3)]), false);
  assert.ok(linearizable([pttl(-2, 0, 1)]));
  assert.equal(linearizable([w('a', 0, 1), pttl(-2, 2, 3)]), false);
  // Gone once it may have expired, and not before.
  assert.ok(linearizable([wx('a', 100, 0, 10), pttl(-2, 104, 105), r(null, 106, 107)]));
  assert.equal(linearizable([wx('a', 100, 0, 10), pttl(-2, 50, 51)]), false);
  // PERSIST leaves no time to live; SET KEEPTTL keeps the old one, or none if the old value may have gone.
  assert.ok(linearizable([wx('a', 100, 0, 10), persist(1, 20, 30), pttl(-1, 40, 41)]));
  assert.ok(linearizable([wx('a', 100, 0, 10), wk('b', 20, 30), pttl(60, 40, 41)]));
  assert.equal(linearizable([wx('a', 100, 0, 10), wk('b', 20, 30), pttl(-1, 40, 41)]), false);
  assert.ok(linearizable([wx('a', 100, 0, 10), wk('b', 95, 105), pttl(-1, 500, 501)]));
  // The report names the PTTL and its answer.
  assert.match(explain(checkHistory([wx('a', 100, 0, 10), pttl(-1, 20, 22)])), /PTTL k -> "-1"/);
});

/** GETEX k PX ttl over [a, b], answered `v`. */
function getex(v: string | null | undefined, ttl: number, a: number, b?: number, outcome: Outcome = 'ok'): Op {
  const o = op('getex', 'k', v, a, b, outcome);
  o.ttlMs = ttl;
  return o;
}

test('GETEX PX: answers the value there and gives it a new time to live', () => {
  assert.ok(linearizable([w('a', 0, 1), getex('a', 100, 10, 20), r('a', 50, 51), r(null, 130, 131)]));
  assert.equal(linearizable([w('a', 0, 1), getex('a', 100, 10, 20), r('a', 500, 501)]), false);
  assert.equal(linearizable([w('a', 0, 1), getex('b', 100, 10, 20)]), false);
  // Nothing there: nil, and nothing changes.
  assert.ok(linearizable([getex(null, 100, 0, 1), r(null, 2, 3)]));
  assert.equal(linearizable([w('a', 0, 1), getex(null, 100, 2, 3)]), false);
  // The new time to live replaces the old one; after the old one ran out it finds nothing.
  assert.ok(linearizable([wx('a', 100, 0, 10), getex('a', 1000, 20, 30), r('a', 500, 501), pttl(500, 520, 521)]));
  assert.ok(linearizable([wx('a', 100, 0, 10), getex(null, 1000, 200, 201), r(null, 500, 501)]));
  assert.equal(linearizable([wx('a', 100, 0, 10), getex('a', 1000, 200, 201)]), false);
  // Unanswered: the value may have a new time to live, or none applied.
  assert.ok(linearizable([w('a', 0, 1), getex(undefined, 100, 10, undefined, 'info'), r(null, 5000, 5001)]));
  assert.ok(linearizable([w('a', 0, 1), getex(undefined, 100, 10, undefined, 'info'), r('a', 5000, 5001)]));
  assert.match(explain(checkHistory([w('a', 0, 1), getex('b', 100, 10, 20)])), /GETEX k PX 100 -> "b"/);
});
