// Errors of the WebSocket transport (same MeshError family, stable codes).
import { MeshError } from '../errors.js';

/** A WebSocket message larger than maxWebSocketMessageBytes (refused by ws before it is buffered). */
export class WebSocketMessageTooLargeError extends MeshError {
  constructor(
    /** The bound it passed (maxMessageBytes). */
    readonly limit: number,
  ) {
    super('ERR_WS_MESSAGE_TOO_LARGE', `a WebSocket message was larger than ${limit} bytes`);
  }
}
/** A WebSocket text message: rx2p frames travel in binary messages only. */
export class WebSocketTextMessageError extends MeshError {
  constructor() { super('ERR_WS_TEXT_MESSAGE', 'a WebSocket text message (frames travel as binary messages)'); }
}
/** A browser request (WebSocket upgrade or page) from an origin that is neither the page's own nor named in webSocket.origins. */
export class WebSocketOriginError extends MeshError {
  constructor(
    /** The Origin header that was refused. */
    readonly origin: string,
  ) {
    super('ERR_WS_ORIGIN', `request refused: origin ${JSON.stringify(origin.slice(0, 200))} is not allowed`);
  }
}
/** Bytes on the WebSocket port that are not a WebSocket upgrade (bad HTTP, a plain request, garbage). */
export class NotWebSocketError extends MeshError {
  constructor(detail: string) { super('ERR_NOT_WEBSOCKET', `not a WebSocket client: ${detail}`); }
}
/** The WebSocket protocol failed (bad frame, bad close, unmasked client frame, ...). */
export class WebSocketProtocolError extends MeshError {
  constructor(detail: string, options?: { cause?: unknown }) {
    super('ERR_WS_PROTOCOL', `WebSocket protocol error: ${detail}`, options);
  }
}
/** An HTTP request or WebSocket upgrade naming a Host this node does not answer to (DNS rebinding). */
export class WebSocketHostError extends MeshError {
  constructor(
    /** The Host header that was refused. */
    readonly host: string,
  ) {
    super('ERR_WS_HOST', `request refused: Host ${JSON.stringify(host.slice(0, 200))} is not one this node answers to`);
  }
}
