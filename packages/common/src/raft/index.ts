// The public face of the Raft core: a pure, deterministic state machine in
// the style of etcd/raft. See docs/raft.md.
export * from './types';
export * from './errors';
export { Storage, MemoryStorage, limitSize } from './storage';
export { Config, RaftLogger, Mutations, validateConfig } from './config';
export { ReadOnlyOption } from './readonly';
export { ProgressState } from './progress';
export { ProgressStatus } from './raft';
export { RawNode, Status } from './rawnode';

// Last: plain values instead of a getter per name (util/exports.ts).
import { settleExports } from '../util/exports';
settleExports(module);
