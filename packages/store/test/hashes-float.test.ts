// HINCRBYFLOAT arithmetic and formatting: vectors recorded from redis-server
// 7.0.15 on x86-64 (HSET k f a; HINCRBYFLOAT k f b), which computes in 80-bit
// long double and prints with %.17Lf. apply/longdouble.ts must match them bit
// for bit, through the command and through the module itself.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { testStore, plain } from './harness';
import { addLongDouble, formatLongDouble, parseLongDouble } from '../src/apply/longdouble';

const VECTORS: Array<[string, string, string]> = [
  ['0.1','0.2','0.3'],
  ['5000.3','1e-3','5000.30099999999999971'],
  ['10000000000.1','0','10000000000.09999999962747097'],
  ['1.1e-17','0','0.00000000000000001'],
  ['-5e-18','0','0'],
  ['1e300','0','1000000000000000000008997324079559193870523944273290747938260082321265646596180935755849152083750497190350372508614274835903592556184672983913096260520748646287327135641843653294084255107606016789726652932370030551382947620994540294772781889620606179267611627097410650567187386105690089424915104006144'],
  ['123456789.987654321','0.000000001','123456789.98765432199434144'],
  ['-1.5','1.5','0'],
  ['3.14159','2.71828','5.85987'],
  ['1e-30','1','1'],
  ['0x1.8p1','0.1','3.1'],
  ['99999999999999999999','1','100000000000000000000'],
  ['.5','.25','0.75'],
  ['5.','1','6'],
  ['-0','0','0'],
  ['1.23','0.77','2'],
  ['2','-0.1','1.9'],
  ['9223372036854775807','1','9223372036854775808'],
  ['-9223372036854775808','-1','-9223372036854775809'],
  ['0.3333333333333333333333','0.6666666666666666666667','1'],
  ['1e-5','-1e-5','0'],
  ['17179869184','17179869184','34359738368'],
  ['+7','-3.5','3.5'],
  ['1E2','1e-2','100.01'],
  ['0.000001','0.0000001','0.0000011'],
];

test('HINCRBYFLOAT matches redis-server 7.0.15 on x86-64', async () => {
  const s = await testStore();
  for (const [a, b, expected] of VECTORS) {
    await s.exec('del', 'k');
    await s.exec('hset', 'k', 'f', a);
    assert.equal(plain(await s.exec('hincrbyfloat', 'k', 'f', b)), expected, `${a} + ${b}`);
    assert.equal(plain(await s.exec('hget', 'k', 'f')), expected);
  }
});

test('long double module: parse refusals like string2ld, exact add, formatting', () => {
  for (const bad of ['', ' 1', '1 ', 'nan', '-nan', '1e99999', '1e-99999', 'abc', '1..2', '0x', '1e', '--1', '1\x002']) {
    assert.equal(parseLongDouble(bad), null, JSON.stringify(bad));
  }
  for (const [a, b, expected] of VECTORS) {
    const x = parseLongDouble(a);
    const y = parseLongDouble(b);
    assert.ok(x && y);
    assert.equal(formatLongDouble(addLongDouble(x, y)), expected);
  }
  assert.equal(formatLongDouble(parseLongDouble('inf')!), 'inf');
  assert.equal(formatLongDouble(parseLongDouble('-infinity')!), '-inf');
  assert.equal(formatLongDouble(parseLongDouble('0e-99999')!), '0');
  assert.throws(() => addLongDouble(parseLongDouble('inf')!, parseLongDouble('-inf')!));
});
