// The face of @redraft/common: everything that store and meta both use.
export * from './resp/reply';
export * from './resp/decoder';
export * from './resp/encoder';
export * from './resp/reply-decode';
export * from './resp/server';
export * from './resp/client';
export * from './command/table';
export * from './keys';
export * from './storage/engine';
export * from './storage/rocks';
export * from './storage/row-cache';
export * from './storage/memory';
export * from './storage/overlay';
export { redraft as pb } from './gen/proto';
export * as raft from './raft';
export * from './log';
export * from './util/ping';
export * from './util/exports';
export * from './util/options';
export * from './raftstore/codec';
export * from './raftstore/peer-storage';
export * from './raftstore/loop';
export * from './raftstore/limits';
export * from './transport';
export * from './util/process';
export * from './util/stall-watch';
export * from './util/metrics';
export * from './util/wait';
export * from './util/trace';
export * from './region/epoch';
export * from './region/region';
export * from './region/merge';
export * from './region/slot-map';

// Last: plain values instead of a getter per name (util/exports.ts).
import { settleExports } from './util/exports';
settleExports(module);
