// Parsing and checking of command-line values: a bad flag value is a clear
// error naming the flag, never a crash or a silent default.

export class OptionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OptionError';
  }
}

export function parsePort(flag: string, value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 0 || n > 65535) throw new OptionError(`${flag}: expected a TCP port (0-65535), got '${value}'`);
  return n;
}

export function parseCount(flag: string, value: string, min: number, max: number): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < min || n > max) throw new OptionError(`${flag}: expected an integer in [${min}, ${max}], got '${value}'`);
  return n;
}

const UNITS: Record<string, number> = { '': 1, b: 1, k: 1000, kb: 1024, m: 1e6, mb: 1024 ** 2, g: 1e9, gb: 1024 ** 3 };

/** A byte size as Redis writes it: 512mb, 64kb, 1g, 1048576. */
export function parseBytes(flag: string, value: string): number {
  const m = /^(\d+)([a-z]*)$/i.exec(value.trim());
  const unit = m ? UNITS[m[2].toLowerCase()] : undefined;
  if (!m || unit === undefined) throw new OptionError(`${flag}: expected a size such as 512mb, 64kb or 1048576, got '${value}'`);
  const n = Number(m[1]) * unit;
  if (!Number.isSafeInteger(n) || n <= 0) throw new OptionError(`${flag}: size out of range: '${value}'`);
  return n;
}

export function parseChoice<T extends string>(flag: string, value: string, choices: readonly T[]): T {
  if (!choices.includes(value as T)) throw new OptionError(`${flag}: expected one of ${choices.join(', ')}, got '${value}'`);
  return value as T;
}

/** host:port, as the cluster's addresses are written. */
export function parseHostPort(flag: string, value: string): { host: string; port: number } {
  const i = value.lastIndexOf(':');
  if (i <= 0) throw new OptionError(`${flag}: expected host:port, got '${value}'`);
  return { host: value.slice(0, i), port: parsePort(flag, value.slice(i + 1)) };
}
