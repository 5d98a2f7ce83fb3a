// The handshake proof of the authenticated protocol: each side signs what binds its
// key to this very TLS session (the session's exported keying material) and to both
// node ids. A proof copied to another connection, or passed on by a TLS-terminating
// proxy (which holds two sessions with two different exported secrets), fails.
import { createHmac, sign, timingSafeEqual, type KeyObject } from 'node:crypto';
import { strictVerify } from './strict.js';
import type { Identity } from './identity.js';
import { PUBLIC_KEY_BYTES, SIGNATURE_BYTES } from './identity.js';

/** The subflag of the proof whisper (rx2p's own: py2p never speaks this protocol). */
export const PROOF_SUBFLAG = 'rx2p-proof';
/** The dialler's MAC under the network key, sent once the acceptor's proof and MAC checked out. */
export const KEY_PROOF_SUBFLAG = 'rx2p-proof-key';
/** An acceptor's word, before it closes, that the dialler's proof is bound to another TLS session. */
export const REFUSED_SUBFLAG = 'rx2p-refused';
/** RFC 5705 exporter label (TLS keying material export). */
export const EKM_LABEL = 'EXPORTER-rx2p-auth';
export const EKM_BYTES = 32;
/** The exporter context: empty (TLS 1.3 treats no context and an empty one alike). */
export const EKM_CONTEXT = Buffer.alloc(0);
/** HMAC-SHA256 of the transcript under the network key, when one is set. */
export const MAC_BYTES = 32;
const PROOF_CONTEXT = Buffer.from('rx2p Ed25519 handshake proof v2\0', 'latin1');

/**
 * What a prover signs: a context label, the protocol id, the TLS session's keying
 * material, the prover's id and the verifier's id (each with its length). The
 * verifier rebuilds it from its own end of the session and the ids it knows.
 */
export function proofTranscript(protocolId: string, keyingMaterial: Uint8Array, prover: string, verifier: string): Buffer {
  const parts = [PROOF_CONTEXT, lengthPrefixed(protocolId), keyingMaterial, lengthPrefixed(prover), lengthPrefixed(verifier)];
  return Buffer.concat(parts);
}

function lengthPrefixed(text: string): Buffer {
  const bytes = Buffer.from(text, 'latin1');
  const out = Buffer.allocUnsafe(2 + bytes.length);
  out.writeUInt16BE(bytes.length, 0);
  bytes.copy(out, 2);
  return out;
}

/** The proof packets after the subflag: public key, signature, and the network key's MAC if there is one. */
export function makeProof(identity: Identity, transcript: Buffer, networkKey: Buffer | undefined): Buffer[] {
  const packets = [identity.rawPublicKey, sign(null, transcript, identity.privateKey)];
  if (networkKey !== undefined) packets.push(networkMac(networkKey, transcript));
  return packets;
}

export function networkMac(networkKey: Buffer, transcript: Buffer): Buffer {
  return createHmac('sha256', networkKey).update(transcript).digest();
}

/** The proof packets, shape-checked (no crypto yet), or a reason they are unusable. */
export function readProof(packets: readonly Buffer[], withMac: boolean): { publicKey: Buffer; signature: Buffer; mac: Buffer | undefined } | string {
  // packets[0] is the subflag.
  const expected = withMac ? 4 : 3;
  if (packets.length !== expected) return `${packets.length} packets, ${expected} expected`;
  const publicKey = packets[1]!;
  const signature = packets[2]!;
  if (publicKey.length !== PUBLIC_KEY_BYTES) return `public key of ${publicKey.length} bytes`;
  if (signature.length !== SIGNATURE_BYTES) return `signature of ${signature.length} bytes`;
  const mac = withMac ? packets[3]! : undefined;
  if (mac !== undefined && mac.length !== MAC_BYTES) return `network key MAC of ${mac.length} bytes`;
  return { publicKey, signature, mac };
}

/** Constant-time check of the network key's MAC over the transcript. */
export function macMatches(networkKey: Buffer, transcript: Buffer, mac: Buffer): boolean {
  return timingSafeEqual(networkMac(networkKey, transcript), mac);
}

/** Checks a proof's signature strictly (strict.ts). */
export function signatureMatches(key: KeyObject, transcript: Buffer, signature: Buffer): boolean {
  return strictVerify(key, transcript, signature);
}
