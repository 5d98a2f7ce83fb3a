import * as net from 'node:net';
import * as tls from 'node:tls';
import { Deframer } from '../../src/index.js';
import { waitFor } from '../helpers.js';

/** A hand-driven peer on a raw socket: writes recorded bytes, reads whole frames. */
export class RawPeer {
  readonly frames: Buffer[] = [];
  closed = false;
  private read = 0;
  private constructor(readonly socket: net.Socket) {
    const d = new Deframer({ maxFrameBytes: 1 << 26 });
    socket.on('data', (chunk) => this.frames.push(...d.push(chunk)));
    socket.on('close', () => { this.closed = true; });
    socket.on('error', () => undefined);
  }

  static async connect(port: number, ssl = false): Promise<RawPeer> {
    const socket = ssl
      ? tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false })
      : net.connect(port, '127.0.0.1');
    await new Promise<void>((resolve, reject) => {
      socket.once(ssl ? 'secureConnect' : 'connect', () => resolve());
      socket.once('error', reject);
    });
    return new RawPeer(socket);
  }

  /** Wraps a socket accepted by a test's own server. */
  static adopt(socket: net.Socket): RawPeer {
    return new RawPeer(socket);
  }

  send(bytes: Uint8Array | string): void {
    this.socket.write(typeof bytes === 'string' ? Buffer.from(bytes, 'hex') : bytes);
  }

  /** The next frame body not yet returned, waiting up to timeoutMs for it. */
  async next(timeoutMs = 5000): Promise<Buffer> {
    await waitFor(() => this.frames.length > this.read, timeoutMs, 'a frame from the node');
    return this.frames[this.read++]!;
  }

  get unread(): number {
    return this.frames.length - this.read;
  }

  close(): void {
    this.socket.destroy();
  }
}
