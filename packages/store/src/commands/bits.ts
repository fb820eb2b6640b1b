// Bit operations on strings (SETBIT, GETBIT, BITCOUNT); apply in apply/bits.ts.
import type { CommandHandler, Spec } from './context';
import { CommandError } from '../data/errors';

/** Bits a string may hold: 512 MB, as Redis's proto-max-bulk-len default. */
const MAX_BIT_OFFSET = 512 * 1024 * 1024 * 8 - 1;

function bitOffset(arg: Buffer): number {
  const s = arg.toString('latin1');
  const n = Number(s);
  if (!/^\d+$/.test(s) || n > MAX_BIT_OFFSET) throw new CommandError('ERR bit offset is not an integer or out of range');
  return n;
}

const setbit: CommandHandler = (ctx, [, key, offsetArg, valueArg]) => {
  const offset = bitOffset(offsetArg);
  const v = valueArg.toString('latin1');
  if (v !== '0' && v !== '1') throw new CommandError('ERR bit is not an integer or out of range');
  return ctx.write([key], { setBit: { key, offset, value: v === '1' } });
};

const getbit: CommandHandler = async (ctx, [, key, offsetArg]) => {
  const offset = bitOffset(offsetArg);
  const value = await (await ctx.read([key])).getString(key);
  if (!value) return 0;
  const byte = Math.floor(offset / 8);
  return byte < value.length ? (value[byte] >> (7 - (offset % 8))) & 1 : 0;
};

function popcount(b: number): number {
  let n = 0;
  for (; b; b &= b - 1) n++;
  return n;
}

/** BITCOUNT key [start end [BYTE|BIT]] */
const bitcount: CommandHandler = async (ctx, args) => {
  const key = args[1];
  if (args.length !== 2 && args.length !== 4 && args.length !== 5) throw new CommandError('ERR syntax error');
  const value = (await (await ctx.read([key])).getString(key)) ?? Buffer.alloc(0);
  let unitBits = false;
  if (args.length === 5) {
    const u = args[4].toString('latin1').toUpperCase();
    if (u === 'BIT') unitBits = true;
    else if (u !== 'BYTE') throw new CommandError('ERR syntax error');
  }
  const total = unitBits ? value.length * 8 : value.length;
  let start = 0;
  let end = total - 1;
  if (args.length >= 4) {
    const parse = (b: Buffer): number => {
      const s = b.toString('latin1');
      if (!/^-?\d+$/.test(s)) throw new CommandError('ERR value is not an integer or out of range');
      return Number(s);
    };
    start = parse(args[2]);
    end = parse(args[3]);
    if (start < 0) start = Math.max(0, total + start);
    if (end < 0) end = total + end;
    if (end >= total) end = total - 1;
  }
  if (total === 0 || start > end) return 0;
  let n = 0;
  if (!unitBits) {
    for (let i = start; i <= end; i++) n += popcount(value[i]);
  } else {
    for (let i = start; i <= end; i++) n += (value[i >> 3] >> (7 - (i & 7))) & 1;
  }
  return n;
};

const S = { group: 'bitmap', since: '2.2.0' } as const;

export const BIT_COMMANDS: Spec[] = [
  { ...S, name: 'setbit', arity: 4, flags: ['write', 'denyoom'], keys: [1, 1, 1], summary: 'Sets or clears the bit at offset of the string value. Creates the key if it doesn\'t exist.', complexity: 'O(1)', handler: setbit },
  { ...S, name: 'getbit', arity: 3, flags: ['readonly', 'fast'], keys: [1, 1, 1], summary: 'Returns a bit value by offset.', complexity: 'O(1)', handler: getbit },
  { ...S, name: 'bitcount', arity: -2, flags: ['readonly'], keys: [1, 1, 1], since: '2.6.0', summary: 'Counts the number of set bits (population counting) in a string.', complexity: 'O(N)', handler: bitcount },
];
