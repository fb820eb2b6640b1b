// The in-process harness (test/README.md, "In-process harness").
export { InprocCluster, InprocStore, type InprocOptions, type HarnessContext } from './cluster';
export { harnessSeed, type Seeded } from './seed';
