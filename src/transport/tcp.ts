// TCP under the seam: a net.Socket as a TransportConnection, a net.Server as a Listener.
// TLS (tls.ts) reuses both: a TLSSocket is a net.Socket.
import * as net from 'node:net';
import { Subject, type Observable } from 'rxjs';
import { budgetOptions, ByteSource, type ReadBudget } from './byte-source.js';
import type { BoundAddress, Listener, ListenerNotice, Transport, TransportConnection } from './transport.js';

/** Settings of a TcpTransport (and its per-turn read budget). */
export interface TcpTransportOptions extends ReadBudget {
  /**
   * TCP keepalive idle time on every connection, both ends; 0 for none. The kernel's
   * probe notices a vanished peer without a write (py2p peers send nothing when idle).
   */
  keepAliveMs?: number;
}

/** One net.Socket (plain or TLS) as a TransportConnection. */
export class SocketConnection implements TransportConnection {
  /** {@inheritDoc TransportConnection.bytes$} */
  readonly bytes$: Observable<Uint8Array>;
  /** {@inheritDoc TransportConnection.closed} */
  readonly closed: Promise<void>;
  private address: string | undefined;
  private port: number | undefined;
  private failure: Error | undefined;
  private readonly source: ByteSource;

  constructor(readonly socket: net.Socket, keepAliveMs: number, budget?: ReadBudget) {
    socket.setNoDelay(true);
    if (keepAliveMs > 0) socket.setKeepAlive(true, keepAliveMs);
    this.remember();
    // A dialled socket learns its peer's address on connect; it is kept, since a
    // destroyed socket forgets it.
    if (this.address === undefined) socket.once('connect', () => this.remember());
    // Listened for from the start, so that an error before bytes$ is subscribed is held
    // for it rather than thrown as an unhandled 'error'.
    socket.on('error', (err: Error) => { this.failure ??= err; });
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
    // The shared byte source: the per-turn read budget, and pause() from the pipeline
    // (socket.pause() stops reading; the kernel's window then slows the peer).
    this.source = new ByteSource({
      pause: () => { if (!socket.destroyed) socket.pause(); },
      resume: () => { if (!socket.destroyed) socket.resume(); },
    }, budgetOptions(budget));
    socket.on('data', (chunk: Buffer) => this.source.push(chunk));
    socket.once('close', () => this.source.end(this.failure));
    this.bytes$ = this.source.bytes$;
  }

  pause(): void {
    this.source.pause();
  }

  resume(): void {
    this.source.resume();
  }

  private remember(): void {
    if (this.socket.remoteAddress !== undefined) {
      this.address = this.socket.remoteAddress;
      this.port = this.socket.remotePort;
    }
  }

  /** {@inheritDoc TransportConnection.write} */
  write(chunk: Uint8Array): boolean {
    return this.socket.write(chunk);
  }

  /** {@inheritDoc TransportConnection.writev} */
  writev(chunks: readonly Uint8Array[]): boolean {
    const socket = this.socket;
    let below = true;
    socket.cork();
    for (const chunk of chunks) below = socket.write(chunk);
    socket.uncork();
    return below;
  }

  /** {@inheritDoc TransportConnection.writableLength} */
  get writableLength(): number {
    return this.socket.writableLength;
  }

  /** {@inheritDoc TransportConnection.writableHighWaterMark} */
  get writableHighWaterMark(): number {
    return this.socket.writableHighWaterMark;
  }

  /** {@inheritDoc TransportConnection.onceDrain} */
  onceDrain(listener: () => void): void {
    this.socket.once('drain', listener);
  }

  /** {@inheritDoc TransportConnection.end} */
  end(): void {
    this.socket.end();
  }

  /** {@inheritDoc TransportConnection.destroy} */
  destroy(error?: Error): void {
    this.socket.destroy(error);
  }

  /** {@inheritDoc TransportConnection.destroyed} */
  get destroyed(): boolean {
    return this.socket.destroyed;
  }

  /** {@inheritDoc TransportConnection.remoteAddress} */
  get remoteAddress(): string | undefined {
    return this.address;
  }

  /** {@inheritDoc TransportConnection.remotePort} */
  get remotePort(): number | undefined {
    return this.port;
  }

  /** {@inheritDoc TransportConnection.raw} */
  get raw(): net.Socket {
    return this.socket;
  }
}

/**
 * A net.Server (or tls.Server) as a Listener. `readyEvent` is the server's event for a
 * connection ready for the mesh ('connection', or 'secureConnection' for TLS); every
 * raw 'connection' is tracked so that close() ends those still in a TLS handshake too.
 */
export class SocketListener implements Listener {
  readonly accepted$: Observable<TransportConnection>;
  readonly notices$: Observable<ListenerNotice>;
  protected readonly acceptedSubject = new Subject<TransportConnection>();
  protected readonly noticeSubject = new Subject<ListenerNotice>();
  private readonly rawSockets = new Set<net.Socket>();
  private bound: BoundAddress = { address: '', port: 0 };

  constructor(protected readonly server: net.Server, readyEvent: 'connection' | 'secureConnection', keepAliveMs: number, budget?: ReadBudget) {
    this.accepted$ = this.acceptedSubject.asObservable();
    this.notices$ = this.noticeSubject.asObservable();
    server.on('connection', (socket: net.Socket) => {
      this.rawSockets.add(socket);
      socket.once('close', () => this.rawSockets.delete(socket));
    });
    server.on(readyEvent, (socket: net.Socket) => this.acceptedSubject.next(new SocketConnection(socket, keepAliveMs, budget)));
  }

  /** Binds the server; resolves once it listens, rejects if it cannot. */
  listen(host: string, port: number): Promise<this> {
    const server = this.server;
    return new Promise<this>((resolve, reject) => {
      const onError = (err: Error) => reject(err);
      server.once('error', onError);
      server.listen(port, host, () => {
        server.off('error', onError);
        server.on('error', (error: Error) => this.noticeSubject.next({ type: 'error', error }));
        const a = server.address() as net.AddressInfo;
        this.bound = { address: a.address, port: a.port, family: a.family };
        resolve(this);
      });
    });
  }

  get address(): BoundAddress {
    return this.bound;
  }

  close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const socket of this.rawSockets) socket.destroy();
    this.acceptedSubject.complete();
    this.noticeSubject.complete();
    return closed;
  }
}

/** Plain TCP: py2p's Plaintext encryption. */
export class TcpTransport implements Transport {
  /** {@inheritDoc Transport.name} */
  readonly name = 'tcp';
  private readonly keepAliveMs: number;
  private readonly budget: ReadBudget;

  constructor(options: TcpTransportOptions = {}) {
    this.keepAliveMs = options.keepAliveMs ?? 0;
    this.budget = options;
  }

  /** {@inheritDoc Transport.listen} */
  listen(host: string, port: number): Promise<Listener> {
    return new SocketListener(net.createServer(), 'connection', this.keepAliveMs, this.budget).listen(host, port);
  }

  /** {@inheritDoc Transport.dial} */
  dial(host: string, port: number): TransportConnection {
    return new SocketConnection(net.connect({ host, port }), this.keepAliveMs, this.budget);
  }
}
