// The end-to-end test harness: free ports, child processes that never
// outlive the test, polling waits, redis-cli, temp dirs, servers.
export { freePort, freePorts } from './ports';
export { spawnManaged, stop, kill9, killPid, signalGroup, waitExit, groupAlive, groupMembers, ManagedProcess } from './proc';
export type { ExitInfo, SpawnOptions, StopResult } from './proc';
export { waitFor, waitForPing, waitForClosed, ping, sendLine } from './wait';
export type { WaitOptions } from './wait';
export { redisCli, redisCliResult } from './cli';
export type { CliOptions, CliResult } from './cli';
export { tempDir, removeDir } from './tmp';
export type { AfterHook } from './tmp';
export { startRedraft, startRedisServer, withServer, repoRoot, Server } from './servers';
export type { ServerOptions, RedraftOptions, TestLike } from './servers';
export { RawConn, parseReply, plain, encodeCommand, exchange } from './resp';
export type { RespValue, Plain } from './resp';
export { resp, respMany, parseResp, RespError } from './simple-resp';
export type { SimpleReply } from './simple-resp';
export { withCluster, Cluster, Node, StuckBootstrap } from './cluster';
export type { ClusterOptions, SlotRange } from './cluster';
export { startWriters } from './writers';
export type { Ack } from './writers';
export { ctl } from './ctl';
export type { CtlRun } from './ctl';
export { ioredisClients, blockedClients } from './clients';
export { metric } from './metrics';
