// The seam between a node and its peer transport: what a store or a meta
// replica sends through (a PeerSender) and listens with (a PeerListener),
// made by a PeerNetwork. TCP (PeerPool, PeerServer) is the default; the
// in-memory network (memory.ts) runs several nodes in one process for tests.
import { PeerPool, type PeerClientOptions, type RequestOptions, type SendOptions } from './client';
import { PeerServer, type PeerServerOptions } from './server';
import type { TransportStats } from './stats';

/** The dialing side, by address. PeerPool is the TCP one. */
export interface PeerSender {
  /** A one-way frame; false if it was dropped at once (a frame may also be lost later: Raft retransmits). */
  send(address: string, type: string, body: Uint8Array, opts?: SendOptions): boolean;
  /** A request; rejects with a TransportError or the remote's typed RpcError. */
  request(address: string, type: string, body: Uint8Array, opts?: RequestOptions): Promise<Uint8Array>;
  stats(): TransportStats;
  close(): Promise<void>;
}

/** The listening side. PeerServer is the TCP one. */
export interface PeerListener {
  listen(): Promise<void>;
  close(): Promise<void>;
  /** The bound port (after listen()). */
  readonly port: number;
  /** host:port to reach it at (after listen()). */
  readonly address: string;
}

/** Makes a node's senders and listeners. */
export interface PeerNetwork {
  sender(opts: PeerClientOptions): PeerSender;
  listener(opts: PeerServerOptions): PeerListener;
}

/** Real TCP connections: the network of every process outside the in-process tests. */
export const tcpNetwork: PeerNetwork = {
  sender: (opts) => new PeerPool(opts),
  listener: (opts) => new PeerServer(opts),
};
