// TLS under the seam: py2p's SSL encryption (self-signed certificates, no peer
// verification: it hides traffic from passive observers, it does not authenticate).
// node:tls is loaded on first use (see certificates.ts): a Plaintext node never pays for it.
import type * as net from 'node:net';
import type * as tls from 'node:tls';
import { HandshakeTimeoutError, TlsError } from '../errors.js';
import { get_socket, nodeTls, type CertificatePair } from './certificates.js';
import type { ReadBudget } from './byte-source.js';
import { SocketConnection, SocketListener } from './tcp.js';
import type { Listener, PendingConnection, Transport, TransportConnection } from './transport.js';

/** Settings of a TlsTransport: keepalive, TLS handshake bound, certificate, lowest TLS version, per-turn read budget. */
export interface TlsTransportOptions extends ReadBudget {
  /** TCP keepalive idle time on every connection; 0 for none (see TcpTransportOptions). */
  keepAliveMs?: number;
  /** A TLS handshake not finished in this long fails with HandshakeTimeoutError. Default 10,000 ms. */
  handshakeTimeoutMs?: number;
  /** The server's certificate and key. Default: one self-signed pair per process. */
  certificate?: CertificatePair;
  /** The oldest TLS version accepted, both ways. Default TLSv1.2 (py2p's SSL); the authenticated protocol asks for TLSv1.3. */
  minVersion?: tls.SecureVersion;
}

/**
 * An accepted TCP connection still in its TLS handshake. The mesh counts it against
 * maxAwaiting and maxConnections from here (a silent or stalled handshake is bounded
 * as a plain connection awaiting its mesh handshake is).
 */
class PendingSocket implements PendingConnection {
  /** {@inheritDoc TransportConnection.closed} */
  readonly closed: Promise<void>;
  /** {@inheritDoc TransportConnection.remoteAddress} */
  readonly remoteAddress: string | undefined;
  /** {@inheritDoc TransportConnection.remotePort} */
  readonly remotePort: number | undefined;

  constructor(private readonly socket: net.Socket) {
    this.remoteAddress = socket.remoteAddress;
    this.remotePort = socket.remotePort;
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
  }

  /** {@inheritDoc PendingConnection.destroy} */
  destroy(): void {
    this.socket.on('error', () => undefined);
    this.socket.destroy();
  }
}

class TlsListener extends SocketListener {
  constructor(server: tls.Server, keepAliveMs: number, handshakeTimeoutMs: number, budget: ReadBudget) {
    super(server, 'secureConnection', keepAliveMs, budget);
    server.on('connection', (socket: net.Socket) => this.noticeSubject.next({ type: 'pending', conn: new PendingSocket(socket) }));
    // The TLSSocket given here wraps the raw socket of the 'connection' event: the same
    // remote address and port, by which the mesh knows it.
    server.on('tlsClientError', (error: Error, socket: tls.TLSSocket) => {
      const conn = new PendingSocket(socket);
      const code = (error as { code?: string }).code;
      const typed = code === 'ERR_TLS_HANDSHAKE_TIMEOUT' ? new HandshakeTimeoutError(handshakeTimeoutMs) : new TlsError(error);
      this.noticeSubject.next({ type: 'pending-failed', conn, error: typed });
    });
  }
}

/** TLS over TCP, as py2p's SSL encryption: any certificate is accepted from a peer. */
export class TlsTransport implements Transport {
  /** {@inheritDoc Transport.name} */
  readonly name = 'tls';
  private readonly keepAliveMs: number;
  private readonly handshakeTimeoutMs: number;
  private readonly certificate: CertificatePair | undefined;
  private readonly minVersion: { minVersion?: tls.SecureVersion };
  private readonly budget: ReadBudget;

  constructor(options: TlsTransportOptions = {}) {
    this.minVersion = options.minVersion === undefined ? {} : { minVersion: options.minVersion };
    this.keepAliveMs = options.keepAliveMs ?? 0;
    this.handshakeTimeoutMs = options.handshakeTimeoutMs ?? 10_000;
    this.certificate = options.certificate;
    this.budget = options;
  }

  /** {@inheritDoc Transport.listen} */
  listen(host: string, port: number): Promise<Listener> {
    const server = nodeTls().createServer({ ...get_socket(true, this.certificate), handshakeTimeout: this.handshakeTimeoutMs, ...this.minVersion });
    return new TlsListener(server, this.keepAliveMs, this.handshakeTimeoutMs, this.budget).listen(host, port);
  }

  /** {@inheritDoc Transport.dial} */
  dial(host: string, port: number): TransportConnection {
    return new SocketConnection(nodeTls().connect({ host, port, ...get_socket(false), ...this.minVersion }), this.keepAliveMs, this.budget);
  }
}
