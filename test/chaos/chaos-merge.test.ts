// A short fault run with merges (npm test -- chaos-merge): regions are split
// and merged back through the meta while leaders move and stores are killed,
// for 20 s, with 10 clients; the history must be linearizable and no
// acknowledged write lost.
import { shortChaosTest } from './short-run';

shortChaosTest({
  name: 'chaos: 20 s of split, merge, transfer and kill keep the history linearizable and every acknowledged write',
  faults: ['split', 'split', 'merge', 'merge', 'transfer', 'kill'],
  intervalMs: [1000, 2000],
  count: { label: 'merges', line: / merge: REGION MERGE .*operator \d+/ },
});
