// Runs every compiled test with Node's own runner. Arguments narrow the run:
// `npm test -- raft` runs only test files whose path contains "raft".
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dirs = ['packages/common/dist/test', 'packages/store/dist/test', 'packages/meta/dist/test', 'packages/cli/dist/test', 'test/dist'].map((d) => join(root, d)).filter(existsSync);
function walk(dir, out) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (name.endsWith('.test.js')) out.push(p);
  }
  return out;
}
const filters = process.argv.slice(2);
const files = dirs.flatMap((d) => walk(d, [])).filter((f) => filters.length === 0 || filters.some((s) => f.includes(s))).sort();
if (files.length === 0) { console.error('no test files found'); process.exit(1); }
// One file at a time: the end-to-end files start whole clusters, and some
// measure time (the failover gap); two at once on CI's two cores made them
// compete with the Redis Tcl suite's own playground. TEST_CONCURRENCY=2 is
// faster on a quiet machine.
const concurrency = process.env.TEST_CONCURRENCY ?? '1';
// --test-force-exit: a file whose tests are done exits even if something it
// opened (a client left reconnecting) would keep it alive; such a leak must
// never hang the run until CI's limit.
const preload = join(root, 'scripts', 'test-preload.cjs'); // reports are not lost at a forced exit (see there)
const r = spawnSync(process.execPath, ['--require', preload, '--test', '--test-force-exit', `--test-concurrency=${concurrency}`, ...files], { stdio: 'inherit', cwd: root });
process.exit(r.status ?? 1);
