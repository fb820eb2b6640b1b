// RESP3 bytes back into the reply model: the inverse of encodeReply(reply, 3)
// for the replies apply produces. A region keeps a forwarded write's reply
// encoded (client sessions); a resent duplicate gets the same Reply object
// shape back, so handlers that post-process apply's reply (SETNX, HMSET)
// answer exactly what the first attempt would have.
import {
  BigNumberReply,
  BoolReply,
  DoubleReply,
  ErrorReply,
  MapReply,
  PushReply,
  SetReply,
  SimpleString,
  VerbatimReply,
  type Reply,
} from './reply';

/** Decodes one complete RESP3 reply; throws on malformed or truncated input. */
export function decodeReply(buf: Buffer): Reply {
  const [value, end] = parseAt(buf, 0);
  if (end !== buf.length) throw new Error(`trailing bytes after a RESP reply (${buf.length - end})`);
  return value;
}

function lineEnd(buf: Buffer, pos: number): number {
  const i = buf.indexOf('\r\n', pos, 'latin1');
  if (i < 0) throw new Error('truncated RESP reply');
  return i;
}

function parseAt(buf: Buffer, pos: number): [Reply, number] {
  const type = String.fromCharCode(buf[pos]);
  const eol = lineEnd(buf, pos + 1);
  const line = buf.toString('utf8', pos + 1, eol);
  const next = eol + 2;
  const items = (n: number, at: number): [Reply[], number] => {
    const out: Reply[] = [];
    for (let i = 0; i < n; i++) {
      const [v, e] = parseAt(buf, at);
      out.push(v);
      at = e;
    }
    return [out, at];
  };
  switch (type) {
    case '+':
      return [new SimpleString(line), next];
    case '-':
      return [new ErrorReply(line), next];
    case ':': {
      const n = BigInt(line);
      return [n >= BigInt(Number.MIN_SAFE_INTEGER) && n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : n, next];
    }
    case '_':
      return [null, next];
    case ',':
      return [new DoubleReply(line === 'inf' ? Infinity : line === '-inf' ? -Infinity : Number(line)), next];
    case '#':
      return [new BoolReply(line === 't'), next];
    case '(':
      return [new BigNumberReply(line), next];
    case '$':
    case '=': {
      const len = Number(line);
      if (len < 0) return [null, next];
      if (next + len + 2 > buf.length) throw new Error('truncated RESP reply');
      const body = Buffer.from(buf.subarray(next, next + len));
      if (type === '=') return [new VerbatimReply(body.toString('utf8', 0, 3), body.toString('utf8', 4)), next + len + 2];
      return [body, next + len + 2];
    }
    case '*':
    case '~':
    case '>': {
      const n = Number(line);
      if (n < 0) return [null, next];
      const [list, end] = items(n, next);
      return [type === '*' ? list : type === '~' ? new SetReply(list) : new PushReply(list), end];
    }
    case '%': {
      const [flat, end] = items(2 * Number(line), next);
      const entries: Array<[Reply, Reply]> = [];
      for (let i = 0; i < flat.length; i += 2) entries.push([flat[i], flat[i + 1]]);
      return [new MapReply(entries), end];
    }
    default:
      throw new Error(`unknown RESP type byte ${JSON.stringify(type)}`);
  }
}
