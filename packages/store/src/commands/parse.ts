// Argument parsing shared by the commands: pure functions, Redis's messages.
import { CommandError, NOT_INTEGER, NOT_FLOAT } from '../data/errors';

// Redis's string2ll: optional '-', no '+', no leading zeros, no "-0".
const INT_RE = /^(0|-?[1-9][0-9]*)$/;
export const I64_MIN = -(2n ** 63n);
export const I64_MAX = 2n ** 63n - 1n;

/** The largest expiry we store (ms since epoch): 2^53-1, year 287396. Redis allows up to 2^63-1; later times are clamped here. */
export const MAX_EXPIRE_MS = Number.MAX_SAFE_INTEGER;

/** The default (and only) proto-max-bulk-len: the largest string value. */
export const MAX_STRING_LEN = 512 * 1024 * 1024;
export const STRING_TOO_LONG = 'ERR string exceeds maximum allowed size (proto-max-bulk-len)';

/** A Redis integer argument (int64, strict decimal), as a bigint. */
export function parseI64(arg: Buffer | string, message = NOT_INTEGER): bigint {
  const s = typeof arg === 'string' ? arg : arg.toString('latin1');
  if (s.length === 0 || s.length > 20 || !INT_RE.test(s)) throw new CommandError(message);
  const v = BigInt(s);
  if (v < I64_MIN || v > I64_MAX) throw new CommandError(message);
  return v;
}

/** Like parseI64 but answers undefined instead of throwing (stored values). */
export function tryI64(arg: Buffer | string): bigint | undefined {
  const s = typeof arg === 'string' ? arg : arg.toString('latin1');
  if (s.length === 0 || s.length > 20 || !INT_RE.test(s)) return undefined;
  const v = BigInt(s);
  return v < I64_MIN || v > I64_MAX ? undefined : v;
}

/** An integer argument that must fit a JS number safely (counts, offsets, ms). */
export function parseInt53(arg: Buffer | string, message = NOT_INTEGER): number {
  const v = parseI64(arg, message);
  if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER)) throw new CommandError(message);
  return Number(v);
}

/** An int64 argument clamped into the safe JS range (indexes into strings, where ±2^53 behaves as ±2^63). */
export function parseClampedInt(arg: Buffer | string, message = NOT_INTEGER): number {
  const v = parseI64(arg, message);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) return Number.MAX_SAFE_INTEGER;
  if (v < BigInt(Number.MIN_SAFE_INTEGER)) return Number.MIN_SAFE_INTEGER;
  return Number(v);
}

/** A float as Redis's strtold accepts it, or undefined (inf allowed, nan refused). */
export function tryFloat(arg: Buffer | string): number | undefined {
  const s = typeof arg === 'string' ? arg : arg.toString('latin1');
  if (s.length === 0 || /\s/.test(s[0]) || /\s$/.test(s)) return undefined;
  const lower = s.toLowerCase();
  if (lower === 'inf' || lower === '+inf' || lower === 'infinity' || lower === '+infinity') return Infinity;
  if (lower === '-inf' || lower === '-infinity') return -Infinity;
  const m = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.exec(s);
  if (!m) return undefined;
  const v = Number(s);
  if (Number.isNaN(v)) return undefined;
  // strtold's ERANGE: overflow to infinity, or underflow of a non-zero mantissa to 0.
  // (A long double reaches 1e4932; our doubles stop at 1e308: documented difference.)
  if (!Number.isFinite(v)) return undefined;
  if (v === 0 && /[1-9]/.test(m[1])) return undefined;
  return v;
}

/** A float argument as Redis's strtold accepts it (inf allowed, nan refused). */
export function parseFloatArg(arg: Buffer | string, message = NOT_FLOAT): number {
  const v = tryFloat(arg);
  if (v === undefined) throw new CommandError(message);
  return v;
}

/** Case-insensitive option word. */
export function word(arg: Buffer): string {
  return arg.toString('latin1').toUpperCase();
}

/**
 * Redis's "human friendly" float format (ld2string LD_STR_HUMAN) for a JS
 * double: fixed point, no exponent, trailing zeros removed, "-0" written "0".
 * INCRBYFLOAT and HINCRBYFLOAT do not use it: they compute and print in
 * emulated 80-bit long doubles (apply/longdouble.ts), bit for bit as Redis.
 *
 * Where this differs: Redis prints a long double with %.17Lf, so its digits come
 * from an 80-bit value; we compute in doubles and print the shortest decimal
 * that round-trips (e.g. 10.5+0.1 gives "10.6" in both). Below 1e-6 we round
 * to 17 decimals as %.17Lf does; above 1e21 we print the double's exact
 * integer value, whose low digits may differ from Redis's long double.
 */
export function formatFloat(v: number): string {
  if (v === Infinity) return 'inf';
  if (v === -Infinity) return '-inf';
  if (v === 0) return '0';
  let s = String(v);
  if (s.includes('e')) {
    const abs = Math.abs(v);
    if (abs >= 1e21) s = BigInt(v).toString();
    else s = v.toFixed(17).replace(/\.?0+$/, '');
  }
  if (s === '-0') s = '0';
  return s;
}

/** The argument positions of the keys of numkeys-style commands (for routing and COMMAND GETKEYS). */
export function numKeysPositions(at: number, extra: number[] = []): (args: Buffer[]) => number[] {
  return (args) => {
    let n = 0;
    try {
      n = Number(parseI64(args[at]));
    } catch {
      n = 0;
    }
    const out = [...extra];
    for (let i = 0; i < n && at + 1 + i < args.length; i++) out.push(at + 1 + i);
    return out;
  };
}
