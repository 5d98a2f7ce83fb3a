// rx2p in a browser: a mesh node that joins other nodes over WebSocket (it cannot
// listen, and it cannot be dialled). Built into one ESM bundle by src/web/build.ts;
// `MeshSocket` there is this class. Same API as the Node MeshSocket, minus listening.
import { EMPTY, type Observable } from 'rxjs';
import { WebDirectory, type NodeView } from '../actors/web.js';
import type { MeshEvent, Packet, RouterStats } from '../actors/router.js';
import { InvalidArgumentError } from '../errors.js';
import { resolveOptions, type MeshOptions, type ResolvedOptions } from '../options.js';
import { nodeId } from '../protocol/ids.js';
import { Protocol } from '../protocol/protocol.js';
import type { Message, MessageServer } from '../protocol/user-message.js';
import { SocketCore, type SendOptions } from '../socket-core.js';
import { MeshFacade } from '../socket-facade.js';
import { parseWsUrl, WsTransport, type WebSocketLike } from '../transport/ws.js';

export { Protocol, type Message, type MeshEvent, type NodeView, type Packet, type RouterStats, type SendOptions };
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
export class BrowserMeshSocket extends MeshFacade implements MessageServer {
  /** The protocol (subnet and encryption): Plaintext, the WebSocket carries any TLS. */
  readonly protocol: Protocol;
  /** Every option, resolved with its default. */
  readonly options: ResolvedOptions;
  /** This tab's node id: BROWSER_ADDR salted at random (a new id per tab). */
  readonly id: string;
  /** What this node says its address is (BROWSER_ADDR): never dialled. */
  readonly outAddr: [string, number] = BROWSER_ADDR;
  /** Resolves at once (a browser node does not listen); kept for the Node API's shape. */
  readonly ready: Promise<this>;
  /** Every user-visible message, once, in arrival order. Hot: no replay. Completes on close(). */
  readonly messages$: Observable<Message>;
  /** Peer connected / disconnected, and every error met (typed). Completes on close(). */
  readonly events$: Observable<MeshEvent>;
  /** WebSocket URLs and who is linked to whom, as rx2p peers tell it. */
  readonly directory: WebDirectory;
  /** The router and the user API over it, shared with the Node MeshSocket (src/socket-core.ts). */
  protected readonly core: SocketCore;
  private readonly follow: boolean;
  /** ws:// dials (the node's own transport: re-dials and advertised URLs), and wss:// ones. */
  private readonly plain: WsTransport;
  private readonly secure: WsTransport;
  private readonly dialled = new Set<string>();
  /** The advertised URL each followed node was dialled at, given back when it goes away. */
  private readonly followed = new Map<string, string>();

  constructor(options: BrowserMeshOptions = {}) {
    super();
    const { webSocket, followAdvertisements, queueMessages, ...meshOptions } = options;
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
    this.directory = new WebDirectory({ ownUrl: () => null, browser: true });
    this.directory.onChange = () => queueMicrotask(() => this.followAdvertisements());
    this.core = new SocketCore({
      protocol: this.protocol,
      options: this.options,
      id: () => this.id,
      outAddr: () => this.outAddr,
      transport: this.plain,
      accepted$: EMPTY,
      notices$: EMPTY,
      server: this,
      // py2p peers lists name TCP addresses: a browser cannot dial them.
      followPeersLists: false,
      extensions: [this.directory],
      queueMessages: queueMessages ?? true,
      timer: (fn, ms) => {
        const t = setTimeout(fn, ms);
        return { unsubscribe: () => clearTimeout(t) };
      },
      onEvent: (e) => this.onEvent(e),
      print: (level, ...args) => { if (level < this.options.debugLevel) console.debug('[rx2p]', ...args); },
    });
    this.messages$ = this.core.messages$;
    this.events$ = this.core.events$;
    this.ready = Promise.resolve(this);
  }

  /** Every node this one knows of (itself first), as rx2p peers tell it. */
  get topology(): NodeView[] {
    return this.directory.snapshot();
  }
  /** Ids a whisper from this tab can reach: its peers, and the peers of the rx2p nodes it is connected to. */
  reachable(): string[] {
    return this.directory.reachable();
  }
  /** Joins the node listening at a ws:// or wss:// URL; resolves true once handshaken. */
  connect(url: string): Promise<boolean> {
    const target = typeof url === 'string' ? parseWsUrl(url) : undefined;
    if (target === undefined) return Promise.reject(new InvalidArgumentError('url must be a ws:// or wss:// URL'));
    this.dialled.add(url);
    return this.core.connect(target.host, target.port, target.secure ? this.secure : this.plain);
  }

  /** Closes every connection, completes both streams, settles pending calls. */
  close(): Promise<void> {
    return this.core.close();
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
  }

  /** Dials WebSocket URLs other nodes advertised, while below maxOutgoing. */
  private followAdvertisements(): void {
    if (!this.follow || this.core.closed) return;
    for (const [url, id] of this.directory.urls()) {
      if (this.core.routingTable.size >= this.options.maxOutgoing) return;
      if (this.core.routingTable.has(id) || this.dialled.has(url)) continue;
      this.dialled.add(url);
      if (this.followed.size < 256) this.followed.set(id, url);
      // A node that refused (another origin, slots full) is not dialled again until a followed node at the URL goes away.
      this.connect(url).catch(() => this.followed.delete(id));
    }
  }
}

export { BrowserMeshSocket as MeshSocket };
