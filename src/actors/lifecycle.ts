// A connection's life in the router: accepted (or refused at the limits), its faults,
// its close, a disconnect() or a drop for cause, the timeouts of the housekeeping
// tick, and the node's shutdown.
import { isProtocolError } from '../protocol/errors.js';
import {
  ConnectionClosedError, ConnectionLimitError, FrameTimeoutError, HalfOpenEvictedError, HandshakeTimeoutError, MeshError, SocketClosedError,
} from '../errors.js';
import type { Connection } from '../streams/connection.js';
import type { PendingConnection, TransportConnection } from '../transport/transport.js';
import { scheduleRedial } from './dial.js';
import { isLoopbackPair } from './fields.js';
import { requestPeers } from './handshake.js';
import type { RouterState } from './state.js';

/** A connection's peer as host:port (the key of a connection still in its transport handshake). */
function remoteKey(link: { remoteAddress: string | undefined; remotePort: number | undefined }): string {
  return `${link.remoteAddress}:${link.remotePort}`;
}

/**
 * A connection accepted but still in its transport handshake (TLS). It counts as
 * awaiting its handshake from now on, towards maxAwaiting and maxConnections:
 * connections that never finish TLS are bounded as plain ones are.
 */
export function onPending(s: RouterState, pending: PendingConnection): void {
  const o = s.options;
  if (s.closing) return void pending.destroy();
  const count = s.pendingAccepts.size;
  if (s.awaiting.size + count >= o.maxAwaiting || s.live.size + count >= o.maxConnections) {
    const awaitingFull = s.awaiting.size + count >= o.maxAwaiting;
    if (!evictOldestHalfOpen(s, awaitingFull)) return refuse(s, pending, awaitingFull);
  }
  const key = remoteKey(pending);
  s.pendingAccepts.set(key, pending);
  s.pendingSince.set(pending, s.now());
  // Its close is an input like any other: the actor forgets it between two inputs.
  void pending.closed.then(() => s.post(() => {
    if (s.pendingAccepts.get(key) === pending) s.pendingAccepts.delete(key);
  }));
}

/**
 * A transport handshake that failed or timed out: recorded as the typed error the
 * transport gives, once, unless the connection was refused before its handshake.
 */
export function onPendingFailed(s: RouterState, pending: PendingConnection, error: Error): void {
  const key = remoteKey(pending);
  if (!s.pendingAccepts.has(key)) return;
  s.pendingAccepts.delete(key);
  s.recordError(error, key);
  pending.destroy();
}

/** Connections of a set not yet destroyed (an evicted one stays in the sets until its close event). */
function openCount(set: ReadonlySet<Connection>): number {
  let n = 0;
  for (const c of set) if (!c.closed) n++;
  return n;
}

/**
 * Slots are full and a newcomer is here: the oldest incoming connection that has not
 * completed its handshake (its TLS handshake or WebSocket upgrade included) is closed
 * to make room, so idle or slow half-open connections cannot lock fresh peers out; an
 * honest handshake takes milliseconds, so it is never the oldest for long. False when
 * there is none (every slot holds a handshaken or dialled connection): then the
 * newcomer is refused.
 */
function evictOldestHalfOpen(s: RouterState, awaitingFull: boolean): boolean {
  let oldest: Connection | undefined;
  for (const c of s.awaiting) {
    if (c.closed || c.outgoing || c.handshaken) continue;
    if (oldest === undefined || c.openedAt < oldest.openedAt) oldest = c;
  }
  let oldestPending: [string, PendingConnection] | undefined;
  let pendingAt = Infinity;
  for (const entry of s.pendingAccepts) {
    const at = s.pendingSince.get(entry[1]) ?? 0;
    if (at < pendingAt) {
      pendingAt = at;
      oldestPending = entry;
    }
  }
  const o = s.options;
  const error = new HalfOpenEvictedError(awaitingFull ? 'awaiting handshake' : 'connection', awaitingFull ? o.maxAwaiting : o.maxConnections);
  if (oldestPending !== undefined && (oldest === undefined || pendingAt <= oldest.openedAt)) {
    s.pendingAccepts.delete(oldestPending[0]);
    s.recordError(error, oldestPending[0]);
    oldestPending[1].destroy();
    return true;
  }
  if (oldest === undefined) return false;
  s.drop(oldest, error);
  return true;
}

function refuse(s: RouterState, link: PendingConnection | TransportConnection, awaitingFull: boolean): void {
  const o = s.options;
  s.stats.connectionsRefused++;
  s.recordError(new ConnectionLimitError(awaitingFull ? 'awaiting handshake' : 'connection', awaitingFull ? o.maxAwaiting : o.maxConnections), remoteKey(link));
  link.destroy();
}

/** A connection ready for the mesh protocol, from the listener. */
export function onAccepted(s: RouterState, link: TransportConnection): void {
  const o = s.options;
  if (s.closing) return void link.destroy();
  // A connection in a transport handshake was counted from its accept; from here on it is a Connection.
  if (s.pendingAccepts.size > 0) s.pendingAccepts.delete(remoteKey(link));
  if (openCount(s.awaiting) >= o.maxAwaiting || openCount(s.live) >= o.maxConnections) {
    const awaitingFull = openCount(s.awaiting) >= o.maxAwaiting;
    if (!evictOldestHalfOpen(s, awaitingFull)) return refuse(s, link, awaitingFull);
  }
  s.host.print(1, `Incoming connection from ${link.remoteAddress}:${link.remotePort}`);
  s.adopt(link, false);
}

export function onFault(s: RouterState, conn: Connection, error: unknown): void {
  const err = error instanceof Error ? error : new Error(String(error));
  // The router's own reasons for dropping a peer were recorded when it dropped it (and
  // drop() closes without an error, so they never come back here); a MeshError here is
  // the connection's own reason, e.g. SendBufferOverflowError, and is recorded now.
  if (!conn.closed || isProtocolError(err) || err instanceof MeshError) s.recordError(err, conn.id ?? conn.remote);
  if (isProtocolError(err) || err instanceof MeshError) s.closedOnPurpose.add(conn);
  conn.destroy();
  s.settleWaiters(conn, err);
}

export function onClosed(s: RouterState, conn: Connection): void {
  s.live.delete(conn);
  // whenClosed resolves now; what awaits it runs after this input (a promise's callbacks are jobs).
  conn.ended();
  s.awaiting.delete(conn);
  conn.destroy();
  // A dial that lost a crossed-connection race still ends connected, through the other one.
  s.settleWaiters(conn, connectedTo(s, conn) ? false : closeReason(s, conn) ?? new ConnectionClosedError(`connection to ${conn.remote} closed before its handshake`));
  if (conn.id !== undefined && s.routingTable.get(conn.id) === conn) {
    s.routingTable.delete(conn.id);
    s.host.print(1, `Connection to node ${conn.id} has been closed`);
    s.host.emit({ type: 'peer-disconnected', id: conn.id, addr: conn.addr, outgoing: conn.outgoing });
    scheduleRedial(s, conn);
    // Only the loss of a peer it dialled sends a node asking for others: a hub that loses
    // one of its hundred incoming peers (a partition, churn) asked all the others for their
    // lists, and a heal cost five broadcasts' worth of frames at N = 1,000 (simulation).
    if (!s.closing && conn.outgoing && s.outgoingCount() < s.options.maxOutgoing) requestPeers(s);
  }
  for (const closed of s.stages.closed) closed(s, conn);
}

/** Whether another connection already links this node to the peer conn was meant for. */
function connectedTo(s: RouterState, conn: Connection): boolean {
  if (conn.id !== undefined && s.routingTable.has(conn.id) && s.routingTable.get(conn.id) !== conn) return true;
  const t = conn.target;
  if (!t) return false;
  for (const c of s.routingTable.values()) {
    if (c !== conn && c.addr && c.addr[1] === t[1] && (c.addr[0] === t[0] || isLoopbackPair(c.addr[0], t[0]))) return true;
  }
  return false;
}

/** The housekeeping tick's timeouts: handshakes and unfinished frames that take too long. */
export function sweepTimeouts(s: RouterState, now: number): void {
  const o = s.options;
  // A dropped connection stays in these sets until its close event: skip it, so that
  // one connection is dropped (and counted) once, not once per timeout or per tick.
  for (const c of s.awaiting) {
    if (!c.closed && now - c.openedAt > o.handshakeTimeoutMs) s.drop(c, new HandshakeTimeoutError(o.handshakeTimeoutMs));
  }
  for (const c of s.live) {
    if (!c.closed && c.partialSince && now - c.partialSince > o.frameTimeoutMs) s.drop(c, new FrameTimeoutError(o.frameTimeoutMs));
  }
}

/** py2p's mesh_daemon.disconnect(handler): closes one peer's connection, by id or connection. */
export function disconnect(s: RouterState, peer: string | Connection): boolean {
  const conn = typeof peer === 'string' ? s.routingTable.get(peer) : (s.live.has(peer) ? peer : undefined);
  if (!conn) return false;
  s.host.print(1, `Connection to node ${conn.id ?? conn.remote} has been closed`);
  s.closedOnPurpose.add(conn);
  conn.destroy();
  return true;
}

/**
 * Closes every connection and settles everything pending. The actor's input is cut
 * (by the caller) right after: connections end on their own close, not through it.
 */
export function shutdown(s: RouterState): void {
  s.closing = true;
  for (const c of s.live) {
    c.destroy();
    void c.transport.closed.then(() => c.ended());
  }
  for (const list of s.connectWaiters.values()) for (const w of list) w.reject(new SocketClosedError());
  s.connectWaiters.clear();
  for (const r of s.requests.values()) {
    r.done.reject(new SocketClosedError());
    for (const w of r.followers ?? []) w.done.reject(new SocketClosedError());
  }
  s.requests.clear();
  s.redials.clear();
  for (const pending of s.pendingAccepts.values()) pending.destroy();
  s.pendingAccepts.clear();
  for (const c of s.components) c.stop();
}

/** After the input is cut: the sockets are destroyed and their close events no longer reach the actor. */
export function forgetAll(s: RouterState): void {
  s.routingTable.clear();
  s.awaiting.clear();
  s.dedup.clear();
  s.connections$.complete();
}

/** A component's better reason for a connection that closed before its handshake completed. */
function closeReason(s: RouterState, conn: Connection): Error | undefined {
  if (conn.handshaken) return undefined;
  for (const why of s.stages.closeReason) {
    const reason = why(s, conn);
    if (reason) return reason;
  }
  return undefined;
}
