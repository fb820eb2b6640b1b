// The framed peer transport (docs/transport.md).
export { TransportError, type TransportErrorCode } from './errors';
export { newStats, type TransportStats } from './stats';
export { DEFAULT_MAX_FRAME_BYTES, FRAME_HEADER_BYTES, FrameDecoder, encodeFrame, decodeEnvelope, envelopeProblem, type EncodedFrame, type FrameHead, type Envelope } from './frame';
export { PeerServer, type PeerServerOptions, type PeerInfo } from './server';
export { PeerClient, PeerPool, parseAddress, bindableLocalAddress, type PeerClientOptions, type PeerClientState, type SendOptions, type RequestOptions } from './client';
export { RpcError, NotLeaderError, EpochNotMatchError, RegionNotFoundError, OutcomeUnknownError, EntryTooLargeError, isRefused, encodeRpcError, decodeRpcError } from './rpc-errors';
export { tcpNetwork, type PeerNetwork, type PeerSender, type PeerListener } from './network';
export { InMemoryNetwork, type LinkEvent, type LinkFilter, type MemoryCounters } from './memory';

// Last: plain values instead of a getter per name (util/exports.ts).
import { settleExports } from '../util/exports';
settleExports(module);
