// The Node-only part of a MeshSocket's start: the default transport (TCP or TLS), and
// listening on it and, with MeshOptions.webSocket, on a WebSocket listener beside it.
import { EMPTY, from, mergeMap, type Observable } from 'rxjs';
import type { ResolvedOptions } from './options.js';
import type { Protocol } from './protocol/protocol.js';
import type { ReadBudget } from './transport/byte-source.js';
import { TcpTransport } from './transport/tcp.js';
import { TlsTransport } from './transport/tls.js';
import type { Listener, ListenerNotice, Transport, TransportConnection } from './transport/transport.js';
import { nodeWsTransport } from './transport/ws-listener.js';
import { urlHost } from './transport/ws-origin.js';
import type { WsTransport } from './transport/ws.js';
import { isAuthenticated, usesTls } from './trust/protocol.js';

/** The per-turn read budget of the options, as every transport takes it. */
function readBudget(o: ResolvedOptions): ReadBudget {
  return { readBudgetMs: o.readBudgetMs, readBudgetBytes: o.readBudgetBytes };
}

/** TCP for py2p's Plaintext, TLS for its SSL; keepalive, certificates and read budget from the options. */
export function defaultTransport(protocol: Protocol, o: ResolvedOptions): Transport {
  return usesTls(protocol)
    ? new TlsTransport({
      keepAliveMs: o.keepAliveMs, handshakeTimeoutMs: o.handshakeTimeoutMs, certificate: o.tls,
      ...readBudget(o),
      // The authenticated protocol binds its proofs to TLS 1.3's exported keying material.
      minVersion: isAuthenticated(protocol) ? 'TLSv1.3' : undefined,
    })
    : new TcpTransport({ keepAliveMs: o.keepAliveMs, ...readBudget(o) });
}

/** What listen() started: both listeners once bound, the WebSocket transport, and the router's view of them. */
export interface Listening {
  /** The transport's listener and the WebSocket one (if any); rejects if either cannot listen (the other is let go). */
  listening: Promise<[Listener, Listener | undefined]>;
  ws: WsTransport | undefined;
  accepted$: Observable<TransportConnection>;
  notices$: Observable<ListenerNotice>;
}

/** Listens on addr:port with `transport`, and on the WebSocket listener of options.webSocket. */
export function listen(transport: Transport, addr: string, port: number, options: ResolvedOptions): Listening {
  const wsOptions = options.webSocket;
  const tcpListening = transport.listen(addr, port);
  const ws = wsOptions && nodeWsTransport({
    maxMessageBytes: wsOptions.maxMessageBytes,
    origins: wsOptions.origins,
    hosts: [wsOptions.url, wsOptions.host, addr].flatMap((h) => {
      const name = h === undefined ? undefined : h.includes('://') ? urlHost(h) : h;
      return name === undefined ? [] : [name];
    }),
    upgradeTimeoutMs: wsOptions.upgradeTimeoutMs,
    onRequest: wsOptions.onRequest,
    ...readBudget(options),
  });
  const wsListening = ws ? ws.listen(wsOptions!.host ?? addr, wsOptions!.port) : Promise.resolve(undefined);
  const listening = Promise.all([tcpListening, wsListening]).catch(async (err: unknown) => {
    // One bound and the other not: the bound one is let go.
    for (const r of await Promise.allSettled([tcpListening, wsListening])) if (r.status === 'fulfilled') await r.value?.close();
    throw err;
  });
  // The router's view of the listeners: nothing until they listen, nothing if one cannot
  // (that failure is ready's).
  const listener$ = from(listening.then((ls) => ls.filter((l): l is Listener => l !== undefined), () => [] as Listener[])).pipe(mergeMap((ls) => from(ls)));
  return {
    listening,
    ws,
    accepted$: listener$.pipe(mergeMap((l) => l?.accepted$ ?? EMPTY)),
    notices$: listener$.pipe(mergeMap((l) => l?.notices$ ?? EMPTY)),
  };
}

/** A WebSocket transport for ws:// dials alone (a node without a WebSocket listener). */
export function dialOnlyWsTransport(o: ResolvedOptions): WsTransport {
  return nodeWsTransport({ maxMessageBytes: o.maxFrameBytes + 4, upgradeTimeoutMs: o.handshakeTimeoutMs });
}
