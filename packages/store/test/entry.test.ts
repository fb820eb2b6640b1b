// asLogged (apply/entry.ts) must give apply exactly what a replica decodes
// from the log entry: the same message classes, the same own fields and the
// same values read through their defaults.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pb } from '@redraft/common';
import { asLogged } from '../src/apply/entry';

const b = (s: string): Buffer => Buffer.from(s, 'latin1');
const now = 1_700_000_000_123;

/** Every field a reader can see, own or from the prototype, with its class; Buffers as hex. */
function view(v: unknown): unknown {
  if (Buffer.isBuffer(v) || v instanceof Uint8Array) return `bytes:${Buffer.from(v).toString('hex')}`;
  if (Array.isArray(v)) return v.map(view);
  if (v === null || typeof v !== 'object') return v;
  const out: Record<string, unknown> = { $class: v.constructor?.name, $own: Object.keys(v).sort() };
  const seen = new Set<string>();
  for (let o: object | null = v; o && o !== Object.prototype; o = Object.getPrototypeOf(o)) {
    for (const k of Object.getOwnPropertyNames(o)) {
      if (seen.has(k) || k === 'constructor' || k === 'toJSON') continue;
      seen.add(k);
      const val = (v as Record<string, unknown>)[k];
      if (typeof val !== 'function') out[k] = view(val);
    }
  }
  return out;
}

const logged = (cmd: pb.WriteCommand.$Properties): pb.WriteCommand => pb.WriteCommand.decode(pb.WriteCommand.encode(cmd).finish());

const cases: pb.WriteCommand.$Properties[] = [
  { set: { key: b('k'), value: b('v') }, proposedAtMs: now },
  { set: { key: b('k'), value: b(''), condition: 0, get: false, expiry: undefined }, proposedAtMs: now },
  { set: { key: b(''), value: b('x'), condition: 1, get: true }, proposedAtMs: now },
  { set: { key: b('k'), value: b('v'), condition: 2, expiry: { atMs: now + 1000 } }, proposedAtMs: now },
  { set: { key: b('k'), value: b('v'), expiry: { atMs: 0 } }, proposedAtMs: now },
  { set: { key: b('k'), value: b('v'), expiry: { keep: true } }, proposedAtMs: now },
  { set: { key: b('k'), value: b('v'), expiry: {} }, proposedAtMs: now },
  { set: { key: b('k'), value: b('\x00\xff'), get: true, expiry: { keep: true } }, proposedAtMs: 0 },
  { incrBy: { key: b('n'), delta: '1' }, proposedAtMs: now },
  { incrBy: { key: b('n'), delta: '-9223372036854775808' }, proposedAtMs: now },
  { incrByFloat: { key: b('n'), delta: b('1.5e\xe9').toString('latin1') }, proposedAtMs: now },
  { incrByFloat: { key: b('n'), delta: '' }, proposedAtMs: now },
  { append: { key: b('a'), value: b('tail') }, proposedAtMs: now },
  { getDel: { key: b('g') }, proposedAtMs: now },
  { del: { keys: [b('a'), b(''), b('c')] }, proposedAtMs: now },
  { del: { keys: [] }, proposedAtMs: now },
  { hset: { key: b('h'), fields: [b('f1'), b('')], values: [b('1'), b('')] }, proposedAtMs: now },
  { hset: { key: b('h'), fields: [b('f')], values: [b('v')], nx: true }, proposedAtMs: now },
  { hdel: { key: b('h'), fields: [b('f')] }, proposedAtMs: now },
  { hincrBy: { key: b('h'), field: b('f'), delta: '-3' }, proposedAtMs: now },
  // Taken through the round trip: other operations, and values it would change.
  { expire: { key: b('k'), atMs: now, condition: 3 }, proposedAtMs: now },
  { set: { key: b('k'), value: b('v'), expiry: { atMs: -5 } }, proposedAtMs: now },
  { set: { key: b('k'), value: 'c3RyaW5n' as unknown as Buffer }, proposedAtMs: now },
  { transaction: { commands: [{ args: [b('set'), b('k'), b('v')] }], protocol: 2 }, proposedAtMs: now },
];

test('asLogged gives apply what decoding the log entry gives', () => {
  for (const cmd of cases) {
    const want = logged(cmd);
    const got = asLogged(cmd);
    assert.deepEqual(view(got), view(want), JSON.stringify(view(want)));
    assert.equal(got.op, want.op);
  }
});

test('asLogged copies the arrays it keeps: the caller may reuse its own', () => {
  const fields = [b('f')];
  const got = asLogged({ hset: { key: b('h'), fields, values: [b('v')] }, proposedAtMs: now });
  fields.push(b('g'));
  assert.equal(got.hset?.fields?.length, 1);
});
