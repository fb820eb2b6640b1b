// Errors of the meta state machine.

/** Why a command was refused; the first word is a stable code (docs/meta.md). */
export class MetaError extends Error {
  constructor(
    readonly code: string,
    detail: string,
  ) {
    super(`${code} ${detail}`);
    this.name = 'MetaError';
  }
}
