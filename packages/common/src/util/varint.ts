// Sizes of protobuf varints and fields, for the encoders written by hand
// (transport/frame.ts, raftstore/codec.ts): both must agree with protobufjs
// byte for byte. Numbers are exact below 2^53.

/** Bytes of `n` as a varint. */
export function varintLength(n: number): number {
  let len = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 128);
    len++;
  }
  return len;
}

/** Bytes of a varint field (one-byte tag + value) for a non-zero value, 0 for zero (proto3 omits it). */
export function varintFieldLength(n: number): number {
  return n ? 1 + varintLength(n) : 0;
}

/** Bytes of a length-delimited field (one-byte tag + length + bytes), 0 when empty. */
export function bytesFieldLength(byteLen: number): number {
  return byteLen ? 1 + varintLength(byteLen) + byteLen : 0;
}
