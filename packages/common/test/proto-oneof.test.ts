// The generated protobuf code runs with a faster oneof setter (scripts/gen-proto.mjs):
// decoding and setting a oneof must give the same objects as protobufjs's own.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { redraft as pb } from '../src/gen/proto';

test('oneof: a decoded message holds only the field sent, and setting the oneof drops the others', () => {
  const data = pb.WriteCommand.encode({ proposedAtMs: 1234, set: { key: Buffer.from('k'), value: Buffer.from('v') } }).finish();
  const cmd = pb.WriteCommand.decode(data);
  assert.equal(cmd.op, 'set');
  assert.equal(cmd.proposedAtMs, 1234);
  assert.deepEqual(Object.keys(cmd).sort(), ['proposedAtMs', 'set']);
  assert.equal(Buffer.from(cmd.set!.value!).toString(), 'v');
  assert.equal(cmd.mset, null, 'absent fields read their default from the prototype');

  // Two fields of one oneof on the wire: the last wins, as protobuf requires.
  const both = Buffer.concat([data, pb.WriteCommand.encode({ del: { keys: [Buffer.from('x')] } }).finish()]);
  const last = pb.WriteCommand.decode(both);
  assert.equal(last.op, 'del');
  assert.equal(Object.prototype.hasOwnProperty.call(last, 'set'), false);
  assert.equal(last.set, null);

  (cmd as { op?: string }).op = 'incrBy';
  assert.equal(Object.prototype.hasOwnProperty.call(cmd, 'set'), false, 'the set field is gone');
  assert.equal(cmd.proposedAtMs, 1234, 'fields outside the oneof stay');
});
