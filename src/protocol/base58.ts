// base_58 as py2p 0.2 does it: an INTEGER codec, not a byte codec. 0 encodes
// as "" (so a time of 0 is an empty packet), leading zero bytes of a digest
// vanish (ids are never padded), and leading "1"s decode to nothing.
import { base_58 } from './constants.js';
import { BadBase58Error, NotBytesError, describeType } from './errors.js';
import type { CodecScratch } from './scratch.js';

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
    // Its first byte is not 0 (the value passes 2^53): no leading zero byte to drop.
    return encodeBytes(Buffer.from(hex, 'hex'));
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

const ALPHABET_CODES = Uint8Array.from(base_58, (c) => c.charCodeAt(0));
/** Bytes of one base_58 input a CodecScratch holds (a longer one gets buffers of its own). */
export const BASE58_SCRATCH_BYTES = 128;
const B58_CHUNK = 58 ** 3; // 195,112: three digits per division pass
const B58_CHUNK_INV = 1 / B58_CHUNK;
/**
 * base_58 of the bytes of a latin1 string (a raw digest held as a string), without a
 * Buffer for it: in the caller's scratch (every message encodes its id, and buffers
 * of its own per call would cost more than the encoding of a 48-byte digest).
 */
export function latin1ToBase58(key: string, scratch?: CodecScratch): string {
  if (scratch === undefined || key.length > scratch.keyBytes.length) return encodeBytes(Buffer.from(key, 'latin1'));
  const n = scratch.keyBytes.write(key, 0, 'latin1');
  return encodeRange(scratch.keyBytes, 0, n, scratch);
}

function encodeBytes(bytes: Uint8Array): string {
  return encodeRange(bytes, 0, bytes.length, undefined);
}

/** base_58 of bytes[from, to), in `scratch`'s limbs and digits when given and large enough. */
function encodeRange(bytes: Uint8Array, from: number, to: number, scratch: CodecScratch | undefined): string {
  // Leading zero bytes add nothing to the integer (bs58 would write a '1' for each;
  // py2p's integer codec writes none).
  let start = from;
  while (start < to && bytes[start] === 0) start++;
  if (start === to) return '';
  // Schoolbook division of the number, held as big-endian 32-bit limbs, by 58^3:
  // a remainder times 2^32 plus a limb stays below 2^50, exact in a double, so each
  // pass yields three digits with plain arithmetic. A 48-byte digest takes 22 passes
  // over at most 12 limbs, where bs58's byte-at-a-time loop does ~3,000 steps.
  const n = to - start;
  const nLimbs = Math.ceil(n / 4);
  const limbs = scratch !== undefined && nLimbs <= scratch.limbs.length ? scratch.limbs : new Float64Array(nLimbs);
  let i = start;
  let first = 0;
  for (const lead = n - (nLimbs - 1) * 4; i < start + lead; i++) first = first * 256 + bytes[i]!;
  limbs[0] = first;
  for (let k = 1; i < to; i += 4, k++) {
    limbs[k] = bytes[i]! * 16777216 + ((bytes[i + 1]! << 16) | (bytes[i + 2]! << 8) | bytes[i + 3]!);
  }
  // Digits are written from the end, least significant first, as ASCII; the string
  // is made once from the bytes (a flat string, not a chain of concatenations).
  const digits = scratch !== undefined && n <= BASE58_SCRATCH_BYTES ? scratch.digits : Buffer.allocUnsafe(Math.ceil(n * 1.3657) + 5);
  let pos = digits.length;
  let head = 0;
  while (head < nLimbs) {
    let rem = 0;
    for (let j = head; j < nLimbs; j++) {
      const x = rem * 4294967296 + limbs[j]!;
      // x / 58^3 by a multiplication (a division is several times slower): x < 2^50,
      // so the estimate is within one of the quotient, and one step either way fixes it.
      let q = Math.floor(x * B58_CHUNK_INV);
      let r = x - q * B58_CHUNK;
      if (r < 0) {
        q--;
        r += B58_CHUNK;
      } else if (r >= B58_CHUNK) {
        q++;
        r -= B58_CHUNK;
      }
      limbs[j] = q;
      rem = r;
    }
    while (head < nLimbs && limbs[head] === 0) head++;
    // Three digits per pass; the last pass drops its leading zeros.
    for (let d = 0; d < 3 && (rem > 0 || head < nLimbs); d++) {
      const q = (rem / 58) | 0; // rem < 58^3
      digits[--pos] = ALPHABET_CODES[rem - q * 58]!;
      rem = q;
    }
  }
  return digits.toString('latin1', pos, digits.length);
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

/**
 * The base_58 of the last time asked for, kept by whoever owns the cache (a
 * CodecScratch): messages built in one second share their time, whose base_58
 * is then made once. A time beyond 2^53 is not exact as a number, and is not cached.
 */
export class Time58Cache {
  #time = -1;
  #text = '';

  /** toBase58 of the time `t` (`big` is its exact value, needed when t is not a safe integer). */
  text(t: number, big: bigint | undefined): string {
    if (!Number.isSafeInteger(t)) return toBase58(big ?? BigInt(t));
    if (t !== this.#time) {
      this.#text = toBase58(t);
      this.#time = t;
    }
    return this.#text;
  }
}
