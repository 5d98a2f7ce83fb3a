// Node keys of the authenticated protocol: an Ed25519 key pair per node, and the node
// id derived from its public key (base_58 of SHA-384, the shape of every py2p id).
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, KeyObject, randomBytes } from 'node:crypto';
import {
  closeSync, constants, fchmodSync, fstatSync, fsyncSync, linkSync, lstatSync, openSync, readFileSync, unlinkSync, writeFileSync,
} from 'node:fs';
import { basename, dirname, join } from 'node:path';
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
  /** The Ed25519 private key. */
  readonly privateKey: KeyObject;
  /** Its public key, whose hash is the node id. */
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
 * The identity kept in `file` (PEM), as ssh treats keys: the file must be a regular
 * file (not a symbolic link, a directory or a device) readable by its owner only;
 * anything else is refused with a message saying why (and, for the mode, naming
 * `chmod 600`). A missing file is created atomically: the key is written to a
 * temporary file (mode 0600) beside it, then linked into place exclusively, so that
 * a reader never sees a half-written file and, of two processes creating it at once,
 * one links its key and the other reads that one. The same file gives the same node id
 * across restarts.
 */
export function identityFromFile(file: string): Identity {
  for (let attempt = 0; attempt < 3; attempt++) {
    const pem = readSecretFile(file, 'identity file');
    if (pem !== undefined) return loadIdentity(pem.toString('utf8'));
    const identity = generateIdentity();
    if (createSecretFile(file, identityPem(identity))) return identity;
    // Another process linked its key first: read that one.
  }
  throw new InvalidArgumentError(`identity file ${file} keeps appearing and vanishing`);
}

/**
 * The bytes of a secret file (a node key, a network key), or undefined if there is
 * none. Refuses a symbolic link, anything but a regular file, and a file that group
 * or others may read (InvalidArgumentError, naming chmod 600).
 */
export function readSecretFile(file: string, what: string): Buffer | undefined {
  let fd: number;
  try {
    // O_NOFOLLOW: a symbolic link (dangling or not) is an error, not followed.
    fd = openSync(file, constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0) | (constants.O_NONBLOCK ?? 0));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      if (isSymlink(file)) throw new InvalidArgumentError(`${what} ${file} is a symbolic link (to nothing): give the file itself`);
      return undefined;
    }
    if (code === 'ELOOP' || code === 'EMLINK') throw new InvalidArgumentError(`${what} ${file} is a symbolic link: give the file itself`);
    throw new InvalidArgumentError(`${what} ${file} cannot be read: ${(err as Error).message}`);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new InvalidArgumentError(`${what} ${file} is not a regular file`);
    if (process.platform !== 'win32' && (st.mode & 0o077) !== 0) {
      throw new InvalidArgumentError(`${what} ${file} is readable by group or others (mode ${(st.mode & 0o777).toString(8).padStart(4, '0')}): run chmod 600 ${file}`);
    }
    if (st.size > MAX_SECRET_FILE_BYTES) throw new InvalidArgumentError(`${what} ${file} is ${st.size} bytes: not a key`);
    return readFileSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Largest secret file read (a PEM key is about 120 bytes). */
const MAX_SECRET_FILE_BYTES = 64 * 1024;

function isSymlink(file: string): boolean {
  try {
    return lstatSync(file).isSymbolicLink();
  } catch {
    return false;
  }
}

/**
 * Writes `contents` to a new file at `file`, mode 0600, atomically: a temporary file
 * beside it, then an exclusive link into place. False if `file` exists already (it is
 * left alone); throws InvalidArgumentError for any other failure.
 */
export function createSecretFile(file: string, contents: string | Uint8Array): boolean {
  const temp = join(dirname(file), `.${basename(file)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    const fd = openSync(temp, 'wx', 0o600);
    try {
      writeFileSync(fd, contents);
      fchmodSync(fd, 0o600); // the umask may have narrowed it; never widened
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    try {
      linkSync(temp, file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw err;
    }
    return true;
  } catch (err) {
    throw new InvalidArgumentError(`cannot create ${file}: ${(err as Error).message}`);
  } finally {
    try {
      unlinkSync(temp);
    } catch {
      // not created
    }
  }
}
