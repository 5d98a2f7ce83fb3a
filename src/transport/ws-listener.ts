// The WebSocket listener of a node (Node only): an HTTP server whose upgrades become
// mesh connections. The same server can serve the web page (`rx2p --web`).
import * as http from 'node:http';
import type { Duplex } from 'node:stream';
import { Observable, Subject } from 'rxjs';
import { WebSocketServer, type WebSocket } from 'ws';
import { ConnectionLimitError } from '../errors.js';
import { NotWebSocketError, WebSocketOriginError } from './ws-errors.js';
import { WsSocket } from './ws-socket.js';

export interface WsListenerOptions {
  /** Largest WebSocket message accepted (ws refuses a longer one before buffering it). */
  maxMessageBytes: number;
  /** If set, only upgrades whose Origin header is in this list are accepted (browsers send it). */
  origins: readonly string[] | undefined;
  /** TCP connections still in their HTTP phase (not yet upgraded), at most. */
  maxPending: number;
  /** A connection that has not completed its upgrade request by then is closed. */
  upgradeTimeoutMs: number;
  /** write() to a WebSocket returns false from this many buffered bytes. */
  highWaterMark?: number;
  /** Answers plain HTTP requests (the web page); without it they get 426 Upgrade Required. */
  onRequest?: (req: http.IncomingMessage, res: http.ServerResponse) => void;
}

/**
 * Accepts WebSocket connections and hands each, as a WsSocket, to `accepted$`. What it
 * refuses (bad origin, not a WebSocket, too many pending) goes to `errors$` as typed
 * errors; nothing a client sends here can throw out of it.
 */
export class WsListener {
  readonly server: http.Server;
  readonly accepted$: Observable<WsSocket>;
  readonly errors$: Observable<{ error: Error; peer: string }>;
  private readonly wss: WebSocketServer;
  private readonly acceptedSubject = new Subject<WsSocket>();
  private readonly errorSubject = new Subject<{ error: Error; peer: string }>();
  /** Raw connections not yet upgraded. */
  private readonly pending = new Set<Duplex>();
  private readonly all = new Set<Duplex>();
  private readonly sockets = new Set<WebSocket>();

  constructor(private readonly options: WsListenerOptions) {
    this.accepted$ = this.acceptedSubject.asObservable();
    this.errors$ = this.errorSubject.asObservable();
    this.wss = new WebSocketServer({ noServer: true, maxPayload: options.maxMessageBytes, perMessageDeflate: false, clientTracking: false });
    // A bad upgrade request (no key, wrong version): ws has answered 400 and closed the socket.
    this.wss.on('wsClientError', (err: Error, socket: Duplex) => {
      this.errorSubject.next({ error: new NotWebSocketError(err.message), peer: peerOf(socket) });
    });
    this.server = http.createServer({
      requestTimeout: options.upgradeTimeoutMs,
      headersTimeout: options.upgradeTimeoutMs,
      maxHeaderSize: 16 * 1024,
    });
    this.server.on('connection', (socket: Duplex) => this.onConnection(socket));
    this.server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => this.onUpgrade(req, socket, head));
    this.server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => this.onRequest(req, res));
    this.server.on('clientError', (err: Error & { code?: string }, socket: Duplex) => {
      this.refuse(socket, new NotWebSocketError(err.code ?? err.message), 400);
    });
  }

  /** Listens; resolves to the bound port. */
  listen(port: number, host: string): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        this.server.on('error', (error: Error) => this.errorSubject.next({ error, peer: 'ws listener' }));
        resolve((this.server.address() as { port: number }).port);
      });
    });
  }

  get port(): number | undefined {
    const a = this.server.address();
    return a && typeof a === 'object' ? a.port : undefined;
  }

  /** Connections still in their HTTP phase. */
  get pendingCount(): number {
    return this.pending.size;
  }

  /** Stops listening and ends every connection it accepted. */
  async close(): Promise<void> {
    const closed = new Promise<void>((r) => this.server.close(() => r()));
    for (const ws of this.sockets) ws.terminate();
    for (const s of this.all) s.destroy();
    this.server.closeAllConnections?.();
    await closed;
    this.wss.close();
    this.acceptedSubject.complete();
    this.errorSubject.complete();
  }

  private onConnection(socket: Duplex): void {
    socket.on('error', () => undefined);
    const net = socket as Duplex & { setNoDelay?: (v: boolean) => void };
    net.setNoDelay?.(true);
    if (this.pending.size >= this.options.maxPending) {
      this.errorSubject.next({ error: new ConnectionLimitError('awaiting handshake', this.options.maxPending), peer: peerOf(socket) });
      socket.destroy();
      return;
    }
    this.pending.add(socket);
    this.all.add(socket);
    socket.once('close', () => {
      this.pending.delete(socket);
      this.all.delete(socket);
    });
  }

  private onUpgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): void {
    const origin = req.headers.origin;
    const allowed = this.options.origins;
    if (allowed !== undefined && (origin === undefined || !allowed.includes(origin))) {
      return this.refuse(socket, new WebSocketOriginError(origin ?? '(none)'), 403);
    }
    if ((req.headers.upgrade ?? '').toLowerCase() !== 'websocket') {
      return this.refuse(socket, new NotWebSocketError(`upgrade to ${JSON.stringify(String(req.headers.upgrade).slice(0, 40))}`), 400);
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      this.pending.delete(socket);
      this.sockets.add(ws);
      ws.once('close', () => this.sockets.delete(ws));
      const tcp = req.socket;
      this.acceptedSubject.next(new WsSocket(ws as never, {
        remoteAddress: tcp.remoteAddress,
        remotePort: tcp.remotePort,
        maxMessageBytes: this.options.maxMessageBytes,
        highWaterMark: this.options.highWaterMark,
      }));
    });
  }

  private onRequest(req: http.IncomingMessage, res: http.ServerResponse): void {
    if (this.options.onRequest) return this.options.onRequest(req, res);
    this.errorSubject.next({ error: new NotWebSocketError(`plain HTTP ${req.method}`), peer: peerOf(req.socket) });
    res.writeHead(426, { 'content-type': 'text/plain', connection: 'close' });
    res.end('this port speaks WebSocket only\n');
  }

  private refuse(socket: Duplex, error: Error, status: number): void {
    this.errorSubject.next({ error, peer: peerOf(socket) });
    if (socket.writable) {
      const text = http.STATUS_CODES[status] ?? 'Bad Request';
      socket.end(`HTTP/1.1 ${status} ${text}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`);
    }
    socket.destroy();
  }
}

function peerOf(socket: Duplex): string {
  const s = socket as Duplex & { remoteAddress?: string; remotePort?: number };
  return s.remoteAddress ? `${s.remoteAddress}:${s.remotePort}` : 'unknown peer';
}
