// The Raft core's plain types to and from their protobuf form (proto/raft.proto).
import { redraft as pb } from '../gen/proto';
import type { ConfState, Entry, HardState, Message, Snapshot } from '../raft';

const EMPTY = new Uint8Array(0);

export function entryToPb(e: Entry): pb.Entry.$Properties {
  return { term: e.term, index: e.index, type: e.type, data: e.data };
}

export function entryFromPb(e: pb.Entry.$Properties): Entry {
  return { term: Number(e.term ?? 0), index: Number(e.index ?? 0), type: Number(e.type ?? 0), data: e.data ?? EMPTY };
}

export function encodeEntry(e: Entry): Uint8Array {
  return pb.Entry.encode(entryToPb(e)).finish();
}

export function decodeEntry(bytes: Uint8Array): Entry {
  return entryFromPb(pb.Entry.decode(bytes));
}

export function encodeHardState(h: HardState): Uint8Array {
  return pb.HardState.encode(h).finish();
}

export function decodeHardState(bytes: Uint8Array): HardState {
  const h = pb.HardState.decode(bytes);
  return { term: Number(h.term), vote: Number(h.vote), commit: Number(h.commit) };
}

export function confStateToPb(c: ConfState): pb.ConfState.$Properties {
  return { voters: c.voters, learners: c.learners };
}

export function confStateFromPb(c: pb.ConfState.$Properties | null | undefined): ConfState {
  return { voters: (c?.voters ?? []).map(Number), learners: (c?.learners ?? []).map(Number) };
}

function snapshotToPb(s: Snapshot): pb.Snapshot.$Properties {
  return {
    meta: { index: s.meta.index, term: s.meta.term, confState: confStateToPb(s.meta.confState) },
    data: s.data,
  };
}

function snapshotFromPb(s: pb.Snapshot.$Properties): Snapshot {
  return {
    meta: {
      index: Number(s.meta?.index ?? 0),
      term: Number(s.meta?.term ?? 0),
      confState: confStateFromPb(s.meta?.confState),
    },
    data: s.data ?? EMPTY,
  };
}

export function messageToPb(m: Message): pb.Message.$Properties {
  return {
    type: m.type,
    from: m.from,
    to: m.to,
    term: m.term,
    logTerm: m.logTerm,
    index: m.index,
    entries: m.entries.map(entryToPb),
    commit: m.commit,
    reject: m.reject,
    rejectHint: m.rejectHint,
    snapshot: m.snapshot ? snapshotToPb(m.snapshot) : undefined,
    context: m.context,
  };
}

export function messageFromPb(m: pb.Message.$Properties): Message {
  const out: Message = {
    type: Number(m.type ?? 0),
    from: Number(m.from ?? 0),
    to: Number(m.to ?? 0),
    term: Number(m.term ?? 0),
    logTerm: Number(m.logTerm ?? 0),
    index: Number(m.index ?? 0),
    entries: (m.entries ?? []).map(entryFromPb),
    commit: Number(m.commit ?? 0),
    reject: !!m.reject,
    rejectHint: Number(m.rejectHint ?? 0),
  };
  if (m.snapshot && m.snapshot.meta) out.snapshot = snapshotFromPb(m.snapshot);
  if (m.context && m.context.length > 0) out.context = m.context;
  return out;
}
