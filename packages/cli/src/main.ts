// `redraft <command>`: playground, store, meta, ctl. Every flag is
// documented in --help and checked before anything starts. This package is
// the only one that knows both the store and the meta: they never import
// each other.
import { Command, Option } from 'commander';
import { checkOption, serveUntilSignal, createLogger, parseBytes, parseChoice, parseCount, parseHostPort, parsePort } from '@redraft/common';
import { StoreNode } from '@redraft/store';
import { registerCtlCommand, registerMetaCommand } from '@redraft/meta';
import { runPlayground } from './playground';

const DEFAULT_MAX_BULK = '512mb';
const DEFAULT_MAX_MULTIBULK = String(1024 * 1024);

export function main(argv: string[]): void {
  const program = new Command('redraft')
    .description('A Redis-protocol key-value store replicated by Raft, on RocksDB')
    .showHelpAfterError()
    .configureOutput({ outputError: (s, write) => write(s) });

  program
    .command('playground', { isDefault: true })
    .description('start a local cluster as child processes on 127.0.0.1 (what `npm start` runs)')
    .allowExcessArguments(false)
    .option('--port <port>', 'first RESP port; store i listens on port+i-1', '6379')
    .option('--data-dir <dir>', 'where every process keeps its data and logs', './data')
    .option('--stores <n>', 'store processes; 1 runs a single standalone store without Raft', '3')
    .option('--meta <n>', 'meta replicas (1 or 3)', '1')
    .option('--meta-port <port>', 'first meta admin RESP port (meta i: meta-port+i-1)', '7000')
    .option('--meta-peer-port <port>', 'first meta peer port: Raft between metas and the stores\' RPCs (meta i: meta-peer-port+i-1)', '7100')
    .option('--peer-port <port>', 'first store peer port (Raft traffic between stores)', '7200')
    .option('--initial-regions <n>', 'regions the first bootstrap splits the slots into', '1')
    .option('--redirect <mode>', "stores forward commands to leaders ('forward') or answer 'moved'", 'forward')
    .option('--metrics-port <port>', 'serve each store\'s Prometheus text on http://127.0.0.1:PORT/metrics (store i: metrics-port+i-1; default: not served)')
    .option('--log-level <level>', 'playground log level', 'info')
    .option('--hibernate-regions <bool>', "stores' idle regions hibernate (true or false)", 'true')
    .option('--no-restart', 'leave a child process that died down (default: restart it, 0.5 s backoff doubling to 10 s)')
    .addOption(new Option('--max-bulk-len <size>', 'largest bulk string a client may send').default(DEFAULT_MAX_BULK))
    .action(async (o) => {
      const log = createLogger({ name: 'playground', level: o.logLevel, pretty: !process.env.CI });
      const port = checkOption(() => parsePort('--port', o.port));
      const stores = checkOption(() => parseCount('--stores', o.stores, 1, 9));
      const metas = checkOption(() => parseCount('--meta', o.meta, 1, 5));
      const metaPort = checkOption(() => parsePort('--meta-port', o.metaPort));
      const metaPeerPort = checkOption(() => parsePort('--meta-peer-port', o.metaPeerPort));
      const peerPort = checkOption(() => parsePort('--peer-port', o.peerPort));
      const initialRegions = checkOption(() => parseCount('--initial-regions', o.initialRegions, 1, 16384));
      const redirect = checkOption(() => parseChoice('--redirect', o.redirect, ['forward', 'moved'] as const));
      checkOption(() => parseBytes('--max-bulk-len', o.maxBulkLen));
      const metricsPort = o.metricsPort !== undefined ? checkOption(() => parsePort('--metrics-port', o.metricsPort)) : undefined;
      const hibernate = checkOption(() => parseChoice('--hibernate-regions', o.hibernateRegions, ['true', 'false'] as const));
      await runPlayground({
        port,
        metaPort,
        metaPeerPort,
        peerPort,
        dataDir: o.dataDir,
        stores,
        metas,
        initialRegions,
        metricsPort,
        log,
        storeArgs: ['--max-bulk-len', o.maxBulkLen, '--redirect', redirect, '--hibernate-regions', hibernate],
        restart: o.restart !== false,
      });
    });

  program
    .command('store')
    .description('run one store node (standalone: one single-replica region over all slots)')
    .option('--host <addr>', 'address to listen on', '127.0.0.1')
    .option('--port <port>', 'RESP port', '6379')
    .option('--data-dir <dir>', 'data directory (RocksDB lives in <dir>/db)', './data/store-1')
    .option('--max-bulk-len <size>', 'largest bulk string a client may send (proto-max-bulk-len)', DEFAULT_MAX_BULK)
    .option('--max-multibulk-len <n>', 'most arguments in one command', DEFAULT_MAX_MULTIBULK)
    .option('--meta <addrs>', 'comma-separated peer addresses of the meta replicas (host:port); omit for standalone mode', '')
    .option('--peer-port <port>', 'port of the peer transport (Raft traffic, forwarded commands)', '7200')
    .option('--advertise-host <host>', 'host other processes and clients reach this store at (default: --host)')
    .option('--redirect <mode>', "keys led by another store: 'forward' the command there, or answer 'moved' like Redis Cluster", 'forward')
    .option('--tick-ms <ms>', 'Raft tick; elections take 25-50 ticks, heartbeats every 5', '20')
    .option('--heartbeat-ms <ms>', 'interval of the batched heartbeat to the meta', '1000')
    .option('--raft-log-gc-threshold <n>', 'applied entries a replica keeps in its Raft log before compacting it (lagging replicas then catch up by snapshot)', '10000')
    .option('--metrics-port <port>', 'serve Prometheus text on http://HOST:PORT/metrics (default: not served)')
    .option('--hibernate-regions <bool>', 'idle regions stop ticking and heartbeating until a write, a read or a message wakes them (true or false)', 'true')
    .option('--split-check-ms <ms>', 'how often this store measures the regions it leads (keys, bytes) for the meta\'s automatic split; 0: never', '10000')
    .option('--log-level <level>', 'log level: trace, debug, info, warn, error', 'info')
    .action(async (o) => {
      const log = createLogger({ name: 'store', level: o.logLevel });
      const metaAddrs = String(o.meta).split(',').map((a: string) => a.trim()).filter(Boolean);
      for (const a of metaAddrs) checkOption(() => parseHostPort('--meta', a));
      await serveUntilSignal('store', log, () =>
        StoreNode.start({
          host: o.host,
          port: checkOption(() => parsePort('--port', o.port)),
          dataDir: o.dataDir,
          maxBulkLen: checkOption(() => parseBytes('--max-bulk-len', o.maxBulkLen)),
          maxMultibulkLen: checkOption(() => parseCount('--max-multibulk-len', o.maxMultibulkLen, 1, 2 ** 31 - 1)),
          log,
          metaAddrs,
          peerPort: checkOption(() => parsePort('--peer-port', o.peerPort)),
          advertiseHost: o.advertiseHost,
          redirect: checkOption(() => parseChoice('--redirect', o.redirect, ['forward', 'moved'] as const)),
          tickMs: checkOption(() => parseCount('--tick-ms', o.tickMs, 5, 10000)),
          heartbeatMs: checkOption(() => parseCount('--heartbeat-ms', o.heartbeatMs, 50, 600000)),
          raftLogGcThreshold: checkOption(() => parseCount('--raft-log-gc-threshold', o.raftLogGcThreshold, 10, 10_000_000)),
          metricsPort: o.metricsPort !== undefined ? checkOption(() => parsePort('--metrics-port', o.metricsPort)) : undefined,
          splitCheckMs: checkOption(() => parseCount('--split-check-ms', o.splitCheckMs, 0, 86_400_000)),
          hibernateRegions: checkOption(() => parseChoice('--hibernate-regions', o.hibernateRegions, ['true', 'false'] as const)) === 'true',
        }),
      );
    });

  registerMetaCommand(program);
  registerCtlCommand(program);

  // The playground is the default command, so a mistyped mode would start it.
  const first = argv[0];
  const modes = program.commands.map((c) => c.name());
  if (first !== undefined && !first.startsWith('-') && first !== 'help' && !modes.includes(first)) {
    console.error(`redraft: unknown command '${first}' (expected one of: ${modes.join(', ')}; see redraft --help)`);
    process.exit(2);
  }

  program.parseAsync(['node', 'redraft', ...argv]).catch((e) => {
    console.error(`redraft: ${(e as Error).message}`);
    process.exit(2);
  });
}
