// A hand-driven peer of the authenticated protocol: a TLS 1.3 connection that sends
// the py2p-style handshake and, when told to, a proof made with its own key (or a
// tampered one), then whatever frames a test wants. Hostile tests build attacks on it.
import * as tls from 'node:tls';
import { sign } from 'node:crypto';
import {
  AUTH_ENCRYPTION, generateIdentity, PathfindingMessage, Protocol, toBase58, type Identity, type PacketInput,
} from '../../src/index.js';
import { EKM_BYTES, EKM_CONTEXT, EKM_LABEL, makeProof, networkMac, PROOF_SUBFLAG, proofTranscript } from '../../src/trust/proof.js';
import { messageDigest, signTrailer } from '../../src/trust/signed-message.js';
import { waitFor } from '../helpers.js';

export const authProtocol = new Protocol('mesh', AUTH_ENCRYPTION);

export interface AuthPeerOptions {
  protocol?: Protocol;
  identity?: Identity;
  /** The id its handshake claims (default: its identity's). */
  claimId?: string;
  /** Send a valid proof as soon as the node's handshake arrives (default true). */
  autoProof?: boolean;
  networkKey?: Buffer;
}

export class AuthPeer {
  readonly identity: Identity;
  readonly id: string;
  readonly protocol: Protocol;
  /** Every frame received, parsed. */
  readonly frames: PathfindingMessage[] = [];
  closed = false;
  /** Called with each frame as it is parsed (an attacker reacting at once). */
  onFrame: ((msg: PathfindingMessage) => void) | undefined;
  /** The proof packets this peer sent (after the subflag). */
  sentProof: Buffer[] | undefined;
  private buffered = Buffer.alloc(0);

  private constructor(readonly socket: tls.TLSSocket, private readonly options: AuthPeerOptions) {
    this.identity = options.identity ?? generateIdentity();
    this.id = options.claimId ?? this.identity.id;
    this.protocol = options.protocol ?? authProtocol;
    socket.on('data', (b: Buffer) => this.onData(b));
    socket.on('error', () => undefined);
    socket.on('close', () => { this.closed = true; });
  }

  /** Opens TLS to 127.0.0.1:port and sends the handshake. */
  static async connect(port: number, options: AuthPeerOptions = {}): Promise<AuthPeer> {
    const socket = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false, minVersion: 'TLSv1.3' });
    socket.setNoDelay(true);
    const peer = new AuthPeer(socket, options);
    await new Promise<void>((resolve, reject) => {
      socket.once('secureConnect', () => resolve());
      socket.once('error', reject);
    });
    await peer.send('whisper', ['handshake', peer.id, peer.protocol.id, '["127.0.0.1", 1]', '[]']);
    return peer;
  }

  /** The node's handshake, once received. */
  get nodeHello(): PathfindingMessage | undefined {
    return this.frames.find((f) => f.msgType === 'whisper' && f.subflag === 'handshake');
  }

  /** The node's proof, if it sent one. */
  get nodeProof(): PathfindingMessage | undefined {
    return this.frames.find((f) => f.msgType === 'whisper' && f.subflag === PROOF_SUBFLAG);
  }

  /** This TLS session's keying material. */
  keyingMaterial(): Buffer {
    return this.socket.exportKeyingMaterial(EKM_BYTES, EKM_LABEL, EKM_CONTEXT);
  }

  /** A valid dialler's proof of this peer's key for this session, to the node whose id is verifier (no MAC: a dialler's never has one). */
  validProof(verifier: string): Buffer[] {
    return makeProof(this.identity, proofTranscript(this.protocol.id, this.keyingMaterial(), this.id, verifier), undefined);
  }

  /** The MAC a dialler sends once the acceptor's proof and MAC checked out (networkKey set). */
  keyProof(verifier: string): Buffer {
    return networkMac(this.options.networkKey!, proofTranscript(this.protocol.id, this.keyingMaterial(), this.id, verifier));
  }

  async sendProof(packets: Buffer[]): Promise<void> {
    this.sentProof = packets;
    await this.send('whisper', [PROOF_SUBFLAG, ...packets]);
  }

  /** Waits for the node's handshake and (autoProof) proves this peer's key. */
  async prove(): Promise<void> {
    await waitFor(() => this.nodeHello !== undefined || this.closed, 5_000, 'the node\'s handshake');
    const hello = this.nodeHello;
    if (hello) await this.sendProof(this.validProof(hello.payload[1]!.toString('latin1')));
  }

  /** Writes one message (sender default: the id it claims). */
  send(msgType: string, payload: PacketInput[], sender = this.id, time = Math.floor(Date.now() / 1000)): Promise<void> {
    return this.write(new PathfindingMessage(this.protocol, msgType, sender, payload, [], time).string);
  }

  write(bytes: Uint8Array): Promise<void> {
    if (this.closed || this.socket.destroyed) return Promise.resolve();
    return new Promise((r) => this.socket.write(bytes, () => r()));
  }

  /**
   * A broadcast (or waterfall) in the name of `origin`, signed by `signer` (default:
   * origin's own key: a valid message); `tamper` changes the payload after signing.
   */
  async sendSigned(msgType: string, origin: Identity, packets: string[], opts: { signer?: Identity; tamper?: boolean; trailer?: Buffer | null } = {}): Promise<void> {
    const time = Math.floor(Date.now() / 1000);
    const payload = packets.map((p) => Buffer.from(p));
    let trailer = opts.trailer === undefined ? signTrailer(opts.signer ?? origin, this.protocol.id, time, payload) : opts.trailer;
    if (opts.signer && opts.signer !== origin && opts.trailer === undefined) {
      // Signed by another key over origin's message: the trailer names the signer's key.
      const digest = messageDigest(this.protocol.id, Buffer.from(origin.id, 'latin1'), toBase58(time), payload, 1, 0);
      trailer = Buffer.concat([opts.signer.rawPublicKey, sign(null, digest, opts.signer.privateKey)]);
    }
    if (opts.tamper) payload[payload.length - 1] = Buffer.from(`${packets[packets.length - 1]}!`);
    await this.send(msgType, trailer === null ? payload : [...payload, trailer], origin.id, time);
  }

  waitClosed(timeoutMs = 5_000): Promise<void> {
    return waitFor(() => this.closed, timeoutMs, 'the node to close the connection');
  }

  destroy(): void {
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    this.buffered = Buffer.concat([this.buffered, chunk]);
    while (this.buffered.length >= 4) {
      const len = this.buffered.readUInt32BE(0);
      if (this.buffered.length < 4 + len) break;
      const frame = this.buffered.subarray(0, 4 + len);
      this.buffered = this.buffered.subarray(4 + len);
      try {
        const msg = PathfindingMessage.feedString(this.protocol, frame, false, ['gzip']);
        this.frames.push(msg);
        this.onFrame?.(msg);
      } catch {
        // not a message: ignored
      }
    }
  }
}
