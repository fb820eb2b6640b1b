// @redraft/meta: the meta group (cluster map) and the `redraft meta` command.
export * from './state';
export * from './node';
export { AdminCommands, clusterInfo, storeNodeId } from './admin';
export { registerMetaCommand, parsePeers } from './cli';
export { metaMetrics } from './metrics';
export { registerCtlCommand } from './ctl';

// Last: plain values instead of a getter per name (@redraft/common's util/exports.ts).
import { settleExports } from '@redraft/common';
settleExports(module);
