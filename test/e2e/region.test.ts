// REGION LIST / REGION DIGEST on a standalone store: the digest of the local
// region, and clear errors for ids that are malformed or not hosted here.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { redisCli, withServer } from '../support';

test('REGION DIGEST: a digest for the local region, -ERR for bad or unknown ids', async (t) => {
  const s = await withServer(t, { mode: 'store' });
  const cli = async (...args: string[]): Promise<string> => (await redisCli(s.ports[0]!, args, { raw: true })).trim();
  assert.equal(await cli('SET', 'k', 'v'), 'OK');
  assert.match(await cli('REGION', 'LIST'), /^id=1 slots=0-16383 role=standalone applied=1 /);
  assert.match(await cli('REGION', 'DIGEST', '1'), /^1\n[0-9a-f]{40}$/);
  assert.equal(await cli('REGION', 'DIGEST', 'abc'), 'ERR region id must be a positive integer');
  assert.equal(await cli('REGION', 'DIGEST', '999999999999999999999'), 'ERR region id must be a positive integer');
  assert.equal(await cli('REGION', 'DIGEST', '7'), 'ERR no replica of region 7 on this store');
  assert.equal(await cli('REGION', 'DIGEST'), "ERR wrong number of arguments for 'region|digest' command");
});
