// Generates the protobuf code for every proto/*.proto with protobufjs-cli:
// static JS (numbers for 64-bit fields: see docs/decisions.md) and its .d.ts.
// The .d.ts goes to src/gen for the compiler; the .js goes straight to dist,
// since tsc does not copy plain .js files. Skips the work when up to date.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, statSync, copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const protoDir = join(root, 'proto');
const srcGen = join(root, 'packages/common/src/gen');
const distGen = join(root, 'packages/common/dist/src/gen');
const protos = readdirSync(protoDir).filter((f) => f.endsWith('.proto')).sort().map((f) => join(protoDir, f));
const js = join(srcGen, 'proto.js');
const dts = join(srcGen, 'proto.d.ts');
const newest = Math.max(...protos.map((p) => statSync(p).mtimeMs), statSync(fileURLToPath(import.meta.url)).mtimeMs);
const bin = (name) => join(root, 'node_modules/.bin', name);

if (!existsSync(js) || !existsSync(dts) || statSync(dts).mtimeMs < newest) {
  mkdirSync(srcGen, { recursive: true });
  execFileSync(bin('pbjs'), ['-t', 'static-module', '-w', 'commonjs', '--force-number', '--no-verify', '--no-convert', '--no-delimited', '-o', js, ...protos], { stdio: 'inherit' });
  execFileSync(bin('pbts'), ['-o', dts, js], { stdio: 'inherit' });
  // 64-bit fields as JS numbers (docs/decisions.md): protobufjs returns Long
  // objects whenever the 'long' package is installed, even with --force-number,
  // unless util.Long is unset before the messages are defined.
  const code = readFileSync(js, 'utf8');
  const anchor = 'var $protobuf = require("protobufjs/minimal");';
  if (!code.includes(anchor)) throw new Error('gen-proto: unexpected pbjs output');
  // A oneof's setter runs on every decode of a message with a oneof (such as
  // WriteCommand's 40 ops) and deletes every other field of the oneof, present
  // or not: 40 deletes took 3 of the 5 µs of decoding a SET's RaftCommand.
  // Deleting only the fields the message has gives the same object.
  const oneOfSetter = [
    '$protobuf.util.oneOfSetter = function setOneOf(fieldNames) {',
    '  return function (name) {',
    '    for (var i = 0; i < fieldNames.length; ++i)',
    '      if (fieldNames[i] !== name && Object.prototype.hasOwnProperty.call(this, fieldNames[i])) delete this[fieldNames[i]];',
    '  };',
    '};',
  ].join('\n');
  writeFileSync(js, code.replace(anchor, `${anchor}\n$protobuf.util.Long = undefined;\n$protobuf.configure();\n${oneOfSetter}`));
}
mkdirSync(distGen, { recursive: true });
copyFileSync(js, join(distGen, 'proto.js'));
copyFileSync(dts, join(distGen, 'proto.d.ts'));
