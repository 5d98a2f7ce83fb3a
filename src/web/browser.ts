// rx2p in a browser: a mesh node that joins other nodes over WebSocket (it cannot
// listen, and it cannot be dialled). Built into one ESM bundle by src/web/build.ts;
// `MeshSocket` there is this class. Same API as the Node MeshSocket, minus listening.
import { EMPTY, Subject, type Observable } from 'rxjs';
import { WebDirectory, type NodeView } from '../actors/web.js';
import { Router, type MeshEvent, type Packet, type RouterStats } from '../actors/router.js';
import { InvalidArgumentError, SocketClosedError } from '../errors.js';
import { resolveOptions, type MeshOptions, type ResolvedOptions } from '../options.js';
import { compression as supportedCompression } from '../protocol/compression.js';
import { flags } from '../protocol/flags.js';
import { nodeId } from '../protocol/ids.js';
import { Protocol } from '../protocol/protocol.js';
import type { Message, MessageServer } from '../protocol/user-message.js';
import { RecvQueue } from '../recv-queue.js';
import { RecvWaiters } from '../recv-waiters.js';
import type { Connection } from '../streams/connection.js';
import { parseWsUrl, WsTransport, type WebSocketLike } from '../transport/ws.js';

export { Protocol, type Message, type MeshEvent, type NodeView, type Packet, type RouterStats };
export * from '../errors.js';
export * from '../transport/ws-errors.js';

/** What a browser node says its address is: never dialled (its peers do not list it). */
export const BROWSER_ADDR: [string, number] = ['browser', 0];

export interface BrowserMeshOptions extends Omit<MeshOptions, 'webSocket' | 'tls'> {
  /** Makes the WebSocket for a URL. Default: the browser's own WebSocket. */
  webSocket?: (url: string) => WebSocketLike;
  /** WebSocket URLs of other nodes learnt from rx2p-web are dialled up to maxOutgoing. Default true. */
  followAdvertisements?: boolean;
  /**
   * False: messages go to messages$ only, never to the recv() queue (a page that
   * subscribes does not keep every message a second time). Default true.
   */
  queueMessages?: boolean;
}

/**
 * A mesh node in a browser tab. It handshakes, floods, de-duplicates and whispers as any
 * node does; its peers are rx2p nodes with a WebSocket listener.
 *
 * ```js
 * import { MeshSocket } from './rx2p.js';
 * const node = new MeshSocket();
 * node.messages$.subscribe((m) => console.log(m.sender, m.text(1)));
 * await node.connect('ws://127.0.0.1:8080');
 * node.send('hello from a tab');
 * ```
 */
export class BrowserMeshSocket implements MessageServer {
  readonly protocol: Protocol;
  readonly options: ResolvedOptions;
  readonly id: string;
  readonly outAddr: [string, number] = BROWSER_ADDR;
  /** Resolves at once (a browser node does not listen); kept for the Node API's shape. */
  readonly ready: Promise<this>;
  readonly messages$: Observable<Message>;
  readonly events$: Observable<MeshEvent>;
  readonly directory: WebDirectory;
  private readonly router: Router;
  private readonly messageSubject = new Subject<Message>();
  private readonly eventSubject = new Subject<MeshEvent>();
  private readonly received: RecvQueue;
  private readonly waiters: RecvWaiters;
  private readonly follow: boolean;
  /** ws:// dials (the node's own transport: re-dials and advertised URLs), and wss:// ones. */
  private readonly plain: WsTransport;
  private readonly secure: WsTransport;
  private closedPromise: Promise<void> | undefined;
  private readonly dialled = new Set<string>();
  /** The advertised URL each followed node was dialled at, given back when it goes away. */
  private readonly followed = new Map<string, string>();
  private readonly queueing: boolean;

  constructor(options: BrowserMeshOptions = {}) {
    const { webSocket, followAdvertisements, queueMessages, ...meshOptions } = options;
    this.queueing = queueMessages ?? true;
    // asyncZlibMinBytes 0: pako for every body (node:zlib is not in the browser build).
    this.options = resolveOptions({ reconnectIntervalMs: 0, asyncZlibMinBytes: 0, ...meshOptions });
    this.protocol = options.protocol ?? options.prot ?? new Protocol('mesh', 'Plaintext');
    if (this.protocol.encryption !== 'Plaintext') throw new InvalidArgumentError('a browser node speaks Plaintext only (TLS belongs to the WebSocket: use wss://)');
    this.follow = followAdvertisements ?? true;
    const maxMessageBytes = this.options.maxFrameBytes + 4;
    this.plain = new WsTransport({ connect: webSocket, maxMessageBytes });
    this.secure = new WsTransport({ connect: webSocket, maxMessageBytes, secure: true });
    const salt = new Uint8Array(16);
    crypto.getRandomValues(salt);
    this.id = nodeId(BROWSER_ADDR, this.protocol.id, this.options.userSalt ?? salt);
    this.received = new RecvQueue(this.options.maxQueue, this.options.maxQueueBytes, this.options.queuePolicy);
    this.waiters = new RecvWaiters(this.received, (fn, ms) => {
      const t = setTimeout(fn, ms);
      return { unsubscribe: () => clearTimeout(t) };
    });
    this.messages$ = this.messageSubject.asObservable();
    this.events$ = this.eventSubject.asObservable();
    this.directory = new WebDirectory({ ownUrl: () => null, browser: true });
    this.directory.onChange = () => queueMicrotask(() => this.followAdvertisements());
    this.router = new Router({
      protocol: this.protocol,
      options: this.options,
      supported: supportedCompression,
      id: () => this.id,
      outAddr: () => this.outAddr,
      transport: this.plain,
      accepted$: EMPTY,
      notices$: EMPTY,
      server: this,
      deliver: (m) => this.deliver(m),
      emit: (e) => this.onEvent(e),
      print: (level, ...args) => { if (level < this.options.debugLevel) console.debug('[rx2p]', ...args); },
      // py2p peers lists name TCP addresses: a browser cannot dial them.
      followPeersLists: false,
      extensions: [this.directory],
    });
    this.ready = Promise.resolve(this);
  }

  /** The handshaken peers, {id: connection}. */
  get routingTable(): ReadonlyMap<string, Connection> {
    return this.router.routingTable;
  }
  get routing_table(): ReadonlyMap<string, Connection> {
    return this.router.routingTable;
  }
  get stats(): RouterStats {
    return this.router.stats;
  }
  /** Every node this one knows of (itself first), as rx2p peers tell it. */
  get topology(): NodeView[] {
    return this.directory.snapshot();
  }
  /** Ids a whisper from this tab can reach: its peers, and the peers of the rx2p nodes it is connected to. */
  reachable(): string[] {
    return this.directory.reachable();
  }
  get closed(): boolean {
    return this.closedPromise !== undefined;
  }

  /** Joins the node listening at a ws:// or wss:// URL; resolves true once handshaken. */
  connect(url: string): Promise<boolean> {
    const target = typeof url === 'string' ? parseWsUrl(url) : undefined;
    if (target === undefined) return Promise.reject(new InvalidArgumentError('url must be a ws:// or wss:// URL'));
    this.dialled.add(url);
    const transport = target.secure ? this.secure : this.plain;
    return new Promise<boolean>((resolve, reject) => this.router.command({ type: 'connect', host: target.host, port: target.port, transport, done: { resolve, reject } }));
  }

  /** Broadcasts one message, each argument a packet; a last `{ type }` sets the subflag. */
  send(...args: Array<Packet | { type?: string; flag?: string }>): boolean {
    if (this.closedPromise) throw new SocketClosedError();
    const last = args[args.length - 1];
    let type: string = flags.broadcast;
    let flag: string = flags.broadcast;
    if (last !== undefined && typeof last === 'object' && !(last instanceof Uint8Array)) {
      args.pop();
      type = last.type ?? type;
      flag = last.flag ?? flag;
    }
    checkPackets(args);
    return this.router.broadcast(args, type, flag);
  }

  /** Whispers to node `id` (directly when connected, else through py2p's request route). */
  whisper(id: string, ...packets: Packet[]): Promise<void> {
    checkPackets(packets);
    return new Promise<void>((resolve, reject) => this.router.command({ type: 'whisper', id, packets, done: { resolve, reject } }));
  }

  replyTo(msg: Message, packets: Packet[]): Promise<void> {
    return this.whisper(msg.sender, ...packets);
  }

  /** As the Node MeshSocket's recv(): one message (or undefined), or a list for other quantities. */
  recv(): Promise<Message | undefined>;
  recv(quantity: 1, timeoutMs?: number): Promise<Message | undefined>;
  recv(quantity: number, timeoutMs?: number): Promise<Message[]>;
  recv(quantity = 1, timeoutMs?: number): Promise<Message | undefined | Message[]> {
    return this.waiters.recv(quantity, timeoutMs, this.closedPromise !== undefined);
  }

  /** Closes every connection, completes both streams, settles pending calls. */
  close(): Promise<void> {
    this.closedPromise ??= (async () => {
      this.router.command({ type: 'close' });
      await this.router.closed();
      this.waiters.settleAll();
      this.messageSubject.complete();
      this.eventSubject.complete();
    })();
    return this.closedPromise;
  }

  private deliver(message: Message): void {
    if (this.queueing) this.router.stats.queueDropped += this.waiters.push(message);
    this.messageSubject.next(message);
    if (this.queueing) this.waiters.wake();
  }

  private onEvent(event: MeshEvent): void {
    if (event.type === 'peer-disconnected') {
      // A followed node that went away may come back at its URL: it can be followed again.
      const url = this.followed.get(event.id);
      if (url !== undefined) {
        this.followed.delete(event.id);
        this.dialled.delete(url);
      }
    }
    this.eventSubject.next(event);
  }

  /** Dials WebSocket URLs other nodes advertised, while below maxOutgoing. */
  private followAdvertisements(): void {
    if (!this.follow || this.closedPromise) return;
    for (const [url, id] of this.directory.urls()) {
      if (this.router.routingTable.size >= this.options.maxOutgoing) return;
      if (this.router.routingTable.has(id) || this.dialled.has(url)) continue;
      this.dialled.add(url);
      if (this.followed.size < 256) this.followed.set(id, url);
      // A node that refused (another origin, slots full) is not dialled again until a followed node at the URL goes away.
      this.connect(url).catch(() => this.followed.delete(id));
    }
  }
}

export { BrowserMeshSocket as MeshSocket };

function checkPackets(packets: unknown[]): asserts packets is Packet[] {
  for (const p of packets) {
    if (typeof p !== 'string' && !(p instanceof Uint8Array)) throw new InvalidArgumentError(`a packet must be a string or a Uint8Array, got ${typeof p}`);
  }
}
