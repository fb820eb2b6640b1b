// npm run bench:raft — proposals per second and entries per MsgApp for an
// in-memory 3-node group (no disk, no network), with and without batching.
import { Command } from 'commander';
import { RawNode } from '../rawnode';
import { ReadOnlyOption } from '../readonly';
import { MemoryStorage } from '../storage';
import { Message, MessageType } from '../types';
import { Rng } from './rng';

interface Result {
  name: string;
  proposals: number;
  secs: number;
  apps: number;
  appEntries: number;
  appsWithEntries: number;
  readies: number;
}

function run(name: string, total: number, burst: number, batchAppends: boolean, useProposeBatch: boolean): Result {
  const ids = [1, 2, 3];
  const nodes = new Map<number, { raw: RawNode; st: MemoryStorage; applied: number }>();
  for (const id of ids) {
    const st = new MemoryStorage();
    st.applySnapshot({ meta: { index: 1, term: 1, confState: { voters: ids, learners: [] } }, data: new Uint8Array(0) });
    st.setHardState({ term: 1, vote: 0, commit: 1 });
    const rng = new Rng(id);
    const raw = new RawNode({
      id,
      storage: st,
      electionTick: 10,
      heartbeatTick: 1,
      maxSizePerMsg: 1024 * 1024,
      maxInflightMsgs: 256,
      checkQuorum: false,
      preVote: false,
      readOnlyOption: ReadOnlyOption.Safe,
      disableProposalForwarding: false,
      random: () => rng.next(),
      batchAppends,
    });
    nodes.set(id, { raw, st, applied: 1 });
  }
  let apps = 0;
  let appEntries = 0;
  let appsWithEntries = 0;
  let readies = 0;
  let queue: Message[] = [];
  const pump = (): void => {
    for (;;) {
      let work = false;
      for (const n of nodes.values()) {
        while (n.raw.hasReady()) {
          work = true;
          readies++;
          const rd = n.raw.ready();
          for (const m of rd.messages) {
            if (m.type === MessageType.App) {
              apps++;
              appEntries += m.entries.length;
              if (m.entries.length > 0) appsWithEntries++;
            }
          }
          queue.push(...rd.messages);
          if (rd.snapshot) n.st.applySnapshot(rd.snapshot);
          n.st.append(rd.entries);
          if (rd.hardState) n.st.setHardState(rd.hardState);
          queue.push(...rd.persistedMessages);
          if (rd.committedEntries.length > 0) n.applied = rd.committedEntries[rd.committedEntries.length - 1].index;
          n.raw.advance(rd);
        }
      }
      if (queue.length > 0) {
        work = true;
        const q = queue;
        queue = [];
        for (const m of q) nodes.get(m.to)!.raw.step(m);
      }
      if (!work) return;
    }
  };
  const leader = nodes.get(1)!;
  leader.raw.campaign();
  pump();
  apps = 0;
  appEntries = 0;
  appsWithEntries = 0;
  readies = 0;
  const payload = new Uint8Array(100);
  const start = process.hrtime.bigint();
  let proposed = 0;
  while (proposed < total) {
    const n = Math.min(burst, total - proposed);
    if (useProposeBatch) {
      leader.raw.proposeBatch(Array.from({ length: n }, () => payload));
    } else {
      for (let i = 0; i < n; i++) leader.raw.propose(payload);
    }
    proposed += n;
    pump();
  }
  const secs = Number(process.hrtime.bigint() - start) / 1e9;
  for (const n of nodes.values()) {
    if (n.applied < total + 2) throw new Error(`node applied ${n.applied} < ${total + 2}`);
  }
  return { name, proposals: total, secs, apps, appEntries, appsWithEntries, readies };
}

const o = new Command()
  .name('bench:raft')
  .option('--proposals <n>', 'proposals per run', (v) => Number(v), 200000)
  .option('--burst <n>', 'proposals made between two rounds of Ready handling', (v) => Number(v), 64)
  .parse()
  .opts<{ proposals: number; burst: number }>();

const results = [
  run(`batching on  (burst ${o.burst}, one MsgApp per round)`, o.proposals, o.burst, true, false),
  run(`batching off (burst ${o.burst}, one MsgApp per proposal)`, o.proposals, o.burst, false, false),
  run(`proposeBatch (burst ${o.burst} in one proposal)`, o.proposals, o.burst, true, true),
  run('no burst (1 proposal per round)', Math.min(o.proposals, 50000), 1, true, false),
];
for (const r of results) {
  console.log(
    `${r.name.padEnd(52)} ${Math.round(r.proposals / r.secs)
      .toString()
      .padStart(8)} proposals/s  ${(r.appEntries / Math.max(1, r.appsWithEntries)).toFixed(1).padStart(6)} entries/MsgApp (non-empty)  ` +
      `${(r.appEntries / Math.max(1, r.apps)).toFixed(1).padStart(6)} entries/MsgApp (all, ${r.apps})  ${r.readies} Readys`,
  );
}
