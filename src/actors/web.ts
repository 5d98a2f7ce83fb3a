// rx2p's own advertisement of WebSocket listeners and of who is linked to whom, as a
// router extension.
//
// A browser can only dial WebSocket URLs, and py2p peers lists carry TCP addresses only
// (browsers are never in them: see isListed in handshake.ts). So rx2p nodes whisper to
// their rx2p peers (those that named RX2P_CAPABILITY, capability.ts), under the subflag
// 'rx2p-web', their own WebSocket URL (if they listen on one), their peers' ids, and the
// views their peers sent them; rx2p claims the subflag before delivery (onSubflag).
// Never to a py2p peer: py2p 0.2 hands every subflag but its own to waterfall(), which
// floods the whisper to its whole mesh as a new message and queues it for its user.
// A node without a WebSocket listener does not start the exchange with a peer that did
// not come over WebSocket: it only answers peers that spoke first, so the wire between
// such rx2p nodes is what it was.
import { flags } from '../protocol/flags.js';
import { parseJsonPacket } from '../protocol/bounds.js';
import type { PathfindingMessage } from '../protocol/message.js';
import type { Connection } from '../streams/connection.js';
import { isListed } from './handshake.js';
import { isRx2pPeer } from './capability.js';
import type { RouterExtension, RouterState } from './state.js';

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

export interface WebDirectoryOptions {
  /** This node's WebSocket URL to advertise, or null. */
  ownUrl(): string | null;
  /** True in a browser. */
  browser: boolean;
}

/** Bounds on what advertisements may make this node keep. */
const MAX_VIEWS = 256;
const MAX_PEERS_PER_VIEW = 64;
const MAX_URL = 512;

/**
 * The views this node knows (its own, and what peers told it), bounded. A peer hears
 * this node's view when it connects, and again on the next housekeeping tick after the
 * routing table changed.
 */
export class WebDirectory implements RouterExtension {
  readonly name = 'web';
  private readonly views = new Map<string, NodeView>();
  /** Views a node gave of itself: second-hand ones do not replace them. */
  private readonly fromSelf = new Set<string>();
  /** Peers that sent this node an advertisement: rx2p nodes. */
  private readonly speakers = new WeakSet<Connection>();
  private state: RouterState | undefined;
  private dirty = false;
  /** Told whenever the known views change. */
  onChange: (() => void) | undefined;

  constructor(private readonly options: WebDirectoryOptions) {}

  /** This node's own view, then what it was told, newest first. */
  snapshot(): NodeView[] {
    const own = this.ownView();
    return [own, ...[...this.views.values()].filter((v) => v.id !== own.id).reverse()];
  }

  /** The WebSocket URLs known, with the node ids behind them (this node's own excluded). */
  urls(): Array<[string, string]> {
    const me = this.state?.host.id();
    const out: Array<[string, string]> = [];
    for (const v of this.views.values()) if (v.ws !== null && v.id !== me) out.push([v.ws, v.id]);
    return out;
  }

  // ------------------------------------------------------------ router hooks

  onPeerConnected(s: RouterState, conn: Connection): void {
    this.state = s;
    if (this.shouldTell(conn)) this.tell(s, conn);
    this.changed();
  }

  onClosed(s: RouterState, conn: Connection): void {
    if (conn.id === undefined || !conn.handshaken || s.routingTable.has(conn.id)) return;
    this.views.delete(conn.id);
    this.fromSelf.delete(conn.id);
    this.changed();
  }

  onSubflag(s: RouterState, msg: PathfindingMessage, conn: Connection | undefined): boolean {
    if (msg.subflag !== WEB_SUBFLAG) return false;
    this.state = s;
    if (conn !== undefined && msg.msgType === flags.whisper) this.receive(s, conn, msg);
    return true;
  }

  onTick(s: RouterState): void {
    if (!this.dirty) return;
    this.dirty = false;
    for (const conn of s.routingTable.values()) if (this.shouldTell(conn)) this.tell(s, conn);
  }

  onShutdown(): void {
    this.onChange = undefined;
  }

  // ------------------------------------------------------------ internals

  private receive(s: RouterState, conn: Connection, msg: PathfindingMessage): void {
    let body: unknown;
    try {
      // Bounded as every control JSON is (maxJsonBytes, maxJsonDepth), cut to MAX_VIEWS entries before parsing.
      body = parseJsonPacket('rx2p-web views', msg.payload[1], s.options, MAX_VIEWS);
    } catch {
      return;
    }
    if (!Array.isArray(body)) return;
    if (!this.speakers.has(conn)) {
      this.speakers.add(conn);
      // A peer that spoke first hears this node's view once in return.
      if (this.options.ownUrl() === null && !this.options.browser && isListed(conn) && isRx2pPeer(conn)) this.tell(s, conn);
    }
    let changed = false;
    for (const entry of body.slice(0, MAX_VIEWS)) {
      const view = parseView(entry);
      if (view === undefined || view.id === s.host.id()) continue;
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

  /** Whether this node tells `conn` its view (see the note at the top). */
  private shouldTell(conn: Connection): boolean {
    // A browser peer is rx2p whatever its list says (WebSocket peers are never py2p).
    if (isListed(conn) && !isRx2pPeer(conn)) return false;
    return this.options.ownUrl() !== null || this.options.browser || !isListed(conn) || this.speakers.has(conn);
  }

  private ownView(): NodeView {
    const s = this.state;
    return { id: s?.host.id() ?? '', ws: this.options.ownUrl(), peers: s ? [...s.routingTable.keys()] : [], browser: this.options.browser };
  }

  private changed(): void {
    this.dirty = true;
    this.onChange?.();
  }

  private tell(s: RouterState, conn: Connection): void {
    const views = this.snapshot().slice(0, MAX_VIEWS).map((v) => [v.id, v.ws, v.peers.slice(0, MAX_PEERS_PER_VIEW), v.browser ? 1 : 0]);
    // Not the peer's last_sent: a py2p `resend` still gets the last user message.
    const last = conn.lastSent;
    s.sendTo(conn, flags.whisper, [WEB_SUBFLAG, JSON.stringify(views)]);
    conn.lastSent = last;
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
