// The router's side of the authenticated protocol (encryption 'Ed25519'), as a router
// extension: the proof exchange that must succeed before a peer enters the routing
// table, the check of every signed broadcast (once, after de-duplication) before it is
// delivered or relayed, the signature on what this node originates, and the check
// that a direct message comes from the connection's proven peer. It owns the
// per-connection proof state and the cache of sender keys.
import type { KeyObject } from 'node:crypto';
import { flags } from '../protocol/flags.js';
import type { PathfindingMessage } from '../protocol/message.js';
import type { Protocol } from '../protocol/protocol.js';
import type { Connection } from '../streams/connection.js';
import { sendFromHere } from './flood.js';
import { completeHandshake } from './handshake.js';
import type { Hello, Packet, RouterExtension, RouterState } from './state.js';
import {
  AuthRefusedError, BadSignatureError, IdentityMismatchError, InternalError, NotAdmittedError, ProofError, SenderMismatchError,
  TooManyBadSignaturesError,
} from '../errors.js';
import type { ResolvedOptions } from '../options.js';
import type { Identity } from '../trust/identity.js';
import { publicKeyFromRaw, idOfPublicKey } from '../trust/identity.js';
import { EKM_BYTES, EKM_CONTEXT, EKM_LABEL, macMatches, makeProof, PROOF_SUBFLAG, proofTranscript, readProof, signatureMatches } from '../trust/proof.js';
import {
  messageDigest, readTrailer, rootOf, SenderKeys, signBatch, signedRoot, signTrailer, verifySignature, type BatchItem,
} from '../trust/signed-message.js';

interface Pending {
  hello: Hello;
  /** This node's proof went out (a dialler sends first; an acceptor after admitting). */
  proofSent: boolean;
}

/**
 * The exported keying material of conn's TLS session (RFC 5705), or undefined if it
 * has none. The transport seam does not expose it (yet): it is read from the TLS
 * socket under the transport connection (or from the transport, should it offer it).
 */
export function keyingMaterial(conn: Connection): Buffer | undefined {
  type Exporter = { exportKeyingMaterial?: (length: number, label: string, context: Buffer) => Buffer };
  const t = conn.transport as unknown as Exporter & { raw?: Exporter };
  const holder = typeof t.exportKeyingMaterial === 'function' ? t : t.raw;
  if (holder === undefined || typeof holder.exportKeyingMaterial !== 'function') return undefined;
  try {
    return holder.exportKeyingMaterial(EKM_BYTES, EKM_LABEL, EKM_CONTEXT);
  } catch {
    return undefined;
  }
}

export class TrustExtension implements RouterExtension {
  readonly name = 'trust';
  readonly provesSenders = true;
  /** The trailer (key, signature, Merkle path) ends every flooded message: not the user's. */
  readonly trailerPackets = 1;
  readonly identity: Identity;
  private readonly pending = new WeakMap<Connection, Pending>();
  private readonly offences = new WeakMap<Connection, number>();
  private readonly keys: SenderKeys;
  private readonly protocolId: string;
  /** This node's broadcasts of this tick, to be signed together. */
  private held: Array<BatchItem & { flag: string }> = [];
  private heldState: RouterState | undefined;
  private flushDue = false;

  constructor(protocol: Protocol, private readonly options: ResolvedOptions) {
    const identity = options.identity;
    if (identity === undefined) throw new Error('the authenticated protocol needs an identity');
    this.identity = identity;
    this.keys = new SenderKeys(options.senderKeyCacheSize, options.verifiedBatchCacheSize);
    this.protocolId = protocol.id;
  }

  // ---------------------------------------------------------------- handshake proof

  /**
   * The peer's handshake was read: a dialler proves itself at once; an acceptor waits
   * for the dialler's proof and answers only if it admits the dialler, so a refused
   * node learns nothing but the refusal (and the handshake everyone gets).
   */
  holdHandshake(s: RouterState, conn: Connection, hello: Hello): boolean {
    if (this.pending.has(conn)) return true; // a repeated handshake changes nothing
    // A dialler proves itself only to a node its allow-list names. (An acceptor checks
    // the list once the dialler's proof is in, so that the dialler, having sent it,
    // can tell a refusal from a lost connection.)
    if (conn.outgoing && !this.allowed(hello.id)) {
      s.drop(conn, new NotAdmittedError(hello.id, 'not on the allow-list'));
      return true;
    }
    const state: Pending = { hello, proofSent: false };
    this.pending.set(conn, state);
    if (conn.outgoing) this.sendProof(s, conn, state);
    return true;
  }

  private sendProof(s: RouterState, conn: Connection, state: Pending): boolean {
    const ekm = keyingMaterial(conn);
    if (ekm === undefined) {
      s.drop(conn, new ProofError('the connection has no TLS session to bind a proof to'));
      return false;
    }
    const transcript = proofTranscript(this.protocolId, ekm, this.identity.id, state.hello.id);
    s.sendTo(conn, flags.whisper, [PROOF_SUBFLAG, ...makeProof(this.identity, transcript, this.options.networkKey)]);
    state.proofSent = true;
    return true;
  }

  private allowed(id: string): boolean {
    const allow = this.options.allow;
    return allow === undefined || allow.has(id);
  }

  /** Before its handshake completes, a connection is heard only for its proof (other frames are ignored). */
  onFrameBeforeHandshake(s: RouterState, conn: Connection, msg: PathfindingMessage): void {
    if (msg.msgType === flags.whisper && msg.subflag === PROOF_SUBFLAG) this.onProof(s, conn, msg);
  }

  private onProof(s: RouterState, conn: Connection, msg: PathfindingMessage): void {
    const state = this.pending.get(conn);
    if (state === undefined) return s.drop(conn, new ProofError('a proof before the handshake'));
    const hello = state.hello;
    const o = this.options;
    if (!msg.senderIs(Buffer.from(hello.id, 'latin1'))) return s.drop(conn, new SenderMismatchError());
    const proof = readProof(msg.payload, o.networkKey !== undefined);
    if (typeof proof === 'string') return s.drop(conn, new ProofError(proof));
    const ekm = keyingMaterial(conn);
    if (ekm === undefined) return s.drop(conn, new ProofError('the connection has no TLS session to bind a proof to'));
    if (idOfPublicKey(proof.publicKey) !== hello.id) return s.drop(conn, new IdentityMismatchError(hello.id));
    // Cheap refusals first (a hash, a set, an HMAC): an outsider costs no verification.
    if (!this.allowed(hello.id)) return s.drop(conn, new NotAdmittedError(hello.id, 'not on the allow-list'));
    const transcript = proofTranscript(this.protocolId, ekm, hello.id, this.identity.id);
    if (o.networkKey !== undefined && !macMatches(o.networkKey, transcript, proof.mac!)) {
      return s.drop(conn, new NotAdmittedError(hello.id, 'no proof of the network key'));
    }
    let publicKey: KeyObject;
    try {
      publicKey = publicKeyFromRaw(proof.publicKey);
    } catch {
      return s.drop(conn, new ProofError('not an Ed25519 public key'));
    }
    if (!signatureMatches(publicKey, transcript, proof.signature)) {
      return s.drop(conn, new ProofError('the signature does not verify for this TLS session'));
    }
    if (o.admit !== undefined) {
      let admitted: boolean;
      try {
        admitted = o.admit({ id: hello.id, publicKey, addr: [...hello.addr], outgoing: conn.outgoing }) === true;
      } catch (err) {
        return s.drop(conn, new NotAdmittedError(hello.id, `the admit policy threw: ${(err as Error).message}`));
      }
      if (!admitted) return s.drop(conn, new NotAdmittedError(hello.id, 'refused by the admit policy'));
    }
    if (!state.proofSent && !this.sendProof(s, conn, state)) return;
    this.pending.delete(conn);
    completeHandshake(s, conn, hello);
  }

  /**
   * Why a connection closed before it was proven, if the peer refused this node: it
   * had this node's proof and closed without answering.
   */
  closeReason(_s: RouterState, conn: Connection): Error | undefined {
    const state = this.pending.get(conn);
    if (state === undefined || !state.proofSent || !conn.outgoing) return undefined;
    this.pending.delete(conn);
    return new AuthRefusedError(conn.remote);
  }

  // ---------------------------------------------------------------- messages

  /** A direct message (whisper, peers, renegotiation) must come from the connection's proven peer. */
  acceptDirect(s: RouterState, msg: PathfindingMessage, conn: Connection): boolean {
    // A proof after the handshake completed changes nothing (and is not the user's).
    if (msg.subflag === PROOF_SUBFLAG) return false;
    const id = conn.idBytes;
    if (id !== undefined && msg.senderIs(id)) return true;
    this.offence(s, conn, new SenderMismatchError());
    return false;
  }

  /**
   * A broadcast's packets with the origin's trailer: this node signs what it originates.
   * `time` must be the time the message is sent with.
   */
  sealBroadcast(_s: RouterState, payload: Packet[], time: number): Packet[] {
    const packets = toBytes(payload);
    packets.push(signTrailer(this.identity, this.protocolId, time, packets));
    return packets;
  }

  /**
   * send(): held until the end of the tick (or until signatureBatch are held), then
   * signed together, one signature for the batch, and sent in order. What send()
   * returns is whether every peer is below its high-water mark now.
   */
  queueBroadcast(s: RouterState, payload: Packet[], flag: string, time: number): boolean | undefined {
    if (this.options.signatureBatch <= 1) return undefined;
    this.held.push({ time, packets: toBytes(payload), flag });
    this.heldState = s;
    if (this.held.length >= this.options.signatureBatch) this.flushHeld();
    else if (!this.flushDue) {
      this.flushDue = true;
      process.nextTick(this.flushHeld);
    }
    for (const c of s.routingTable.values()) if (c.needsDrain) return false;
    return true;
  }

  private readonly flushHeld = (): void => {
    this.flushDue = false;
    const batch = this.held;
    const s = this.heldState;
    if (batch.length === 0 || s === undefined) return;
    this.held = [];
    if (s.closing) return;
    try {
      const trailers = signBatch(this.identity, this.protocolId, batch);
      batch.forEach((item, i) => sendFromHere(s, [...item.packets, trailers[i]!], item.flag, item.time));
    } catch (err) {
      s.recordError(new InternalError(err));
    }
  };

  /**
   * A new (de-duplicated) broadcast or waterfall: its origin's signature is checked
   * once, here. False when it fails: then it is dropped, counted, and `from` is charged
   * an offence (an honest peer relays only what it verified). The user is handed the
   * message without its trailer (trailerPackets).
   */
  verifyAdmitted(s: RouterState, msg: PathfindingMessage, from: Connection | undefined): boolean {
    const payload = msg.payload;
    const n = payload.length;
    if (n < 2) return this.badMessage(s, from, 'missing');
    const trailer = readTrailer(payload[n - 1]!);
    if (typeof trailer === 'string') return this.badMessage(s, from, trailer);
    let known;
    try {
      known = this.keys.get(trailer.publicKey, (id) => msg.senderIs(id));
    } catch {
      return this.badMessage(s, from, 'not an Ed25519 public key');
    }
    if (known === undefined || !msg.senderIs(known.idBytes)) return this.badMessage(s, from, 'the key is not the sender\'s');
    const packets = payload.slice(0, n - 1);
    const leaf = messageDigest(this.protocolId, msg.senderBytes, msg.time58, packets, trailer.count, trailer.index);
    // Another message of the same batch had this signature verified: the path must lead to its root.
    const inBatch = this.keys.inVerifiedBatch(trailer, leaf);
    if (inBatch === false) return this.badMessage(s, from, 'not in the signed batch');
    if (inBatch === undefined) {
      const root = rootOf(leaf, trailer.index, trailer.path);
      s.stats.signaturesVerified++;
      if (!verifySignature(known.key, signedRoot(trailer.count, root), trailer.signature)) return this.badMessage(s, from, 'does not verify');
      this.keys.rememberBatch(trailer, root);
    }
    // Origins under admission: with an allow-list, a message whose origin this node
    // would not admit is dropped (its relay is not charged: allow-lists may differ).
    if (this.options.admitOrigins && !this.allowed(known.id)) {
      s.stats.unadmittedOrigins = (s.stats.unadmittedOrigins ?? 0) + 1;
      s.recordError(new NotAdmittedError(known.id, 'origin not on the allow-list'), from?.id ?? from?.remote);
      return false;
    }
    return true;
  }

  private badMessage(s: RouterState, from: Connection | undefined, detail: string): false {
    // Without a connection it is the user's own waterfall() of a message without a
    // valid trailer: not flooded, and nobody's offence.
    if (from === undefined) return false;
    s.stats.badSignatures++;
    this.offence(s, from, new BadSignatureError(detail));
    return false;
  }

  /** Records a peer's offence; more than maxBadSignatures and it is dropped. */
  private offence(s: RouterState, conn: Connection, error: Error): void {
    s.recordError(error, conn.id ?? conn.remote);
    const count = (this.offences.get(conn) ?? 0) + 1;
    this.offences.set(conn, count);
    const limit = this.options.maxBadSignatures;
    if (count > limit && !conn.closed) s.drop(conn, new TooManyBadSignaturesError(limit));
  }

  onShutdown(): void {
    this.keys.clear();
    this.held = [];
    this.heldState = undefined;
  }
}

function toBytes(payload: Packet[]): Buffer[] {
  return payload.map((p) => (typeof p === 'string' ? Buffer.from(p, 'utf8') : Buffer.from(p.buffer, p.byteOffset, p.byteLength)));
}
