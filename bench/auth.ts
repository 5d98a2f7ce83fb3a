// The authenticated protocol's per-message costs, measured alone: one Ed25519
// verification (its inverse is the "verification limit", the most messages per second
// one receiver can verify on this machine if it verifies every message), what an
// origin does to sign a 100 B broadcast, and what a receiver does to check one, both
// for a message signed alone and for one of a batch signed together (signatureBatch).
import { sign, verify } from 'node:crypto';
import { PathfindingMessage, Protocol, AUTH_ENCRYPTION, defaultOptions, generateIdentity } from '../src/index.js';
import { messageDigest, readTrailer, rootOf, SenderKeys, signBatch, signedRoot, verifySignature } from '../src/trust/signed-message.js';
import { makePayload } from './agent.js';
import { rate } from './codec.js';

export interface AuthCosts {
  /** One Ed25519 verification of a short message, µs. */
  verifyUs: number;
  /** 1 / verifyUs: messages per second one receiver can verify, one verification each. */
  verificationLimit: number;
  /** One Ed25519 signature of a short message, µs. */
  signUs: number;
  /** Batch size of the batched figures (the signatureBatch default). */
  batch: number;
  /** The origin's cost per 100 B broadcast, signed alone / in a full batch, µs. */
  originUs: number;
  originBatchedUs: number;
  /** A receiver's cost per new 100 B broadcast (key lookup, sender check, digest, path, verification), alone / batched (in order), µs. */
  receiverUs: number;
  receiverBatchedUs: number;
}

/** Keeps every result observable, so no measured call is optimised away. */
const sink = { n: 0 };

export function authCosts(minMs: number): AuthCosts {
  const identity = generateIdentity();
  const protocol = new Protocol('mesh', AUTH_ENCRYPTION);
  const data = signedRoot(1, Buffer.alloc(32, 7));
  const signature = sign(null, data, identity.privateKey);
  const verifyRate = rate(() => { sink.n += verify(null, data, identity.publicKey, signature) ? 1 : 0; }, minMs);
  const signRate = rate(() => { sink.n += sign(null, data, identity.privateKey).length; }, minMs);
  const time = Math.floor(Date.now() / 1000);
  const batch = defaultOptions.signatureBatch;
  const items = Array.from({ length: batch }, (_, i) => ({ time, packets: [Buffer.from('broadcast'), makePayload(100, 1, 0, i)] }));
  const originRate = rate(() => { sink.n += signBatch(identity, protocol.id, items.slice(0, 1))[0]!.length; }, minMs);
  const originBatchRate = rate(() => { sink.n += signBatch(identity, protocol.id, items).length; }, minMs) * batch;
  // The receiver's steps of TrustExtension.verifyAdmitted on parsed wire messages.
  const wire = (n: number) => {
    const trailers = signBatch(identity, protocol.id, items.slice(0, n));
    return items.slice(0, n).map((it, i) => PathfindingMessage.feedString(protocol,
      new PathfindingMessage(protocol, 'broadcast', identity.id, [...it.packets, trailers[i]!], [], time).string));
  };
  const keys = new SenderKeys(16, 16);
  const check = (msgs: PathfindingMessage[]) => {
    // Each round a batch not seen before; the key's KeyObject and id stay cached, as in
    // steady state.
    keys.forgetBatches();
    for (const msg of msgs) {
      const payload = msg.payload;
      const t = readTrailer(payload[payload.length - 1]!);
      if (typeof t === 'string') throw new Error(t);
      const known = keys.get(t.publicKey, (id) => msg.senderIs(id));
      if (known === undefined) throw new Error('sender');
      const leaf = messageDigest(protocol.id, msg.senderBytes, msg.time58, payload.slice(0, -1), t.count, t.index);
      const inBatch = keys.inVerifiedBatch(t, leaf);
      if (inBatch === false) throw new Error('not in the batch');
      if (inBatch === undefined) {
        const nodes: Buffer[] = [];
        const root = rootOf(leaf, t.index, t.path, nodes);
        if (verifySignature(known.key, signedRoot(t.count, root), t.signature)) keys.rememberBatch(t, nodes);
      }
    }
  };
  const one = wire(1);
  const many = wire(batch);
  const receiverRate = rate(() => check(one), minMs);
  const receiverBatchRate = rate(() => check(many), minMs) * batch;
  return {
    verifyUs: 1e6 / verifyRate, verificationLimit: verifyRate, signUs: 1e6 / signRate, batch,
    originUs: 1e6 / originRate, originBatchedUs: 1e6 / originBatchRate,
    receiverUs: 1e6 / receiverRate, receiverBatchedUs: 1e6 / receiverBatchRate,
  };
}
