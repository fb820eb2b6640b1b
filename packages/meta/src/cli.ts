// `redraft meta`: one replica of the meta group. Every flag is checked before
// anything starts; a bad value is a clear error naming the flag (exit 2).
import type { Command } from 'commander';
import { OptionError, checkOption, serveUntilSignal, createLogger, parseAddress, parseCount, parsePort } from '@redraft/common';
import { MetaNode } from './node';

/** `1=host:port,2=host:port,...` → id → address. */
export function parsePeers(flag: string, value: string): Map<number, string> {
  const out = new Map<number, string>();
  for (const part of value.split(',').map((s) => s.trim()).filter(Boolean)) {
    const m = /^(\d+)=(.+)$/.exec(part);
    if (!m) throw new OptionError(`${flag}: expected id=host:port[,id=host:port...], got '${part}'`);
    const id = Number(m[1]);
    if (!Number.isSafeInteger(id) || id < 1) throw new OptionError(`${flag}: replica ids must be positive integers, got '${m[1]}'`);
    try {
      parseAddress(m[2]);
    } catch {
      throw new OptionError(`${flag}: expected host:port for replica ${id}, got '${m[2]}'`);
    }
    if (out.has(id)) throw new OptionError(`${flag}: replica ${id} is named twice`);
    out.set(id, m[2]);
  }
  if (out.size === 0) throw new OptionError(`${flag}: no replicas given`);
  return out;
}

export function registerMetaCommand(program: Command): void {
  program
    .command('meta')
    .description('run one replica of the meta group (the cluster map): an admin RESP port and a peer port for Raft and store RPCs')
    .option('--id <n>', 'this replica\'s id: one of the ids in --peers', '1')
    .option('--peers <list>', 'every meta replica as id=host:port of its peer port, e.g. 1=10.0.0.1:7100,2=10.0.0.2:7100,3=10.0.0.3:7100 (default: this replica alone, at --host:--peer-port)')
    .option('--host <addr>', 'address to listen on (admin and peer ports)', '127.0.0.1')
    .option('--port <port>', 'admin RESP port (redis-cli -p PORT region list)', '7000')
    .option('--peer-port <port>', 'peer port: Raft between meta replicas and the stores\' RPCs (default: the port of this replica in --peers, else 7100)')
    .option('--data-dir <dir>', 'data directory (RocksDB in <dir>/db); default ./data/meta-<id>')
    .option('--replicas <n>', 'voters per region: the cluster bootstraps once this many stores are registered', '3')
    .option('--initial-regions <n>', 'regions the bootstrap splits the 16384 slots into', '1')
    .option('--down-after-ms <ms>', 'a store without a heartbeat for this long is marked down', '10000')
    .option('--metrics-port <port>', 'serve Prometheus text on http://HOST:PORT/metrics (default: not served)')
    .option('--log-level <level>', 'log level: trace, debug, info, warn, error', 'info')
    .action(async (o) => {
      const log = createLogger({ name: 'meta', level: o.logLevel });
      const id = checkOption(() => parseCount('--id', o.id, 1, Number.MAX_SAFE_INTEGER));
      const port = checkOption(() => parsePort('--port', o.port));
      let peerPort = o.peerPort !== undefined ? checkOption(() => parsePort('--peer-port', o.peerPort)) : undefined;
      let peers: Map<number, string>;
      if (o.peers !== undefined) {
        peers = checkOption(() => parsePeers('--peers', o.peers));
        const self = peers.get(id);
        if (!self) checkOption(() => { throw new OptionError(`--peers: names no replica with this --id (${id})`); });
        if (peerPort === undefined) peerPort = parseAddress(self!).port;
      } else {
        if (peerPort === undefined) peerPort = 7100;
        peers = new Map([[id, `${o.host === '0.0.0.0' ? '127.0.0.1' : o.host}:${peerPort}`]]);
      }
      const replicas = checkOption(() => parseCount('--replicas', o.replicas, 1, 15));
      const initialRegions = checkOption(() => parseCount('--initial-regions', o.initialRegions, 1, 16384));
      const metricsPort = o.metricsPort !== undefined ? checkOption(() => parsePort('--metrics-port', o.metricsPort)) : undefined;
      const downAfterMs = checkOption(() => parseCount('--down-after-ms', o.downAfterMs, 100, 24 * 3600 * 1000));
      await serveUntilSignal('meta', log, () =>
        MetaNode.start({
          id,
          peers,
          host: o.host,
          adminPort: port,
          peerPort,
          dataDir: o.dataDir ?? `./data/meta-${id}`,
          replicas,
          initialRegions,
          downAfterMs,
          metricsPort,
          log,
          onFatal: () => process.exit(1),
        }),
      );
    });
}
