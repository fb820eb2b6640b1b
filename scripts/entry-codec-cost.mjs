#!/usr/bin/env node
// CPU of a Raft entry's protobuf work in one process, without the network,
// so that two builds can be compared on a busy machine (docs/performance.md,
// "Entries encoded once"):
//  - leader: one round's new entries go into a MsgApp for each of two
//    follower stores (RaftMessage envelope included) and into the log
//    (PeerStorage.append into a WriteBatch), as the store's loop does;
//  - follower: a received RaftMessageBatch frame with one MsgApp is decoded
//    into the core's message and its entries appended to the log.
// Per entry, for 1 and 16 entries per MsgApp (one client vs a busy round).
//
// Usage: node scripts/entry-codec-cost.mjs [ROOT] [DATA_BYTES]
//   ROOT: a built checkout (default this one); a build without
//   encodeRaftMessage is measured through the generated codec, as it sends.
import { createRequire } from 'node:module';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(process.argv[2] ?? resolve(dirname(fileURLToPath(import.meta.url)), '..'));
const dataBytes = Number(process.argv[3] ?? 60); // a SET's RaftCommand is about this size
const require = createRequire(resolve(root, 'package.json'));
const common = require(resolve(root, 'packages/common/dist/src/index.js'));
const { pb, PeerStorage, WriteBatch, RAFT_INIT_INDEX } = common;
const APP = 11;
const spliced = typeof common.encodeRaftMessage === 'function';

// The store's send and intake, in this build's way.
const encodeWire = spliced
  ? (wire, msg) => common.encodeRaftMessage(wire, msg)
  : (wire, msg) => pb.RaftMessage.encode({ ...wire, message: common.messageToPb(msg) }).finish();
const decodeWire = spliced ? (m) => common.decodeMessage(m.message) : (m) => common.messageFromPb(m.message);
const batchOf = (bytes) => {
  const w = pb.RaftMessageBatch.encode({ messages: [] });
  for (const b of bytes) w.uint32((1 << 3) | 2).bytes(b);
  return w.finish();
};

const region = { id: 1, startSlot: 0, endSlot: 16384, epoch: { version: 1, confVer: 1 }, peers: [1, 2, 3].map((id) => ({ id, storeId: id })) };
const envelope = (to) => ({ regionId: 1, fromPeer: region.peers[0], toPeer: region.peers[to - 1], epoch: region.epoch, startSlot: 0, endSlot: 16384, sentAtMs: 0 });
const data = Buffer.alloc(dataBytes, 'v');
/** A fresh log every so often: memory stays flat, the same for both builds. */
const LOG_ROUNDS = 512;

function leaderCost(perMsg, rounds) {
  let storage;
  let next;
  const run = (n) => {
    for (let i = 0; i < n; i++) {
      if (i % LOG_ROUNDS === 0) {
        storage = PeerStorage.bootstrapped(region, 1);
        next = RAFT_INIT_INDEX + 1;
      }
      // New entries, as the core makes them for proposals.
      const entries = [];
      for (let j = 0; j < perMsg; j++) entries.push({ term: 6, index: next++, type: 0, data });
      const frames = [];
      for (const to of [2, 3]) {
        const msg = { type: APP, from: 1, to, term: 6, logTerm: 6, index: entries[0].index - 1, entries, commit: entries[0].index - 1, reject: false, rejectHint: 0 };
        frames.push(batchOf([encodeWire(envelope(to), msg)]));
      }
      storage.append(entries, new WriteBatch());
    }
  };
  run(rounds); // warm up
  const t0 = process.cpuUsage();
  run(rounds);
  const used = process.cpuUsage(t0);
  return (used.user + used.system) / (rounds * perMsg);
}

function followerCost(perMsg, rounds) {
  // Frames as the leader sends them (the same bytes from either build).
  const frames = [];
  for (let r = 0; r < LOG_ROUNDS; r++) {
    const first = RAFT_INIT_INDEX + 1 + r * perMsg;
    const entries = Array.from({ length: perMsg }, (_, j) => ({ term: 6, index: first + j, type: 0, data: Buffer.alloc(dataBytes, r) }));
    const msg = { type: APP, from: 1, to: 2, term: 6, logTerm: 6, index: first - 1, entries, commit: first - 1, reject: false, rejectHint: 0 };
    frames.push(Buffer.from(batchOf([encodeWire(envelope(2), msg)])));
  }
  let storage;
  const run = (n) => {
    for (let i = 0; i < n; i++) {
      if (i % LOG_ROUNDS === 0) storage = PeerStorage.bootstrapped(region, 2);
      const batch = new WriteBatch();
      for (const m of pb.RaftMessageBatch.decode(frames[i % LOG_ROUNDS]).messages) storage.append(decodeWire(m).entries, batch);
    }
  };
  run(rounds);
  const t0 = process.cpuUsage();
  run(rounds);
  const used = process.cpuUsage(t0);
  return (used.user + used.system) / (rounds * perMsg);
}

const out = [`${root} (${spliced ? 'entries encoded once' : 'generated codec'}, ${dataBytes}-byte entries)`];
for (const perMsg of [1, 16]) {
  const rounds = Math.round(160_000 / perMsg);
  out.push(`  ${String(perMsg).padStart(2)} per MsgApp: leader (log + 2 MsgApps) ${leaderCost(perMsg, rounds).toFixed(2)} µs/entry, follower (decode + log row) ${followerCost(perMsg, rounds).toFixed(2)} µs/entry`);
}
console.log(out.join('\n'));
