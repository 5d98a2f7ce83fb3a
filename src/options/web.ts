// The WebSocket listener option (its fields: src/transport/ws-options.ts). Part of the
// options table (src/options/table.ts, src/options.ts).
import { resolveWebSocketOptions, type ResolvedWebSocketOptions, type WebSocketOptions } from '../transport/ws-options.js';
import { opt } from './table.js';

/** A WebSocket listener beside the TCP one. */
export const webOptions = {
  /** A WebSocket listener beside the TCP one (browsers join through it). Default: none. See WebSocketOptions. */
  webSocket: opt<WebSocketOptions, ResolvedWebSocketOptions | undefined>((v, _given, r) => resolveWebSocketOptions(v, r as { maxFrameBytes: number; handshakeTimeoutMs: number })),
};
