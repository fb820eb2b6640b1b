// The face of @redraft/common: everything that store and meta both use.
export * from './resp/reply';
export * as raft from './raft';
export * from './resp/decoder';
export * from './resp/encoder';
export * from './resp/server';
