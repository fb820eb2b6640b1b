// Errors a command answers to its client. Throwing one from a handler or from
// apply turns into the `-...` reply; in apply, the entry's writes are undone.
import { ErrorReply } from '@redraft/common';

export class CommandError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CommandError';
  }
  toReply(): ErrorReply {
    return new ErrorReply(this.message);
  }
}

export const WRONGTYPE = 'WRONGTYPE Operation against a key holding the wrong kind of value';
export const NOT_INTEGER = 'ERR value is not an integer or out of range';
export const NOT_FLOAT = 'ERR value is not a valid float';
export const SYNTAX = 'ERR syntax error';
export const NO_SUCH_KEY = 'ERR no such key';
export const OVERFLOW = 'ERR increment or decrement would overflow';

export const wrongType = (): CommandError => new CommandError(WRONGTYPE);
export const syntaxError = (): CommandError => new CommandError(SYNTAX);
