// The in-process harness (test/README.md, "In-process harness").
export { InprocCluster, InprocStore, type InprocOptions, type HarnessContext } from './cluster';
export { harnessSeed, type Seeded } from './seed';
export { Schedule, SCHEDULE_FAULTS, type ScheduleFault, type ScheduleOptions, type ScheduleRecord } from './schedule';
