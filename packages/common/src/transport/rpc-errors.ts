// Typed errors over the peer transport (proto/errors.proto). A request
// handler that rejects with one of these classes sends it typed; the
// requester gets the same class back, so callers test `instanceof`, never
// the text of a message. Any other rejection still arrives as a
// TransportError('REMOTE') carrying the message.
import { redraft as pb } from '../gen/proto';
import { TransportError } from './errors';

/** The base of every typed remote error. */
export abstract class RpcError extends Error {
  /** The protobuf form sent to the requester. */
  abstract toPb(): pb.RpcError.$Properties;
}

/** Refused, nothing ran: the receiver does not lead the region (0: the meta group); a hint of who does. */
export class NotLeaderError extends RpcError {
  constructor(
    readonly regionId: number,
    /** The leader's peer address as the receiver knows it, '' if none. */
    readonly leaderAddr = '',
    readonly leaderStoreId = 0,
    detail?: string,
  ) {
    super(detail ?? (leaderAddr ? `NOT_LEADER ${leaderAddr}` : 'NOT_LEADER'));
    this.name = 'NotLeaderError';
  }

  toPb(): pb.RpcError.$Properties {
    return { notLeader: { regionId: this.regionId, leaderAddr: this.leaderAddr, leaderStoreId: this.leaderStoreId } };
  }
}

/** Refused, nothing applied: the request's epoch of the region is older than the receiver's. */
export class EpochNotMatchError extends RpcError {
  constructor(
    readonly regionId: number,
    /** The receiver's current view of the region (and any region split from it that it knows). */
    readonly currentRegions: pb.Region.$Properties[] = [],
    detail?: string,
  ) {
    super(detail ?? `EPOCH_NOT_MATCH region ${regionId}`);
    this.name = 'EpochNotMatchError';
  }

  toPb(): pb.RpcError.$Properties {
    return { epochNotMatch: { regionId: this.regionId, currentRegions: this.currentRegions } };
  }
}

/** Refused: the receiver has no replica of the region. */
export class RegionNotFoundError extends RpcError {
  constructor(
    readonly regionId: number,
    detail?: string,
  ) {
    super(detail ?? `REGION_NOT_FOUND region ${regionId}`);
    this.name = 'RegionNotFoundError';
  }

  toPb(): pb.RpcError.$Properties {
    return { regionNotFound: { regionId: this.regionId } };
  }
}

/**
 * A write whose outcome is unknown (it may or may not have been applied).
 * Locally: never an error reply (an error means "not applied"); the client's
 * connection is closed instead, as a Redis server dying mid-command would.
 * Over RPC: the forwarding store resends the write in its session.
 */
export class OutcomeUnknownError extends RpcError {
  constructor(message: string) {
    super(message);
    this.name = 'OutcomeUnknownError';
  }

  toPb(): pb.RpcError.$Properties {
    return { outcomeUnknown: {} };
  }
}

/** Refused: the command is larger than the largest replicated entry. */
export class EntryTooLargeError extends RpcError {
  constructor(
    readonly bytes: number,
    readonly maxBytes: number,
    detail?: string,
  ) {
    super(detail ?? `ENTRY_TOO_LARGE ${bytes} bytes, over the largest entry (${maxBytes} bytes)`);
    this.name = 'EntryTooLargeError';
  }

  toPb(): pb.RpcError.$Properties {
    return { entryTooLarge: { bytes: this.bytes, maxBytes: this.maxBytes } };
  }
}

/** The request was refused before anything ran or was proposed: routing it again is safe. */
export function isRefused(err: unknown): boolean {
  return err instanceof NotLeaderError || err instanceof EpochNotMatchError || err instanceof RegionNotFoundError || err instanceof EntryTooLargeError;
}

/** The body of an error RESPONSE: the encoded RpcError of a typed error, null for any other. */
export function encodeRpcError(err: unknown): Uint8Array | null {
  return err instanceof RpcError ? pb.RpcError.encode(err.toPb()).finish() : null;
}

/**
 * The error a requester sees for an error RESPONSE: the typed class when the
 * body carries an RpcError, else a TransportError('REMOTE'). A body that does
 * not decode (a garbage or newer peer) is no crash: a REMOTE error says so.
 */
export function decodeRpcError(message: string, body: Uint8Array, address?: string): Error {
  if (body.length === 0) return new TransportError('REMOTE', message, address);
  let e: pb.RpcError;
  try {
    e = pb.RpcError.decode(body);
  } catch (err) {
    return new TransportError('REMOTE', `${message} (its typed error could not be decoded: ${(err as Error).message})`, address);
  }
  const n = (v: unknown): number => Number(v ?? 0);
  if (e.notLeader) return new NotLeaderError(n(e.notLeader.regionId), e.notLeader.leaderAddr ?? '', n(e.notLeader.leaderStoreId), message);
  if (e.epochNotMatch) return new EpochNotMatchError(n(e.epochNotMatch.regionId), e.epochNotMatch.currentRegions ?? [], message);
  if (e.regionNotFound) return new RegionNotFoundError(n(e.regionNotFound.regionId), message);
  if (e.outcomeUnknown) return new OutcomeUnknownError(message);
  if (e.entryTooLarge) return new EntryTooLargeError(n(e.entryTooLarge.bytes), n(e.entryTooLarge.maxBytes), message);
  return new TransportError('REMOTE', `${message} (an error kind this store does not know)`, address);
}
