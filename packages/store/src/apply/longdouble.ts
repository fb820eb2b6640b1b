// Redis's INCRBYFLOAT / HINCRBYFLOAT arithmetic, bit for bit: Redis (on
// x86-64, where the Tcl suite asserts its output) parses with strtold into
// an x87 80-bit long double (64-bit mantissa), adds in that precision and
// prints with "%.17Lf" minus trailing zeros (ld2string LD_STR_HUMAN). JS
// doubles would print 0.1+0.2 as 0.30000000000000004 where Redis prints 0.3,
// so this module emulates the 80-bit format exactly with BigInts: parsing
// rounds to nearest-even, the sum is exact then rounded, printing is exact.
// It is pure and deterministic, so apply may use it.

/** value = (neg ? -1 : 1) * m * 2^e, with m = 0 or 2^63 <= m < 2^64 (denormals: smaller m at e = E_MIN). */
export interface LongDouble {
  neg: boolean;
  m: bigint;
  e: number;
  /** Infinity (m and e unused). */
  inf?: boolean;
}

const MANT_BITS = 64;
const TWO63 = 1n << 63n;
const TWO64 = 1n << 64n;
/** Smallest exponent of the mantissa's last bit (denormals live here). */
const E_MIN = -16382 - 63;
/** Largest exponent: values at or above 2^16384 overflow. */
const E_MAX = 16384 - MANT_BITS;
/** Redis refuses longer inputs (MAX_LONG_DOUBLE_CHARS). */
export const MAX_LONG_DOUBLE_CHARS = 5 * 1024;

const ZERO: LongDouble = { neg: false, m: 0n, e: 0 };

function bitLength(n: bigint): number {
  return n === 0n ? 0 : n.toString(2).length;
}

/** Rounds the exact positive value num/den * 2^shift to the 80-bit format (nearest, ties to even). */
function fromRational(neg: boolean, num: bigint, den: bigint, shift = 0): LongDouble {
  if (num === 0n) return { neg, m: 0n, e: 0 };
  // Choose e so that num/den * 2^(shift - e) lies in [2^63, 2^64).
  let e = shift + bitLength(num) - bitLength(den) - MANT_BITS;
  for (;;) {
    if (e < E_MIN) e = E_MIN;
    const k = shift - e; // scale num/den by 2^k
    const n = k >= 0 ? num << BigInt(k) : num;
    const d = k >= 0 ? den : den << BigInt(-k);
    let q = n / d;
    if (q >= TWO64) {
      e++;
      continue;
    }
    if (q < TWO63 && e > E_MIN) {
      e--;
      continue;
    }
    const r2 = (n - q * d) * 2n;
    if (r2 > d || (r2 === d && (q & 1n) === 1n)) q++;
    if (q === TWO64) {
      q >>= 1n;
      e++;
    }
    if (e > E_MAX) return { neg, m: 0n, e: 0, inf: true };
    return { neg, m: q, e };
  }
}

/**
 * Redis's string2ld: the whole string must be a number strtold accepts (no
 * surrounding spaces); NaN, overflow to infinity and underflow to zero are
 * refused; "inf" itself is accepted. Returns null when refused.
 */
export function parseLongDouble(input: Buffer | string): LongDouble | null {
  const s = typeof input === 'string' ? input : input.toString('latin1');
  if (s.length === 0 || s.length >= MAX_LONG_DOUBLE_CHARS) return null;
  let i = 0;
  let neg = false;
  if (s[i] === '+' || s[i] === '-') neg = s[i++] === '-';
  const rest = s.slice(i).toLowerCase();
  if (rest === 'inf' || rest === 'infinity') return { neg, m: 0n, e: 0, inf: true };
  if (rest.startsWith('0x')) return parseHex(neg, rest.slice(2));
  const m = /^(\d*)(?:\.(\d*))?(?:e([+-]?\d+))?$/.exec(rest);
  if (!m) return null;
  const intDigits = m[1];
  const fracDigits = m[2] ?? '';
  if (intDigits.length + fracDigits.length === 0) return null;
  const digits = (intDigits + fracDigits).replace(/^0+/, '');
  if (digits.length === 0) return { ...ZERO, neg };
  const exp10 = (m[3] ? Number(m[3]) : 0) - fracDigits.length;
  // Magnitude guard before building huge powers of ten.
  const magnitude = digits.length + exp10;
  if (magnitude > 4940) return null; // above LDBL_MAX (~1.19e4932): ERANGE
  if (magnitude < -4960) return null; // below the smallest denormal: ERANGE to zero
  const mant = BigInt(digits);
  const value = exp10 >= 0 ? fromRational(neg, mant * 10n ** BigInt(exp10), 1n) : fromRational(neg, mant, 10n ** BigInt(-exp10));
  if (value.inf || value.m === 0n) return null;
  return value;
}

function parseHex(neg: boolean, s: string): LongDouble | null {
  const m = /^([0-9a-f]*)(?:\.([0-9a-f]*))?(?:p([+-]?\d+))?$/.exec(s);
  if (!m) return null;
  const intDigits = m[1];
  const fracDigits = m[2] ?? '';
  if (intDigits.length + fracDigits.length === 0) return null;
  const mant = BigInt('0x' + (intDigits + fracDigits || '0'));
  if (mant === 0n) return { ...ZERO, neg };
  const exp2 = (m[3] ? Number(m[3]) : 0) - 4 * fracDigits.length;
  if (exp2 + bitLength(mant) > 16400) return null;
  if (exp2 + bitLength(mant) < -16500) return null;
  const value = fromRational(neg, mant, 1n, exp2);
  if (value.inf || value.m === 0n) return null;
  return value;
}

/** A 64-bit integer, exactly (every int64 fits a 64-bit mantissa). */
export function longDoubleFromBigInt(v: bigint): LongDouble {
  const neg = v < 0n;
  return fromRational(neg, neg ? -v : v, 1n);
}

export function isInfinite(v: LongDouble): boolean {
  return v.inf === true;
}

/** a + b rounded once to the 80-bit format, as the x87 FPU does. */
export function addLongDouble(a: LongDouble, b: LongDouble): LongDouble {
  if (a.inf || b.inf) {
    if (a.inf && b.inf && a.neg !== b.neg) throw new RangeError('NaN');
    return a.inf ? a : b;
  }
  if (a.m === 0n) return b.m === 0n ? { ...ZERO, neg: a.neg && b.neg } : b;
  if (b.m === 0n) return a;
  const e = Math.min(a.e, b.e);
  const sa = (a.neg ? -a.m : a.m) << BigInt(a.e - e);
  const sb = (b.neg ? -b.m : b.m) << BigInt(b.e - e);
  const sum = sa + sb;
  if (sum === 0n) return { ...ZERO };
  const neg = sum < 0n;
  return fromRational(neg, neg ? -sum : sum, 1n, e);
}

/** ld2string(LD_STR_HUMAN): "%.17Lf", trailing zeros (and a bare '.') removed, "-0" made "0". */
export function formatLongDouble(v: LongDouble): string {
  if (v.inf) return v.neg ? '-inf' : 'inf';
  const SCALE = 10n ** 17n;
  let n: bigint;
  if (v.e >= 0) {
    n = (v.m << BigInt(v.e)) * SCALE;
  } else {
    const num = v.m * SCALE;
    const sh = BigInt(-v.e);
    n = num >> sh;
    const r2 = (num - (n << sh)) * 2n;
    const d = 1n << sh;
    if (r2 > d || (r2 === d && (n & 1n) === 1n)) n++;
  }
  const int = (n / SCALE).toString();
  const frac = (n % SCALE).toString().padStart(17, '0').replace(/0+$/, '');
  let out = (v.neg ? '-' : '') + int + (frac ? '.' + frac : '');
  if (out === '-0') out = '0';
  return out;
}
