// Who may join an authenticated mesh: an allow-list of node ids (or public keys,
// kept as the ids they give), a policy callback, and/or a network key (in proof.ts).
import { createPublicKey, KeyObject } from 'node:crypto';
import { fromBase58 } from '../protocol/base58.js';
import { InvalidArgumentError } from '../errors.js';
import { idOfPublicKey, PUBLIC_KEY_BYTES, rawPublicKeyOf } from './identity.js';
import { publicKeyFault } from './strict.js';

/** One allow-list entry: a node id, a PEM public (or private) key, a KeyObject, or 32 raw key bytes. */
export type AllowEntry = string | KeyObject | Uint8Array;

/** What the admission callback is shown of a peer whose proof verified. */
export interface PeerCredentials {
  /** The peer's node id (proven: it is the hash of publicKey). */
  id: string;
  /** Its Ed25519 public key. */
  publicKey: KeyObject;
  /** The address it advertises. */
  addr: [string, number];
  /** Whether this node dialled it. */
  outgoing: boolean;
}

/** The admission callback: true admits. Called once per proven peer, synchronously. */
export type AdmitPolicy = (peer: PeerCredentials) => boolean;

/** The node ids an allow-list names. */
export function allowListIds(entries: Iterable<AllowEntry>): Set<string> {
  const ids = new Set<string>();
  for (const entry of entries) ids.add(entryId(entry));
  return ids;
}

function entryId(entry: AllowEntry): string {
  try {
    if (entry instanceof KeyObject) return idOfPublicKey(rawPublicKeyOf(entry.type === 'private' ? createPublicKey(entry) : entry));
    if (entry instanceof Uint8Array) {
      if (entry.length !== PUBLIC_KEY_BYTES) throw new Error(`${entry.length} bytes, ${PUBLIC_KEY_BYTES} expected`);
      const fault = publicKeyFault(entry);
      if (fault !== undefined) throw new Error(fault);
      return idOfPublicKey(entry);
    }
    if (typeof entry === 'string') {
      const text = entry.trim();
      if (text.startsWith('-----')) {
        const key = createPublicKey(text);
        if (key.asymmetricKeyType !== 'ed25519') throw new Error(`a ${key.asymmetricKeyType} key`);
        return idOfPublicKey(rawPublicKeyOf(key));
      }
      if (text.length === 0 || text.length > 66) throw new Error('not a node id');
      fromBase58(text);
      return text;
    }
  } catch (err) {
    throw new InvalidArgumentError(`option allow: entry is not a node id or an Ed25519 key (${(err as Error).message})`);
  }
  throw new InvalidArgumentError(`option allow: entry is not a node id or an Ed25519 key`);
}

/**
 * The entries of an allow-list file: one node id per line, or PEM public keys
 * (blocks may sit between id lines). Blank lines and lines starting with # are skipped.
 */
export function parseAllowFile(text: string): string[] {
  const entries: string[] = [];
  let pem: string[] | undefined;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (pem) {
      pem.push(line);
      if (line.startsWith('-----END')) {
        entries.push(pem.join('\n'));
        pem = undefined;
      }
      continue;
    }
    if (line === '' || line.startsWith('#')) continue;
    if (line.startsWith('-----BEGIN')) pem = [line];
    else entries.push(line);
  }
  if (pem) throw new InvalidArgumentError('allow-list file: a PEM block has no END line');
  return entries;
}
