// Config validation and the 2^53 bound on indexes and terms.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError, MemoryStorage, RawNode, ReadOnlyOption, checkIndex, encodeConfChange, decodeConfChange, ConfChangeType } from '../../src/raft';
import { Config } from '../../src/raft/config';

function base(): Config {
  return {
    id: 1,
    storage: new MemoryStorage(),
    electionTick: 10,
    heartbeatTick: 1,
    maxSizePerMsg: 1024,
    maxInflightMsgs: 16,
    checkQuorum: true,
    preVote: true,
    readOnlyOption: ReadOnlyOption.Safe,
    disableProposalForwarding: false,
    random: () => 0.5,
  };
}

const bad: [string, Record<string, unknown>, RegExp][] = [
  ['id 0', { id: 0 }, /id must be an integer ≥ 1/],
  ['fractional id', { id: 1.5 }, /id/],
  ['heartbeat ≥ election', { heartbeatTick: 10 }, /electionTick \(10\) must be greater than heartbeatTick \(10\)/],
  ['no storage', { storage: undefined }, /storage is required/],
  ['no random', { random: undefined }, /random must be a seeded function/],
  ['zero inflight', { maxInflightMsgs: 0 }, /maxInflightMsgs/],
  ['zero msg size', { maxSizePerMsg: 0 }, /maxSizePerMsg/],
  ['lease without check-quorum', { checkQuorum: false, readOnlyOption: ReadOnlyOption.LeaseBased }, /requires checkQuorum/],
  ['bad read option', { readOnlyOption: 'fast' }, /readOnlyOption/],
  ['lease margin ≥ election', { leaseMarginTicks: 10 }, /leaseMarginTicks/],
  ['negative applied', { applied: -1 }, /applied/],
];

for (const [name, patch, re] of bad) {
  test(`config: ${name} is refused with a clear error`, () => {
    assert.throws(
      () => new RawNode({ ...base(), ...patch } as Config),
      (e) => e instanceof ConfigError && re.test(e.message),
    );
  });
}

test('config: a valid config builds a follower', () => {
  const n = new RawNode(base());
  assert.equal(n.status().softState.role, 'follower');
});

test('indexes and terms: numbers with a checked 2^53 bound', () => {
  assert.equal(checkIndex('index', 2 ** 53 - 1), 2 ** 53 - 1);
  assert.throws(() => checkIndex('index', 2 ** 53), RangeError);
  assert.throws(() => checkIndex('term', -1), RangeError);
  const cc = decodeConfChange(encodeConfChange({ type: ConfChangeType.AddLearner, nodeId: 2 ** 40 + 7, context: new Uint8Array([9]) }));
  assert.deepEqual(cc, { type: ConfChangeType.AddLearner, nodeId: 2 ** 40 + 7, context: new Uint8Array([9]) });
});
