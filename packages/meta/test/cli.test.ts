// `redraft meta` flags, through registerMetaCommand on a fresh commander program in a child process.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { rmSync } from 'node:fs';
import { parsePeers } from '../src/cli';
import { freePort, respCall, tempDir, waitFor } from './helpers';

const script = `
const { Command } = require('commander');
const program = new Command('redraft').exitOverride((e) => process.exit(e.exitCode)).configureOutput({ outputError: (s, w) => w(s) });
require(${JSON.stringify(join(__dirname, '../src/index.js'))}).registerMetaCommand(program);
program.parseAsync(['node', 'redraft', ...process.argv.slice(1)]);
`;

function run(args: string[]): { status: number | null; out: string } {
  const r = spawnSync(process.execPath, ['-e', script, ...args], { encoding: 'utf8', timeout: 20_000 });
  return { status: r.status, out: r.stdout + r.stderr };
}

test('parsePeers', () => {
  assert.deepEqual([...parsePeers('--peers', '1=a:1, 2=b:2,3=[::1]:3')], [[1, 'a:1'], [2, 'b:2'], [3, '[::1]:3']]);
  assert.throws(() => parsePeers('--peers', '1=a'), /--peers: expected host:port/);
  assert.throws(() => parsePeers('--peers', 'x=a:1'), /--peers: expected id=host:port/);
  assert.throws(() => parsePeers('--peers', '1=a:1,1=b:2'), /named twice/);
  assert.throws(() => parsePeers('--peers', ''), /no replicas/);
});

test('redraft meta --help documents every flag; bad values are clear errors', () => {
  const help = run(['meta', '--help']);
  assert.equal(help.status, 0);
  for (const f of ['--id', '--peers', '--host', '--port', '--peer-port', '--data-dir', '--replicas', '--initial-regions', '--down-after-ms', '--metrics-port', '--log-level']) assert.ok(help.out.includes(f), `--help lists ${f}`);
  const bad: Array<[string[], RegExp]> = [
    [['--port', 'abc'], /--port: expected a TCP port/],
    [['--peers', '1=nohost'], /--peers: expected host:port/],
    [['--id', '4', '--peers', '1=a:1,2=b:2'], /--peers: names no replica with this --id \(4\)/],
    [['--replicas', '0'], /--replicas: expected an integer/],
    [['--initial-regions', '20000'], /--initial-regions: expected an integer/],
    [['--down-after-ms', 'soon'], /--down-after-ms: expected an integer/],
  ];
  for (const [args, rx] of bad) {
    const r = run(['meta', ...args]);
    assert.equal(r.status, 2, `${args.join(' ')} exits 2: ${r.out}`);
    assert.match(r.out, rx);
  }
});

test('redraft meta starts, answers on its admin port, stops on SIGTERM', async () => {
  const dir = tempDir();
  const port = await freePort();
  const peerPort = await freePort();
  const child = spawn(process.execPath, ['-e', script, 'meta', '--port', String(port), '--peer-port', String(peerPort), '--data-dir', dir, '--replicas', '1'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  try {
    await waitFor(() => out.includes('meta replica ready'), 'the meta to start');
    await waitFor(async () => /meta_role:leader/.test(String(await respCall(port, 'INFO', 'meta'))), 'it to lead');
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    child.kill('SIGTERM');
    assert.equal(await exited, 0);
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});
