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
  // Decoding a oneof field calls protobufjs's oneof setter, which runs
  // `delete this[f]` for every other field of the oneof, set or not: with
  // WriteCommand's 40 ops that made decoding a SET take 4-6 µs on every
  // replica. This setter looks only at the fields the message holds (two or
  // three) and deletes those of the oneof but `name` (the same result: last
  // one wins): a RaftCommand holding a SET decodes in about 0.35 µs, against
  // 0.55 µs when it asked each of the 40 whether the message held it.
  const fastOneofSetter = [
    '$protobuf.util.oneOfSetter = function oneOfSetter(fieldNames) {',
    '    var members = new Set(fieldNames);',
    '    return function (name) {',
    '        var own = Object.keys(this);',
    '        for (var i = 0; i < own.length; ++i)',
    '            if (own[i] !== name && members.has(own[i]))',
    '                delete this[own[i]];',
    '    };',
    '};',
  ].join('\n');
  writeFileSync(js, code.replace(anchor, `${anchor}\n$protobuf.util.Long = undefined;\n$protobuf.configure();\n${fastOneofSetter}`));
}
mkdirSync(distGen, { recursive: true });
copyFileSync(js, join(distGen, 'proto.js'));
copyFileSync(dts, join(distGen, 'proto.d.ts'));
