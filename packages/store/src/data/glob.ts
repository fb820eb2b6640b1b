// Redis's glob-style pattern match (stringmatchlen): * ? [abc] [^a-z] and \
// escapes, over bytes. Used by KEYS, SCAN MATCH and HSCAN MATCH.

export function globMatch(pattern: Buffer, subject: Buffer, nocase = false): boolean {
  return match(pattern, 0, subject, 0, nocase, 0, { skipLonger: false });
}

const lower = (c: number): number => (c >= 65 && c <= 90 ? c + 32 : c);

// `state.skipLonger`: once a '*' tried every suffix and failed, no outer '*'
// can succeed by skipping more (Redis's fix for exponential patterns).
function match(p: Buffer, pi: number, s: Buffer, si: number, nocase: boolean, depth: number, state: { skipLonger: boolean }): boolean {
  // Redis caps recursion to stay safe against hostile patterns; so do we.
  if (depth > 1000) return false;
  while (pi < p.length && si <= s.length) {
    const c = p[pi];
    if (c === 0x2a /* * */) {
      while (pi + 1 < p.length && p[pi + 1] === 0x2a) pi++;
      if (pi + 1 === p.length) return true;
      for (let k = si; k < s.length; k++) {
        if (match(p, pi + 1, s, k, nocase, depth + 1, state)) return true;
        if (state.skipLonger) return false;
      }
      state.skipLonger = true;
      return false;
    }
    if (si === s.length) return false;
    if (c === 0x3f /* ? */) {
      si++;
      pi++;
      continue;
    }
    if (c === 0x5b /* [ */) {
      pi++;
      const not = p[pi] === 0x5e; /* ^ */
      if (not) pi++;
      let matched = false;
      for (;;) {
        if (pi >= p.length) {
          pi--; // unterminated class: Redis treats the end as the closing bracket
          break;
        }
        if (p[pi] === 0x5c /* \ */ && pi + 1 < p.length) {
          pi++;
          if (p[pi] === s[si]) matched = true;
        } else if (p[pi] === 0x5d /* ] */) {
          break;
        } else if (pi + 2 < p.length && p[pi + 1] === 0x2d /* - */) {
          let start = p[pi];
          let end = p[pi + 2];
          let ch = s[si];
          if (start > end) [start, end] = [end, start];
          if (nocase) {
            start = lower(start);
            end = lower(end);
            ch = lower(ch);
          }
          pi += 2;
          if (ch >= start && ch <= end) matched = true;
        } else if (nocase ? lower(p[pi]) === lower(s[si]) : p[pi] === s[si]) {
          matched = true;
        }
        pi++;
      }
      if (not) matched = !matched;
      if (!matched) return false;
      si++;
      pi++;
      continue;
    }
    if (c === 0x5c /* \ */ && pi + 1 < p.length) pi++;
    if (nocase ? lower(p[pi]) !== lower(s[si]) : p[pi] !== s[si]) return false;
    si++;
    pi++;
  }
  while (pi < p.length && p[pi] === 0x2a) pi++;
  return pi === p.length && si === s.length;
}
