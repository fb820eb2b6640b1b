// Prometheus text on GET /metrics over HTTP (`redraft meta --metrics-port`).
import * as http from 'node:http';
import { pb } from '@redraft/common';
import type { MetaNode } from './node';

export function metricsText(m: MetaNode): string {
  const sm = m.sm;
  const stores = sm.storeList();
  const regions = sm.regionList();
  const lines: string[] = [];
  const gauge = (name: string, help: string, samples: Array<[string, number]>, type = 'gauge'): void => {
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const [labels, v] of samples) lines.push(`${name}${labels} ${v}`);
  };
  const stats = m.loopStats();
  gauge('redraft_meta_is_leader', 'Whether this replica leads the meta group.', [['', m.isLeader ? 1 : 0]]);
  gauge('redraft_meta_term', 'Raft term of this replica.', [['', m.term]]);
  gauge('redraft_meta_applied_index', 'Last log index applied to the cluster map.', [['', m.applied]]);
  gauge('redraft_meta_view_version', 'Version of the cluster map.', [['', sm.version]]);
  gauge('redraft_meta_bootstrapped', 'Whether the cluster is bootstrapped.', [['', sm.bootstrapped ? 1 : 0]]);
  gauge('redraft_meta_stores', 'Stores by state.', [
    ['{state="up"}', stores.filter((s) => s.state === pb.StoreState.UP).length],
    ['{state="down"}', stores.filter((s) => s.state === pb.StoreState.DOWN).length],
    ['{state="tombstone"}', stores.filter((s) => s.state === pb.StoreState.TOMBSTONE).length],
  ]);
  gauge('redraft_meta_regions', 'Regions in the map.', [['', regions.length]]);
  gauge('redraft_meta_regions_without_leader', 'Regions whose leader is unknown.', [['', regions.filter((r) => !sm.leaderStore(r)).length]]);
  gauge('redraft_meta_slots_assigned', 'Slots covered by a region.', [['', sm.slotsAssigned()]]);
  gauge('redraft_meta_raft_rounds_total', 'Rounds of the Raft loop.', [['', stats.rounds]], 'counter');
  gauge('redraft_meta_raft_entries_applied_total', 'Log entries applied.', [['', stats.entriesApplied]], 'counter');
  gauge('redraft_meta_raft_bytes_written_total', 'Bytes written by the Raft loop.', [['', stats.bytesWritten]], 'counter');
  gauge('redraft_meta_snapshots_installed_total', 'Raft snapshots received and installed.', [['', m.snapshotsInstalled]], 'counter');
  gauge('redraft_meta_admin_clients', 'Clients connected to the admin port.', [['', m.adminClients]]);
  return lines.join('\n') + '\n';
}

export async function serveMetrics(m: MetaNode, host: string, port: number): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    if (req.method === 'GET' && (req.url === '/metrics' || req.url?.startsWith('/metrics?'))) {
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
      res.end(metricsText(m));
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('not found: try /metrics\n');
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return server;
}
