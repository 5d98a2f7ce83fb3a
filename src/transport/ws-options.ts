// Options of a node's WebSocket listener (MeshOptions.webSocket).
import type * as http from 'node:http';
import { InvalidArgumentError } from '../errors.js';

/** The WebSocket listener of a node (MeshOptions.webSocket): port, host, advertised URL, allowed origins, bounds, and a handler for plain HTTP requests. */
export interface WebSocketOptions {
  /** Port of the WebSocket listener; 0 picks a free one. */
  port: number;
  /** Address to bind. Default: the node's own bind address. */
  host?: string;
  /**
   * The URL advertised to rx2p peers and browsers (rx2p-web). Default
   * ws://HOST:PORT with the node's advertised host and the bound port.
   */
  url?: string;
  /**
   * Browser origins admitted besides the page's own (e.g. ['https://mesh.example']).
   * A request with an Origin header is accepted only from the node's own origin
   * (http(s):// + its Host) or one of these, and only with a Host header that is an IP
   * literal, localhost, the host of url or of one of these origins (DNS rebinding);
   * anything else gets 403 (ERR_WS_ORIGIN, ERR_WS_HOST). Upgrades without an Origin
   * (rx2p nodes dialling over ws://, never a browser) are not checked. Default: none.
   */
  origins?: string[];
  /** Largest WebSocket message (refused before buffering). Default maxFrameBytes + 4 (one frame). */
  maxMessageBytes?: number;
  /** A connection whose upgrade request is not complete by then is closed. Default handshakeTimeoutMs. */
  upgradeTimeoutMs?: number;
  /** Serves plain HTTP requests on the same port (the web page of `rx2p --web`). Default: 426. */
  onRequest?: (req: http.IncomingMessage, res: http.ServerResponse) => void;
}

export interface ResolvedWebSocketOptions {
  port: number;
  host: string | undefined;
  url: string | undefined;
  origins: string[] | undefined;
  maxMessageBytes: number;
  upgradeTimeoutMs: number;
  onRequest: WebSocketOptions['onRequest'];
}

export function resolveWebSocketOptions(
  o: WebSocketOptions | undefined,
  base: { maxFrameBytes: number; handshakeTimeoutMs: number },
): ResolvedWebSocketOptions | undefined {
  if (o === undefined) return undefined;
  const int = (name: string, v: number | undefined, fallback: number, min: number): number => {
    const x = v ?? fallback;
    if (!Number.isInteger(x) || x < min) throw new InvalidArgumentError(`option webSocket.${name} must be an integer >= ${min}, got ${String(v)}`);
    return x;
  };
  if (!Number.isInteger(o.port) || o.port < 0 || o.port > 65535) throw new InvalidArgumentError('option webSocket.port must be an integer 0..65535');
  if (o.origins !== undefined && (!Array.isArray(o.origins) || o.origins.some((x) => typeof x !== 'string'))) {
    throw new InvalidArgumentError('option webSocket.origins must be a list of origins');
  }
  if (o.url !== undefined && !/^wss?:\/\/./.test(o.url)) throw new InvalidArgumentError('option webSocket.url must be a ws:// or wss:// URL');
  return {
    port: o.port,
    host: o.host,
    url: o.url,
    origins: o.origins ? [...o.origins] : undefined,
    maxMessageBytes: int('maxMessageBytes', o.maxMessageBytes, base.maxFrameBytes + 4, 64),
    upgradeTimeoutMs: int('upgradeTimeoutMs', o.upgradeTimeoutMs, base.handshakeTimeoutMs, 1),
    onRequest: o.onRequest,
  };
}
