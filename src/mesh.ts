import type { RepairStore } from './actors/repair-store.js';
import { Repair } from './actors/repair.js';
import type { Observable } from 'rxjs';
import { get_lan_ip } from './host.js';
import { flags } from './protocol/flags.js';
import { nodeId } from './protocol/ids.js';
import type { PathfindingMessage } from './protocol/message.js';
import { Protocol } from './protocol/protocol.js';
import type { Message, MessageServer } from './protocol/user-message.js';
import { peerDiscovery } from './actors/discovery.js';
import type { MeshEvent, Packet, RouterStats } from './actors/router.js';
import type { RecvQueue } from './recv-queue.js';
import type { Connection } from './streams/connection.js';
import type { BoundAddress, Listener, Transport } from './transport/transport.js';
import { InvalidArgumentError } from './errors.js';
import { ConnectError, MeshError } from './errors.js';
import { ProtocolError } from './protocol/errors.js';
import { defaultOptions, resolveOptions, type MeshOptions, type ResolvedOptions } from './options.js';
import { isAuthenticated } from './trust/protocol.js';
import { TrustExtension } from './actors/trust.js';
import type { Identity } from './trust/identity.js';
import { WebDirectory, type NodeView } from './actors/web.js';
import { parseWsUrl, type WsTransport } from './transport/ws.js';
import { SocketCore, type SendOptions } from './socket-core.js';
import { MeshFacade } from './socket-facade.js';
import { defaultTransport, dialOnlyWsTransport, listen } from './mesh-listen.js';

/** mesh.py's default protocol: subnet 'mesh', Plaintext (py2p 0.2's alpha default). */
export const meshDefaultProtocol = new Protocol('mesh', 'Plaintext');

/** mesh.py's max_outgoing: the default of the maxOutgoing option. */
export const max_outgoing = defaultOptions.maxOutgoing;

export type { MeshEvent, Packet, RouterStats, SendOptions };

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
export class MeshSocket extends MeshFacade implements MessageServer {
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
  /** The router and the user API over it, shared with the browser's MeshSocket (src/socket-core.ts). */
  protected readonly core: SocketCore;
  /** Repair of missed broadcasts (an extension of the router), when options.repair. */
  private readonly repair: Repair | undefined;
  /** The core's recv() queue, for specs and tools that look inside. */
  protected get received(): RecvQueue {
    return this.core.received;
  }
  private nodeIdValue = '';
  private outAddrValue: [string, number];

  /**
   * @param addr the address to bind ('0.0.0.0' advertises the LAN address)
   * @param port the port to bind; 0 picks a free one (the id is computed from the bound port)
   * @param options options, or the seed's positional `prot` (then `out_addr`, `debug_level`)
   */
  constructor(addr: string, port: number, options?: MeshOptions | Protocol, out_addr?: [string, number], debug_level?: number) {
    super();
    const opts: MeshOptions = options instanceof Protocol
      ? { protocol: options, outAddr: out_addr, debugLevel: debug_level }
      : { ...(options ?? {}) };
    if (typeof addr !== 'string' || !addr) throw new InvalidArgumentError('addr must be a host name or address');
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new InvalidArgumentError('port must be an integer 0..65535');
    this.options = resolveOptions(opts);
    this.protocol = opts.protocol ?? opts.prot ?? meshDefaultProtocol;
    if (!(this.protocol instanceof Protocol)) throw new InvalidArgumentError('protocol must be a Protocol');
    this.debug_level = this.options.debugLevel;
    this.outAddrValue = this.options.outAddr ?? [addr === '0.0.0.0' ? get_lan_ip() : addr, port];
    this.repair = this.options.repair ? new Repair(this.options) : undefined;
    this.transport = this.options.transport ?? defaultTransport(this.protocol, this.options);
    const { listening, ws, accepted$, notices$ } = listen(this.transport, addr, port, this.options);
    this.ws = ws;
    this.directory = new WebDirectory({ ownUrl: () => this.webSocketUrl ?? null, browser: false });
    this.core = new SocketCore({
      protocol: this.protocol,
      options: this.options,
      id: () => this.nodeIdValue,
      outAddr: () => this.outAddrValue,
      transport: this.transport,
      accepted$,
      notices$,
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
      // On options.scheduler, so that a simulation's recv() times out in virtual time.
      timer: (fn, ms) => this.options.scheduler.schedule(fn, ms),
      print: (level, ...args) => this.print(level, ...args),
    });
    this.messages$ = this.core.messages$;
    this.events$ = this.core.events$;
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
    return this.core.routingTable.get(id)?.transport.listed === false;
  }

  /**
   * Joins the node whose WebSocket listener is at url (ws://HOST:PORT), as connect() does.
   * Needs MeshOptions.webSocket (its transport dials).
   */
  async connectWebSocket(url: string): Promise<boolean> {
    const target = typeof url === 'string' ? parseWsUrl(url) : undefined;
    if (target === undefined || target.secure) throw new InvalidArgumentError('url must be a ws://HOST:PORT URL');
    return this.core.connect(target.host, target.port, this.ws ??= dialOnlyWsTransport(this.options));
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
    return this.core.received.toArray();
  }
  /** The broadcasts kept for repair (read it, do not change it); undefined when repair is off. */
  get repairStore(): RepairStore | undefined {
    return this.repair?.store;
  }

  // ---------------------------------------------------------------- user API

  /** Resolves when every peer's send buffer is below its high-water mark. */
  drained(): Promise<void> {
    return this.core.drained();
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
    return this.core.connect(addr, port, undefined, id).catch((err: unknown) => {
        // rx2p's own errors are typed already; a system error of the dial is wrapped.
        throw err instanceof MeshError || err instanceof ProtocolError ? err : new ConnectError(addr, port, err);
      });
  }

  /**
   * Closes the connection to a peer (py2p's daemon.disconnect(handler)), given its id or
   * its Connection. Resolves true once it is closed, false if there was no such peer.
   * This node does not dial it again by itself (a peers list may bring it back).
   */
  disconnect(peer: string | Connection): Promise<boolean> {
    return this.core.disconnect(peer);
  }

  /**
   * Floods a received message on to this node's peers; false if it was seen already.
   * Called from a message handler (while the router handles an input), the flood waits
   * for that input to complete and false is returned: the outcome is not known yet.
   */
  waterfall(msg: Message | PathfindingMessage): boolean {
    return this.core.waterfall(msg);
  }

  /**
   * Runs the request/response handling on a message; true if it was one. Called from a
   * message handler, it runs once that input completes, and false is returned.
   */
  handle_request(msg: Message): boolean {
    return this.core.handleRequest(msg);
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
    return this.core.close(() => this.ready, () => [this.listener?.close(), this.wsListener?.close()]);
  }
}

/** The seed's name for MeshSocket. */
export const mesh_socket = MeshSocket;
