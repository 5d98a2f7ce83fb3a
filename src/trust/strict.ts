// Strict Ed25519: the checks RFC 8032 and libsodium make beyond the verification
// equation, so that no crafted key verifies everything and no signature has a second
// valid encoding. node:crypto (OpenSSL) verifies with the equation and S < L only: it
// accepts a small-order public key, with which R = identity, S = 0 verifies for every
// message. So a public key is checked once, when it is first met (canonical and not of
// small order), and every signature before it reaches OpenSSL (S < L, R canonical and
// not of small order). Both are byte compares: a point's encoding is its y (below p)
// and the sign of x, and the points of small order are exactly those with one of five
// y values (spec/trust/attacks.spec.ts checks the verdicts against @noble/curves'
// strict decoding and verification). A key that is no point at all verifies nothing.
import { verify, type KeyObject } from 'node:crypto';
const PUBLIC_KEY_BYTES = 32;
const SIGNATURE_BYTES = 64;

/** The group order L = 2^252 + 27742317777372353535851937790883648493, little-endian. */
const L_BYTES = Buffer.from('edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010', 'hex');
/** The field prime p = 2^255 - 19, little-endian (top bit clear). */
const P_BYTES = Buffer.from('edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f', 'hex');

/**
 * The y coordinates (sign bit cleared) of the eight points of small order: the
 * identity (1), the point of order 2 (p - 1), the two of order 4 (0) and the four of
 * order 8. A point is of small order if and only if its y is one of these.
 */
const SMALL_ORDER_Y = [
  '0100000000000000000000000000000000000000000000000000000000000000',
  'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  '0000000000000000000000000000000000000000000000000000000000000000',
  '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05',
  'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a',
].map((h) => Buffer.from(h, 'hex'));

/** a < b for two 32-byte little-endian numbers, a's top bit masked if `mask`. */
function lessThan(a: Uint8Array, at: number, b: Buffer, mask: boolean): boolean {
  for (let i = 31; i >= 0; i--) {
    const x = i === 31 && mask ? a[at + i]! & 0x7f : a[at + i]!;
    const y = b[i]!;
    if (x !== y) return x < y;
  }
  return false;
}

function isSmallOrderY(bytes: Uint8Array, at: number): boolean {
  outer: for (const y of SMALL_ORDER_Y) {
    for (let i = 0; i < 32; i++) {
      const b = i === 31 ? bytes[at + i]! & 0x7f : bytes[at + i]!;
      if (b !== y[i]) continue outer;
    }
    return true;
  }
  return false;
}

/** Why a raw public key is refused (not a canonical encoding of a point, or of small order), or undefined if it is strict. */
export function publicKeyFault(raw: Uint8Array): string | undefined {
  if (raw.length !== PUBLIC_KEY_BYTES) return `public key of ${raw.length} bytes`;
  if (!lessThan(raw, 0, P_BYTES, true)) return 'non-canonical public key';
  if (isSmallOrderY(raw, 0)) return 'public key of small order';
  return undefined;
}

/** Why a signature's encoding is refused (S >= L, R non-canonical or of small order), or undefined. */
export function signatureFault(signature: Uint8Array): string | undefined {
  if (signature.length !== SIGNATURE_BYTES) return `signature of ${signature.length} bytes`;
  if (!lessThan(signature, 32, L_BYTES, false)) return 'non-canonical signature (S >= L)';
  if (!lessThan(signature, 0, P_BYTES, true)) return 'non-canonical signature (R)';
  if (isSmallOrderY(signature, 0)) return 'signature R of small order';
  return undefined;
}

/**
 * Verifies an Ed25519 signature strictly: the signature's encoding first (no
 * verification for a malleated one), then the equation. The key must have passed
 * publicKeyFault (callers check it once, when the key is first met).
 */
export function strictVerify(key: KeyObject, data: Uint8Array, signature: Uint8Array): boolean {
  if (signatureFault(signature) !== undefined) return false;
  try {
    return verify(null, data, key, signature);
  } catch {
    return false;
  }
}
