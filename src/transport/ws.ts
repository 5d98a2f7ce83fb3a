// WebSocket under the seam: rx2p frames go unchanged inside binary WebSocket messages
// (a message may hold part of a frame or several; the de-framer copes with any
// chunking). Written against the browser's WebSocket API, which the `ws` package offers
// too, so one connection class serves a browser tab and a Node node. This module is
// browser-safe; the listener (Node only) is in ws-listener.ts.
import type { Observable } from 'rxjs';
import { budgetOptions, ByteSource, type ReadBudget } from './byte-source.js';
import { WebSocketMessageTooLargeError, WebSocketProtocolError, WebSocketTextMessageError } from './ws-errors.js';
import type { Listener, Transport, TransportConnection } from './transport.js';

/** The part of the browser's WebSocket this transport uses (the `ws` package has it too). */
export interface WebSocketLike {
  /** What the socket delivers binary messages as (`'arraybuffer'` in browsers, `'nodebuffer'` with ws). */
  binaryType: string;
  /** 0 connecting, 1 open, 2 closing, 3 closed, as the WebSocket standard. */
  readonly readyState: number;
  /** Bytes queued by send() and not yet handed to the network. */
  readonly bufferedAmount: number;
  /** `ws` calls `done` once the message is written to its socket (a browser takes no callback). */
  send(data: Uint8Array, done?: (err?: Error) => void): void;
  /** Starts the closing handshake, with a close code and reason. */
  close(code?: number, reason?: string): void;
  /** Listens for `open`, `message`, `error` and `close`, as the WebSocket standard. */
  addEventListener(type: 'open' | 'message' | 'close' | 'error', listener: (event: any) => void): void; // eslint-disable-line @typescript-eslint/no-explicit-any
  /** `ws` only: closes at once, without the closing handshake. */
  terminate?: () => void;
  /** `ws` only: its EventEmitter side, which skips an Event object per message. */
  on?: (event: string, listener: (...args: any[]) => void) => void; // eslint-disable-line @typescript-eslint/no-explicit-any
  /** `ws` only: stops (and restarts) reading its socket. A browser's WebSocket cannot. */
  pause?: () => void;
  /** `ws` only: reads its socket again after pause(). */
  resume?: () => void;
}

const CONNECTING = 0;
const OPEN = 1;
/** How often a full send buffer is looked at again (WebSocket has no 'drain' event). */
const DRAIN_POLL_MS = 5;

export interface WsConnectionOptions extends ReadBudget {
  /** The peer's address, when known (server side: the HTTP request's socket). */
  remoteAddress?: string;
  remotePort?: number;
  /** The message size limit the `ws` side enforces, named in its typed error. */
  maxMessageBytes?: number;
  /** write() returns false from this many buffered bytes. Default 64 KiB. */
  highWaterMark?: number;
  /** False for a peer that cannot be dialled back (one that came in over WebSocket). */
  listed?: boolean;
  /** 'nodebuffer' with `ws` (no ArrayBuffer copy); a browser has 'arraybuffer' only. */
  binaryType?: 'arraybuffer' | 'nodebuffer';
}

/**
 * One WebSocket as a TransportConnection. Bytes written before it is open are held and
 * sent on open. A text message, an oversized message or a WebSocket protocol error ends
 * it with a typed error, as a bad frame ends a TCP connection.
 */
export class WsConnection implements TransportConnection {
  /** {@inheritDoc TransportConnection.bytes$} */
  readonly bytes$: Observable<Uint8Array>;
  /** {@inheritDoc TransportConnection.closed} */
  readonly closed: Promise<void>;
  /** {@inheritDoc TransportConnection.writableHighWaterMark} */
  readonly writableHighWaterMark: number;
  /** {@inheritDoc TransportConnection.remoteAddress} */
  readonly remoteAddress: string | undefined;
  /** {@inheritDoc TransportConnection.remotePort} */
  readonly remotePort: number | undefined;
  /** {@inheritDoc TransportConnection.listed} */
  readonly listed: boolean;
  private held: Uint8Array[] = [];
  private heldBytes = 0;
  private failure: Error | undefined;
  private ended = false;
  private destroying = false;
  private markClosed!: () => void;
  private readonly source: ByteSource;
  private drainWaiters: Array<() => void> = [];
  private drainTimer: ReturnType<typeof setTimeout> | undefined;
  /**
   * With `ws`: bytes handed to send() whose write callback has not come yet. Its
   * callbacks say when the backlog drains, at once; a browser's WebSocket is polled.
   */
  private unwritten = 0;
  private readonly counted: boolean;
  private readonly onWritten: (bytes: number) => void;

  constructor(
    /** The WebSocket this connection wraps. */
    readonly ws: WebSocketLike,
    private readonly options: WsConnectionOptions = {},
  ) {
    this.remoteAddress = options.remoteAddress;
    this.remotePort = options.remotePort;
    this.writableHighWaterMark = options.highWaterMark ?? 64 * 1024;
    this.listed = options.listed ?? true;
    this.counted = typeof ws.terminate === 'function';
    this.onWritten = (bytes) => {
      this.unwritten -= bytes;
      if (this.drainWaiters.length !== 0 && this.unwritten < this.writableHighWaterMark) this.drainNow();
    };
    this.closed = new Promise((resolve) => { this.markClosed = resolve; });
    ws.binaryType = options.binaryType ?? 'arraybuffer';
    if (ws.on) {
      ws.on('open', () => this.onOpen());
      ws.on('message', (data: Uint8Array, isBinary: boolean) => this.onMessage(isBinary ? data : ''));
      ws.on('error', (error: Error) => this.onError({ error }));
      ws.on('close', () => this.onClose());
    } else {
      ws.addEventListener('open', () => this.onOpen());
      ws.addEventListener('message', (event: { data: unknown }) => this.onMessage(event.data));
      ws.addEventListener('error', (event: { error?: Error; message?: string }) => this.onError(event));
      ws.addEventListener('close', () => this.onClose());
    }
    // The shared byte source (bytes before the one subscriber are held for it). `ws`
    // pauses its socket, so TCP's window slows the peer; a browser cannot pause, and
    // there the budget and pause only hold what has arrived.
    this.source = new ByteSource({
      pause: () => { if (ws.readyState === OPEN) ws.pause?.(); },
      resume: () => { if (ws.readyState === OPEN) ws.resume?.(); },
    }, budgetOptions(options));
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

  /** {@inheritDoc TransportConnection.raw} */
  get raw(): WebSocketLike {
    return this.ws;
  }

  /** {@inheritDoc TransportConnection.destroyed} */
  get destroyed(): boolean {
    return this.destroying || this.ended;
  }

  /** Bytes written and not yet on the wire: WebSocket's buffer and what waits for open. */
  get writableLength(): number {
    if (this.counted) return this.unwritten + this.heldBytes;
    return (this.ws.readyState === OPEN ? this.ws.bufferedAmount : 0) + this.heldBytes;
  }

  /** Sends one binary message. False when the backlog is at the high-water mark. */
  write(chunk: Uint8Array): boolean {
    if (this.destroyed) return false;
    if (this.ws.readyState === CONNECTING) {
      this.held.push(chunk);
      this.heldBytes += chunk.length;
    } else if (this.ws.readyState === OPEN) {
      this.sendNow(chunk);
    }
    return this.writableLength < this.writableHighWaterMark;
  }

  /**
   * Each chunk is a message of its own: no message is then longer than one frame (the
   * peer's maxMessageBytes is sized on frames), and a view is sent without a copy.
   */
  writev(chunks: readonly Uint8Array[]): boolean {
    let below = true;
    for (const chunk of chunks) below = this.write(chunk);
    return below;
  }

  /** WebSocket has no 'drain' event: the buffer is looked at until it is below the mark. */
  onceDrain(listener: () => void): void {
    this.drainWaiters.push(listener);
    if (this.counted || this.drainTimer !== undefined) return;
    const poll = () => {
      this.drainTimer = undefined;
      if (this.destroyed) return;
      if (this.writableLength >= this.writableHighWaterMark) {
        this.drainTimer = setTimeout(poll, DRAIN_POLL_MS);
        return;
      }
      this.drainNow();
    };
    this.drainTimer = setTimeout(poll, DRAIN_POLL_MS);
  }

  private drainNow(): void {
    const waiters = this.drainWaiters;
    this.drainWaiters = [];
    for (const w of waiters) w();
  }

  private sendNow(chunk: Uint8Array): void {
    if (!this.counted) return this.ws.send(chunk);
    const bytes = chunk.length;
    this.unwritten += bytes;
    this.ws.send(chunk, () => this.onWritten(bytes));
  }

  /** {@inheritDoc TransportConnection.end} */
  end(): void {
    if (this.destroyed) return;
    this.destroying = true;
    try {
      this.ws.close(1000);
    } catch {
      this.onClose();
    }
  }

  /** {@inheritDoc TransportConnection.destroy} */
  destroy(error?: Error): void {
    if (this.destroyed) return;
    this.destroying = true;
    this.failure ??= error;
    this.held = [];
    this.heldBytes = 0;
    try {
      if (this.ws.terminate) this.ws.terminate();
      // A browser accepts only 1000 and 3000-4999 from a script: 4000 says 'closed for cause'.
      else this.ws.close(error ? 4000 : 1000);
    } catch {
      // A browser's WebSocket still connecting may throw on close; it is dropped either way.
    }
    // A browser's WebSocket says 'close' only after its closing handshake: for this
    // node the connection is over now.
    if (!this.ws.terminate) setTimeout(() => this.onClose(), 0);
  }

  private onOpen(): void {
    if (this.destroyed) return;
    // A pause asked for while connecting could not reach `ws` yet.
    if (this.source.paused) this.ws.pause?.();
    const held = this.held;
    this.held = [];
    this.heldBytes = 0;
    for (const chunk of held) this.sendNow(chunk);
  }

  private onMessage(data: unknown): void {
    if (this.destroyed) return;
    if (typeof data === 'string') return this.destroy(new WebSocketTextMessageError());
    this.source.push(data instanceof ArrayBuffer ? Buffer.from(data) : data as Uint8Array);
  }

  private onError(event: { error?: Error; message?: string }): void {
    const cause = event.error;
    const code = (cause as { code?: string } | undefined)?.code;
    if (code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') this.failure ??= new WebSocketMessageTooLargeError(this.options.maxMessageBytes ?? 0);
    else if (code !== undefined && code.startsWith('WS_ERR_')) this.failure ??= new WebSocketProtocolError(cause!.message, { cause });
    else this.failure ??= new WebSocketProtocolError(cause?.message ?? event.message ?? 'the WebSocket failed', { cause });
  }

  private onClose(): void {
    if (this.ended) return;
    this.ended = true;
    if (this.drainTimer !== undefined) clearTimeout(this.drainTimer);
    this.drainWaiters = [];
    this.source.end(this.failure);
    this.markClosed();
  }
}

/** Settings of a WsTransport: how it dials and listens, wss://, message size bound, per-turn read budget. */
export interface WsTransportOptions extends ReadBudget {
  /** Makes the WebSocket for a URL. Default: the global WebSocket (a browser's, or Node 22's). */
  connect?: (url: string) => WebSocketLike;
  /** Binds a listener (Node: ws-listener.ts); without it listen() rejects (a browser cannot listen). */
  listen?: (host: string, port: number) => Promise<Listener>;
  /** Dials wss:// instead of ws:// for (host, port). Default false. */
  secure?: boolean;
  /** Largest message accepted on a dialled connection (named in its typed error). */
  maxMessageBytes?: number;
  /** The binaryType set on dialled sockets: `'arraybuffer'` (browsers) or `'nodebuffer'` (ws). */
  binaryType?: 'arraybuffer' | 'nodebuffer';
}

/** WebSocket as a Transport: dial(host, port) opens ws://host:port/. */
export class WsTransport implements Transport {
  /** {@inheritDoc Transport.name} */
  readonly name = 'ws';
  constructor(private readonly options: WsTransportOptions = {}) {}

  /** {@inheritDoc Transport.listen} */
  listen(host: string, port: number): Promise<Listener> {
    if (!this.options.listen) return Promise.reject(new Error('this WebSocket transport cannot listen (a browser cannot)'));
    return this.options.listen(host, port);
  }

  /** {@inheritDoc Transport.dial} */
  dial(host: string, port: number): TransportConnection {
    const h = host.includes(':') ? `[${host}]` : host;
    return this.dialUrl(`${this.options.secure ? 'wss' : 'ws'}://${h}:${port}/`, host, port);
  }

  /** Opens a WebSocket to url as a TransportConnection (never throws: a failure ends bytes$). */
  dialUrl(url: string, host?: string, port?: number): TransportConnection {
    const make = this.options.connect ?? ((u: string) => new (globalThis as unknown as { WebSocket: new (u: string) => WebSocketLike }).WebSocket(u));
    let ws: WebSocketLike;
    try {
      ws = make(url);
    } catch (err) {
      ws = failedSocket(err as Error);
    }
    const o = this.options;
    return new WsConnection(ws, {
      remoteAddress: host, remotePort: port, maxMessageBytes: o.maxMessageBytes, binaryType: o.binaryType,
      readBudgetMs: o.readBudgetMs, readBudgetBytes: o.readBudgetBytes,
    });
  }
}

/** The [host, port] of a ws:// or wss:// URL (the port defaulting by scheme), or undefined. */
export function parseWsUrl(url: string): { host: string; port: number; secure: boolean } | undefined {
  const m = /^(wss?):\/\/(\[[^\]]+\]|[^/:?#]+)(?::(\d{1,5}))?(?:[/?#].*)?$/i.exec(url);
  if (!m) return undefined;
  const secure = m[1]!.toLowerCase() === 'wss';
  const port = m[3] === undefined ? (secure ? 443 : 80) : Number(m[3]);
  if (port < 1 || port > 65535) return undefined;
  return { host: m[2]!.replace(/^\[|\]$/g, ''), port, secure };
}

/** A WebSocket that failed to be made (a bad URL): it reports the error and closes. */
function failedSocket(error: Error): WebSocketLike {
  const listeners: Record<string, Array<(e: unknown) => void>> = {};
  setTimeout(() => {
    for (const l of listeners.error ?? []) l({ error });
    for (const l of listeners.close ?? []) l({});
  }, 0);
  return {
    binaryType: 'arraybuffer', readyState: 3, bufferedAmount: 0,
    send() {}, close() {},
    addEventListener(type, listener) { (listeners[type] ??= []).push(listener); },
  };
}
