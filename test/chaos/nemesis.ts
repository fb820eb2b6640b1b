// The nemesis: every few seconds one fault, held for a while, then healed.
// It only ever signals the processes of its own ChaosCluster (by pid) and
// only adds rules to its own iptables chain.
//
//   kill      — kill -9 a process (a store, sometimes a meta), start it again after a pause
//   pause     — SIGSTOP a process, SIGCONT a few seconds later
//   restart   — SIGTERM a process (SIGKILL after 10 s), start it again at once
//   partition — cut one store (often the slot-0 leader), or a meta, from every other process
//   transfer  — REGION TRANSFER-LEADER: the slot-0 region's leader hands leadership to another replica
//   split     — REGION SPLIT on the meta leader's admin port: the slot-0 region is split at a random slot
//   move      — REGION MOVE on the meta leader's admin port: a replica of the slot-0 region (often its
//               leader's) moves to an up store that has none (the cluster needs a 4th store)
import type { ChaosCluster, ChaosNode } from './cluster';
import type { Firewall } from './firewall';
import { between, pick, type Rng } from './random';
import { waitFor } from '../support/wait';

export const FAULTS = ['kill', 'pause', 'restart', 'partition', 'transfer', 'split', 'move', 'merge'] as const;
export type Fault = (typeof FAULTS)[number];

export interface NemesisOptions {
  cluster: ChaosCluster;
  /** undefined: partitions are skipped (the reason is in partitionUnavailable). */
  firewall: Firewall | undefined;
  partitionUnavailable?: string;
  faults: Fault[];
  rnd: Rng;
  log: (line: string) => void;
  /** Quiet time between faults, ms (default [2000, 4000]). */
  intervalMs?: [number, number];
  /** How long a fault is held, ms (default [1500, 6000]: often longer than a client's deadline). */
  holdMs?: [number, number];
  /** A restarted process must answer PING within this (default 20 s). */
  restartTimeoutMs?: number;
  /** 'always': every fault hits the slot-0 leader; 'sometimes' (default): partitions do half the time, other faults pick at random. */
  targetLeader?: 'always' | 'sometimes';
}

export interface FaultRecord {
  /** performance.now() when the fault began (the history's clock). */
  at: number;
  fault: Fault;
  what: string;
}

export class Nemesis {
  readonly faults: FaultRecord[] = [];
  /** Processes that did not answer PING within restartTimeoutMs of being started again. */
  restartsFailed = 0;
  /** Processes that exited without being told to. */
  readonly unexpectedExits: string[] = [];
  private running = false;
  private wake: (() => void) | undefined;
  private loop: Promise<void> | undefined;
  private partitionSkipLogged = false;

  constructor(private readonly opts: NemesisOptions) {}

  private log(line: string): void {
    // The history's clock (performance.now()), so fault times line up with the ops in a report.
    // The wall-clock time too, to find the moment in the processes' logs.
    this.opts.log(`nemesis t=${performance.now().toFixed(0)}ms (${new Date().toISOString().slice(11, 23)}Z) ${line}`);
  }

  /** Sleeps ms, or less if stop() is called. */
  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.wake = undefined;
        resolve();
      }, ms);
      this.wake = () => {
        clearTimeout(t);
        this.wake = undefined;
        resolve();
      };
    });
  }

  begin(): void {
    this.running = true;
    this.loop = this.run();
  }

  /** Stops injecting (the current fault is healed) and waits for the loop to end. */
  async stop(): Promise<void> {
    this.running = false;
    this.wake?.();
    await this.loop;
  }

  private async run(): Promise<void> {
    const [imin, imax] = this.opts.intervalMs ?? [2000, 4000];
    while (this.running) {
      await this.sleep(between(this.opts.rnd, imin, imax));
      if (!this.running) break;
      await this.checkExits();
      // A process that failed to come back is retried first; no new fault
      // meanwhile (another one down could cost the majority, which proves nothing).
      const broken = this.opts.cluster.nodes.filter((n) => !n.running);
      if (broken.length) {
        for (const n of broken) {
          this.log(`${n.name} is still down: starting it again (no new fault until it is back)`);
          await this.restart(n);
        }
        continue;
      }
      const fault = pick(this.opts.rnd, this.opts.faults);
      try {
        await this.inject(fault);
      } catch (e) {
        this.log(`${fault}: failed: ${(e as Error).message}`);
      }
    }
  }

  private holdMs(): number {
    const [hmin, hmax] = this.opts.holdMs ?? [1500, 6000];
    return between(this.opts.rnd, hmin, hmax);
  }

  private record(fault: Fault, what: string): void {
    this.faults.push({ at: performance.now(), fault, what });
    this.log(`${fault}: ${what}`);
  }

  /** A running target: a store, or (one time in four) a meta; with targetLeader 'always', the slot-0 leader. */
  private async target(): Promise<ChaosNode | undefined> {
    const c = this.opts.cluster;
    if (this.opts.targetLeader === 'always') return c.leaderOfSlot(0);
    const candidates = this.opts.rnd() < 0.25 ? c.metas : c.stores;
    const up = candidates.filter((n) => n.running && !n.paused && !n.down);
    return up.length ? pick(this.opts.rnd, up) : undefined;
  }

  private async inject(fault: Fault): Promise<void> {
    switch (fault) {
      case 'kill': {
        const n = await this.target();
        if (!n) return;
        this.record('kill', `kill -9 ${n.name} (pid ${n.pid})`);
        n.down = true;
        await n.kill9();
        await this.sleep(this.holdMs());
        await this.restart(n);
        return;
      }
      case 'restart': {
        const n = await this.target();
        if (!n) return;
        this.record('restart', `SIGTERM ${n.name} (pid ${n.pid})`);
        n.down = true;
        const t0 = Date.now();
        await n.stop(10_000);
        this.log(`restart: ${n.name} ${n.proc?.describeExit()} after ${Date.now() - t0} ms`);
        await this.restart(n);
        return;
      }
      case 'pause': {
        const n = await this.target();
        if (!n) return;
        const hold = this.holdMs();
        this.record('pause', `SIGSTOP ${n.name} (pid ${n.pid}) for ${hold} ms`);
        n.pause();
        await this.sleep(hold);
        n.cont();
        this.log(`pause: SIGCONT ${n.name}`);
        return;
      }
      case 'partition': {
        const fw = this.opts.firewall;
        if (!fw) {
          if (!this.partitionSkipLogged) this.log(`partition: skipped: ${this.opts.partitionUnavailable ?? 'no firewall'}`);
          this.partitionSkipLogged = true;
          return;
        }
        const c = this.opts.cluster;
        const hold = this.holdMs();
        const wantLeader = this.opts.targetLeader === 'always' || this.opts.rnd() < 0.5;
        const leader = wantLeader ? await c.leaderOfSlot(0) : undefined;
        if (!leader && this.opts.rnd() < 0.25) {
          const m = pick(this.opts.rnd, c.metas);
          for (const other of c.nodes) if (other !== m) fw.cut(m.host, other.host);
          this.record('partition', `${m.name} ${m.host} cut from every other process for ${hold} ms`);
        } else {
          const n = leader ?? pick(this.opts.rnd, c.stores);
          for (const other of c.nodes) if (other !== n) fw.cut(n.host, other.host);
          this.record('partition', `${n.name} ${n.host}${leader ? ' (slot 0 leader)' : ''} cut from every other process for ${hold} ms`);
        }
        await this.sleep(hold);
        fw.heal();
        this.log('partition: healed');
        return;
      }
      case 'transfer': {
        const leader = await this.opts.cluster.leaderOfSlot(0);
        if (!leader) {
          this.log('transfer: no leader of slot 0 known; skipped');
          return;
        }
        try {
          // REGION LIST on the leader: id=R slots=a-b role=… leader_peer=P … peers=P1@S1,P2@S2,…
          const lines = (await leader.call('REGION', 'LIST')) as unknown as string[];
          const line = lines.find((l) => /slots=0-/.test(String(l)));
          const id = /id=(\d+)/.exec(String(line))?.[1];
          const leaderPeer = /leader_peer=(\d+)/.exec(String(line))?.[1];
          const peers = (/peers=(\S+)/.exec(String(line))?.[1] ?? '').split(',').filter((p) => p && !p.endsWith('L'));
          const others = peers.filter((p) => !p.startsWith(`${leaderPeer}@`)).map((p) => p.split('@')[1]);
          if (!id || others.length === 0) {
            this.log(`transfer: could not read region of slot 0 from ${leader.name}: ${String(line)}`);
            return;
          }
          const to = pick(this.opts.rnd, others);
          const r = await leader.call('REGION', 'TRANSFER-LEADER', id, to);
          this.record('transfer', `REGION TRANSFER-LEADER ${id} ${to} on ${leader.name}: ${String(r)}`);
        } catch (e) {
          this.log(`transfer: ${(e as Error).message}`);
        }
        return;
      }
      case 'move': {
        // The meta's maps: REGION LIST (peers=P@S,...; leader_store=S) and STORE LIST (id=S ... state=up).
        const c = this.opts.cluster;
        try {
          const line = String(await c.metaCall('REGION', 'LIST')).split('\n').find((l) => /slots=0-/.test(l));
          const id = line ? /id=(\d+)/.exec(line)?.[1] : undefined;
          const stores = (line ? /peers=(\S+)/.exec(line)?.[1] ?? '' : '').split(',').filter(Boolean).map((p) => p.replace(/\(learner\)$/, '').split('@')[1]);
          const up = String(await c.metaCall('STORE', 'LIST')).split('\n').filter((l) => / state=up /.test(l)).map((l) => /id=(\d+)/.exec(l)![1]);
          const targets = up.filter((s) => !stores.includes(s));
          if (!id || stores.length === 0 || targets.length === 0) {
            this.log(`move: no replica of slot 0 to move, or no store without one: ${String(line)}; up stores ${up.join(',')}`);
            return;
          }
          const leaderStore = /leader_store=(\d+)/.exec(line!)?.[1];
          const from = leaderStore && stores.includes(leaderStore) && this.opts.rnd() < 0.5 ? leaderStore : pick(this.opts.rnd, stores);
          const to = pick(this.opts.rnd, targets);
          const r = await c.metaCall('REGION', 'MOVE', id, from, to);
          this.record('move', `REGION MOVE ${id} ${from} ${to}${from === leaderStore ? ' (from the leader)' : ''} on the meta leader: operator ${String(r)}`);
        } catch (e) {
          this.log(`move: ${(e as Error).message}`);
        }
        return;
      }
      case 'split': {
        // REGION LIST on the meta: id=R slots=a-b (inclusive) ... one line per region in slot order.
        const c = this.opts.cluster;
        try {
          const text = String(await c.metaCall('REGION', 'LIST'));
          const line = text.split('\n').find((l) => /slots=0-/.test(l));
          const m = line ? /id=(\d+) slots=(\d+)-(\d+)/.exec(line) : null;
          if (!m || Number(m[3]) < 1) {
            this.log(`split: no splittable region of slot 0 in the meta's map: ${String(line)}`);
            return;
          }
          const at = between(this.opts.rnd, 1, Number(m[3]));
          const r = await c.metaCall('REGION', 'SPLIT', m[1], at);
          this.record('split', `REGION SPLIT ${m[1]} ${at} (slots 0-${m[3]}) on the meta leader: operator ${String(r)}`);
        } catch (e) {
          this.log(`split: ${(e as Error).message}`);
        }
        return;
      }
      case 'merge': {
        // A random region of the meta's map merges into its neighbour (REGION MERGE picks it; a lone region is refused).
        const c = this.opts.cluster;
        try {
          const ids = String(await c.metaCall('REGION', 'LIST'))
            .split('\n')
            .map((l) => /id=(\d+)/.exec(l)?.[1])
            .filter((id): id is string => !!id);
          if (ids.length < 2) {
            this.log(`merge: only ${ids.length} region in the meta's map`);
            return;
          }
          const id = pick(this.opts.rnd, ids);
          const r = await c.metaCall('REGION', 'MERGE', id);
          this.record('merge', `REGION MERGE ${id} on the meta leader (${ids.length} regions): operator ${String(r)}`);
        } catch (e) {
          this.log(`merge: ${(e as Error).message}`);
        }
        return;
      }
    }
  }

  /** Processes whose restart failed and that have not come back since (counted once). */
  private readonly failed = new Set<ChaosNode>();

  /** Starts n again and waits for it to answer PING; counts it in restartsFailed if it does not. */
  private async restart(n: ChaosNode): Promise<boolean> {
    const timeoutMs = this.opts.restartTimeoutMs ?? 20_000;
    const t0 = Date.now();
    n.start();
    try {
      await n.ready(timeoutMs);
      this.log(`${n.name} is back (pid ${n.pid}) after ${Date.now() - t0} ms`);
      this.failed.delete(n);
      return true;
    } catch (e) {
      if (!this.failed.has(n)) this.restartsFailed++;
      this.failed.add(n);
      this.log(`RESTART FAILED: ${n.name} did not answer PING within ${timeoutMs} ms: ${(e as Error).message.split('\n')[0]}`);
      this.log(`--- ${n.name} log tail ---\n${n.proc?.logTail(30) ?? ''}\n--- end ---`);
      n.down = !n.running;
      return false;
    }
  }

  /** Any process that exited on its own is logged, counted and started again. */
  private async checkExits(): Promise<void> {
    for (const n of this.opts.cluster.nodes) {
      if (n.proc && !n.running && !n.down) {
        const why = n.proc.describeExit();
        this.unexpectedExits.push(why);
        this.log(`UNEXPECTED EXIT: ${why}\n--- ${n.name} log tail ---\n${n.proc.logTail(30)}\n--- end ---`);
        n.down = true;
        await this.restart(n);
      }
    }
  }

  /**
   * Heals everything: partitions removed, paused processes continued, every
   * process that is down started again; then waits until every store serves.
   */
  async healAll(servingTimeoutMs = 60_000): Promise<void> {
    this.opts.firewall?.heal();
    for (const n of this.opts.cluster.nodes) n.cont();
    await this.checkExits();
    for (const n of this.opts.cluster.nodes) {
      if (!n.running) {
        this.log(`heal: starting ${n.name} again`);
        await this.restart(n);
      }
    }
    this.log('heal: every process up, no partition; waiting for every store to serve');
    await waitFor(async () => {
      await this.opts.cluster.serving(servingTimeoutMs);
      return true;
    }, { timeoutMs: servingTimeoutMs, what: 'the cluster to serve after healing' });
  }
}
