// The authenticated protocol's per-message costs, measured alone: one Ed25519
// verification (its inverse is the "verification limit", the most messages per second
// one receiver can verify on this machine), what an origin does to sign a 100 B
// broadcast, and what a receiver does to check one (digest, cached key, verification).
import { sign, verify } from 'node:crypto';
import { PathfindingMessage, Protocol, AUTH_ENCRYPTION, generateIdentity, toBase58 } from '../src/index.js';
import { messageDigest, SenderKeys, signTrailer, TRAILER_BYTES, verifyDigest } from '../src/trust/signed-message.js';
import { PUBLIC_KEY_BYTES } from '../src/trust/identity.js';
import { makePayload } from './agent.js';
import { rate } from './codec.js';

export interface AuthCosts {
  /** One Ed25519 verification of a 32-byte digest, µs. */
  verifyUs: number;
  /** 1 / verifyUs: messages per second one receiver can verify at most. */
  verificationLimit: number;
  /** One Ed25519 signature of a 32-byte digest, µs. */
  signUs: number;
  /** The origin's cost per 100 B broadcast: digest and signature (signTrailer), µs. */
  originUs: number;
  /** A receiver's cost per new 100 B broadcast: key lookup, sender check, digest, verification, µs. */
  receiverUs: number;
}

let sink = 0;

export function authCosts(minMs: number): AuthCosts {
  const identity = generateIdentity();
  const protocol = new Protocol('mesh', AUTH_ENCRYPTION);
  const digest = Buffer.alloc(32, 7);
  const signature = sign(null, digest, identity.privateKey);
  const verifyRate = rate(() => { sink += verify(null, digest, identity.publicKey, signature) ? 1 : 0; }, minMs);
  const signRate = rate(() => { sink += sign(null, digest, identity.privateKey).length; }, minMs);
  const time = Math.floor(Date.now() / 1000);
  const packets = [Buffer.from('broadcast'), makePayload(100, 1, 0, 0)];
  const originRate = rate(() => { sink += signTrailer(identity, protocol.id, time, packets).length; }, minMs);
  // The receiver's steps of TrustExtension.verifyAdmitted on a parsed wire message.
  const trailer = signTrailer(identity, protocol.id, time, packets);
  const wire = new PathfindingMessage(protocol, 'broadcast', identity.id, [...packets, trailer], [], time).string;
  const msg = PathfindingMessage.feedString(protocol, wire);
  const keys = new SenderKeys(16);
  const receiverRate = rate(() => {
    const payload = msg.payload;
    const t = payload[payload.length - 1]!;
    if (t.length !== TRAILER_BYTES) throw new Error('no trailer');
    const known = keys.get(t.subarray(0, PUBLIC_KEY_BYTES));
    if (!msg.senderIs(Buffer.from(known.id, 'latin1'))) throw new Error('sender');
    const d = messageDigest(protocol.id, msg.senderBytes, msg.time58, payload.slice(0, -1));
    sink += verifyDigest(known.key, d, t.subarray(PUBLIC_KEY_BYTES)) ? 1 : 0;
  }, minMs);
  if (sink === -1) console.log(sink, toBase58(1));
  return {
    verifyUs: 1e6 / verifyRate, verificationLimit: verifyRate, signUs: 1e6 / signRate,
    originUs: 1e6 / originRate, receiverUs: 1e6 / receiverRate,
  };
}
