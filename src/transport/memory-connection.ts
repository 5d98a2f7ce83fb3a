// One end of an in-memory connection (src/transport/memory.ts): what a MemoryTransport
// gives the mesh, a TransportConnection over two Pipes of its MemoryNetwork.
import { Observable } from 'rxjs';
import { ByteSource } from './byte-source.js';
import { FIN, MemoryNetError, RST, type Chunk, type Pipe } from './memory-link.js';
import type { MemoryNetwork } from './memory.js';
import type { TransportConnection } from './transport.js';

/** One end of an in-memory connection. */
export class MemoryConnection implements TransportConnection {
  /** {@inheritDoc TransportConnection.bytes$} */
  readonly bytes$: Observable<Uint8Array>;
  /** {@inheritDoc TransportConnection.closed} */
  readonly closed: Promise<void>;
  /** {@inheritDoc TransportConnection.writableHighWaterMark} */
  readonly writableHighWaterMark: number;
  /** {@inheritDoc TransportConnection.remoteAddress} */
  remoteAddress: string | undefined;
  /** {@inheritDoc TransportConnection.remotePort} */
  remotePort: number | undefined;
  /** The connection's other end, once connected. */
  peer: MemoryConnection | undefined;
  /** True for the end that dialled. */
  dialler = false;
  private out: Pipe | undefined;
  /** Written before the dial connected. */
  private early: Buffer[] = [];
  private earlyBytes = 0;
  private readonly source: ByteSource;
  /** Arrived while the reader is paused (pause holds them here, in order, with the end). */
  private inbox: Chunk[] = [];
  private done = false;
  private isDestroyed = false;
  private endAfterConnect = false;
  private drainListeners: Array<() => void> = [];
  private drainArmed = false;
  private markClosed!: () => void;

  constructor(
    /** The network this connection belongs to. */
    readonly net: MemoryNetwork,
    /** This end's host. */
    readonly localHost: string,
    /** This end's port. */
    readonly localPort: number,
  ) {
    this.writableHighWaterMark = net.highWaterMark;
    this.closed = new Promise<void>((resolve) => { this.markClosed = resolve; });
    // The shared byte source, its next turn in the network's (virtual) time. Paused, the
    // chunks that arrive wait in the inbox, as they would in a socket's receive buffer.
    this.source = new ByteSource({
      pause: () => undefined,
      resume: () => { if (this.inbox.length !== 0) net.scheduler.schedule(() => this.flushInbox(), 0); },
    }, {
      nextTurn: (fn) => {
        const sub = net.scheduler.schedule(fn, 0);
        return () => sub.unsubscribe();
      },
      // The network's clock: under virtual time no work takes time, so a replay yields
      // by bytes alone, the same way every run.
      now: () => net.scheduler.now(),
    });
    this.bytes$ = this.source.bytes$;
  }

  /** {@inheritDoc TransportConnection.pause} */
  pause(): void {
    this.source.pause();
  }

  /** {@inheritDoc TransportConnection.resume} */
  resume(): void {
    this.source.resume();
  }

  private flushInbox(): void {
    while (this.inbox.length !== 0 && !this.source.paused && !this.done) this.deliver(this.inbox.shift()!);
  }

  /** {@inheritDoc TransportConnection.raw} */
  get raw(): unknown {
    return this;
  }

  /** {@inheritDoc TransportConnection.destroyed} */
  get destroyed(): boolean {
    return this.isDestroyed || this.done;
  }

  /** {@inheritDoc TransportConnection.writableLength} */
  get writableLength(): number {
    return this.out ? this.out.backlog() : this.earlyBytes;
  }

  /** {@inheritDoc TransportConnection.write} */
  write(chunk: Uint8Array): boolean {
    if (this.destroyed || this.endAfterConnect) return false;
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    if (this.out) this.out.send(buf);
    else {
      this.early.push(buf);
      this.earlyBytes += buf.length;
    }
    return this.writableLength < this.writableHighWaterMark;
  }

  /** {@inheritDoc TransportConnection.writev} */
  writev(chunks: readonly Uint8Array[]): boolean {
    if (chunks.length === 1) return this.write(chunks[0]!);
    let total = 0;
    for (const c of chunks) total += c.length;
    return this.write(Buffer.concat(chunks as Uint8Array[], total));
  }

  /** {@inheritDoc TransportConnection.onceDrain} */
  onceDrain(listener: () => void): void {
    this.drainListeners.push(listener);
    this.armDrain();
  }

  private armDrain(): void {
    if (this.drainArmed || !this.out || this.destroyed) return;
    this.drainArmed = true;
    const check = () => {
      this.drainArmed = false;
      if (this.destroyed) return;
      if (this.writableLength > 0) return this.armDrain();
      const listeners = this.drainListeners.splice(0);
      for (const l of listeners) l();
    };
    // While stalled nothing drains; heal() re-checks.
    if (this.out.heldBytes > 0) return void (this.drainArmed = false);
    this.net.scheduler.schedule(check, Math.max(0, this.out.drainsAt() - this.net.now()));
  }

  /** {@inheritDoc TransportConnection.end} */
  end(): void {
    if (this.destroyed) return;
    if (!this.out) {
      this.endAfterConnect = true;
      return;
    }
    this.out.send(FIN);
    this.endAfterConnect = true;
  }

  /** {@inheritDoc TransportConnection.destroy} */
  destroy(error?: Error): void {
    if (this.destroyed) return;
    this.isDestroyed = true;
    this.early = [];
    this.earlyBytes = 0;
    if (this.out) {
      // What is already on the wire still arrives, then the peer sees the close.
      this.out.send(FIN);
    }
    this.net.forget(this);
    this.close(error);
  }

  /** @internal The dial reached a listener (or the accepted end was made). */
  connect(peer: MemoryConnection, out: Pipe): void {
    this.peer = peer;
    this.out = out;
    this.remoteAddress = peer.localHost;
    this.remotePort = peer.localPort;
    if (this.isDestroyed) return;
    const early = this.early;
    this.early = [];
    this.earlyBytes = 0;
    for (const b of early) out.send(b);
    if (this.endAfterConnect) out.send(FIN);
    if (this.drainListeners.length) this.armDrain();
  }

  /** @internal */
  get outPipe(): Pipe | undefined {
    return this.out;
  }

  /** @internal Bytes (or the end) from the peer. */
  receive(chunk: Chunk): void {
    if (this.done) return;
    if (this.inbox.length !== 0 || this.source.paused) this.inbox.push(chunk);
    else this.deliver(chunk);
  }

  private deliver(chunk: Chunk): void {
    if (chunk === FIN) {
      // As a net.Socket without allowHalfOpen: the peer's end ends this side too.
      if (!this.isDestroyed && !this.endAfterConnect) this.out?.send(FIN);
      return this.close();
    }
    if (chunk === RST) return this.close(new MemoryNetError('ECONNRESET', 'connection reset by peer'));
    this.source.push(chunk);
  }

  /** @internal Ends this end: bytes$ completes (or errors), closed resolves. */
  close(error?: Error): void {
    if (this.done) return;
    this.done = true;
    this.net.forget(this);
    this.inbox = [];
    this.drainListeners = [];
    this.source.end(error);
    this.markClosed();
  }
}
