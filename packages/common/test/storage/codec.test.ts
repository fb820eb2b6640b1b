// The Raft core's types survive protobuf: every field of a message, entries,
// a snapshot with its conf state, a read context; and 64-bit fields decode
// as numbers, not Long objects.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeEntry, decodeHardState, encodeEntry, encodeHardState, messageFromPb, messageToPb } from '../../src/raftstore/codec';
import { EntryType, MessageType, type Message } from '../../src/raft';
import { redraft as pb } from '../../src/gen/proto';

test('a message with entries, a snapshot and a context round-trips', () => {
  const m: Message = {
    type: MessageType.Snap,
    from: 2 ** 40,
    to: 3,
    term: 2 ** 45 + 1,
    logTerm: 9,
    index: 2 ** 52,
    entries: [{ term: 9, index: 10, type: EntryType.ConfChange, data: Buffer.from('cc') }],
    commit: 8,
    reject: true,
    rejectHint: 7,
    snapshot: { meta: { index: 100, term: 9, confState: { voters: [1, 2], learners: [3] } }, data: Buffer.from('snap') },
    context: Buffer.from([1, 2, 3]),
  };
  const back = messageFromPb(pb.Message.decode(pb.Message.encode(messageToPb(m)).finish()));
  assert.deepEqual({ ...back, entries: back.entries.map((e) => ({ ...e, data: Buffer.from(e.data) })), snapshot: { ...back.snapshot!, data: Buffer.from(back.snapshot!.data) }, context: Buffer.from(back.context!) }, m);
  assert.equal(typeof back.index, 'number');
});

test('entries and hard states round-trip', () => {
  const e = { term: 3, index: 2 ** 33, type: EntryType.Normal, data: Buffer.from('x') };
  const d = decodeEntry(encodeEntry(e));
  assert.deepEqual({ ...d, data: Buffer.from(d.data) }, e);
  assert.deepEqual(decodeHardState(encodeHardState({ term: 5, vote: 2, commit: 2 ** 50 })), { term: 5, vote: 2, commit: 2 ** 50 });
});
