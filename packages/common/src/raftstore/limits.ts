// The size limits of replication, in one place because they depend on each
// other (docs/decisions.md, "Size limits"):
//
//   frame limit (64 MiB, transport/frame.ts)
//     > MAX_ENTRY_BYTES (32 MiB) + a Raft message's wrapping
//     > RAFT_MAX_SIZE_PER_MSG (1 MiB): a MsgApp holds entries up to this
//       many bytes, or one larger entry alone;
//     > SNAPSHOT_CHUNK_BYTES (1 MiB) + one key: a snapshot chunk.
//
// A proposal over MAX_ENTRY_BYTES is refused before it is proposed, so every
// entry fits a frame with room to spare; a frame of Raft messages for one
// store is cut at RAFT_FRAME_BYTES, so one large entry rides alone and never
// takes other regions' messages down with it.
import { DEFAULT_MAX_FRAME_BYTES } from '../transport/frame';

/** The largest encoded proposal (one Raft entry's data). Half the frame limit: the rest is room for wrapping. */
export const MAX_ENTRY_BYTES = DEFAULT_MAX_FRAME_BYTES / 2;

/** Raft's maxSizePerMsg: entries per MsgApp up to this many bytes (a single larger entry goes alone). */
export const RAFT_MAX_SIZE_PER_MSG = 1024 * 1024;

/** A frame of Raft messages to one store is closed once it holds this many bytes. */
export const RAFT_FRAME_BYTES = 4 * 1024 * 1024;

/** Key/value bytes per snapshot chunk; larger values are cut into pieces of this size. */
export const SNAPSHOT_CHUNK_BYTES = 1024 * 1024;

/** The reply to a proposal over MAX_ENTRY_BYTES: nothing was proposed. */
export const ENTRY_TOO_LARGE = `ERR the command is larger than the largest replicated entry (${MAX_ENTRY_BYTES} bytes)`;

/**
 * Cuts a list of encoded messages into groups of at most `maxBytes` each;
 * a message larger than that forms a group of its own. Order is kept.
 */
export function groupBySize<T>(items: T[], sizeOf: (item: T) => number, maxBytes: number): T[][] {
  const groups: T[][] = [];
  let current: T[] = [];
  let bytes = 0;
  for (const item of items) {
    const size = sizeOf(item);
    if (current.length > 0 && bytes + size > maxBytes) {
      groups.push(current);
      current = [];
      bytes = 0;
    }
    current.push(item);
    bytes += size;
  }
  if (current.length > 0) groups.push(current);
  return groups;
}
