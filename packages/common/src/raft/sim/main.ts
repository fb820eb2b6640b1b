// npm run sim -- --seeds N [--seed S] [--steps K] [--nodes 3|5] [--mutation NAME] [--verbose]
// Runs N seeded schedules (seeds 1..N, or only S) and prints `seeds=N violations=V` last.
import { Command } from 'commander';
import { LIVENESS_BOUND_TICKS, MUTATIONS, runSeed } from './cluster';

function int(v: string): number {
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`not a non-negative integer: ${v}`);
  return n;
}

const program = new Command()
  .name('sim')
  .description('Seeded Raft cluster simulator: random faults, invariants checked after every step.')
  .option('--seeds <n>', 'number of seeds to run (1..n)', int, 100)
  .option('--seed <s>', 'replay only this seed', int)
  .option('--from <s>', 'first seed of the range', int, 1)
  .option('--steps <k>', 'chaos steps per seed before healing', int, 3000)
  .option('--nodes <n>', '3 or 5 (default: chosen by the seed)', int)
  .option('--mutation <name>', `run a known-wrong core: ${Object.keys(MUTATIONS).join(', ')}`)
  .option('--hibernate', 'idle groups hibernate (a liveness oracle wakes followers of a silent leader)')
  .option('--verbose', 'print the last events of a failing seed')
  .option('--stop', 'stop at the first failing seed')
  .parse();

const o = program.opts<{ seeds: number; seed?: number; from: number; steps: number; nodes?: number; mutation?: string; hibernate?: boolean; verbose?: boolean; stop?: boolean }>();
if (o.mutation && !MUTATIONS[o.mutation]) {
  console.error(`unknown mutation ${o.mutation}; known: ${Object.keys(MUTATIONS).join(', ')}`);
  process.exit(2);
}
if (o.nodes !== undefined && o.nodes !== 3 && o.nodes !== 5) {
  console.error('--nodes must be 3 or 5');
  process.exit(2);
}

const seeds = o.seed !== undefined ? [o.seed] : Array.from({ length: o.seeds }, (_, i) => o.from + i);
const started = process.hrtime.bigint();
let violations = 0;
let failedSeeds = 0;
let worst = 0;
let worstSeed = 0;
let steps = 0;
const totals: Record<string, number> = {};
for (const seed of seeds) {
  const r = runSeed({ seed, steps: o.steps, nodes: o.nodes, mutation: o.mutation, hibernate: o.hibernate, trace: o.verbose });
  steps += r.steps;
  for (const [k, v] of Object.entries(r.stats)) totals[k] = (totals[k] ?? 0) + v;
  if (r.livenessTicks !== undefined && r.livenessTicks > worst) {
    worst = r.livenessTicks;
    worstSeed = seed;
  }
  if (r.violations.length > 0) {
    violations += r.violations.length;
    failedSeeds++;
    const replay = `npm run sim -- --seed ${seed} --steps ${o.steps}${o.nodes ? ` --nodes ${o.nodes}` : ''}${o.mutation ? ` --mutation ${o.mutation}` : ''}${o.hibernate ? ' --hibernate' : ''}`;
    console.log(`FAIL seed=${seed} (${r.params})`);
    for (const v of r.violations) console.log(`  ${v}`);
    console.log(`  replay: ${replay}`);
    if (o.verbose) for (const line of r.trace) console.log(`    ${line}`);
    if (o.stop) break;
  }
}
const secs = Number(process.hrtime.bigint() - started) / 1e9;
console.log(
  `steps=${steps} time=${secs.toFixed(1)}s failed_seeds=${failedSeeds} ` +
    `liveness_worst=${worst} ticks (seed ${worstSeed}, bound ${LIVENESS_BOUND_TICKS}) ` +
    Object.entries(totals)
      .map(([k, v]) => `${k}=${v}`)
      .join(' '),
);
console.log(`seeds=${seeds.length} violations=${violations}`);
process.exit(violations > 0 ? 1 : 0);
