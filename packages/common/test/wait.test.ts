// util/wait.ts: the poll a graceful stop waits with.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { waitWhile } from '../src/util/wait';

test('waitWhile resolves true once the condition clears, false when the time is up', async () => {
  let checks = 0;
  assert.equal(await waitWhile(() => ++checks < 3, 5000, 1), true);
  assert.equal(checks, 3);
  assert.equal(await waitWhile(() => false, 0, 1), true, 'a condition already clear needs no time');
  const started = Date.now();
  assert.equal(await waitWhile(() => true, 30, 5), false);
  assert.ok(Date.now() - started >= 30, 'it waited the whole time');
});
