// The face of @redraft/common: everything that store and meta both use.
export * from './resp/reply';
export * from './resp/decoder';
export * from './resp/encoder';
export * from './resp/server';
export * from './command/table';
export * from './keys';
export * from './storage/engine';
export * from './storage/rocks';
export * from './storage/memory';
export * from './storage/overlay';
export { redraft as pb } from './gen/proto';
export * as raft from './raft';
export * from './log';
export * from './util/ping';
export * from './util/options';
export * from './transport';
