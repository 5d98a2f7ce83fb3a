// The WebSocket listener (Node only): an HTTP server whose upgrades become mesh
// connections. The same server can answer plain HTTP (the page of `rx2p --web`).
// A TCP connection in its HTTP phase is a pending connection to the mesh (counted
// against maxAwaiting and maxConnections, as a TLS handshake in progress is); what the
// listener refuses (not a WebSocket, a bad origin) is a typed pending-failed notice.
import type * as http from 'node:http';
import { createRequire } from 'node:module';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { Observable, Subject } from 'rxjs';
import type { WebSocket, WebSocketServer } from 'ws';
import { HandshakeTimeoutError } from '../errors.js';
import type { BoundAddress, Listener, ListenerNotice, PendingConnection, TransportConnection } from './transport.js';
import { NotWebSocketError, WebSocketHostError, WebSocketOriginError } from './ws-errors.js';
import type { ReadBudget } from './byte-source.js';
import { OriginPolicy } from './ws-origin.js';
import { WsConnection, WsTransport, type WebSocketLike } from './ws.js';

export interface WsListenerOptions extends ReadBudget {
  /** Largest WebSocket message accepted (ws refuses a longer one before buffering it). */
  maxMessageBytes: number;
  /** Origins admitted besides the page's own (see ws-origin.ts); an upgrade with no Origin is not a browser's. */
  origins?: readonly string[];
  /** Host names answered besides IP literals and localhost (the host of webSocket.url, the bind name). */
  hosts?: readonly string[];
  /** A connection that has not completed its upgrade request by then is closed. */
  upgradeTimeoutMs: number;
  /** write() to a WebSocket returns false from this many buffered bytes. */
  highWaterMark?: number;
  /** Answers plain HTTP requests (the web page); without it they get 426 Upgrade Required. */
  onRequest?: (req: http.IncomingMessage, res: http.ServerResponse) => void;
}

// `ws` and node:http (with what ws loads: https, tls, zlib) are loaded on first use, as
// node:tls is: a node that never uses WebSocket does not pay their memory.
const load = createRequire(import.meta.url);
let modules: { http: typeof http; ws: typeof import('ws') } | undefined;
function lazy(): { http: typeof http; ws: typeof import('ws') } {
  return (modules ??= { http: load('node:http') as typeof http, ws: load('ws') as typeof import('ws') });
}

/** A TCP connection to the WebSocket port before its upgrade. */
class PendingUpgrade implements PendingConnection {
  readonly remoteAddress: string | undefined;
  readonly remotePort: number | undefined;
  readonly closed: Promise<void>;

  constructor(private readonly socket: Socket) {
    this.remoteAddress = socket.remoteAddress;
    this.remotePort = socket.remotePort;
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/** Accepts WebSocket connections on an HTTP server. Nothing a client sends can throw out of it. */
export class WsListener implements Listener {
  readonly server: http.Server;
  readonly accepted$: Observable<TransportConnection>;
  readonly notices$: Observable<ListenerNotice>;
  private readonly wss: WebSocketServer;
  private readonly acceptedSubject = new Subject<TransportConnection>();
  private readonly noticeSubject = new Subject<ListenerNotice>();
  private readonly raw = new Set<Socket>();
  private readonly sockets = new Set<WebSocket>();
  private bound: BoundAddress = { address: '', port: 0 };
  /** The upgrade timeout's listener on each raw socket (dropped once it serves plain HTTP). */
  private readonly upgradeTimers = new WeakMap<Socket, () => void>();
  private readonly policy: OriginPolicy;

  constructor(private readonly options: WsListenerOptions) {
    this.policy = new OriginPolicy(options.origins, options.hosts);
    this.accepted$ = this.acceptedSubject.asObservable();
    this.notices$ = this.noticeSubject.asObservable();
    const { http, ws } = lazy();
    this.wss = new ws.WebSocketServer({ noServer: true, maxPayload: options.maxMessageBytes, perMessageDeflate: false, clientTracking: false });
    // A bad upgrade request (no key, wrong version): ws has answered 400 and closed the socket.
    this.wss.on('wsClientError', (err: Error, socket: Duplex) => this.fail(socket, new NotWebSocketError(err.message)));
    this.server = http.createServer({
      requestTimeout: options.upgradeTimeoutMs,
      headersTimeout: options.upgradeTimeoutMs,
      maxHeaderSize: 16 * 1024,
    });
    this.server.on('connection', (socket: Socket) => {
      socket.on('error', () => undefined);
      socket.setNoDelay(true);
      this.raw.add(socket);
      socket.once('close', () => this.raw.delete(socket));
      // Node's own request timeouts are checked only every 30 s: a silent connection is
      // timed out here, to the millisecond (ws clears the timeout once upgraded).
      const onTimeout = () => this.fail(socket, new HandshakeTimeoutError(options.upgradeTimeoutMs), 408);
      this.upgradeTimers.set(socket, onTimeout);
      socket.setTimeout(options.upgradeTimeoutMs, onTimeout);
      this.noticeSubject.next({ type: 'pending', conn: new PendingUpgrade(socket) });
    });
    this.server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => this.onUpgrade(req, socket, head));
    this.server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => this.onRequest(req, res));
    this.server.on('clientError', (err: Error & { code?: string }, socket: Duplex) => {
      const error = err.code === 'ERR_HTTP_REQUEST_TIMEOUT' || err.code === 'ERR_HTTP_HEADERS_TIMEOUT'
        ? new HandshakeTimeoutError(options.upgradeTimeoutMs) : new NotWebSocketError(err.code ?? err.message);
      this.fail(socket, error, error instanceof HandshakeTimeoutError ? 408 : 400);
    });
  }

  /** Binds; resolves once it listens, rejects if it cannot. */
  listen(host: string, port: number): Promise<this> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        this.server.on('error', (error: Error) => this.noticeSubject.next({ type: 'error', error }));
        const a = this.server.address() as { address: string; port: number; family: string };
        this.bound = { address: a.address, port: a.port, family: a.family };
        resolve(this);
      });
    });
  }

  get address(): BoundAddress {
    return this.bound;
  }

  /** TCP connections open on the port (upgraded or not). */
  get connectionCount(): number {
    return this.raw.size;
  }

  async close(): Promise<void> {
    const closed = new Promise<void>((r) => this.server.close(() => r()));
    for (const ws of this.sockets) ws.terminate();
    for (const s of this.raw) s.destroy();
    await closed;
    this.wss.close();
    this.acceptedSubject.complete();
    this.noticeSubject.complete();
  }

  private onUpgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): void {
    const refused = this.refusal(req, false);
    if (refused) return this.fail(socket, refused, 403);
    if ((req.headers.upgrade ?? '').toLowerCase() !== 'websocket') {
      return this.fail(socket, new NotWebSocketError(`upgrade to ${JSON.stringify(String(req.headers.upgrade).slice(0, 40))}`), 400);
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      this.sockets.add(ws);
      ws.once('close', () => this.sockets.delete(ws));
      const tcp = req.socket;
      this.acceptedSubject.next(new WsConnection(ws as unknown as WebSocketLike, {
        remoteAddress: tcp.remoteAddress,
        remotePort: tcp.remotePort,
        maxMessageBytes: this.options.maxMessageBytes,
        highWaterMark: this.options.highWaterMark,
        binaryType: 'nodebuffer',
        readBudgetMs: this.options.readBudgetMs,
        readBudgetBytes: this.options.readBudgetBytes,
        // It may be a browser: it cannot be dialled at the address it gives.
        listed: false,
      }));
    });
  }

  /**
   * Why a request from a browser is refused (403), if it is: a Host no rebinding could
   * forge, then an origin that is the page's own or a named one. An upgrade with no
   * Origin (a node dialling over ws://) is not a browser's; a page request always is.
   */
  private refusal(req: http.IncomingMessage, page: boolean): Error | undefined {
    const { origin, host } = req.headers;
    if ((origin !== undefined || page) && !this.policy.hostAllowed(host)) return new WebSocketHostError(host ?? '(none)');
    if (!this.policy.originAllowed(origin, host)) return new WebSocketOriginError(origin ?? '(none)');
    return undefined;
  }

  private onRequest(req: http.IncomingMessage, res: http.ServerResponse): void {
    const refused = this.options.onRequest && this.refusal(req, true);
    if (refused) {
      res.writeHead(403, { 'content-type': 'text/plain', connection: 'close' });
      res.end('forbidden: this node answers its own page only\n');
      this.noticeSubject.next({ type: 'pending-failed', conn: new PendingUpgrade(req.socket), error: refused });
      return;
    }
    if (this.options.onRequest) {
      // A named origin may read what the page reads (state.json), as the page's own does.
      const origin = req.headers.origin;
      if (origin !== undefined) res.setHeader('access-control-allow-origin', origin).setHeader('vary', 'origin');
      // An HTTP client of the page, not a peer that is late: the HTTP server's own
      // keep-alive timeout ends it, with no error to record.
      const onTimeout = this.upgradeTimers.get(req.socket);
      if (onTimeout) req.socket.off('timeout', onTimeout);
      return this.options.onRequest(req, res);
    }
    res.writeHead(426, { 'content-type': 'text/plain', connection: 'close' });
    res.end('this port speaks WebSocket (rx2p mesh) only\n');
    this.fail(req.socket, new NotWebSocketError(`plain HTTP ${String(req.method).slice(0, 16)}`), 0);
  }

  /** Refuses a connection in its HTTP phase with a typed error (a pending-failed notice). */
  private fail(socket: Duplex, error: Error, status = 400): void {
    const s = socket as Socket;
    if (status > 0 && s.writable) {
      s.end(`HTTP/1.1 ${status} ${lazy().http.STATUS_CODES[status] ?? 'Bad Request'}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`);
    }
    this.noticeSubject.next({ type: 'pending-failed', conn: new PendingUpgrade(s), error });
    s.destroy();
  }
}

/** WebSocket for a Node node: dials with `ws`, listens with WsListener. */
export function nodeWsTransport(options: WsListenerOptions): WsTransport {
  return new WsTransport({
    connect: (url) => new (lazy().ws.WebSocket)(url, { maxPayload: options.maxMessageBytes, perMessageDeflate: false }) as unknown as WebSocketLike,
    listen: (host, port) => new WsListener(options).listen(host, port),
    maxMessageBytes: options.maxMessageBytes,
    binaryType: 'nodebuffer',
    readBudgetMs: options.readBudgetMs,
    readBudgetBytes: options.readBudgetBytes,
  });
}
