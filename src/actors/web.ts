// rx2p's own advertisement of WebSocket listeners and of who is linked to whom.
//
// A browser can only dial WebSocket URLs, and py2p peers lists carry TCP addresses only
// (browsers are never in them: see Router.unlisted). So each rx2p node whispers to each
// peer, under the subflag 'rx2p-web', its own WebSocket URL (if it listens on one), its
// peers, and the views its peers sent it. py2p 0.2 queues only the 'broadcast' and
// 'whisper' subflags for its user and ignores others, so py2p peers drop the whisper
// unread: no negotiation is needed. rx2p intercepts the subflag before delivery.
// Still, a node with no WebSocket listener does not start the exchange with a peer that
// did not come over WebSocket: it only answers peers that spoke first, so the wire
// between rx2p nodes without WebSocket, and towards py2p, is what it was.
import type { PathfindingMessage } from '../protocol/message.js';
import type { Connection } from '../streams/connection.js';

export const WEB_SUBFLAG = 'rx2p-web';

/** One node as some rx2p node described it. */
export interface NodeView {
  id: string;
  /** Its WebSocket URL, if it accepts WebSocket connections. */
  ws: string | null;
  /** Ids of its peers (browsers included: ids, never addresses). */
  peers: string[];
  /** True for a node that cannot be dialled (a browser). */
  browser: boolean;
}

export interface WebDirectoryHost {
  id(): string;
  /** This node's WebSocket URL to advertise, or null. */
  ownUrl(): string | null;
  browser: boolean;
  /** Ids of this node's handshaken peers. */
  peerIds(): string[];
  whisperTo(conn: Connection, packets: string[]): void;
  /** True for a peer that came in over WebSocket (it is rx2p). */
  viaWebSocket(conn: Connection): boolean;
  connections(): Iterable<Connection>;
}

/** Bounds on what one advertisement may make this node keep. */
const MAX_VIEWS = 256;
const MAX_PEERS_PER_VIEW = 64;
const MAX_URL = 512;
/** Changes are told to peers at most this often. */
const TELL_EVERY_MS = 500;

/**
 * The views this node knows (its own, and what peers told it), bounded. Peers hear this
 * node's view when they connect and, at most every TELL_EVERY_MS, when its peers change.
 */
export class WebDirectory {
  private readonly views = new Map<string, NodeView>();
  private timer: ReturnType<typeof setTimeout> | undefined;
  private closed = false;
  /** Told whenever the known views change (the web page redraws its graph). */
  onChange: (() => void) | undefined;

  constructor(private readonly host: WebDirectoryHost) {}

  /** This node's own view, then what it was told, newest first. */
  snapshot(): NodeView[] {
    const own = this.ownView();
    return [own, ...[...this.views.values()].filter((v) => v.id !== own.id).reverse()];
  }

  /** The WebSocket URLs known, with the node ids behind them (this node's own excluded). */
  urls(): Array<[string, string]> {
    const me = this.host.id();
    const out: Array<[string, string]> = [];
    for (const v of this.views.values()) if (v.ws !== null && v.id !== me) out.push([v.ws, v.id]);
    return out;
  }

  /** A peer connected: it hears this node's view now, the other peers soon. */
  peerConnected(conn: Connection): void {
    if (this.shouldTell(conn)) this.tell(conn);
    this.changed();
  }

  peerDisconnected(id: string): void {
    this.views.delete(id);
    this.fromSelf.delete(id);
    this.changed();
  }

  /** The 'rx2p-web' whisper of a peer: its view and the views it knows. */
  receive(conn: Connection, msg: PathfindingMessage): void {
    let body: unknown;
    try {
      body = JSON.parse(msg.payload[1]?.toString('utf8') ?? '');
    } catch {
      return;
    }
    if (!Array.isArray(body)) return;
    if (!this.speakers.has(conn)) {
      this.speakers.add(conn);
      // A peer that spoke first hears this node's view once in return.
      if (this.host.ownUrl() === null && !this.host.browser && !this.host.viaWebSocket(conn)) this.tell(conn);
    }
    let changed = false;
    for (const entry of body.slice(0, MAX_VIEWS)) {
      const view = parseView(entry);
      if (view === undefined || view.id === this.host.id()) continue;
      // A peer speaks for itself only: what it says of others is second-hand and does
      // not replace what that node said directly.
      if (view.id !== conn.id && this.fromSelf.has(view.id)) continue;
      if (view.id === conn.id) this.fromSelf.add(view.id);
      this.views.delete(view.id);
      this.views.set(view.id, view);
      changed = true;
    }
    while (this.views.size > MAX_VIEWS) {
      const oldest = this.views.keys().next().value!;
      this.views.delete(oldest);
      this.fromSelf.delete(oldest);
    }
    if (changed) this.onChange?.();
  }

  close(): void {
    this.closed = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private readonly fromSelf = new Set<string>();
  /** Peers that sent this node an advertisement: rx2p nodes. */
  private readonly speakers = new WeakSet<Connection>();

  /** Whether this node tells `conn` its view (see the note at the top). */
  private shouldTell(conn: Connection): boolean {
    return this.host.ownUrl() !== null || this.host.browser || this.host.viaWebSocket(conn) || this.speakers.has(conn);
  }

  private ownView(): NodeView {
    return { id: this.host.id(), ws: this.host.ownUrl(), peers: this.host.peerIds(), browser: this.host.browser };
  }

  private changed(): void {
    this.onChange?.();
    if (this.closed || this.timer !== undefined) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (this.closed) return;
      for (const conn of this.host.connections()) if (this.shouldTell(conn)) this.tell(conn);
    }, TELL_EVERY_MS);
    (this.timer as { unref?: () => void }).unref?.();
  }

  private tell(conn: Connection): void {
    const views = this.snapshot().slice(0, MAX_VIEWS).map((v) => [v.id, v.ws, v.peers.slice(0, MAX_PEERS_PER_VIEW), v.browser ? 1 : 0]);
    this.host.whisperTo(conn, [WEB_SUBFLAG, JSON.stringify(views)]);
  }
}

function parseView(entry: unknown): NodeView | undefined {
  if (!Array.isArray(entry) || entry.length < 3) return undefined;
  const [id, ws, peers, browser] = entry as unknown[];
  if (typeof id !== 'string' || id.length === 0 || id.length > 128) return undefined;
  if (ws !== null && (typeof ws !== 'string' || ws.length > MAX_URL || !/^wss?:\/\//.test(ws))) return undefined;
  if (!Array.isArray(peers)) return undefined;
  const ids = peers.slice(0, MAX_PEERS_PER_VIEW).filter((p): p is string => typeof p === 'string' && p.length > 0 && p.length <= 128);
  return { id, ws: ws as string | null, peers: ids, browser: browser === 1 };
}
