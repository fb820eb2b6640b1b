// The reply model: what a command handler returns. The encoder turns it into
// RESP2 or RESP3 bytes depending on the connection's protocol (HELLO).
//
//   null                 nil            RESP2 `$-1`, RESP3 `_`
//   number | bigint      integer        `:`   (must be an integer; int64 range)
//   Buffer | string      bulk string    `$`   (a JS string is sent as UTF-8)
//   Reply[]              array          `*`
//   the classes below    everything else

export type Reply =
  | null
  | number
  | bigint
  | Buffer
  | string
  | Reply[]
  | SimpleString
  | ErrorReply
  | DoubleReply
  | BoolReply
  | MapReply
  | SetReply
  | VerbatimReply
  | NullArray
  | PushReply
  | BigNumberReply
  | RawReply;

/** `+OK` style status reply. */
export class SimpleString {
  constructor(readonly value: string) {}
}

/** `-ERR ...`: `message` holds the whole line after '-', prefix included (e.g. "WRONGTYPE ..."). */
export class ErrorReply {
  constructor(readonly message: string) {}
}

/** RESP3 double `,`; a bulk string in RESP2 (formatted as Redis formats doubles). */
export class DoubleReply {
  constructor(readonly value: number) {}
}

/** RESP3 boolean `#`; integer 1/0 in RESP2. */
export class BoolReply {
  constructor(readonly value: boolean) {}
}

/** RESP3 map `%`; a flat array of key, value, key, value in RESP2. */
export class MapReply {
  constructor(readonly entries: Array<[Reply, Reply]>) {}
}

/** RESP3 set `~`; an array in RESP2. */
export class SetReply {
  constructor(readonly items: Reply[]) {}
}

/** RESP3 verbatim string `=` (format is 3 chars, e.g. "txt"); a bulk string in RESP2. */
export class VerbatimReply {
  constructor(readonly format: string, readonly text: string) {}
}

/** RESP2 null array `*-1` (RESP3 `_`), for the few commands that answer it. */
export class NullArray {
  static readonly instance = new NullArray();
  private constructor() {}
}

export const OK = new SimpleString('OK');
export const QUEUED = new SimpleString('QUEUED');
export const PONG = new SimpleString('PONG');

/** Shorthand for an error reply; `message` must carry its prefix ("ERR ...", "WRONGTYPE ..."). */
export function err(message: string): ErrorReply {
  return new ErrorReply(message);
}

/** RESP3 push `>` (pub/sub messages, invalidations); an array in RESP2. */
export class PushReply {
  constructor(readonly items: Reply[]) {}
}

/** RESP3 big number `(` (decimal digits, optional '-'); a bulk string in RESP2. */
export class BigNumberReply {
  constructor(readonly value: string) {}
}

/**
 * Bytes already in RESP form, written as they are (e.g. a reply forwarded from
 * another node). The sender is responsible for matching the connection's protocol.
 */
export class RawReply {
  constructor(readonly bytes: Buffer) {}
}

/** Several pushes already encoded in a row (one command's pub/sub confirmations): CLIENT REPLY OFF does not silence them. */
export class RawPushReply extends RawReply {}

/**
 * CLIENT REPLY's answer: the connection switches its reply mode when this
 * reaches its place in the reply order (so replies of earlier pipelined
 * commands are still sent). Only ON answers (+OK), as in Redis.
 */
export class ReplyModeChange extends RawReply {
  constructor(
    readonly mode: 'on' | 'off' | 'skip',
    /** What 'on' answers: +OK (CLIENT REPLY ON), +RESET (RESET). */
    answer = 'OK',
  ) {
    super(mode === 'on' ? Buffer.from(`+${answer}\r\n`) : Buffer.alloc(0));
  }
}
