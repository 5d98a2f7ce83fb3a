import type { RepairStore } from './actors/repair-store.js';
import { Repair } from './actors/repair.js';
import { EMPTY, from, merge, mergeMap, Subject, type Observable } from 'rxjs';
import { compression as supportedCompression, get_lan_ip } from './protocol/compression.js';
import { flags } from './protocol/flags.js';
import { nodeId } from './protocol/ids.js';
import type { PathfindingMessage } from './protocol/message.js';
import { Protocol } from './protocol/protocol.js';
import type { Message, MessageServer } from './protocol/user-message.js';
import { peerDiscovery } from './actors/discovery.js';
import { Router, type MeshEvent, type Packet, type RouterStats } from './actors/router.js';
import type { Connection } from './streams/connection.js';
import { TcpTransport } from './transport/tcp.js';
import { TlsTransport } from './transport/tls.js';
import type { BoundAddress, Listener, Transport } from './transport/transport.js';
import { InvalidArgumentError, SocketClosedError } from './errors.js';
import { ConnectError, MeshError } from './errors.js';
import { ProtocolError } from './protocol/errors.js';
import { resolveOptions, type MeshOptions, type ResolvedOptions } from './options.js';
import { RecvQueue } from './recv-queue.js';
import { RecvWaiters } from './recv-waiters.js';
import { isAuthenticated, usesTls } from './trust/protocol.js';
import { TrustExtension } from './actors/trust.js';
import type { Identity } from './trust/identity.js';
import { WebDirectory, type NodeView } from './actors/web.js';
import { nodeWsTransport } from './transport/ws-listener.js';
import { urlHost } from './transport/ws-origin.js';
import { parseWsUrl, type WsTransport } from './transport/ws.js';

/** mesh.py's default protocol: subnet 'mesh', Plaintext (py2p 0.2's alpha default). */
export const meshDefaultProtocol = new Protocol('mesh', 'Plaintext');

/** mesh.py's max_outgoing: the default of the maxOutgoing option. */
export const max_outgoing = 4;

/** The seed's `type` override for send(): the subflag, and (rarely) the main flag. */
/** The last argument of send(): which subflag and main flag the message goes under. */
export interface SendOptions {
  /** The subflag (py2p's `type=`): the first packet the receiver sees. Default 'broadcast'. */
  type?: string;
  /** The main flag (py2p's `flag=`), the message type on the wire. Default 'broadcast': flooded to every node, de-duplicated. */
  flag?: string;
}

export type { MeshEvent, Packet, RouterStats };

/**
 * A py2p 0.2 mesh socket. Listens on (addr, port), joins peers with connect(),
 * floods broadcasts with de-duplication, whispers to peers, and hands messages to the
 * user as the hot stream `messages$` and through `recv()`.
 *
 * ```ts
 * const node = await new MeshSocket('127.0.0.1', 0).ready;
 * node.messages$.subscribe((m) => console.log(m.sender, m.packets));
 * await node.connect('127.0.0.1', 4444);
 * node.send('hello');
 * await node.close();
 * ```
 */
export class MeshSocket implements MessageServer {
  /** The protocol (subnet and encryption) of this node; peers of another are refused. */
  readonly protocol: Protocol;
  /** Every option, resolved with its default (see MeshOptions). */
  readonly options: ResolvedOptions;
  /** Resolves (to this socket) once it listens and its id is known. */
  readonly ready: Promise<this>;
  /** Every user-visible message, once, in arrival order. Hot: no replay. Completes on close(). */
  readonly messages$: Observable<Message>;
  /** Peer connected / disconnected, and every error met (typed). Completes on close(). */
  readonly events$: Observable<MeshEvent>;
  /** py2p's debug_level: a debug line of level L goes to stderr when L < debug_level. */
  debug_level: number;

  /** What carries this node's bytes (options.transport, else TCP or TLS by the protocol's encryption). */
  readonly transport: Transport;
  private listener: Listener | undefined;
  /** The WebSocket transport (MeshOptions.webSocket): its listener, and ws:// dials. */
  private ws: WsTransport | undefined;
  private wsListener: Listener | undefined;
  /** WebSocket URLs and who is linked to whom, as rx2p peers tell it (src/actors/web.ts). */
  readonly directory: WebDirectory;
  private readonly router: Router;
  /** Repair of missed broadcasts (an extension of the router), when options.repair. */
  private readonly repair: Repair | undefined;
  private readonly messageSubject = new Subject<Message>();
  private readonly eventSubject = new Subject<MeshEvent>();
  private readonly received: RecvQueue;
  private readonly waiters: RecvWaiters;
  private readonly recentErrors: Error[] = [];
  private nodeIdValue = '';
  private outAddrValue: [string, number];
  private closedPromise: Promise<void> | undefined;

  /**
   * @param addr the address to bind ('0.0.0.0' advertises the LAN address)
   * @param port the port to bind; 0 picks a free one (the id is computed from the bound port)
   * @param options options, or the seed's positional `prot` (then `out_addr`, `debug_level`)
   */
  constructor(addr: string, port: number, options?: MeshOptions | Protocol, out_addr?: [string, number], debug_level?: number) {
    const opts: MeshOptions = options instanceof Protocol
      ? { protocol: options, outAddr: out_addr, debugLevel: debug_level }
      : { ...(options ?? {}) };
    if (typeof addr !== 'string' || !addr) throw new InvalidArgumentError('addr must be a host name or address');
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new InvalidArgumentError('port must be an integer 0..65535');
    this.options = resolveOptions(opts);
    this.protocol = opts.protocol ?? opts.prot ?? meshDefaultProtocol;
    if (!(this.protocol instanceof Protocol)) throw new InvalidArgumentError('protocol must be a Protocol');
    this.debug_level = this.options.debugLevel;
    this.received = new RecvQueue(this.options.maxQueue, this.options.maxQueueBytes, this.options.queuePolicy);
    // On options.scheduler, so that a simulation's recv() times out in virtual time.
    this.waiters = new RecvWaiters(this.received, (fn, ms) => this.options.scheduler.schedule(fn, ms));
    this.outAddrValue = this.options.outAddr ?? [addr === '0.0.0.0' ? get_lan_ip() : addr, port];
    this.messages$ = this.messageSubject.asObservable();
    this.events$ = this.eventSubject.asObservable();

    this.repair = this.options.repair ? new Repair(this.options) : undefined;
    this.transport = this.options.transport ?? defaultTransport(this.protocol, this.options);
    const wsOptions = this.options.webSocket;

    const tcpListening = this.transport.listen(addr, port);
    this.ws = wsOptions && nodeWsTransport({
      maxMessageBytes: wsOptions.maxMessageBytes,
      origins: wsOptions.origins,
      hosts: [wsOptions.url, wsOptions.host, addr].flatMap((h) => {
        const name = h === undefined ? undefined : h.includes('://') ? urlHost(h) : h;
        return name === undefined ? [] : [name];
      }),
      upgradeTimeoutMs: wsOptions.upgradeTimeoutMs,
      onRequest: wsOptions.onRequest,
    });
    const wsListening = this.ws ? this.ws.listen(wsOptions!.host ?? addr, wsOptions!.port) : Promise.resolve(undefined);
    const listening = Promise.all([tcpListening, wsListening]).catch(async (err: unknown) => {
      // One bound and the other not: the bound one is let go.
      for (const r of await Promise.allSettled([tcpListening, wsListening])) if (r.status === 'fulfilled') await r.value?.close();
      throw err;
    });
    // The router's view of the listeners: nothing until they listen, nothing if one cannot
    // (that failure is ready's).
    const listener$ = from(listening.then((ls) => ls.filter((l): l is Listener => l !== undefined), () => [] as Listener[])).pipe(mergeMap((ls) => from(ls)));
    this.directory = new WebDirectory({ ownUrl: () => this.webSocketUrl ?? null, browser: false });
    this.router = new Router({
      protocol: this.protocol,
      options: this.options,
      supported: supportedCompression,
      id: () => this.nodeIdValue,
      outAddr: () => this.outAddrValue,
      transport: this.transport,
      accepted$: listener$.pipe(mergeMap((l) => l?.accepted$ ?? EMPTY)),
      notices$: listener$.pipe(mergeMap((l) => l?.notices$ ?? EMPTY)),
      server: this,
      // Extensions (src/actors): the authenticated protocol's proofs and signatures, the
      // repair of missed broadcasts, the WebSocket directory (rx2p-web advertisements between
      // rx2p peers), peer discovery.
      extensions: [
        ...(isAuthenticated(this.protocol) ? [new TrustExtension(this.protocol, this.options)] : []),
        ...(this.repair ? [this.repair] : []),
        this.directory,
        ...(this.options.peerDiscoveryMs > 0 ? [peerDiscovery(this.options.peerDiscoveryMs)] : []),
      ],
      deliver: (m) => this.deliver(m),
      emit: (e) => this.onEvent(e),
      print: (level, ...args) => this.print(level, ...args),
    });
    this.ready = listening.then(([listener, wsListener]) => {
      this.listener = listener;
      this.wsListener = wsListener;
      if (!this.options.outAddr) this.outAddrValue = [this.outAddrValue[0], listener.address.port];
      // The authenticated protocol's id is its key's; py2p's is its address's, salted.
      this.nodeIdValue = isAuthenticated(this.protocol) ? this.options.identity!.id : this.options.userSalt === undefined
        ? nodeId(this.outAddrValue, this.protocol.id)
        : nodeId(this.outAddrValue, this.protocol.id, this.options.userSalt);
      return this;
    }, (err: unknown) => {
      this.router.command({ type: 'close' });
      throw err;
    });
    // A failed listen is reported through `ready`; keep it from counting as unhandled
    // when the caller never awaits ready.
    this.ready.catch(() => undefined);
  }

  /** The port of the WebSocket listener (MeshOptions.webSocket), once listening. */
  get webSocketPort(): number | undefined {
    return this.wsListener?.address.port;
  }

  /** The WebSocket URL this node advertises to rx2p peers and browsers, or undefined. */
  get webSocketUrl(): string | undefined {
    const port = this.webSocketPort;
    if (port === undefined) return undefined;
    const host = this.outAddrValue[0];
    return this.options.webSocket?.url ?? `ws://${host.includes(':') ? `[${host}]` : host}:${port}`;
  }

  /** Every node this one knows of (itself first), with WebSocket URLs and links, as rx2p peers tell it. */
  get topology(): NodeView[] {
    return this.directory.snapshot();
  }

  /** True for a peer that joined over WebSocket (a browser, maybe): never named in peers lists. */
  isWebSocketPeer(id: string): boolean {
    return this.router.routingTable.get(id)?.transport.listed === false;
  }

  /**
   * Joins the node whose WebSocket listener is at url (ws://HOST:PORT), as connect() does.
   * Needs MeshOptions.webSocket (its transport dials).
   */
  async connectWebSocket(url: string): Promise<boolean> {
    const target = typeof url === 'string' ? parseWsUrl(url) : undefined;
    if (target === undefined || target.secure) throw new InvalidArgumentError('url must be a ws://HOST:PORT URL');
    const transport = this.ws ?? (this.ws = nodeWsTransport({ maxMessageBytes: this.options.maxFrameBytes + 4, upgradeTimeoutMs: this.options.handshakeTimeoutMs }));
    return new Promise<boolean>((resolve, reject) => this.router.command({ type: 'connect', host: target.host, port: target.port, transport, done: { resolve, reject } }));
  }

  /** Creates a socket and waits until it listens. */
  static async create(addr: string, port: number, options?: MeshOptions): Promise<MeshSocket> {
    return new MeshSocket(addr, port, options).ready;
  }

  // ---------------------------------------------------------------- identity

  /** This node's id (base_58 of SHA-384); '' until `ready` resolves. */
  get id(): string {
    return this.nodeIdValue;
  }

  /** Authenticated protocol: this node's key pair (its id is the hash of the public key). */
  get identity(): Identity | undefined {
    return this.options.identity;
  }

  /** The [host, port] this node advertises. */
  get out_addr(): [string, number] {
    return this.outAddrValue;
  }
  /** The [host, port] this node advertises (py2p's out_addr); it enters the node id. */
  get outAddr(): [string, number] {
    return this.outAddrValue;
  }

  /** The address and port actually bound. */
  get address(): BoundAddress | undefined {
    return this.listener?.address;
  }

  // ---------------------------------------------------------------- py2p state views

  /** The handshaken peers, {id: connection} (a read-only snapshot view). */
  get routing_table(): ReadonlyMap<string, Connection> {
    return this.router.routingTable;
  }
  /** The handshaken peers by node id (py2p's routing_table), read-only. */
  get routingTable(): ReadonlyMap<string, Connection> {
    return this.router.routingTable;
  }
  /** Connections awaiting a handshake. */
  get awaiting_ids(): Connection[] {
    return [...this.router.awaiting];
  }
  /** Connections awaiting a handshake (py2p's awaiting_ids). */
  get awaitingIds(): Connection[] {
    return this.awaiting_ids;
  }
  /** Ids of handshaken peers this node dialled. */
  get outgoing(): string[] {
    return this.router.outgoing;
  }
  /** Ids of handshaken peers that dialled this node. */
  get incoming(): string[] {
    return this.router.incoming;
  }
  /** Replies waiting for a route: {request_id: packets}. */
  get requests(): Map<string, Packet[]> {
    return new Map([...this.router.requests].map(([rid, r]) => [rid, [flags.whisper, flags.whisper, ...r.packets]]));
  }
  /** Recently flooded message ids with their times, oldest first (py2p's waterfalls deque). */
  get waterfalls(): Array<[string, number]> {
    return this.router.waterfalls.entries();
  }
  /** Messages waiting for recv(), oldest first. */
  get queue(): Message[] {
    return this.received.toArray();
  }
  /** 'Nominal', or the recent errors (at most maxErrors) when there were any. */
  get status(): 'Nominal' | Error[] {
    return this.recentErrors.length ? [...this.recentErrors] : 'Nominal';
  }
  /** Counters: frames, deliveries, duplicates dropped, errors by code. */
  get stats(): RouterStats {
    return this.router.stats;
  }

  /** The broadcasts kept for repair (read it, do not change it); undefined when repair is off. */
  get repairStore(): RepairStore | undefined {
    return this.repair?.store;
  }

  // ---------------------------------------------------------------- user API

  /**
   * Broadcasts one message, each argument a packet (string as UTF-8, or bytes). A last
   * argument `{ type }` overrides the subflag (default 'broadcast'), as py2p's `type=`.
   * Returns false when some peer's send buffer is above its high-water mark (wait for
   * `drained()` before sending more if you want backpressure).
   */
  send(...args: Array<Packet | SendOptions>): boolean {
    const { packets, options } = splitArgs(args);
    this.assertOpen();
    return this.router.broadcast(packets, options.type ?? flags.broadcast, options.flag ?? flags.broadcast);
  }

  /** Resolves when every peer's send buffer is below its high-water mark. */
  async drained(): Promise<void> {
    await Promise.all([...this.router.routingTable.values()].filter((c) => c.needsDrain).map((c) => c.drained()));
  }

  /**
   * Connects to another node; resolves true once the handshake is done, false if
   * already connected (or if it is this node). Rejects with a typed error if the
   * peer refuses, speaks another protocol, or closes first; an address that cannot be
   * reached (refused, unknown host, unreachable) rejects with ConnectError, whose
   * `syscallCode` keeps the system's code.
   */
  connect(addr: string, port: number, id?: string): Promise<boolean> {
    if (typeof addr !== 'string' || !addr) return Promise.reject(new InvalidArgumentError('addr must be a host name or address'));
    if (!Number.isInteger(port) || port <= 0 || port > 65535) return Promise.reject(new InvalidArgumentError('port must be an integer 1..65535'));
    return new Promise<boolean>((resolve, reject) => this.router.command({ type: 'connect', host: addr, port, id, done: { resolve, reject } }))
      .catch((err: unknown) => {
        // rx2p's own errors are typed already; a system error of the dial is wrapped.
        throw err instanceof MeshError || err instanceof ProtocolError ? err : new ConnectError(addr, port, err);
      });
  }

  /**
   * Sends a whisper to node `id`: directly when connected, otherwise through py2p's
   * request/response route (a broadcast request, then a connection to the address the
   * response names). Rejects with RequestTimeoutError if no route turns up.
   */
  whisper(id: string, ...packets: Packet[]): Promise<void> {
    checkPackets(packets);
    return new Promise<void>((resolve, reject) => this.router.command({ type: 'whisper', id, packets, done: { resolve, reject } }));
  }

  /** message.reply(): a whisper to the message's original sender. */
  replyTo(msg: Message, packets: Packet[]): Promise<void> {
    return this.whisper(msg.sender, ...packets);
  }

  /**
   * Resolves when `quantity` messages are queued, with them, oldest first; on timeout
   * (or close) with what there is. recv() and recv(1) resolve to one message (or
   * undefined), as py2p's recv(); any other quantity to a list.
   */
  recv(): Promise<Message | undefined>;
  /** One message, or undefined once timeoutMs passes (or the socket closes). */
  recv(quantity: 1, timeoutMs?: number): Promise<Message | undefined>;
  /** `quantity` messages as a list, or what there is once timeoutMs passes (or the socket closes). */
  recv(quantity: number, timeoutMs?: number): Promise<Message[]>;
  recv(quantity = 1, timeoutMs?: number): Promise<Message | undefined | Message[]> {
    return this.waiters.recv(quantity, timeoutMs, this.closedPromise !== undefined);
  }

  /**
   * Closes the connection to a peer (py2p's daemon.disconnect(handler)), given its id or
   * its Connection. Resolves true once it is closed, false if there was no such peer.
   * This node does not dial it again by itself (a peers list may bring it back).
   */
  async disconnect(peer: string | Connection): Promise<boolean> {
    const conn = typeof peer === 'string' ? this.router.routingTable.get(peer) : peer;
    // Settled when the router handles it: at once, or after the input it is handling
    // (a disconnect() from a message handler).
    const found = await new Promise<boolean>((resolve) => this.router.command({ type: 'disconnect', peer, done: resolve }));
    if (found && conn) await conn.whenClosed;
    return found;
  }

  /**
   * Floods a received message on to this node's peers; false if it was seen already.
   * Called from a message handler (while the router handles an input), the flood waits
   * for that input to complete and false is returned: the outcome is not known yet.
   */
  waterfall(msg: Message | PathfindingMessage): boolean {
    let isNew = false;
    this.router.command({ type: 'waterfall', msg: 'msg' in msg ? msg.msg : msg, done: (v) => { isNew = v; } });
    return isNew;
  }

  /**
   * Runs the request/response handling on a message; true if it was one. Called from a
   * message handler, it runs once that input completes, and false is returned.
   */
  handle_request(msg: Message): boolean {
    let handled = false;
    this.router.command({ type: 'handle-request', msg: msg.msg, done: (v) => { handled = v; } });
    return handled;
  }
  /** handle_request under rx2p's name. */
  handleRequest(msg: Message): boolean {
    return this.handle_request(msg);
  }

  /** Prints debug output to stderr when level < debug_level (py2p's rule). A last `{ level }` argument sets the level. */
  __print__(...args: unknown[]): void {
    const last = args[args.length - 1];
    if (last && typeof last === 'object' && 'level' in last && Object.keys(last).length === 1) {
      args.pop();
      this.print((last as { level: number }).level, ...args);
    } else {
      this.print(0, ...args);
    }
  }

  private print(level: number, ...args: unknown[]): void {
    if (level < this.debug_level) console.error(`[rx2p ${this.nodeIdValue.slice(0, 8)}]`, ...args);
  }

  /**
   * Closes the server and every connection, completes both streams, settles every
   * pending call and clears every timer. Resolves when all sockets are closed; after
   * it nothing of this socket keeps the process alive.
   */
  close(): Promise<void> {
    this.closedPromise ??= (async () => {
      await this.ready.catch(() => undefined);
      this.router.command({ type: 'close' });
      await Promise.all([this.listener?.close(), this.wsListener?.close(), this.router.closed()]);
      this.waiters.settleAll();
      this.messageSubject.complete();
      this.eventSubject.complete();
    })();
    return this.closedPromise;
  }

  /** True once close() has been called. */
  get closed(): boolean {
    return this.closedPromise !== undefined;
  }

  // ---------------------------------------------------------------- internals

  private assertOpen(): void {
    if (this.closedPromise) throw new SocketClosedError();
  }

  private deliver(message: Message): void {
    this.router.stats.queueDropped += this.waiters.push(message);
    this.messageSubject.next(message);
    this.waiters.wake();
  }

  private onEvent(event: MeshEvent): void {
    if (event.type === 'error') {
      this.recentErrors.push(event.error);
      if (this.recentErrors.length > this.options.maxErrors) this.recentErrors.shift();
    }
    this.eventSubject.next(event);
  }
}

/** TCP for py2p's Plaintext, TLS for its SSL; keepalive and certificates from the options. */
function defaultTransport(protocol: Protocol, o: ResolvedOptions): Transport {
  return usesTls(protocol)
    ? new TlsTransport({
      keepAliveMs: o.keepAliveMs, handshakeTimeoutMs: o.handshakeTimeoutMs, certificate: o.tls,
      // The authenticated protocol binds its proofs to TLS 1.3's exported keying material.
      minVersion: isAuthenticated(protocol) ? 'TLSv1.3' : undefined,
    })
    : new TcpTransport({ keepAliveMs: o.keepAliveMs });
}

/** The seed's name for MeshSocket. */
export const mesh_socket = MeshSocket;

function checkPackets(packets: unknown[]): asserts packets is Packet[] {
  for (const p of packets) {
    if (typeof p !== 'string' && !(p instanceof Uint8Array)) {
      throw new InvalidArgumentError(`a packet must be a string or a Uint8Array, got ${p === null ? 'null' : typeof p}`);
    }
  }
}

const NO_OPTIONS: SendOptions = Object.freeze({});

function splitArgs(args: Array<Packet | SendOptions>): { packets: Packet[]; options: SendOptions } {
  const last = args[args.length - 1];
  let options = NO_OPTIONS;
  let packets = args;
  if (last !== undefined && typeof last === 'object' && !(last instanceof Uint8Array)) {
    options = last as SendOptions;
    packets = args.slice(0, -1);
    for (const k of ['type', 'flag'] as const) {
      if (options[k] !== undefined && (typeof options[k] !== 'string' || options[k] === '')) throw new InvalidArgumentError(`send option ${k} must be a non-empty string`);
    }
  }
  checkPackets(packets);
  return { packets: packets as Packet[], options };
}
