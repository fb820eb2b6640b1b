import { test } from 'node:test';
import assert from 'node:assert/strict';
import { globMatch } from '../src/data/glob';

const m = (p: string, s: string, nocase = false): boolean => globMatch(Buffer.from(p), Buffer.from(s), nocase);

test('glob: *, ?, classes, ranges, negation, escapes', () => {
  assert.ok(m('*', ''));
  assert.ok(m('*', 'abc'));
  assert.ok(m('a*c', 'abbbc'));
  assert.ok(!m('a*c', 'abbbd'));
  assert.ok(m('h?llo', 'hello'));
  assert.ok(!m('h?llo', 'hllo'));
  assert.ok(m('h[ae]llo', 'hallo'));
  assert.ok(!m('h[ae]llo', 'hillo'));
  assert.ok(m('h[^e]llo', 'hallo'));
  assert.ok(!m('h[^e]llo', 'hello'));
  assert.ok(m('h[a-b]llo', 'hbllo'));
  assert.ok(m('h[b-a]llo', 'hallo'));
  assert.ok(m('a\\*b', 'a*b'));
  assert.ok(!m('a\\*b', 'axb'));
  assert.ok(m('HELLO', 'hello', true));
  assert.ok(!m('HELLO', 'hello'));
  assert.ok(m('key:*', 'key:1'));
  assert.ok(!m('key:*', 'other'));
});

test('glob: hostile patterns end quickly', () => {
  const p = 'a*'.repeat(30) + 'b';
  const started = process.hrtime.bigint();
  assert.ok(!m(p, 'a'.repeat(40)));
  assert.ok(process.hrtime.bigint() - started < 5_000_000_000n);
});
