// Replies as plain values for assertions (sorted sets and transactions tests).
import { DoubleReply, ErrorReply, NullArray, SimpleString, formatDouble } from '@redraft/common';
import type { Reply } from '@redraft/common';

/** A reply as plain values: strings, numbers, scores formatted as Redis prints them. */
export function v(r: Reply): unknown {
  if (Buffer.isBuffer(r)) return r.toString('utf8');
  if (Array.isArray(r)) return r.map(v);
  if (r instanceof DoubleReply) return formatDouble(r.value);
  if (r instanceof ErrorReply) return `ERR:${r.message}`;
  if (r instanceof SimpleString) return r.value;
  if (r === NullArray.instance) return 'nil-array';
  if (typeof r === 'bigint') return Number(r);
  return r;
}

