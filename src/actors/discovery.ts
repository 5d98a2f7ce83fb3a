// Peer discovery beyond py2p's: py2p reads one peers list per new connection and asks
// again only when it loses a peer. A node that joins through a node that has itself just
// joined gets a list of one (itself) or none, and stays a leaf for good: the simulation
// found such nodes at N = 1,000 (a node with one connection in a mesh where
// maxOutgoing is 4). Here a node with fewer than maxOutgoing peers asks one of its rx2p
// peers (`whisper request *`, which rx2p answers with a whisper of its peers list) for its
// list again, backing off. py2p peers are never asked: py2p 0.2 reads `request` as three
// packets (request id, then target), so the two-packet form raises IndexError in its
// daemon loop, which drops the asking peer; and it answers a well-formed `request *` by
// broadcasting its routing table to the whole mesh. A node whose peers are all py2p
// relies on py2p's own lists, as py2p does.
import { flags } from '../protocol/flags.js';
import { isRx2pPeer } from './capability.js';
import type { ComponentContext, RouterComponent } from './component.js';
import type { RouterState } from './state.js';

/** Peer discovery beyond py2p's, as a router component (on its tick stage; it sends py2p's `request *`, whose subflag is the core's). */
export function peerDiscovery(intervalMs: number): RouterComponent {
  return new PeerDiscovery(intervalMs);
}

class PeerDiscovery implements RouterComponent {
  readonly name = 'peer-discovery';
  private attempt = 0;
  /** When to ask next (scheduler ms); -1 while the node has peers enough. */
  private dueAt = -1;

  constructor(private readonly intervalMs: number) {}

  start(ctx: ComponentContext): void {
    ctx.on.tick.push((s, now) => this.tick(s, now));
  }

  stop(): void {
    this.dueAt = -1;
  }

  private tick(s: RouterState, now: number): void {
    const intervalMs = this.intervalMs;
    const peers = s.routingTable.size;
    const max = s.options.maxOutgoing;
    if (s.closing || peers === 0 || peers >= max || s.outgoingCount() >= max) {
      this.attempt = 0;
      this.dueAt = -1;
      return;
    }
    if (this.dueAt < 0) this.dueAt = now + intervalMs;
    if (now < this.dueAt) return;
    const conns = [...s.routingTable.values()].filter(isRx2pPeer);
    // No rx2p peer to ask: look again in intervalMs (one may have joined by then).
    if (conns.length === 0) {
      this.dueAt = now + intervalMs;
      return;
    }
    this.attempt++;
    this.dueAt = now + intervalMs * 2 ** Math.min(this.attempt, 6);
    const conn = conns[Math.floor(s.options.random() * conns.length)]!;
    s.sendTo(conn, flags.whisper, [flags.request, '*']);
  }
}
