// Dialling peers: connect(), the peers lists' dials and the request/response route's,
// and dialling again, with backoff, a dialled peer lost without this node meaning it.
import { ConnectionLimitError } from '../errors.js';
import type { Connection } from '../streams/connection.js';
import type { Transport } from '../transport/transport.js';
import { isLoopbackPair } from './fields.js';
import type { RouterState, Settle } from './state.js';

/**
 * Dials (host, port), expecting node `id` if given. Settles done with true once
 * handshaken, false if already connected (or it is this node), or the typed error
 * that ended the attempt. Concurrent dials of one address share one connection.
 */
export function dial(s: RouterState, host: string, port: number, id: string | undefined, done: Settle<boolean>, transport?: Transport): void {
  const o = s.options;
  const [myHost, myPort] = s.host.outAddr();
  if (id !== undefined && (id === s.host.id() || s.routingTable.has(id))) return done.resolve(false);
  if (port === myPort && (host === myHost || isLoopbackPair(host, myHost))) return done.resolve(false);
  for (const c of s.routingTable.values()) {
    if (c.addr && c.addr[0] === host && c.addr[1] === port) return done.resolve(false);
  }
  for (const c of s.awaiting) {
    if (id !== undefined && c.id === id) return void s.waitFor(c, done);
  }
  const key = `${host}:${port}`;
  // A dial of this address in flight: this one waits on the same connection.
  const pending = s.dials.get(key);
  if (pending) return void s.waitFor(pending, done);
  if (s.live.size >= o.maxConnections) return done.reject(new ConnectionLimitError('connection', o.maxConnections));
  s.host.print(1, `Attempting connection to ${host}:${port}`);
  const conn = s.adopt((transport ?? s.host.transport).dial(host, port), true, id);
  // Re-dialled on the node's own transport: through another one (a ws:// URL), a lost
  // peer is re-dialled at the address its handshake gave.
  if (transport === undefined) conn.target = [host, port];
  // Settled inside the actor (settleWaiters), in order: the first waiter forgets the dial.
  s.dials.set(key, conn);
  const forget = () => { if (s.dials.get(key) === conn) s.dials.delete(key); };
  s.waitFor(conn, { resolve: forget, reject: forget });
  s.waitFor(conn, done);
}

/** A dialled peer lost without this node meaning it: dial it again after reconnectIntervalMs. */
export function scheduleRedial(s: RouterState, conn: Connection): void {
  const o = s.options;
  const addr = conn.target ?? conn.addr;
  if (s.closing || o.reconnectIntervalMs === 0 || !conn.outgoing || !addr || conn.id === undefined || s.closedOnPurpose.has(conn)) return;
  s.redials.set(conn.id, { host: addr[0], port: addr[1], attempt: 0, lostAt: s.now(), dueAt: s.now() + o.reconnectIntervalMs });
}

/**
 * Dials the lost peers whose time has come. Each failure doubles the wait (at most 64x);
 * after maxReconnectAttempts failures the peer is forgotten. A peer back in the routing
 * table (it dialled us, or a peers list led to it) needs no redial.
 */
export function redialDue(s: RouterState, now: number): void {
  const o = s.options;
  for (const [id, r] of s.redials) {
    if (s.routingTable.has(id)) {
      s.redials.delete(id);
      continue;
    }
    if (r.dueAt > now) continue;
    r.dueAt = Infinity;
    s.host.print(1, `Reconnecting to ${r.host}:${r.port} (attempt ${r.attempt + 1})`);
    dial(s, r.host, r.port, id, {
      resolve: (connected) => {
        s.redials.delete(id);
        if (connected) displaceReplacement(s, id, r.lostAt);
      },
      reject: () => {
        if (s.redials.get(id) !== r) return;
        if (++r.attempt >= o.maxReconnectAttempts) s.redials.delete(id);
        else r.dueAt = s.now() + o.reconnectIntervalMs * 2 ** Math.min(r.attempt, 6);
      },
    });
  }
}

/**
 * A lost peer dialled again after this node replaced it from peers lists (it asks for
 * lists as soon as it is below maxOutgoing): the restored connection displaces the
 * newest replacement, so that a partition that heals leaves each node with
 * maxOutgoing connections of its own, not maxOutgoing plus every link it lost (the
 * simulation measured median connections per node going from 5 to 9 after a heal).
 */
function displaceReplacement(s: RouterState, restored: string, lostAt: number): void {
  if (s.outgoingCount() <= s.options.maxOutgoing) return;
  let newest: Connection | undefined;
  for (const [id, c] of s.routingTable) {
    if (id === restored || !c.outgoing || c.closed || c.openedAt < lostAt) continue;
    if (!newest || c.openedAt > newest.openedAt || (c.openedAt === newest.openedAt && c.serial > newest.serial)) newest = c;
  }
  if (!newest) return;
  s.host.print(1, `Restored ${restored}: closing ${newest.id}, its replacement`);
  s.closedOnPurpose.add(newest);
  newest.destroy();
}
