// A short fault run with splits (npm test -- chaos-split): the slot-0 region
// is split at random slots through the meta while leaders move and stores are
// killed, for 20 s, with 10 clients; the history must be linearizable and no
// acknowledged write lost.
import { shortChaosTest } from './short-run';

// A fault every 1-2 s, three in five of them splits (the split count is in the diagnostics).
shortChaosTest({
  name: 'chaos: 20 s of split, transfer and kill keep the history linearizable and every acknowledged write',
  faults: ['split', 'split', 'split', 'transfer', 'kill'],
  intervalMs: [1000, 2000],
  count: { label: 'splits', line: / split: REGION SPLIT/ },
});
