// The WriteCommand as apply sees it: what a replica decodes from the log
// entry. The standalone store has no log; for the commonest writes it builds
// that decoded form directly (message instances, defaults from their
// prototypes, exactly the values decode(encode(cmd)) gives: entry.test.ts
// checks), saving an encode and a decode per write. Anything else, or any
// value whose round trip could change it, takes the real round trip.
import { pb } from '@redraft/common';

type Kind = 'bytes' | 'bytes[]' | 'string' | 'bool' | 'condition' | 'expiry';
interface OpSpec {
  make: new (p?: object) => object;
  fields: Record<string, Kind>;
}

const OPS: Record<string, OpSpec> = {
  set: { make: pb.SetOp, fields: { key: 'bytes', value: 'bytes', condition: 'condition', expiry: 'expiry', get: 'bool' } },
  incrBy: { make: pb.IncrByOp, fields: { key: 'bytes', delta: 'string' } },
  incrByFloat: { make: pb.IncrByFloatOp, fields: { key: 'bytes', delta: 'string' } },
  append: { make: pb.AppendOp, fields: { key: 'bytes', value: 'bytes' } },
  getDel: { make: pb.GetDelOp, fields: { key: 'bytes' } },
  del: { make: pb.DelOp, fields: { keys: 'bytes[]' } },
  hset: { make: pb.HSetOp, fields: { key: 'bytes', fields: 'bytes[]', values: 'bytes[]', nx: 'bool' } },
  hdel: { make: pb.HDelOp, fields: { key: 'bytes', fields: 'bytes[]' } },
  hincrBy: { make: pb.HIncrByOp, fields: { key: 'bytes', field: 'bytes', delta: 'string' } },
};

const isBytes = (v: unknown): boolean => Buffer.isBuffer(v);
/** A non-negative integer a uint64 field carries exactly as a JS number. */
const isU64 = (v: unknown): boolean => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

/** Whether `v` survives the round trip of a field of `kind` unchanged (null: absent, also fine). */
function fits(kind: Kind, v: unknown): boolean {
  if (v == null) return true;
  switch (kind) {
    case 'bytes':
      return isBytes(v);
    case 'bytes[]':
      return Array.isArray(v) && v.every(isBytes);
    case 'string':
      // A lone surrogate would not survive UTF-8.
      return typeof v === 'string' && (v as string & { isWellFormed(): boolean }).isWellFormed();
    case 'bool':
      return typeof v === 'boolean';
    case 'condition':
      return v === 0 || v === 1 || v === 2 || v === 3 || v === 4;
    case 'expiry': {
      if (typeof v !== 'object') return false;
      const e = v as pb.Expiry.$Properties;
      const set = (e.atMs != null ? 1 : 0) + (e.keep != null ? 1 : 0) + (e.persist != null ? 1 : 0);
      if (set > 1 || Object.keys(e).some((k) => k !== 'atMs' && k !== 'keep' && k !== 'persist')) return false;
      return (e.atMs == null || isU64(e.atMs)) && (e.keep == null || typeof e.keep === 'boolean') && (e.persist == null || typeof e.persist === 'boolean');
    }
  }
}

/** The direct form of one operation, or undefined when it must take the round trip. */
function direct(name: string, op: Record<string, unknown>): object | undefined {
  const spec = OPS[name];
  if (!spec || typeof op !== 'object' || op === null) return undefined;
  for (const k of Object.keys(op)) {
    const kind = spec.fields[k];
    if (!kind || !fits(kind, op[k])) return undefined;
  }
  // Encode leaves out a field at its default; decode then reads the default from the prototype.
  const out = new spec.make() as Record<string, unknown>;
  for (const k of Object.keys(op)) {
    const v = op[k];
    if (v == null) continue;
    if (spec.fields[k] === 'expiry') out[k] = new pb.Expiry(v as pb.Expiry.$Properties);
    else if (spec.fields[k] === 'bytes[]') {
      if ((v as Buffer[]).length) out[k] = (v as Buffer[]).slice();
    } else if (v !== false && v !== 0 && v !== '' && !(isBytes(v) && (v as Buffer).length === 0)) out[k] = v;
  }
  return out;
}

/** The WriteCommand a replica would decode from the entry of `cmd`. */
export function asLogged(cmd: pb.WriteCommand.$Properties): pb.WriteCommand {
  const keys = Object.keys(cmd);
  if (keys.length === 2 && isU64(cmd.proposedAtMs)) {
    const name = keys[0] === 'proposedAtMs' ? keys[1] : keys[0];
    const op = direct(name, (cmd as Record<string, unknown>)[name] as Record<string, unknown>);
    if (op) {
      const out = new pb.WriteCommand() as pb.WriteCommand & Record<string, unknown>;
      if (cmd.proposedAtMs) out.proposedAtMs = cmd.proposedAtMs;
      out[name] = op;
      return out;
    }
  }
  return pb.WriteCommand.decode(pb.WriteCommand.encode(cmd).finish());
}
