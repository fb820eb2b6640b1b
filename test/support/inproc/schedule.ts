// A seeded schedule of faults and operator commands for the in-process
// cluster: drops, partitions and heals on the in-memory network; leader
// transfers, splits and replica moves through the meta. The seed fixes every
// choice (which fault, which store, region, slot, share); when each lands
// in the cluster's life still varies from run to run.
import { pb } from '@redraft/common';
import { between, pick, type Rng } from '../../chaos/random';
import type { InprocCluster } from './cluster';

export const SCHEDULE_FAULTS = ['drop', 'isolate', 'partition', 'heal', 'transfer', 'split', 'move'] as const;
export type ScheduleFault = (typeof SCHEDULE_FAULTS)[number];

export interface ScheduleOptions {
  rnd: Rng;
  /** The per-message coin of drop faults (another stream of the seed). */
  dropRnd: Rng;
  seconds: number;
  /** Pause between two faults, [lo, hi] ms (default 500-1500). */
  intervalMs?: [number, number];
  /** No split beyond this many regions (default 8). */
  maxRegions?: number;
  log: (line: string) => void;
}

export interface ScheduleRecord {
  at: number;
  fault: ScheduleFault;
  what: string;
}

export class Schedule {
  readonly records: ScheduleRecord[] = [];
  private heals: Array<() => void> = [];
  private isolated: string | undefined;
  private dropping = false;

  constructor(
    private readonly c: InprocCluster,
    private readonly opts: ScheduleOptions,
  ) {}

  /** Runs faults until the time is up, then heals everything. */
  async run(): Promise<void> {
    const { rnd } = this.opts;
    const [lo, hi] = this.opts.intervalMs ?? [500, 1500];
    const t0 = Date.now();
    while (Date.now() - t0 < this.opts.seconds * 1000) {
      await new Promise((r) => setTimeout(r, between(rnd, lo, hi)));
      const fault = pick(rnd, SCHEDULE_FAULTS);
      const what = await this.inject(fault).catch((e: Error) => `refused: ${e.message}`);
      this.records.push({ at: Date.now() - t0, fault, what });
      this.opts.log(`+${((Date.now() - t0) / 1000).toFixed(1)}s ${fault}: ${what}`);
    }
    this.healAll();
  }

  healAll(): void {
    for (const h of this.heals) h();
    this.heals = [];
    this.isolated = undefined;
    this.dropping = false;
  }

  private async inject(fault: ScheduleFault): Promise<string> {
    const { rnd } = this.opts;
    const c = this.c;
    // Every choice is drawn before anything is awaited, in a fixed order, so the seed fixes them.
    switch (fault) {
      case 'drop': {
        const share = between(rnd, 5, 30) / 100;
        if (this.dropping) return 'already dropping';
        this.dropping = true;
        this.heals.push(c.net.dropMessages(share, this.opts.dropRnd));
        return `drop ${Math.round(share * 100)}% of one-way messages on every link`;
      }
      case 'isolate': {
        const names = [...c.stores.map((s) => s.name), ...c.metas.map((_, i) => `meta${i + 1}`)];
        const name = pick(rnd, names);
        if (this.isolated) return `${this.isolated} is cut off already`;
        this.isolated = name;
        this.heals.push(c.net.isolate(name));
        return `isolate ${name}`;
      }
      case 'partition': {
        // Every node on one side or the other of a random cut (stores and metas mixed).
        const names = [...c.stores.map((s) => s.name), ...c.metas.map((_, i) => `meta${i + 1}`)];
        const side = names.map(() => rnd() < 0.5);
        if (this.isolated) return `${this.isolated} is cut off already`;
        const a = names.filter((_, i) => side[i]);
        const b = names.filter((_, i) => !side[i]);
        if (!a.length || !b.length) return 'an empty side: no cut';
        this.isolated = `[${a.join(',')}]`;
        this.heals.push(c.net.partition(a, b));
        return `partition [${a.join(',')}] | [${b.join(',')}]`;
      }
      case 'heal':
        this.healAll();
        return 'heal every link';
      case 'transfer': {
        const r = pick(rnd, this.regions());
        const x = rnd();
        const voters = r.region.peers.filter((p) => p.role !== pb.PeerRole.LEARNER);
        const to = voters[Math.floor(x * voters.length)];
        await c.admin('REGION', 'TRANSFER-LEADER', r.region.id, to.storeId);
        return `REGION TRANSFER-LEADER ${r.region.id} ${to.storeId}`;
      }
      case 'split': {
        const r = pick(rnd, this.regions());
        const x = rnd();
        const { startSlot, endSlot } = r.region;
        if (this.regions().length >= (this.opts.maxRegions ?? 8)) return 'enough regions';
        if (endSlot - startSlot < 2) return `region ${r.region.id} holds one slot`;
        const slot = startSlot + 1 + Math.floor(x * (endSlot - startSlot - 1));
        await c.admin('REGION', 'SPLIT', r.region.id, slot);
        return `REGION SPLIT ${r.region.id} ${slot}`;
      }
      case 'move': {
        const r = pick(rnd, this.regions());
        const x = rnd();
        const y = rnd();
        const holders = r.region.peers.map((p) => p.storeId);
        const others = c.stores.filter((s) => !holders.includes(s.id));
        if (!others.length) return `region ${r.region.id} is on every store`;
        const from = holders[Math.floor(x * holders.length)];
        const to = others[Math.floor(y * others.length)].id;
        await c.admin('REGION', 'MOVE', r.region.id, from, to);
        return `REGION MOVE ${r.region.id} ${from} ${to}`;
      }
    }
  }

  /** The map's regions in slot order (a stable order for the seed's picks). */
  private regions() {
    const list = this.c.regions().sort((a, b) => a.region.startSlot - b.region.startSlot);
    if (!list.length) throw new Error('no meta leader with a map');
    return list;
  }
}
