// A hostile peer: a raw net.Socket that writes whatever a test wants, with helpers
// to build well-formed frames (PathfindingMessage) when an attack needs to get past
// the handshake first.
import * as net from 'node:net';
import * as tls from 'node:tls';
import { filter, firstValueFrom, timeout } from 'rxjs';
import { PathfindingMessage, toBase58, type MeshSocket, type PacketInput, type Protocol } from '../../src/index.js';
import { waitFor } from '../helpers.js';
import { prng, randomBuffer } from '../prng.js';

/** Made-up ids: distinct within a process, the same sequence every run. */
const ids = prng(48);

/** A random, well-formed node id (base_58 of 48 random bytes, as SHA-384 ids are). */
export function fakeId(): string {
  return toBase58(randomBuffer(ids, 48));
}

/** The wire bytes of one message from `sender` (uncompressed unless `compression` names gzip). */
export function frameOf(protocol: Protocol, msgType: string, sender: string, payload: PacketInput[], compression: string[] = [], time?: number): Buffer {
  return new PathfindingMessage(protocol, msgType, sender, payload, compression, time ?? Math.floor(Date.now() / 1000)).string;
}

/** The packets of a handshake; any field may be overridden to make it malformed. */
export function handshakePayload(node: { protocol: Protocol }, id: string, over: Partial<{ protocolId: string; addr: string; compression: string }> = {}): string[] {
  return ['handshake', id, over.protocolId ?? node.protocol.id, over.addr ?? '["127.0.0.1", 1]', over.compression ?? '[]'];
}

/** What the hostile suites threw at nodes, for the report. */
export const tally = { connections: 0, writes: 0, inputs: 0, bytes: 0 };

export class RawPeer {
  readonly id = fakeId();
  readonly received: Buffer[] = [];
  receivedBytes = 0;
  closed = false;
  error: Error | undefined;

  private constructor(readonly socket: net.Socket, readonly protocol: Protocol, readonly node: MeshSocket | undefined) {
    socket.on('data', (b: Buffer) => {
      this.receivedBytes += b.length;
      if (this.received.length < 64) this.received.push(b);
    });
    socket.on('error', (e) => { this.error = e; });
    socket.on('close', () => { this.closed = true; });
  }

  /** Opens a TCP connection to `node` (127.0.0.1 only). */
  static connect(node: MeshSocket): Promise<RawPeer> {
    return RawPeer.connectPort(node.outAddr[1], node.protocol, node);
  }

  /** Opens a TCP connection to 127.0.0.1:port, a node speaking `protocol` (perhaps in another process). */
  static connectPort(port: number, protocol: Protocol, node?: MeshSocket): Promise<RawPeer> {
    return RawPeer.opened(net.connect({ host: '127.0.0.1', port }), 'connect', protocol, node);
  }

  /**
   * Opens a TLS connection to an SSL node (any certificate accepted, as rx2p and py2p
   * clients do); resolves once the TLS handshake is done, or the connection closed.
   */
  static connectTls(node: MeshSocket): Promise<RawPeer> {
    const socket = tls.connect({ host: '127.0.0.1', port: node.outAddr[1], rejectUnauthorized: false });
    return RawPeer.opened(socket, 'secureConnect', node.protocol, node);
  }

  /** A peer on `socket`, once it has emitted `ready` (or closed). */
  private static async opened(socket: net.Socket, ready: string, protocol: Protocol, node?: MeshSocket): Promise<RawPeer> {
    const peer = new RawPeer(socket, protocol, node);
    tally.connections++;
    await new Promise<void>((resolve, reject) => {
      socket.once(ready, () => resolve());
      socket.once('error', reject);
      socket.once('close', () => resolve());
    });
    return peer;
  }

  /** Writes raw bytes (`inputs` hostile frames or blobs); resolves when flushed to the kernel (or at once if closed). */
  write(bytes: Uint8Array, inputs = 1): Promise<void> {
    if (this.closed || this.socket.destroyed) return Promise.resolve();
    tally.writes++;
    tally.inputs += inputs;
    tally.bytes += bytes.length;
    return new Promise((r) => this.socket.write(bytes, () => r()));
  }

  /** Writes one message as `this.id`. */
  send(msgType: string, payload: PacketInput[], compression: string[] = [], time?: number): Promise<void> {
    return this.write(frameOf(this.protocol, msgType, this.id, payload, compression, time));
  }

  /** Sends a valid handshake and (for an in-process node) waits until the node lists this peer as handshaken. */
  async handshake(compression = '[]'): Promise<void> {
    await this.send('whisper', handshakePayload(this, this.id, { compression }));
    const node = this.node;
    if (node) await waitFor(() => node.routingTable.has(this.id), 5_000, 'hostile handshake accepted');
  }

  /** Resolves once the node has closed this connection. */
  waitClosed(timeoutMs = 5_000): Promise<void> {
    return waitFor(() => this.closed, timeoutMs, 'node to close the hostile connection');
  }

  destroy(): void {
    this.socket.destroy();
  }
}

let probeSerial = 0;

/**
 * Asserts that `node` still serves `honest`: a broadcast sent now from `node` reaches
 * `honest` within `timeoutMs`.
 */
export async function assertServes(node: MeshSocket, honest: MeshSocket, timeoutMs = 5_000): Promise<void> {
  const tag = `probe-${process.pid}-${++probeSerial}`;
  const got = firstValueFrom(honest.messages$.pipe(
    filter((m) => m.packets[1]?.toString() === tag),
    timeout({ first: timeoutMs, with: () => { throw new Error(`honest peer did not receive ${tag} within ${timeoutMs} ms`); } }),
  ));
  node.send(tag);
  await got;
}

/** Total of the node's error counters for `code`. */
export function errorCount(node: MeshSocket, code: string): number {
  return node.stats.errors[code] ?? 0;
}
