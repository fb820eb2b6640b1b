// The scheduling settings of the meta (CONFIG GET|SET and SCHEDULER
// ENABLE|DISABLE on the admin port). They live in the replicated state (a
// `SetConfig` command), so every meta replica and the next leader use the same.
import { MetaError } from './errors';

export interface SettingSpec {
  name: string;
  default: string;
  help: string;
  /** Throws MetaError INVALID for a bad value; returns the value as stored. */
  check(value: string): string;
}

function count(name: string): (v: string) => string {
  return (v) => {
    if (!/^\d+$/.test(v) || !Number.isSafeInteger(Number(v))) throw new MetaError('INVALID', `${name} must be a non-negative integer, got '${v.slice(0, 64)}'`);
    return String(Number(v));
  };
}

function onOff(name: string): (v: string) => string {
  return (v) => {
    const l = v.toLowerCase();
    if (l !== 'on' && l !== 'off') throw new MetaError('INVALID', `${name} must be on or off, got '${v.slice(0, 64)}'`);
    return l;
  };
}

/** Scheduler names (SCHEDULER LIST|ENABLE|DISABLE) and the setting that switches each. */
export const SCHEDULERS = {
  'split-checker': 'scheduler-split-checker',
  'load-split': 'scheduler-load-split',
  'leader-balance': 'scheduler-leader-balance',
  'replica-checker': 'scheduler-replica-checker',
  'region-balance': 'scheduler-region-balance',
  'merge-checker': 'scheduler-merge-checker',
} as const;
export type SchedulerName = keyof typeof SCHEDULERS;

export const SETTINGS: SettingSpec[] = [
  { name: 'split-max-keys', default: '960000', help: 'a region with more keys than this is split (0: never by keys)', check: count('split-max-keys') },
  { name: 'split-max-bytes', default: String(96 * 1024 * 1024), help: 'a region larger than this is split (0: never by size)', check: count('split-max-bytes') },
  { name: 'leader-balance-tolerance', default: '1', help: 'leader-balance moves a leader when the busiest up store leads more than this many regions above the least busy', check: count('leader-balance-tolerance') },
  { name: 'load-split-qps', default: '3000', help: 'load-split: a region serving more commands per second than this may be split', check: count('load-split-qps') },
  { name: 'load-split-share', default: '50', help: "load-split: ... and taking more than this percentage of its leader store's commands", check: count('load-split-share') },
  { name: 'load-split-seconds', default: '10', help: 'load-split: ... for this many seconds in a row', check: count('load-split-seconds') },
  { name: SCHEDULERS['load-split'], default: 'off', help: 'splits a region that takes a large share of its store\'s load for several seconds', check: onOff(SCHEDULERS['load-split']) },
  { name: SCHEDULERS['split-checker'], default: 'on', help: 'automatic split of regions past split-max-keys or split-max-bytes', check: onOff(SCHEDULERS['split-checker']) },
  { name: SCHEDULERS['leader-balance'], default: 'off', help: 'spreads region leaders evenly over the up stores', check: onOff(SCHEDULERS['leader-balance']) },
  { name: 'store-down-seconds', default: '1800', help: 'a store silent for longer than this is dead: the replica checker re-creates its replicas elsewhere', check: count('store-down-seconds') },
  { name: 'region-balance-tolerance', default: '1', help: 'region-balance moves a replica when the up store with the most replicas holds more than this many above the one with the fewest', check: count('region-balance-tolerance') },
  { name: 'store-move-limit', default: '2', help: 'replica moves (repair, drain, balance) running at once per store, as source or target', check: count('store-move-limit') },
  { name: SCHEDULERS['replica-checker'], default: 'on', help: 'replaces replicas on dead (silent past store-down-seconds) or draining stores', check: onOff(SCHEDULERS['replica-checker']) },
  { name: 'merge-max-keys', default: '200000', help: 'merge-checker: two adjacent regions on the same stores, both with fewer keys than this (and bytes below merge-max-bytes), are merged', check: count('merge-max-keys') },
  { name: 'merge-max-bytes', default: String(20 * 1024 * 1024), help: 'merge-checker: ... and both smaller than this', check: count('merge-max-bytes') },
  // Off by default: see docs/decisions.md, "Region merge" (estimates lag, a merge briefly pauses writes to both regions).
  { name: SCHEDULERS['merge-checker'], default: 'off', help: 'merges adjacent small regions on the same stores (merge-max-keys, merge-max-bytes)', check: onOff(SCHEDULERS['merge-checker']) },
  { name: SCHEDULERS['region-balance'], default: 'on', help: 'moves replicas onto emptier stores until replica counts are even', check: onOff(SCHEDULERS['region-balance']) },
];

export function settingSpec(name: string): SettingSpec | undefined {
  return SETTINGS.find((s) => s.name === name.toLowerCase());
}

/** Checks and normalizes a SET; throws MetaError. */
export function checkSetting(name: string, value: string): [string, string] {
  const spec = settingSpec(name);
  if (!spec) throw new MetaError('INVALID', `unknown setting '${name.slice(0, 64)}' (known: ${SETTINGS.map((s) => s.name).join(', ')})`);
  return [spec.name, spec.check(value)];
}
