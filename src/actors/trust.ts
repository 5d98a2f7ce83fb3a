// The router's side of the authenticated protocol (encryption 'Ed25519'), as a router
// component: the proof exchange that must succeed before a peer enters the routing
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
import type { ComponentContext, RouterComponent } from './component.js';
import type { Hello, Packet, RouterState } from './state.js';
import {
  AuthRefusedError, BadSignatureError, IdentityMismatchError, InternalError, NotAdmittedError, ProofError, SenderMismatchError,
  SessionMismatchError, TooManyBadSignaturesError,
} from '../errors.js';
import type { ResolvedOptions } from '../options.js';
import type { Identity } from '../trust/identity.js';
import { publicKeyFromRaw, idOfPublicKey } from '../trust/identity.js';
import {
  EKM_BYTES, EKM_CONTEXT, EKM_LABEL, KEY_PROOF_SUBFLAG, MAC_BYTES, macMatches, makeProof, networkMac, PROOF_SUBFLAG, proofTranscript, readProof,
  REFUSED_SUBFLAG, signatureMatches,
} from '../trust/proof.js';
import {
  messageDigest, readTrailer, rootOf, SenderKeys, signBatch, signedRoot, signTrailer, verifySignature, type BatchItem,
} from '../trust/signed-message.js';

interface Pending {
  hello: Hello;
  /** This node's proof went out (a dialler sends first; an acceptor after admitting). */
  proofSent: boolean;
  /** An acceptor with a network key: the dialler's proof passed, its MAC is awaited. */
  awaitingKey?: boolean;
  /** A dialler: the acceptor said this node's proof is bound to another TLS session. */
  sessionRefused?: boolean;
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

/** The authenticated protocol's component of the router actor (one per node). */
export class TrustExtension implements RouterComponent {
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
  private flushDue = false;

  constructor(protocol: Protocol, private readonly options: ResolvedOptions) {
    const identity = options.identity;
    if (identity === undefined) throw new Error('the authenticated protocol needs an identity');
    this.identity = identity;
    this.keys = new SenderKeys(options.senderKeyCacheSize, options.verifiedBatchCacheSize);
    this.protocolId = protocol.id;
  }

  /** Registers the stages and subflags of the authenticated protocol. */
  start(ctx: ComponentContext): void {
    const on = ctx.on;
    on.holdHandshake.push((s, conn, hello) => this.holdHandshake(s, conn, hello));
    on.closeReason.push((s, conn) => this.closeReason(s, conn));
    on.verify.push((s, msg, from) => this.verifyAdmitted(s, msg, from));
    on.direct.push((s, msg, conn) => this.acceptDirect(s, msg, conn));
    on.seal.push((s, payload, time) => this.sealBroadcast(s, payload, time));
    on.queue.push((s, payload, flag, time) => this.queueBroadcast(s, payload, flag, time));
    // Before its handshake completes, a connection is heard only for its proof; after,
    // a proof changes nothing and is not the user's (acceptDirect drops it).
    ctx.subflag(PROOF_SUBFLAG, { handle: whisperOnly, early: (s, conn, msg) => this.onProof(s, conn, msg) });
    ctx.subflag(KEY_PROOF_SUBFLAG, { handle: whisperOnly, early: (s, conn, msg) => this.onKeyProof(s, conn, msg) });
    ctx.subflag(REFUSED_SUBFLAG, { handle: whisperOnly, early: (_s, conn, msg) => this.onRefused(conn, msg) });
  }

  /** The node is closing: the key cache and the held broadcasts go. */
  stop(): void {
    this.keys.clear();
    this.held = [];
  }

  // ---------------------------------------------------------------- handshake proof

  /**
   * The peer's handshake was read: a dialler proves itself at once; an acceptor waits
   * for the dialler's proof and answers only if it admits the dialler, so a refused
   * node learns nothing but the refusal (and the handshake everyone gets).
   */
  private holdHandshake(s: RouterState, conn: Connection, hello: Hello): boolean {
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

  /**
   * This node's proof: its key and its signature of the transcript. The dialler's
   * carries no MAC (it has not seen the acceptor show anything); the acceptor's, sent
   * only to a dialler it admitted, carries its MAC under the network key if there is
   * one; the dialler then sends its own MAC (sendKeyProof) only once the acceptor's
   * checked out. So a node that claims a listed id, or dials any node, gets nothing
   * keyed by the network key from a member unless it proved a key the allow-list
   * admits (without an allow-list, an acceptor's MAC is the one thing a non-member
   * can obtain: hence network keys of 32 random bytes, see options.ts).
   */
  private sendProof(s: RouterState, conn: Connection, state: Pending): boolean {
    const transcript = this.transcriptFor(s, conn, this.identity.id, state.hello.id);
    if (transcript === undefined) return false;
    s.sendTo(conn, flags.whisper, [PROOF_SUBFLAG, ...makeProof(this.identity, transcript, conn.outgoing ? undefined : this.options.networkKey)]);
    state.proofSent = true;
    return true;
  }

  private transcriptFor(s: RouterState, conn: Connection, prover: string, verifier: string): Buffer | undefined {
    const ekm = keyingMaterial(conn);
    if (ekm === undefined) {
      s.drop(conn, new ProofError('the connection has no TLS session to bind a proof to'));
      return undefined;
    }
    return proofTranscript(this.protocolId, ekm, prover, verifier);
  }

  private allowed(id: string): boolean {
    const allow = this.options.allow;
    return allow === undefined || allow.has(id);
  }

  /**
   * The acceptor's word that this node's proof failed for its TLS session: kept to
   * tell the user why it closes (a man in the middle, most likely).
   */
  private onRefused(conn: Connection, msg: PathfindingMessage): void {
    const state = this.pending.get(conn);
    if (state !== undefined && conn.outgoing && state.proofSent && msg.payload[1]?.toString('latin1') === 'session') state.sessionRefused = true;
  }

  private onProof(s: RouterState, conn: Connection, msg: PathfindingMessage): void {
    const state = this.pending.get(conn);
    if (state === undefined) return s.drop(conn, new ProofError('a proof before the handshake'));
    if (state.awaitingKey) return s.drop(conn, new ProofError('a second proof'));
    const hello = state.hello;
    const o = this.options;
    if (!msg.senderIs(Buffer.from(hello.id, 'latin1'))) return s.drop(conn, new SenderMismatchError());
    // The acceptor's answer carries its MAC; the dialler's proof never does.
    const withMac = conn.outgoing && o.networkKey !== undefined;
    const proof = readProof(msg.payload, withMac);
    if (typeof proof === 'string') return s.drop(conn, new ProofError(proof));
    const ekm = keyingMaterial(conn);
    if (ekm === undefined) return s.drop(conn, new ProofError('the connection has no TLS session to bind a proof to'));
    if (idOfPublicKey(proof.publicKey) !== hello.id) return s.drop(conn, new IdentityMismatchError(hello.id));
    // Cheap refusals first (a hash, a set): an outsider costs no verification.
    if (!this.allowed(hello.id)) return s.drop(conn, new NotAdmittedError(hello.id, 'not on the allow-list'));
    let publicKey: KeyObject;
    try {
      publicKey = publicKeyFromRaw(proof.publicKey);
    } catch (err) {
      return s.drop(conn, new ProofError((err as Error).message));
    }
    const transcript = proofTranscript(this.protocolId, ekm, hello.id, this.identity.id);
    if (!signatureMatches(publicKey, transcript, proof.signature)) {
      if (conn.outgoing) return s.drop(conn, new ProofError('the peer\'s signature does not verify for this TLS session (a man in the middle?)'));
      return this.refuseSession(s, conn);
    }
    if (withMac && !macMatches(o.networkKey!, transcript, proof.mac!)) {
      return s.drop(conn, new NotAdmittedError(hello.id, 'no proof of the network key'));
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
    if (o.networkKey !== undefined) {
      if (!conn.outgoing) {
        state.awaitingKey = true;
        return;
      }
      s.sendTo(conn, flags.whisper, [KEY_PROOF_SUBFLAG, networkMac(o.networkKey, proofTranscript(this.protocolId, ekm, this.identity.id, hello.id))]);
    }
    this.pending.delete(conn);
    completeHandshake(s, conn, hello);
  }

  /** An acceptor's check of the dialler's MAC, the last step where there is a network key. */
  private onKeyProof(s: RouterState, conn: Connection, msg: PathfindingMessage): void {
    const state = this.pending.get(conn);
    if (state === undefined || !state.awaitingKey) return s.drop(conn, new ProofError('a network key proof out of turn'));
    const mac = msg.payload[1];
    if (msg.payload.length !== 2 || mac === undefined || mac.length !== MAC_BYTES) return s.drop(conn, new ProofError('malformed network key proof'));
    const transcript = this.transcriptFor(s, conn, state.hello.id, this.identity.id);
    if (transcript === undefined) return;
    if (!msg.senderIs(Buffer.from(state.hello.id, 'latin1'))) return s.drop(conn, new SenderMismatchError());
    if (!macMatches(this.options.networkKey!, transcript, mac)) return s.drop(conn, new NotAdmittedError(state.hello.id, 'no proof of the network key'));
    this.pending.delete(conn);
    completeHandshake(s, conn, state.hello);
  }

  /**
   * The dialler's signature does not verify for this node's TLS session: a proof from
   * another session (replayed, or passed on by a TLS-terminating proxy). The dialler is
   * told so before the connection ends, so that it can report a possible man in the
   * middle rather than a refusal.
   */
  private refuseSession(s: RouterState, conn: Connection): void {
    const error = new ProofError('the signature does not verify for this TLS session');
    this.pending.delete(conn);
    s.closedOnPurpose.add(conn);
    s.recordError(error, conn.remote);
    s.settleWaiters(conn, error);
    s.sendTo(conn, flags.whisper, [REFUSED_SUBFLAG, 'session']);
    // Once this tick's frames are flushed (the flush is queued first), end the stream
    // gracefully; a dialler that does not close in turn is cut off a second later. Both
    // are tasks of the actor, run between two inputs.
    s.later(() => {
      if (conn.closed) return;
      conn.transport.end();
      setTimeout(() => s.post(() => conn.destroy()), 1_000).unref();
    });
  }

  /**
   * Why a connection closed before it was proven, if the peer refused this node: it
   * had this node's proof and closed without answering (or said that this node's
   * proof was bound to another TLS session: a man in the middle).
   */
  private closeReason(_s: RouterState, conn: Connection): Error | undefined {
    const state = this.pending.get(conn);
    if (state === undefined || !state.proofSent || !conn.outgoing) return undefined;
    this.pending.delete(conn);
    if (state.sessionRefused) return new SessionMismatchError(conn.remote);
    return new AuthRefusedError(conn.remote);
  }

  // ---------------------------------------------------------------- messages

  /** A direct message (whisper, peers, renegotiation) must come from the connection's proven peer. */
  private acceptDirect(s: RouterState, msg: PathfindingMessage, conn: Connection): boolean {
    // A proof after the handshake completed changes nothing (and is not the user's).
    if (msg.subflag === PROOF_SUBFLAG || msg.subflag === KEY_PROOF_SUBFLAG || msg.subflag === REFUSED_SUBFLAG) return false;
    const id = conn.idBytes;
    if (id !== undefined && msg.senderIs(id)) return true;
    this.offence(s, conn, new SenderMismatchError());
    return false;
  }

  /**
   * A broadcast's packets with the origin's trailer: this node signs what it originates.
   * `time` must be the time the message is sent with.
   */
  private sealBroadcast(_s: RouterState, payload: Packet[], time: number): Packet[] {
    const packets = toBytes(payload);
    packets.push(signTrailer(this.identity, this.protocolId, time, packets));
    return packets;
  }

  /**
   * send(): held until the end of the tick (or until signatureBatch are held), then
   * signed together, one signature for the batch, and sent in order. What send()
   * returns is whether every peer is below its high-water mark now.
   */
  private queueBroadcast(s: RouterState, payload: Packet[], flag: string, time: number): boolean | undefined {
    if (this.options.signatureBatch <= 1) return undefined;
    this.held.push({ time, packets: toBytes(payload), flag });
    if (this.held.length >= this.options.signatureBatch) this.flushHeld(s);
    else if (!this.flushDue) {
      this.flushDue = true;
      // On the next tick, as a task of the actor: the batch is sent between two inputs.
      s.later(this.flushHeld);
    }
    for (const c of s.routingTable.values()) if (c.needsDrain) return false;
    return true;
  }

  private readonly flushHeld = (s: RouterState): void => {
    this.flushDue = false;
    const batch = this.held;
    if (batch.length === 0) return;
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
  private verifyAdmitted(s: RouterState, msg: PathfindingMessage, from: Connection | undefined): boolean {
    const payload = msg.payload;
    const n = payload.length;
    if (n < 2) return this.badMessage(s, from, 'missing');
    const trailer = readTrailer(payload[n - 1]!);
    if (typeof trailer === 'string') return this.badMessage(s, from, trailer);
    // Origins under admission: with an allow-list, a message naming an origin this node
    // would not admit is dropped before any crypto (the key must then hash to a listed
    // id). Its relay is not charged: allow-lists may differ between nodes.
    if (this.options.admitOrigins && !this.allowed(msg.sender)) {
      s.stats.unadmittedOrigins = (s.stats.unadmittedOrigins ?? 0) + 1;
      s.recordError(new NotAdmittedError(msg.sender, 'origin not on the allow-list'), from?.id ?? from?.remote);
      return false;
    }
    let known: ReturnType<typeof this.keys.get>;
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
      const nodes: Buffer[] = [];
      const root = rootOf(leaf, trailer.index, trailer.path, nodes);
      s.stats.signaturesVerified++;
      if (!verifySignature(known.key, signedRoot(trailer.count, root), trailer.signature)) return this.badMessage(s, from, 'does not verify');
      this.keys.rememberBatch(trailer, nodes);
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

}

function toBytes(payload: Packet[]): Buffer[] {
  return payload.map((p) => (typeof p === 'string' ? Buffer.from(p, 'utf8') : Buffer.from(p.buffer, p.byteOffset, p.byteLength)));
}

/** A proof subflag's whisper after the handshake is not the user's (a broadcast with it is). */
function whisperOnly(_s: RouterState, msg: PathfindingMessage): boolean {
  return msg.msgType === flags.whisper;
}
