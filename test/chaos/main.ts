// npm run chaos -- --seconds 60 --faults kill,pause,restart,partition,transfer --clients 10 --seed 1
// See docs/chaos.md. The last line printed is the verdict:
//   ops=N ok=N fail=N info=N linearizable=true|false lost=N restarts-failed=N
import { Command, InvalidArgumentError } from 'commander';
import { FAULTS, type Fault } from './nemesis';
import { runChaos } from './run';

function positiveInt(v: string): number {
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n <= 0) throw new InvalidArgumentError('expected a positive integer');
  return n;
}

function faultList(v: string): Fault[] {
  const list = v.split(',').map((s) => s.trim()).filter(Boolean);
  for (const f of list) if (!(FAULTS as readonly string[]).includes(f)) throw new InvalidArgumentError(`unknown fault ${JSON.stringify(f)} (known: ${FAULTS.join(', ')})`);
  return list as Fault[];
}

async function main(): Promise<void> {
  const program = new Command('chaos')
    .description('fault-injection run: a real cluster, concurrent clients, a nemesis, then a linearizability and durability check')
    .option('--seconds <n>', 'how long the workload and the nemesis run', positiveInt, 30)
    .option('--faults <list>', `comma-separated faults, one picked at random each interval: ${FAULTS.join(',')} (empty: none)`, faultList, ['kill', 'pause', 'restart'] as Fault[])
    .option('--clients <n>', 'concurrent clients (plain, READONLY and cluster in turn)', positiveInt, 10)
    .option('--stores <n>', 'store processes (default 3, or 4 when the faults include move)', positiveInt)
    .option('--metas <n>', 'meta replicas: 1, or 3 (faults then hit the meta group too: its leader can be killed, paused or cut off)', positiveInt, 1)
    .option('--seed <n>', 'seed of the random choices (keys, faults, targets)', (v) => Number.parseInt(v, 10), Date.now() % 100000)
    .option('--op-timeout-ms <ms>', 'an operation with no answer after this long is recorded as unknown (info)', positiveInt, 3000)
    .option('--unsafe-reads <mode>', "test-only: start the stores with REDRAFT_UNSAFE_READS=<lease|follower>; the check must then fail")
    .option('--target-leader', 'every fault (kill, pause, restart, partition) hits the leader of slot 0')
    .option('--read-share <f>', 'share of reads of plain and cluster clients', (v) => Number(v), 0.5)
    .option('--out <dir>', 'where to save failing histories (default: the OS temp dir)')
    .option('--save-history', 'save the history even if the run passes')
    .parse(process.argv);
  const o = program.opts<{ seconds: number; faults: Fault[]; clients: number; stores?: number; metas: number; seed: number; opTimeoutMs: number; unsafeReads?: string; targetLeader?: boolean; readShare: number; out?: string; saveHistory?: boolean }>();
  if (o.unsafeReads !== undefined && !['lease', 'follower'].includes(o.unsafeReads)) program.error("--unsafe-reads: expected 'lease' or 'follower'");
  if (!Number.isFinite(o.seed)) program.error('--seed: expected an integer');
  if (o.metas !== 1 && o.metas !== 3) program.error('--metas: expected 1 or 3');
  if (!(o.readShare >= 0 && o.readShare <= 1)) program.error('--read-share: expected a number in [0, 1]');
  // Ctrl-C: exit through process.exit so that the exit hooks run (children killed by pid, iptables chain removed, temp dir removed).
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => process.exit(130));
  process.stdout.write(`chaos: seed=${o.seed} seconds=${o.seconds} faults=${o.faults.join(',') || 'none'} clients=${o.clients} metas=${o.metas}\n`);
  const r = await runChaos({
    seconds: o.seconds,
    faults: o.faults,
    clients: o.clients,
    stores: o.stores,
    metas: o.metas,
    seed: o.seed,
    opTimeoutMs: o.opTimeoutMs,
    unsafeReads: o.unsafeReads,
    targetLeader: o.targetLeader,
    readShare: o.readShare,
    outDir: o.out,
    saveHistory: o.saveHistory ? 'always' : 'on-failure',
  });
  process.stdout.write(r.summary + '\n');
  process.exitCode = r.passed ? 0 : 1;
}

main().catch((e) => {
  process.stderr.write(`chaos: ${(e as Error).stack ?? String(e)}\n`);
  process.exit(2);
});
