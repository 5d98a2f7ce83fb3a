// node:crypto in the browser bundle: the hashes the codec uses (SHA-1, SHA-256, SHA-384), made
// synchronous by @noble/hashes, and the random helpers, from crypto.getRandomValues.
// Node builds keep node:crypto itself; only scripts/build-web maps the import here.
import { sha1 } from '@noble/hashes/legacy.js';
import { sha256, sha384 } from '@noble/hashes/sha2.js';

type Encoding = 'utf8' | 'utf-8' | 'latin1' | 'binary' | 'hex' | 'base64';
type Input = string | Uint8Array;

// sha1 keys content de-duplication (not security), as in Node.
const hashes = { sha1, sha256, sha384 } as const;

function bytesOf(data: Input, encoding?: Encoding): Uint8Array {
  return typeof data === 'string' ? Buffer.from(data, encoding ?? 'utf8') : data;
}

function encode(digest: Uint8Array, encoding?: Encoding): Buffer | string {
  const b = Buffer.from(digest.buffer, digest.byteOffset, digest.byteLength);
  return encoding === undefined ? b : b.toString(encoding);
}

function algorithmOf(name: string): (typeof hashes)[keyof typeof hashes] {
  const h = hashes[name.toLowerCase() as keyof typeof hashes];
  if (h === undefined) throw new Error(`hash ${name} is not in the browser build`);
  return h;
}

class Hash {
  private readonly state;
  constructor(name: string) {
    this.state = algorithmOf(name).create();
  }

  update(data: Input, encoding?: Encoding): this {
    this.state.update(bytesOf(data, encoding));
    return this;
  }

  digest(): Buffer;
  digest(encoding: Encoding): string;
  digest(encoding?: Encoding): Buffer | string {
    return encode(this.state.digest(), encoding);
  }
}

export function createHash(name: string): Hash {
  return new Hash(name);
}

/** node:crypto's one-shot hash(). */
export function hash(name: string, data: Input, encoding: Encoding = 'hex'): string {
  return encode(algorithmOf(name)(bytesOf(data)), encoding) as string;
}

export function randomBytes(n: number): Buffer {
  const b = Buffer.alloc(n);
  crypto.getRandomValues(b);
  return b;
}

/** A uniform integer in [min, max) (or [0, min) given one bound), as node:crypto's. */
export function randomInt(min: number, max?: number): number {
  if (max === undefined) [min, max] = [0, min];
  const range = max - min;
  const limit = Math.floor(0x1_0000_0000 / range) * range;
  const word = new Uint32Array(1);
  do crypto.getRandomValues(word); while (word[0]! >= limit);
  return min + (word[0]! % range);
}

/** A version 4 UUID (crypto.randomUUID needs a secure context; this does not). */
export function randomUUID(): string {
  const b = randomBytes(16);
  b[6] = (b[6]! & 0x0f) | 0x40;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

export function generateKeyPairSync(): never {
  throw new Error('TLS is not available in the browser build');
}

// The authenticated protocol (Ed25519 keys, signatures, HMAC) runs over TLS only, which a
// browser node does not speak: its functions are here so that the bundle links, and fail if called.
const notInBrowser = (name: string) => (): never => {
  throw new Error(`${name}: the authenticated protocol is not available in the browser build`);
};
export const sign = notInBrowser('sign');
export const verify = notInBrowser('verify');
export const createHmac = notInBrowser('createHmac');
export const createPrivateKey = notInBrowser('createPrivateKey');
export const createPublicKey = notInBrowser('createPublicKey');
export const timingSafeEqual = notInBrowser('timingSafeEqual');
/** Only `instanceof` checks reach it in the browser; no KeyObject is ever made there. */
export class KeyObject {}
/** WebCrypto, as node:crypto exports it. */
export const webcrypto = globalThis.crypto;
