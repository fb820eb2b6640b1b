// @redraft/store: the store node (regions on one RocksDB, the RESP front end).
export { StoreNode, nodeIdOf, type StoreOptions } from './node';
