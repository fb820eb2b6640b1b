// commands/key-counts.ts: INFO keyspace waits for a key count only so long
// (a client's connect runs INFO), then shows the last count with its age.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BIG_COUNT, KeyCounts, type KeyCount } from '../src/commands/key-counts';

/** A count the test finishes by hand. */
function deferred(): { promise: Promise<KeyCount>; resolve: (c: KeyCount) => void; reject: (e: Error) => void } {
  let resolve!: (c: KeyCount) => void;
  let reject!: (e: Error) => void;
  const promise = new Promise<KeyCount>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

test('a count that finishes within the budget is shown as it is, with no age', async () => {
  const counts = new KeyCounts();
  const shown = await counts.forInfo(async () => ({ keys: 3, expires: 1 }), 1000);
  assert.deepEqual(shown, { count: { keys: 3, expires: 1 }, ageMs: undefined, counting: false });
});

test('a slow count: INFO answers after the budget with the last count and its age; the count goes on and is kept', async () => {
  let now = 1_000_000;
  const counts = new KeyCounts(undefined, () => now);
  assert.deepEqual(await counts.fresh(async () => ({ keys: 5, expires: 0 })), { keys: 5, expires: 0 }, 'DBSIZE counts and returns');
  now += 2000;
  const slow = deferred();
  const started = Date.now();
  const shown = await counts.forInfo(() => slow.promise, 30);
  assert.ok(Date.now() - started >= 25, 'it waited for the budget');
  assert.deepEqual(shown, { count: { keys: 5, expires: 0 }, ageMs: 2000, counting: true });
  // A second INFO meanwhile joins the count under way rather than starting another.
  let others = 0;
  const joined = await counts.forInfo(async () => {
    others++;
    return { keys: 0, expires: 0 };
  }, 10);
  assert.equal(others, 0);
  assert.equal(joined.counting, true);
  now += 50;
  slow.resolve({ keys: 7, expires: 2 });
  await slow.promise;
  await new Promise((r) => setImmediate(r));
  // A small count is made again for every INFO, however long the last one took.
  const again = await counts.forInfo(async () => ({ keys: 8, expires: 2 }), 30);
  assert.deepEqual(again, { count: { keys: 8, expires: 2 }, ageMs: undefined, counting: false });
});

test('a big count is not started again by INFO until ten times its duration has passed', async () => {
  let now = 0;
  const counts = new KeyCounts(undefined, () => now);
  await counts.fresh(async () => {
    now += 300; // the count took 300 ms
    return { keys: BIG_COUNT, expires: 0 };
  });
  let recounts = 0;
  const recount = async (): Promise<KeyCount> => {
    recounts++;
    return { keys: BIG_COUNT + 1, expires: 0 };
  };
  now += 1000;
  assert.deepEqual(await counts.forInfo(recount, 30), { count: { keys: BIG_COUNT, expires: 0 }, ageMs: 1300, counting: false });
  assert.equal(recounts, 0);
  now += 2000; // 3.3 s after it started: more than ten times 300 ms
  assert.deepEqual(await counts.forInfo(recount, 30), { count: { keys: BIG_COUNT + 1, expires: 0 }, ageMs: undefined, counting: false });
  assert.equal(recounts, 1);
});

test('no count ever finished: INFO shows none, and says a count is under way', async () => {
  const counts = new KeyCounts();
  const slow = deferred();
  assert.deepEqual(await counts.forInfo(() => slow.promise, 10), { count: undefined, ageMs: undefined, counting: true });
  slow.resolve({ keys: 1, expires: 0 });
});

test('a failed count is reported once and INFO falls back to the last count', async () => {
  let now = 0;
  const errors: unknown[] = [];
  const counts = new KeyCounts((e) => errors.push(e), () => now);
  await counts.fresh(async () => ({ keys: 2, expires: 0 }));
  now = 100;
  const shown = await counts.forInfo(async () => {
    throw new Error('region 7 has no leader');
  }, 1000);
  assert.deepEqual(shown, { count: { keys: 2, expires: 0 }, ageMs: 100, counting: false });
  assert.equal(errors.length, 1);
  assert.match(String(errors[0]), /no leader/);
});

test('of two overlapping counts the one started later is kept, whichever finishes last', async () => {
  let now = 0;
  const counts = new KeyCounts(undefined, () => now);
  const older = deferred();
  const olderDone = counts.fresh(() => older.promise);
  now = 10;
  await counts.fresh(async () => ({ keys: 9, expires: 0 }));
  now = 20;
  older.resolve({ keys: 4, expires: 0 });
  assert.deepEqual(await olderDone, { keys: 4, expires: 0 }, 'DBSIZE still answers its own count');
  const shown = await counts.forInfo(async () => {
    throw new Error('no count now');
  }, 100);
  assert.deepEqual(shown.count, { keys: 9, expires: 0 });
});
