// Errors of the peer transport. One class with a code, so callers can write
// `e instanceof TransportError && e.code === 'TIMEOUT'`.

export type TransportErrorCode =
  /** the request got no response within its timeout */
  | 'TIMEOUT'
  /** the connection dropped (or failed to connect) while the request was pending */
  | 'DISCONNECTED'
  /** the peer is known to be down (reconnect backoff): failed fast, nothing was sent */
  | 'UNAVAILABLE'
  /** the client or pool was closed */
  | 'CLOSED'
  /** the frame would exceed the maximum frame size */
  | 'TOO_LARGE'
  /** the connection's outbound queue is over its byte cap */
  | 'OVERLOADED'
  /** the remote handler failed; the message is the remote error */
  | 'REMOTE';

export class TransportError extends Error {
  constructor(
    readonly code: TransportErrorCode,
    message: string,
    /** the peer address involved, host:port */
    readonly address?: string,
  ) {
    super(message);
    this.name = 'TransportError';
  }
}
