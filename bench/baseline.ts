// The baseline the bench compares rx2p against: the least a flooding mesh can do in
// Node, and nothing more. Plain net (or tls) sockets, a 4-byte big-endian length
// before each payload, SHA-384 of the payload as the message id, a Set of the ids
// seen (never trimmed), and every new message written to every other peer, one
// write() (one syscall) per frame. No handshake, no routing table, no ages, no
// compression, no limits: it only shows what the wire and node:crypto cost here.
import { createHash } from 'node:crypto';
import * as net from 'node:net';
import * as tls from 'node:tls';
import type { CertificatePair } from '../src/transport/certificates.js';

class BaselinePeer {
  private chunks: Buffer[] = [];
  private held = 0;
  private need = 4; // bytes the next frame needs (header first, then header + body)

  constructor(readonly node: BaselineNode, readonly socket: net.Socket) {
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', () => undefined);
    socket.on('close', () => node.peers.delete(this));
  }

  private onData(chunk: Buffer): void {
    let buf: Buffer;
    if (this.held === 0) buf = chunk;
    else {
      this.chunks.push(chunk);
      this.held += chunk.length;
      if (this.held < this.need) return;
      buf = Buffer.concat(this.chunks, this.held);
      this.chunks = [];
      this.held = 0;
    }
    let off = 0;
    for (;;) {
      const left = buf.length - off;
      if (left < 4) { this.need = 4; break; }
      const size = buf.readUInt32BE(off);
      if (left < 4 + size) { this.need = 4 + size; break; }
      this.node.onFrame(this, buf.subarray(off, off + 4 + size));
      off += 4 + size;
    }
    if (off < buf.length) {
      this.chunks.push(buf.subarray(off));
      this.held = buf.length - off;
    }
  }
}

export class BaselineNode {
  readonly peers = new Set<BaselinePeer>();
  /** Ids seen: grows with every message, never trimmed. */
  readonly seen = new Set<string>();
  framesOut = 0;
  framesIn = 0;
  duplicates = 0;
  onMessage: (payload: Buffer) => void = () => undefined;

  private constructor(private readonly server: net.Server, readonly port: number, private readonly cert: CertificatePair | undefined) {}

  static create(cert?: CertificatePair): Promise<BaselineNode> {
    return new Promise((resolve, reject) => {
      const server = cert
        ? tls.createServer({ cert: cert.cert, key: cert.key })
        : net.createServer();
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => {
        const node = new BaselineNode(server, (server.address() as net.AddressInfo).port, cert);
        server.on(cert ? 'secureConnection' : 'connection', (socket: net.Socket) => node.peers.add(new BaselinePeer(node, socket)));
        resolve(node);
      });
    });
  }

  connect(port: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const socket = this.cert
        ? tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => { this.peers.add(new BaselinePeer(this, socket)); resolve(); })
        : net.connect({ host: '127.0.0.1', port }, () => { this.peers.add(new BaselinePeer(this, socket)); resolve(); });
      socket.once('error', reject);
    });
  }

  /** Floods a new message; false when some peer's buffer is above its high-water mark. */
  send(payload: Buffer): boolean {
    this.seen.add(createHash('sha384').update(payload).digest('base64'));
    const frame = Buffer.allocUnsafe(4 + payload.length);
    frame.writeUInt32BE(payload.length, 0);
    payload.copy(frame, 4);
    let below = true;
    for (const p of this.peers) {
      if (!p.socket.write(frame)) below = false;
      this.framesOut++;
    }
    return below;
  }

  onFrame(from: BaselinePeer, frame: Buffer): void {
    this.framesIn++;
    const payload = frame.subarray(4);
    const id = createHash('sha384').update(payload).digest('base64');
    if (this.seen.has(id)) { this.duplicates++; return; }
    this.seen.add(id);
    for (const p of this.peers) {
      if (p === from) continue;
      p.socket.write(frame);
      this.framesOut++;
    }
    this.onMessage(payload);
  }

  /** Resolves when every peer's buffer is below its high-water mark. */
  async drained(): Promise<void> {
    const busy = [...this.peers].filter((p) => p.socket.writableNeedDrain && !p.socket.destroyed);
    await Promise.all(busy.map((p) => new Promise<void>((r) => {
      const done = () => { p.socket.off('drain', done); p.socket.off('close', done); r(); };
      p.socket.on('drain', done);
      p.socket.on('close', done);
    })));
  }

  async close(): Promise<void> {
    const closing = [...this.peers].map((p) => new Promise<void>((r) => {
      if (p.socket.closed) return r();
      p.socket.once('close', () => r());
      p.socket.destroy();
    }));
    await Promise.all([...closing, new Promise<void>((r) => this.server.close(() => r()))]);
    this.seen.clear();
  }
}
