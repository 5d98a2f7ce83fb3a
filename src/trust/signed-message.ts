// Signed broadcasts of the authenticated protocol. The origin appends one packet to
// the payload, its raw public key and its Ed25519 signature (96 bytes); relays pass
// the message on unchanged, so the origin's signature travels with every copy. The
// public key travels too because the origin need not be a direct peer: a receiver
// checks that it hashes to the sender id, then the signature.
import { createHash, sign, verify, type KeyObject } from 'node:crypto';
import { toBase58 } from '../protocol/base58.js';
import type { Identity } from './identity.js';
import { PUBLIC_KEY_BYTES, SIGNATURE_BYTES, idOfPublicKey, publicKeyFromRaw } from './identity.js';

export const TRAILER_BYTES = PUBLIC_KEY_BYTES + SIGNATURE_BYTES;
const MESSAGE_CONTEXT = Buffer.from('rx2p Ed25519 message v1\0', 'latin1');

/**
 * The digest an origin signs: SHA-256 over a context label, the protocol id, the
 * sender, the time (as its base_58 packet) and the payload packets before the
 * trailer, each with its length. Not the message type: a relay changes broadcast to
 * waterfall. Signing a digest keeps one verification's cost flat in the payload size
 * (Ed25519 alone hashes a message twice to sign it).
 */
export function messageDigest(protocolId: string, sender: Uint8Array, time58: string, packets: readonly Uint8Array[]): Buffer {
  const h = createHash('sha256');
  const head = Buffer.allocUnsafe(4);
  h.update(MESSAGE_CONTEXT);
  h.update(protocolId, 'latin1');
  h.update('\0', 'latin1');
  head.writeUInt32BE(sender.length, 0);
  h.update(head).update(sender);
  head.writeUInt32BE(time58.length, 0);
  h.update(head).update(time58, 'latin1');
  head.writeUInt32BE(packets.length, 0);
  h.update(head);
  for (const p of packets) {
    head.writeUInt32BE(p.length, 0);
    h.update(head).update(p);
  }
  return h.digest();
}

/** The trailer packet for a message this node originates. */
export function signTrailer(identity: Identity, protocolId: string, time: number, packets: readonly Uint8Array[]): Buffer {
  const digest = messageDigest(protocolId, Buffer.from(identity.id, 'latin1'), toBase58(time), packets);
  const out = Buffer.allocUnsafe(TRAILER_BYTES);
  identity.rawPublicKey.copy(out, 0);
  sign(null, digest, identity.privateKey).copy(out, PUBLIC_KEY_BYTES);
  return out;
}

interface KnownKey {
  key: KeyObject;
  id: string;
}

/**
 * Public keys met in signed messages, with their ids: making a KeyObject costs about
 * as much as a verification, and the id a SHA-384 and a base_58. Bounded; the oldest
 * entry goes first.
 */
export class SenderKeys {
  private readonly known = new Map<string, KnownKey>();
  constructor(private readonly max: number) {}

  get(raw: Buffer): KnownKey {
    const k = raw.toString('latin1');
    let entry = this.known.get(k);
    if (entry === undefined) {
      entry = { key: publicKeyFromRaw(raw), id: idOfPublicKey(raw) };
      if (this.known.size >= this.max) this.known.delete(this.known.keys().next().value!);
      this.known.set(k, entry);
    }
    return entry;
  }

  clear(): void {
    this.known.clear();
  }
}

/** Checks a signature over a digest; false for any failure. */
export function verifyDigest(key: KeyObject, digest: Buffer, signature: Buffer): boolean {
  try {
    return verify(null, digest, key, signature);
  } catch {
    return false;
  }
}
