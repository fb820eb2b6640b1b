// A short fault run with replica moves (npm test -- chaos-move): 1 meta and
// 4 stores; the slot-0 region's replicas move between stores through the
// meta (often away from the leader) while leaders move and processes are
// killed, for 20 s, with 10 clients; the history must be linearizable and no
// acknowledged write lost.
import { shortChaosTest } from './short-run';

shortChaosTest({
  name: 'chaos: 20 s of move, transfer and kill keep the history linearizable and every acknowledged write',
  faults: ['move', 'move', 'move', 'transfer', 'kill'],
  intervalMs: [1000, 2000],
  count: { label: 'moves', line: / move: REGION MOVE/ },
});
