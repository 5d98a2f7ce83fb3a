// rx2p's own advertisement of WebSocket listeners and of who is linked to whom, as a
// router component.
//
// A browser can only dial WebSocket URLs, and py2p peers lists carry TCP addresses only
// (browsers are never in them: see isListed in handshake.ts). So rx2p nodes whisper to
// their rx2p peers (those that named RX2P_CAPABILITY, capability.ts), under the subflag
// 'rx2p-web', their own WebSocket URL (if they listen on one), their peers' ids, and the
// views their peers sent them; rx2p claims the subflag before delivery (its registered subflag handler).
// Never to a py2p peer: py2p 0.2 hands every subflag but its own to waterfall(), which
// floods the whisper to its whole mesh as a new message and queues it for its user.
// A node without a WebSocket listener does not start the exchange with a peer that did
// not come over WebSocket: it only answers peers that spoke first, so the wire between
// such rx2p nodes is what it was.
import { NoRouteError } from '../errors.js';
import { flags } from '../protocol/flags.js';
import { parseJsonPacket } from '../protocol/bounds.js';
import type { PathfindingMessage } from '../protocol/message.js';
import type { Connection } from '../streams/connection.js';
import { isListed } from './handshake.js';
import { latin1 } from './fields.js';
import { isRx2pPeer } from './capability.js';
import type { ComponentContext, RouterComponent } from './component.js';
import type { Packet, RouterState } from './state.js';

/** The subflag of the whispers in which rx2p nodes tell each other what they know of the mesh (for the live page). */
export const WEB_SUBFLAG = 'rx2p-web';
/**
 * A whisper for one of the receiving node's own peers, relayed once: [RELAY_SUBFLAG,
 * target, 'whisper', ...packets]. The receiving node forwards ['whisper', ...packets]
 * to the target under the original sender and time, only when the target is its direct
 * peer and the sender the connection it came on: one hop, never further. Sent only to
 * peers that spoke rx2p-web (py2p peers never see it).
 */
export const RELAY_SUBFLAG = 'rx2p-relay';

/** One node as some rx2p node described it. */
export interface NodeView {
  /** Its node id. */
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
export class WebDirectory implements RouterComponent {
  /** {@inheritDoc RouterComponent.name} */
  readonly name = 'web';
  private readonly views = new Map<string, NodeView>();
  /** Views a node gave of itself: second-hand ones do not replace them. */
  private readonly fromSelf = new Set<string>();
  /** Peers that sent this node an advertisement: rx2p nodes. */
  private readonly speakers = new WeakSet<Connection>();
  private state: RouterState | undefined;
  private dirty = false;
  /** Scheduler time each view was last confirmed by the node it describes (directly, or through peers' ages). */
  private readonly confirmedAt = new Map<string, number>();
  private nextRetell = 0;
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

  // ------------------------------------------------------------ the component

  /** Registers the directory's stages and its two subflags (views, and the one-hop relay). */
  start(ctx: ComponentContext): void {
    this.state = ctx.state;
    const on = ctx.on;
    on.peerConnected.push((s, conn) => this.peerConnected(s, conn));
    on.closed.push((s, conn) => this.closed(s, conn));
    on.tick.push((s, now) => this.tick(s, now));
    on.routeWhisper.push((s, target, packets) => this.routeWhisper(s, target, packets));
    ctx.subflag(RELAY_SUBFLAG, {
      handle: (s, msg, conn) => {
        if (conn !== undefined && msg.msgType === flags.whisper) this.relay(s, conn, msg);
        return true;
      },
    });
    ctx.subflag(WEB_SUBFLAG, {
      handle: (s, msg, conn) => {
        if (conn !== undefined && msg.msgType === flags.whisper) this.receive(s, conn, msg);
        return true;
      },
    });
  }

  /** The node is closing: no more change notices. */
  stop(): void {
    this.onChange = undefined;
  }

  /** A peer joined: it hears this node's view if it should (see the note at the top). */
  private peerConnected(s: RouterState, conn: Connection): void {
    if (this.shouldTell(conn)) this.tell(s, conn);
    this.changed();
  }

  /** A peer left: its view goes, unless another connection to it remains. */
  private closed(s: RouterState, conn: Connection): void {
    if (conn.id === undefined || !conn.handshaken || s.routingTable.has(conn.id)) return;
    this.forget(conn.id);
    this.changed();
  }

  /** The housekeeping tick: views no one confirmed leave; changes and re-tellings go out. */
  private tick(s: RouterState, now: number): void {
    // Views no one confirmed within the timeout leave (closed tabs, dead nodes), and
    // every view is told again a third of the way there, so that live ones stay.
    const timeout = s.options.webTopologyTimeoutMs;
    let aged = false;
    for (const [id, at] of this.confirmedAt) {
      if (now - at > timeout && !s.routingTable.has(id)) {
        this.forget(id);
        aged = true;
      }
    }
    if (aged) this.onChange?.();
    // The periodic re-telling goes to rx2p peers only (those that spoke, and browsers).
    const retell = now >= this.nextRetell;
    if (retell) this.nextRetell = now + Math.floor(timeout / 3);
    if (!this.dirty && !retell) return;
    const changed = this.dirty;
    this.dirty = false;
    for (const conn of s.routingTable.values()) {
      if (changed ? this.shouldTell(conn) : this.speakers.has(conn) || !isListed(conn)) this.tell(s, conn);
    }
  }

  /**
   * A whisper to a node not connected here: relayed through the connected rx2p node
   * whose own view lists it as a peer; failed at once (typed) for a browser tab no such
   * node lists, and for any target from a browser; otherwise left to the request route.
   */
  private routeWhisper(s: RouterState, target: string, packets: Packet[]): boolean | Error | undefined {
    const via = this.via(s, target);
    if (via !== undefined) {
      const last = via.lastSent;
      s.sendTo(via, flags.whisper, [RELAY_SUBFLAG, target, flags.whisper, ...packets]);
      via.lastSent = last;
      return true;
    }
    if (this.options.browser) return new NoRouteError(target, 'not connected, and no connected rx2p node lists it as its peer');
    if (this.views.get(target)?.browser) return new NoRouteError(target, 'a browser tab, and no connected rx2p node lists it as its peer');
    return undefined;
  }

  /** Ids a whisper from here can reach: peers, and the peers of connected rx2p nodes. */
  reachable(s: RouterState | undefined = this.state): string[] {
    if (s === undefined) return [];
    const out = new Set<string>(s.routingTable.keys());
    for (const [id, conn] of s.routingTable) {
      if (!this.speakers.has(conn) || !this.fromSelf.has(id)) continue;
      for (const p of this.views.get(id)?.peers ?? []) out.add(p);
    }
    out.delete(s.host.id());
    return [...out];
  }

  // ------------------------------------------------------------ internals

  private forget(id: string): void {
    this.views.delete(id);
    this.fromSelf.delete(id);
    this.confirmedAt.delete(id);
  }

  /** The connected rx2p node whose own view lists target as its peer. */
  private via(s: RouterState, target: string): Connection | undefined {
    for (const [id, conn] of s.routingTable) {
      if (this.speakers.has(conn) && this.fromSelf.has(id) && this.views.get(id)?.peers.includes(target)) return conn;
    }
    return undefined;
  }

  /** A relay from a peer: forwarded once to the target, if it is this node's peer. */
  private relay(s: RouterState, conn: Connection, msg: PathfindingMessage): void {
    const p = msg.payload;
    if (p.length < 3 || msg.sender !== conn.id) return;
    const target = s.routingTable.get(latin1(p[1]!));
    if (target === undefined || target === conn) return;
    const last = target.lastSent;
    target.send(flags.whisper, p.slice(2), msg.sender, msg.time);
    s.stats.framesOut++;
    target.lastSent = last;
  }

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
    const now = s.now();
    const timeout = s.options.webTopologyTimeoutMs;
    for (const entry of body.slice(0, MAX_VIEWS)) {
      const view = parseView(entry);
      if (view === undefined || view.id === s.host.id()) continue;
      const self = view.id === conn.id;
      if (!self && this.fromSelf.has(view.id) && s.routingTable.has(view.id)) continue;
      // A second-hand view is as old as its teller says (an old rx2p node says nothing:
      // as old as can be kept); an echo of what this node knows better changes nothing.
      const age = self ? 0 : Math.min(Math.max(ageOf(entry), 0), timeout);
      const at = now - age;
      if (!self && (this.confirmedAt.get(view.id) ?? -Infinity) >= at) continue;
      if (self) this.fromSelf.add(view.id);
      else this.fromSelf.delete(view.id);
      this.views.delete(view.id);
      this.views.set(view.id, view);
      this.confirmedAt.set(view.id, at);
      changed = true;
    }
    while (this.views.size > MAX_VIEWS) this.forget(this.views.keys().next().value!);
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
    const now = s.now();
    const views = this.snapshot().slice(0, MAX_VIEWS).map((v) => [v.id, v.ws, v.peers.slice(0, MAX_PEERS_PER_VIEW), v.browser ? 1 : 0, Math.max(0, Math.round(now - (this.confirmedAt.get(v.id) ?? now)))]);
    // Not the peer's last_sent: a py2p `resend` still gets the last user message.
    const last = conn.lastSent;
    s.sendTo(conn, flags.whisper, [WEB_SUBFLAG, JSON.stringify(views)]);
    conn.lastSent = last;
  }
}

/** The age in ms a teller gives a view (its fifth element); without one, unknown (Infinity). */
function ageOf(entry: unknown): number {
  const age = (entry as unknown[])[4];
  return typeof age === 'number' && Number.isFinite(age) ? age : Infinity;
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
