// Counters of a PeerServer or a PeerPool/PeerClient, for /metrics. Plain
// numbers, mutated in place; read them with `stats()` (a copy).

export interface TransportStats {
  /** complete, valid frames received */
  framesIn: number;
  /** bytes received (length prefixes included; refused bytes included) */
  bytesIn: number;
  /** frames handed to the socket */
  framesOut: number;
  /** bytes handed to the socket (length prefixes included) */
  bytesOut: number;
  /** one-way frames (and queued frames of a lost connection) dropped */
  dropped: number;
  /** frames refused as malformed (oversized, zero length, undecodable, truncated, invalid); each closes its connection */
  refused: number;
  /** connections established again after a connection to the same address was lost */
  reconnects: number;
  /** connection attempts that failed (refused, timed out, reset before connect) */
  connectFailures: number;
  /** connections accepted (server) or established (client) */
  connectionsOpened: number;
  /** connections currently open */
  connectionsOpen: number;
  /** requests sent (client) or handled (server) */
  requests: number;
  /** requests that failed: timeout, disconnect, remote error, overload (client); handler errors (server) */
  requestErrors: number;
  /** requests that timed out (client) */
  requestTimeouts: number;
  /** times the server stopped reading a connection (too many requests in flight, or unsent responses over the cap) */
  readPauses: number;
}

export function newStats(): TransportStats {
  return {
    framesIn: 0,
    bytesIn: 0,
    framesOut: 0,
    bytesOut: 0,
    dropped: 0,
    refused: 0,
    reconnects: 0,
    connectFailures: 0,
    connectionsOpened: 0,
    connectionsOpen: 0,
    requests: 0,
    requestErrors: 0,
    requestTimeouts: 0,
    readPauses: 0,
  };
}
