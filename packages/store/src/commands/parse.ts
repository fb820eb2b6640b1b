// Argument parsing shared by the commands: pure functions, Redis's messages.
import { CommandError, NOT_INTEGER, NOT_FLOAT } from '../data/errors';

const INT_RE = /^-?(0|[1-9][0-9]*)$/;
const I64_MIN = -(2n ** 63n);
const I64_MAX = 2n ** 63n - 1n;

/** A Redis integer argument (int64, strict decimal), as a bigint. */
export function parseI64(arg: Buffer | string, message = NOT_INTEGER): bigint {
  const s = typeof arg === 'string' ? arg : arg.toString('latin1');
  if (s.length === 0 || s.length > 20 || !INT_RE.test(s)) throw new CommandError(message);
  const v = BigInt(s);
  if (v < I64_MIN || v > I64_MAX) throw new CommandError(message);
  return v;
}

/** An integer argument that must fit a JS number safely (counts, offsets, ms). */
export function parseInt53(arg: Buffer | string, message = NOT_INTEGER): number {
  const v = parseI64(arg, message);
  if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER)) throw new CommandError(message);
  return Number(v);
}

/** A float argument as Redis's strtold accepts it (inf allowed, nan refused). */
export function parseFloatArg(arg: Buffer | string, message = NOT_FLOAT): number {
  const s = (typeof arg === 'string' ? arg : arg.toString('latin1'));
  if (s.length === 0 || /\s/.test(s[0]) || /\s$/.test(s)) throw new CommandError(message);
  const lower = s.toLowerCase();
  if (lower === 'inf' || lower === '+inf' || lower === 'infinity' || lower === '+infinity') return Infinity;
  if (lower === '-inf' || lower === '-infinity') return -Infinity;
  if (!/^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(s)) throw new CommandError(message);
  const v = Number(s);
  if (Number.isNaN(v)) throw new CommandError(message);
  return v;
}

/** Case-insensitive option word. */
export function word(arg: Buffer): string {
  return arg.toString('latin1').toUpperCase();
}

/** Redis's float formatting for replies and stored values (%.17g, shortest round trip). */
export function formatFloat(v: number): string {
  if (v === Infinity) return 'inf';
  if (v === -Infinity) return '-inf';
  if (Object.is(v, -0)) return '-0';
  let s = String(v);
  if (s.includes('e')) {
    // Redis prints with %.17Lg; large exponents stay exponent-free up to 17 digits.
    const abs = Math.abs(v);
    if (abs >= 1e-5 && abs < 1e17) s = v.toFixed(20).replace(/\.?0+$/, '');
  }
  return s;
}
