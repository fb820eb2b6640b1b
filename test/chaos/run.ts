// One fault run: start a cluster, run the workload and the nemesis for a
// while, heal everything, read every key once more, check the history.
// Used by main.ts (npm run chaos) and by the tests.
import { cpSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ChaosCluster } from './cluster';
import { checkHistory, explain, idleClients, lostWrites, writeGaps, type CheckResult, type LostWrite } from './checker';
import { Firewall } from './firewall';
import type { Op } from './history';
import { Nemesis, type Fault, type FaultRecord } from './nemesis';
import { seededRandom } from './random';
import { Workload, type ClientKind } from './workload';
import { FULL_MIX, type CellName, type CollectionName } from './key-kinds';
import { removeDir, tempDir } from '../support/tmp';

/**
 * A client with no answered operation in this last part of the run is
 * reported idle: longer than any one fault holds (pauses and partitions end
 * within about 6 s, a killed store is back within a few more). When every
 * client is, the run fails.
 */
const IDLE_CLIENT_WINDOW_MS = 15_000;

export interface ChaosOptions {
  seconds: number;
  faults: Fault[];
  clients: number;
  seed: number;
  registers?: number;
  counters?: number;
  /** Expiring registers, and registers and counters inside hashes, sorted sets and sets (default 3 expiring, 4 hash fields, 2 hash counters, 2 scores, 2 set members). */
  cells?: Partial<Record<CellName, number>>;
  /** Share of those writes that delete (default 0.1). */
  deleteShare?: number;
  /** Keys in use at a time per collection type (default 4 lists, 2 sets, 2 hashes, 2 sorted sets). */
  collections?: Partial<Record<CollectionName, number>>;
  pairs?: number;
  /** Queues: RPUSH, LPOP and BLPOP (default 2). */
  queues?: number;
  /** Move queues: RPUSH, LMOVE and BLMOVE to a second list, LREM from it (default 1). */
  moveQueues?: number;
  opTimeoutMs?: number;
  /** test-only: REDRAFT_UNSAFE_READS for the stores ('lease' | 'follower'). */
  unsafeReads?: string;
  /** Client kinds in turn (default plain, readonly, cluster). */
  kinds?: ClientKind[];
  readShare?: number;
  /** Every fault hits the leader of slot 0. */
  targetLeader?: boolean;
  /** Meta replicas (default 1; 3: the meta group can lose its leader to a fault). */
  metas?: number;
  /** Store processes (default 3; 4 when the faults include moves, which need a store without a replica). */
  stores?: number;
  intervalMs?: [number, number];
  holdMs?: [number, number];
  /** Where failing histories go (default the OS temp dir). */
  outDir?: string;
  /** When to save the history and the logs (default on-failure). */
  saveHistory?: 'always' | 'on-failure' | 'never';
  log?: (line: string) => void;
}

export interface ChaosResult {
  ops: number;
  ok: number;
  fail: number;
  info: number;
  linearizable: boolean;
  check: CheckResult;
  lost: number;
  lostWrites: LostWrite[];
  restartsFailed: number;
  unexpectedExits: string[];
  longestWriteGapMs: number;
  /** Clients with no answered operation in the run's last IDLE_CLIENT_WINDOW_MS; all of them fails the run. */
  clientsIdleAtEnd: number;
  /** The history's file, when it was saved. */
  historyFile?: string;
  passed: boolean;
  /** The run's last line: ops=N ok=N fail=N info=N linearizable=true|false lost=N restarts-failed=N */
  summary: string;
}

/** What a saved history file holds; check.ts replays it. */
export interface SavedHistory {
  seed: number;
  faults: Fault[];
  options: Omit<ChaosOptions, 'log'>;
  nemesis: FaultRecord[];
  ops: Op[];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function runChaos(opts: ChaosOptions): Promise<ChaosResult> {
  const log = opts.log ?? ((line: string) => process.stdout.write(line + '\n'));
  const rnd = seededRandom(opts.seed);
  const dir = tempDir(undefined, 'redraft-chaos-');
  let firewall: Firewall | undefined;
  let partitionUnavailable: string | undefined;
  if (opts.faults.includes('partition')) {
    partitionUnavailable = Firewall.unavailable();
    if (partitionUnavailable) log(`partition: will be skipped: ${partitionUnavailable}`);
    else {
      Firewall.sweepStale(log);
      firewall = new Firewall();
      try {
        firewall.install();
      } catch (e) {
        firewall.close();
        firewall = undefined;
        partitionUnavailable = (e as Error).message;
        log(`partition: will be skipped: ${partitionUnavailable}`);
      }
    }
  }
  let cluster: ChaosCluster | undefined;
  let workload: Workload | undefined;
  let nemesis: Nemesis | undefined;
  try {
    const storeEnv: NodeJS.ProcessEnv = opts.unsafeReads ? { REDRAFT_UNSAFE_READS: opts.unsafeReads } : {};
    if (opts.unsafeReads) log(`UNSAFE: stores run with REDRAFT_UNSAFE_READS=${opts.unsafeReads} (test-only: the checker must report linearizable=false)`);
    cluster = await ChaosCluster.start({ dir, storeEnv, metas: opts.metas ?? 1, stores: opts.stores ?? (opts.faults.includes('move') ? 4 : 3) });
    log(`cluster: metas ${cluster.metas.map((m) => `${m.name}=${m.host}:${m.port}`).join(' ')}, stores ${cluster.stores.map((s) => `${s.name}=${s.host}:${s.port}`).join(' ')}; data in ${dir}`);
    workload = new Workload({
      stores: cluster.stores,
      clients: opts.clients,
      registers: opts.registers ?? 6,
      counters: opts.counters ?? 6,
      cells: opts.cells ?? FULL_MIX.cells,
      deleteShare: opts.deleteShare ?? FULL_MIX.deleteShare,
      collections: opts.collections ?? FULL_MIX.collections,
      pairs: opts.pairs ?? FULL_MIX.pairs,
      queues: opts.queues ?? FULL_MIX.queues,
      moveQueues: opts.moveQueues ?? FULL_MIX.moveQueues,
      opTimeoutMs: opts.opTimeoutMs ?? 3000,
      readShare: opts.readShare,
      kinds: opts.kinds,
      rnd,
      log,
    });
    for (let i = 0; i < opts.clients; i++) log(`client ${workload.describeClient(i).id}`);
    nemesis = new Nemesis({
      cluster,
      firewall,
      partitionUnavailable,
      faults: opts.faults,
      rnd,
      log,
      intervalMs: opts.intervalMs,
      holdMs: opts.holdMs,
      targetLeader: opts.targetLeader ? 'always' : 'sometimes',
    });
    const t0 = performance.now();
    log(`workload: starts at t=${t0.toFixed(0)}ms (times below are ms on the history's clock)`);
    workload.start();
    if (opts.faults.length) nemesis.begin();
    await sleep(opts.seconds * 1000);
    log(`stopping: nemesis first (its current fault is healed), then the clients`);
    await nemesis.stop();
    // Write gaps are measured up to here: stopping can wait seconds for a
    // client that is reconnecting, while the others have stopped writing.
    const clientsStopped = performance.now();
    await workload.stop();
    const workloadEnd = performance.now();
    const c0 = workload.history.counts();
    log(`workload: ${c0.ops} ops in ${((workloadEnd - t0) / 1000).toFixed(1)} s (${c0.ok} ok, ${c0.fail} fail, ${c0.info} info)`);
    await nemesis.healAll();
    await workload.finalReads(cluster.stores);
    log(`final reads: ${workload.keys.length} keys read after healing`);

    const ops = workload.history.ops;
    const check = checkHistory(ops);
    const lost = lostWrites(ops);
    const gaps = writeGaps(ops, nemesis.faults.map((f) => f.at), clientsStopped);
    nemesis.faults.forEach((f, i) => log(`fault #${i + 1} at t=${f.at.toFixed(0)}ms (+${((f.at - t0) / 1000).toFixed(1)}s) ${f.fault}: ${f.what}; longest write gap after it ${gaps[i].toFixed(0)} ms`));
    const longest = Math.round(Math.max(0, ...gaps));
    log(`longest-write-gap-ms=${longest}`);
    // Clients that stopped working: the rest of the run did not test through them.
    const idle = idleClients(ops, clientsStopped, IDLE_CLIENT_WINDOW_MS);
    log(`clients-idle-at-end=${idle.length}${idle.map((c) => ` ${c.clientId} (last ok ${c.lastOkAt < 0 ? 'never' : `at t=${c.lastOkAt.toFixed(0)}ms`})`).join(',')}`);
    // Some idle clients may be bad luck (a store paused near the end); none
    // working for longer than any fault holds is a cluster that stopped serving.
    const noneWorking = opts.clients > 0 && idle.length === opts.clients;
    if (noneWorking) log(`NO CLIENT WORKING: not one of the ${opts.clients} clients had an answer in the last ${IDLE_CLIENT_WINDOW_MS / 1000} s`);
    if (!check.linearizable) log(explain(check));
    for (const l of lost) log(`LOST: ${l.reason}`);
    if (nemesis.unexpectedExits.length) log(`unexpected-exits=${nemesis.unexpectedExits.length}: ${nemesis.unexpectedExits.join('; ')}`);
    const c = workload.history.counts();
    const lostCount = lost.reduce((s, l) => s + l.count, 0);
    const passed = check.linearizable && lostCount === 0 && nemesis.restartsFailed === 0 && nemesis.unexpectedExits.length === 0 && !noneWorking;
    let historyFile: string | undefined;
    const save = opts.saveHistory ?? 'on-failure';
    if (save === 'always' || (save === 'on-failure' && !passed)) historyFile = saveRun(opts, nemesis.faults, ops, dir);
    if (historyFile) log(`history: ${historyFile} (replay: node test/dist/chaos/check.js ${historyFile})`);
    const summary = `ops=${c.ops} ok=${c.ok} fail=${c.fail} info=${c.info} linearizable=${check.linearizable} lost=${lostCount} restarts-failed=${nemesis.restartsFailed}`;
    return {
      ...c,
      linearizable: check.linearizable,
      check,
      lost: lostCount,
      lostWrites: lost,
      restartsFailed: nemesis.restartsFailed,
      unexpectedExits: nemesis.unexpectedExits,
      longestWriteGapMs: longest,
      clientsIdleAtEnd: idle.length,
      historyFile,
      passed,
      summary,
    };
  } catch (e) {
    // A run that cannot finish (cluster never serves, ...) still leaves its history and logs.
    if (workload && opts.saveHistory !== 'never') {
      const file = saveRun(opts, nemesis?.faults ?? [], workload.history.ops, dir);
      log(`history so far: ${file}`);
    }
    throw e;
  } finally {
    await nemesis?.stop().catch(() => {});
    await workload?.stop().catch(() => {});
    await cluster?.stopAll();
    firewall?.close();
    removeDir(dir);
  }
}

/** Writes the history (and the processes' logs) where they outlive the run; returns the history's path. */
function saveRun(opts: ChaosOptions, nemesis: FaultRecord[], ops: Op[], dir: string): string {
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const out = join(opts.outDir ?? tmpdir(), `redraft-chaos-${stamp}-seed${opts.seed}`);
  mkdirSync(out, { recursive: true });
  const { log: _log, ...options } = opts;
  const saved: SavedHistory = { seed: opts.seed, faults: opts.faults, options, nemesis, ops };
  const file = join(out, 'history.json');
  writeFileSync(file, JSON.stringify(saved));
  try {
    cpSync(join(dir, 'logs'), join(out, 'logs'), { recursive: true });
  } catch {
    /* no logs yet */
  }
  return file;
}
