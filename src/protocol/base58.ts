// base_58 as py2p 0.2 does it: an INTEGER codec, not a byte codec. 0 encodes
// as "" (so a time of 0 is an empty packet), leading zero bytes of a digest
// vanish (ids are never padded), and leading "1"s decode to nothing.
import bs58 from 'bs58';
import { base_58 } from './constants.js';
import { BadBase58Error, NotBytesError, describeType } from './errors.js';

const DIGIT = new Int8Array(128).fill(-1);
for (let i = 0; i < base_58.length; i++) DIGIT[base_58.charCodeAt(i)] = i;

const utf8Strict = new TextDecoder('utf-8', { fatal: true });

/** Encodes a non-negative integer; a byte array is read as a big-endian unsigned integer. */
export function toBase58(value: bigint | number | Uint8Array): string {
  if (value instanceof Uint8Array) return encodeBytes(value);
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value) || value < 0) {
      throw new RangeError(`toBase58 needs a non-negative safe integer, got ${value}`);
    }
    return encodeSmall(value);
  }
  if (typeof value === 'bigint') {
    if (value < 0n) throw new RangeError('toBase58 needs a non-negative integer');
    if (value <= BigInt(Number.MAX_SAFE_INTEGER)) return encodeSmall(Number(value));
    let hex = value.toString(16);
    if (hex.length & 1) hex = '0' + hex;
    return bs58.encode(Buffer.from(hex, 'hex'));
  }
  throw new TypeError(`toBase58 needs a bigint, number or Uint8Array, got ${describeType(value)}`);
}

function encodeSmall(n: number): string {
  let out = '';
  while (n > 0) {
    const q = Math.floor(n / 58);
    out = base_58[n - q * 58] + out;
    n = q;
  }
  return out;
}

function encodeBytes(bytes: Uint8Array): string {
  // bs58 writes one '1' per leading zero byte; py2p's integer codec writes none.
  let start = 0;
  while (start < bytes.length && bytes[start] === 0) start++;
  if (start === bytes.length) return '';
  return bs58.encode(start === 0 ? bytes : bytes.subarray(start));
}

const BIG58_POW9 = 58n ** 9n;

/** Decodes base_58 text (or its ASCII bytes) to an integer. "" and "111" are 0n. */
export function fromBase58(input: string | Uint8Array): bigint {
  let s: string;
  if (typeof input === 'string') {
    s = input;
  } else if (input instanceof Uint8Array) {
    for (let i = 0; i < input.length; i++) {
      if (input[i]! >= 0x80) {
        try {
          utf8Strict.decode(input);
        } catch {
          // py2p decodes bytes as UTF-8 first: UnicodeDecodeError.
          throw new BadBase58Error('base_58 bytes are not valid UTF-8');
        }
        break;
      }
    }
    s = Buffer.from(input.buffer, input.byteOffset, input.byteLength).toString('latin1');
  } else {
    throw new NotBytesError(describeType(input));
  }
  const n = s.length;
  // 58^9 < 2^53: up to 9 digits at a time fit a double exactly.
  let acc = 0n;
  let i = 0;
  const head = n % 9 || 9;
  let first = true;
  while (i < n) {
    const end = first ? Math.min(head, n) : i + 9;
    let chunk = 0;
    for (; i < end; i++) {
      const c = s.charCodeAt(i);
      const d = c < 128 ? DIGIT[c]! : -1;
      if (d < 0) throw new BadBase58Error(`character ${JSON.stringify(s[i])} is not in the base_58 alphabet`);
      chunk = chunk * 58 + d;
    }
    acc = first ? BigInt(chunk) : acc * BIG58_POW9 + BigInt(chunk);
    first = false;
  }
  return acc;
}

/** fromBase58 for values known to fit a double (times); throws RangeError beyond 2^53. */
export function fromBase58Number(input: string | Uint8Array): number {
  const v = fromBase58(input);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new RangeError('base_58 value exceeds Number.MAX_SAFE_INTEGER');
  return Number(v);
}
