// Node keys of the authenticated protocol: an Ed25519 key pair per node, and the node
// id derived from its public key (base_58 of SHA-384, the shape of every py2p id).
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, KeyObject } from 'node:crypto';
import { chmodSync, closeSync, openSync, readFileSync, writeSync } from 'node:fs';
import { toBase58 } from '../protocol/base58.js';
import { InvalidArgumentError } from '../errors.js';
import { publicKeyFault } from './strict.js';

/** An Ed25519 public key is 32 bytes on the wire. */
export const PUBLIC_KEY_BYTES = 32;
/** An Ed25519 signature is 64 bytes. */
export const SIGNATURE_BYTES = 64;

// SPKI DER of an Ed25519 key is this fixed 12-byte prefix and the 32 raw bytes.
const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

/** What the API accepts as a node key: a private KeyObject, or PEM (or DER PKCS#8) text or bytes. */
export type IdentityInput = KeyObject | string | Uint8Array;

/** A node's key pair and the id it gives. */
export interface Identity {
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
  /** The 32 raw bytes of the public key (what proofs and signed messages carry). */
  readonly rawPublicKey: Buffer;
  /** base_58(SHA-384(rawPublicKey)). */
  readonly id: string;
}

/** The node id of a raw Ed25519 public key. */
export function idOfPublicKey(raw: Uint8Array): string {
  return toBase58(createHash('sha384').update(raw).digest());
}

/** The 32 raw bytes of an Ed25519 public KeyObject. */
export function rawPublicKeyOf(key: KeyObject): Buffer {
  const der = key.export({ format: 'der', type: 'spki' });
  return Buffer.from(der.subarray(der.length - PUBLIC_KEY_BYTES));
}

/** A public KeyObject from 32 raw bytes, checked strictly (strict.ts; costs ~90 µs and the check: callers cache it). */
export function publicKeyFromRaw(raw: Uint8Array): KeyObject {
  if (raw.length !== PUBLIC_KEY_BYTES) throw new InvalidArgumentError(`an Ed25519 public key is ${PUBLIC_KEY_BYTES} bytes, got ${raw.length}`);
  const fault = publicKeyFault(raw);
  if (fault !== undefined) throw new InvalidArgumentError(`Ed25519 public key refused: ${fault}`);
  return createPublicKey({ key: Buffer.concat([SPKI_PREFIX, raw]), format: 'der', type: 'spki' });
}

/** A fresh Ed25519 identity. */
export function generateIdentity(): Identity {
  return identityOf(generateKeyPairSync('ed25519').privateKey);
}

/** The identity of a private key given as a KeyObject, PEM or DER (PKCS#8). */
export function loadIdentity(input: IdentityInput): Identity {
  let key: KeyObject;
  try {
    if (input instanceof KeyObject) key = input;
    else if (typeof input === 'string') key = createPrivateKey(input);
    else {
      const bytes = Buffer.from(input.buffer, input.byteOffset, input.byteLength);
      key = bytes.subarray(0, 10).toString('latin1').startsWith('-----')
        ? createPrivateKey(bytes.toString('latin1'))
        : createPrivateKey({ key: bytes, format: 'der', type: 'pkcs8' });
    }
  } catch (err) {
    throw new InvalidArgumentError(`option identity is not a private key: ${(err as Error).message}`);
  }
  return identityOf(key);
}

function identityOf(privateKey: KeyObject): Identity {
  if (privateKey.type !== 'private' || privateKey.asymmetricKeyType !== 'ed25519') {
    throw new InvalidArgumentError(`option identity must be an Ed25519 private key, got a ${privateKey.asymmetricKeyType ?? '?'} ${privateKey.type} key`);
  }
  const publicKey = createPublicKey(privateKey);
  const rawPublicKey = rawPublicKeyOf(publicKey);
  return Object.freeze({ privateKey, publicKey, rawPublicKey, id: idOfPublicKey(rawPublicKey) });
}

/** PEM (PKCS#8) of an identity's private key. */
export function identityPem(identity: Identity): string {
  return identity.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
}

/**
 * The identity kept in `file` (PEM): read if the file exists, else generated and
 * written with mode 0600 (created exclusively, so two processes never both write it).
 * The same file gives the same node id across restarts.
 */
export function identityFromFile(file: string): Identity {
  let pem: string;
  try {
    pem = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    const identity = generateIdentity();
    let fd: number;
    try {
      fd = openSync(file, 'wx', 0o600);
    } catch (e) {
      // Another process created it in between: use theirs.
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') return identityFromFile(file);
      throw e;
    }
    try {
      writeSync(fd, identityPem(identity));
    } finally {
      closeSync(fd);
    }
    chmodSync(file, 0o600); // the umask may have narrowed it; never widened
    return identity;
  }
  return loadIdentity(pem);
}
