// The meta replica's metrics (`redraft meta --metrics-port`), read at scrape time.
import { counterOf, gaugeOf, newRegistry, pb } from '@redraft/common';
import type { Registry } from '@redraft/common';
import type { MetaNode } from './node';

export function metaMetrics(m: MetaNode): Registry {
  const r = newRegistry('redraft_meta_');
  const sm = m.sm;
  gaugeOf(r, 'redraft_meta_is_leader', 'Whether this replica leads the meta group.', () => (m.isLeader ? 1 : 0));
  gaugeOf(r, 'redraft_meta_term', 'Raft term of this replica.', () => m.term);
  gaugeOf(r, 'redraft_meta_applied_index', 'Last log index applied to the cluster map.', () => m.applied);
  gaugeOf(r, 'redraft_meta_view_version', 'Version of the cluster map.', () => sm.version);
  gaugeOf(r, 'redraft_meta_bootstrapped', 'Whether the cluster is bootstrapped.', () => (sm.bootstrapped ? 1 : 0));
  gaugeOf(r, 'redraft_meta_stores', 'Stores by state.', () => {
    const stores = sm.storeList();
    return ([['up', pb.StoreState.UP], ['down', pb.StoreState.DOWN], ['tombstone', pb.StoreState.TOMBSTONE]] as const).map(
      ([state, s]) => [{ state }, stores.filter((x) => x.state === s).length] as [Record<string, string>, number],
    );
  });
  gaugeOf(r, 'redraft_meta_regions', 'Regions in the map.', () => sm.regionList().length);
  gaugeOf(r, 'redraft_meta_regions_without_leader', 'Regions whose leader is unknown.', () => sm.regionList().filter((x) => !sm.leaderStore(x)).length);
  gaugeOf(r, 'redraft_meta_slots_assigned', 'Slots covered by a region.', () => sm.slotsAssigned());
  counterOf(r, 'redraft_meta_raft_rounds_total', 'Rounds of the Raft loop.', () => m.loopStats().rounds);
  counterOf(r, 'redraft_meta_raft_entries_applied_total', 'Log entries applied.', () => m.loopStats().entriesApplied);
  counterOf(r, 'redraft_meta_raft_bytes_written_total', 'Bytes written by the Raft loop.', () => m.loopStats().bytesWritten);
  counterOf(r, 'redraft_meta_snapshots_installed_total', 'Raft snapshots received and installed.', () => m.snapshotsInstalled);
  gaugeOf(r, 'redraft_meta_admin_clients', 'Clients connected to the admin port.', () => m.adminClients);
  return r;
}
