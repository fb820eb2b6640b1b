// A short fault run (npm test -- chaos-short): a real cluster of 1 meta and
// 3 stores, 10 clients, kill -9 / SIGSTOP / SIGTERM of random processes for
// 20 s; the history must be linearizable, no acknowledged write lost, every
// restarted process back. Partitions are left to `npm run chaos`.
import { shortChaosTest } from './short-run';

shortChaosTest({
  name: 'chaos: 20 s of kill, pause and restart keep the history linearizable and every acknowledged write',
  faults: ['kill', 'pause', 'restart'],
  someClientWorking: true,
});
