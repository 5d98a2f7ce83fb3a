// A WebSocket seen as the byte socket a Connection reads and writes: rx2p frames go
// unchanged inside binary WebSocket messages (a message may hold part of a frame or
// several; the de-framer copes with any chunking). Written against the browser's
// WebSocket API, which the `ws` package offers too, so one adapter serves the browser's
// own WebSocket and Node's `ws` (server side and dialling).
import { WebSocketMessageTooLargeError, WebSocketProtocolError, WebSocketTextMessageError } from './ws-errors.js';

/** The part of the browser's WebSocket this adapter uses (the `ws` package has it too). */
export interface WebSocketLike {
  binaryType: string;
  readonly readyState: number;
  readonly bufferedAmount: number;
  send(data: Uint8Array): void;
  close(code?: number, reason?: string): void;
  addEventListener(type: 'open' | 'message' | 'close' | 'error', listener: (event: any) => void): void; // eslint-disable-line @typescript-eslint/no-explicit-any
  /** `ws` only: closes at once without the closing handshake. */
  terminate?: () => void;
}

type Listener = (...args: any[]) => void; // eslint-disable-line @typescript-eslint/no-explicit-any

const OPEN = 1;
/** How often a full send buffer is looked at again (WebSocket has no 'drain' event). */
const DRAIN_POLL_MS = 5;

export interface WsSocketOptions {
  /** The peer's address, when known (server side: the HTTP request's socket). */
  remoteAddress?: string;
  remotePort?: number;
  /** The message size limit the `ws` server enforces, named in its typed error. */
  maxMessageBytes?: number;
  /** write() returns false from this many buffered bytes. Default 64 KiB. */
  highWaterMark?: number;
}

/**
 * The subset of a net.Socket a Connection uses (write, cork, writableLength, 'data',
 * 'drain', 'close', destroy), over a WebSocket. Bytes written before the WebSocket is
 * open are held and sent on open. A text message, an oversized message or a protocol
 * error ends it with a typed error, as a bad frame ends a TCP connection.
 */
export class WsSocket {
  /** Tells the router this connection came over WebSocket (see MeshOptions.webSocketPort). */
  readonly isWebSocket = true;
  readonly remoteAddress: string | undefined;
  readonly remotePort: number | undefined;
  readonly writableHighWaterMark: number;
  destroyed = false;
  private readonly listeners = new Map<string, Listener[]>();
  private held: Uint8Array[] = [];
  private heldBytes = 0;
  private drainTimer: ReturnType<typeof setTimeout> | undefined;
  private failure: Error | undefined;
  private closeEmitted = false;

  constructor(readonly ws: WebSocketLike, private readonly options: WsSocketOptions = {}) {
    this.remoteAddress = options.remoteAddress;
    this.remotePort = options.remotePort;
    this.writableHighWaterMark = options.highWaterMark ?? 64 * 1024;
    ws.binaryType = 'arraybuffer';
    ws.addEventListener('open', () => this.onOpen());
    ws.addEventListener('message', (event: { data: unknown }) => this.onMessage(event.data));
    ws.addEventListener('error', (event: { error?: Error; message?: string }) => this.onError(event));
    ws.addEventListener('close', () => this.onClose());
  }

  // ------------------------------------------------------------ net.Socket's surface

  setNoDelay(): this { return this; }
  setKeepAlive(): this { return this; }

  on(event: string, listener: Listener): this {
    const list = this.listeners.get(event);
    if (list) list.push(listener);
    else this.listeners.set(event, [listener]);
    return this;
  }

  once(event: string, listener: Listener): this {
    const wrapper: Listener = (...args) => {
      this.off(event, wrapper);
      listener(...args);
    };
    (wrapper as { inner?: Listener }).inner = listener;
    return this.on(event, wrapper);
  }

  off(event: string, listener: Listener): this {
    const list = this.listeners.get(event);
    if (!list) return this;
    const i = list.findIndex((l) => l === listener || (l as { inner?: Listener }).inner === listener);
    if (i >= 0) list.splice(i, 1);
    return this;
  }

  removeListener(event: string, listener: Listener): this {
    return this.off(event, listener);
  }

  /** Bytes written and not yet on the wire: WebSocket's buffer and what waits for open. */
  get writableLength(): number {
    return (this.ws.readyState === OPEN ? this.ws.bufferedAmount : 0) + this.heldBytes;
  }

  /** Sends one binary message (or gathers it while corked). False when the backlog is at the high-water mark. */
  write(chunk: Uint8Array): boolean {
    if (this.destroyed) return false;
    this.sendNow(chunk);
    const below = this.writableLength < this.writableHighWaterMark;
    if (!below) this.watchDrain();
    return below;
  }

  /**
   * Corking changes nothing: each write is a message of its own, so that no message is
   * longer than one frame (the peer's maxWebSocketMessageBytes is sized on frames).
   */
  cork(): void {}
  uncork(): void {}

  destroy(error?: Error): this {
    if (this.destroyed) return this;
    this.destroyed = true;
    this.failure ??= error;
    this.held = [];
    this.heldBytes = 0;
    if (this.drainTimer !== undefined) clearTimeout(this.drainTimer);
    try {
      if (this.ws.terminate) this.ws.terminate();
      else this.ws.close(error ? 1008 : 1000);
    } catch {
      // Closing a WebSocket still connecting throws in some browsers; it is dropped either way.
    }
    // The browser's WebSocket says 'close' only after its closing handshake: the
    // connection is over for this node now.
    if (!this.ws.terminate) setTimeout(() => this.onClose(), 0);
    return this;
  }

  // ------------------------------------------------------------ WebSocket events

  private emit(event: string, ...args: unknown[]): void {
    const list = this.listeners.get(event);
    if (!list) return;
    for (const l of [...list]) l(...args);
  }

  private sendNow(chunk: Uint8Array): void {
    if (this.ws.readyState !== OPEN) {
      this.held.push(chunk);
      this.heldBytes += chunk.length;
      return;
    }
    this.ws.send(chunk);
  }

  private onOpen(): void {
    if (this.destroyed) return;
    const held = this.held;
    this.held = [];
    this.heldBytes = 0;
    for (const chunk of held) this.ws.send(chunk);
    this.emit('connect');
  }

  private onMessage(data: unknown): void {
    if (this.destroyed) return;
    if (typeof data === 'string') return void this.destroy(new WebSocketTextMessageError());
    const bytes = data instanceof ArrayBuffer ? Buffer.from(data) : data as Buffer;
    this.emit('data', bytes);
  }

  private onError(event: { error?: Error; message?: string }): void {
    const cause = event.error;
    const code = (cause as { code?: string } | undefined)?.code;
    if (code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') this.failure ??= new WebSocketMessageTooLargeError(this.options.maxMessageBytes ?? 0);
    else if (code !== undefined && code.startsWith('WS_ERR_')) this.failure ??= new WebSocketProtocolError(cause!.message, { cause });
    else this.failure ??= cause ?? new WebSocketProtocolError(event.message ?? 'the WebSocket failed');
  }

  private onClose(): void {
    if (this.closeEmitted) return;
    this.closeEmitted = true;
    this.destroyed = true;
    if (this.drainTimer !== undefined) clearTimeout(this.drainTimer);
    if (this.failure) this.emit('error', this.failure);
    this.emit('close', this.failure !== undefined);
    this.listeners.clear();
  }

  /** WebSocket has no 'drain': the buffer is looked at until it is below the mark. */
  private watchDrain(): void {
    if (this.drainTimer !== undefined) return;
    const poll = () => {
      this.drainTimer = undefined;
      if (this.destroyed) return;
      if (this.writableLength < this.writableHighWaterMark) this.emit('drain');
      else this.drainTimer = setTimeout(poll, DRAIN_POLL_MS);
    };
    this.drainTimer = setTimeout(poll, DRAIN_POLL_MS);
  }
}
