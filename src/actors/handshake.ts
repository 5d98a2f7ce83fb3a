// The handshake (who a peer is, what it speaks) and the peers lists that grow the mesh.
import { flags } from '../protocol/flags.js';
import { fromBase58 } from '../protocol/base58.js';
import type { PathfindingMessage } from '../protocol/message.js';
import { pyJsonDumps } from '../protocol/pyjson.js';
import { DuplicatePeerError, MalformedControlError, MalformedHandshakeError, ProtocolMismatchError } from '../errors.js';
import type { Connection } from '../streams/connection.js';
import { dial } from './dial.js';
import { parseHandshake, parsePeersList, type Handshake } from '../protocol/bounds.js';
import type { Hello, RouterState } from './state.js';
import { isRx2pPeer, probe } from './capability.js';

/** A peer's handshake: [handshake, id, protocol id, JSON address, JSON compression list]. */
export function onHandshake(s: RouterState, conn: Connection, msg: PathfindingMessage): void {
  let hs: Handshake;
  try {
    // Every field is bounded before it is decoded (src/protocol/bounds.ts).
    hs = parseHandshake(msg.payload, s.options);
  } catch (err) {
    return s.drop(conn, new MalformedHandshakeError((err as Error).message));
  }
  const { id, protocolId, addr, methods } = hs;
  if (protocolId !== s.host.protocol.id) return s.drop(conn, new ProtocolMismatchError(s.host.protocol.id, protocolId));
  if (id === s.host.id()) {
    s.awaiting.delete(conn);
    s.settleWaiters(conn, false);
    conn.destroy();
    return;
  }
  for (const check of s.stages.handshake) {
    const refusal = check(s, conn, msg);
    if (refusal) return s.drop(conn, refusal);
  }
  const hello: Hello = { id, addr, methods };
  for (const hold of s.stages.holdHandshake) if (hold(s, conn, hello)) return;
  completeHandshake(s, conn, hello);
}

/** The peer is who it says (checked, or proven where a component held the handshake): it joins the routing table. */
export function completeHandshake(s: RouterState, conn: Connection, hello: Hello): void {
  const { id, addr, methods } = hello;
  const existing = s.routingTable.get(id);
  conn.id = id;
  conn.addr = addr;
  conn.setPeerCompression(methods);
  conn.handshaken = true;
  conn.trust();
  s.awaiting.delete(conn);
  if (existing && existing !== conn && existing.outgoing === conn.outgoing) {
    // Not crossed dials but a second connection claiming a connected peer's id. Ids are not
    // authenticated (but in the authenticated protocol): replacing the working connection would let anyone displace a peer by
    // naming its id. Keep it, and probe it: if it is in fact dead (half-open after a
    // partition) the probe meets a reset, and the peer's next redial gets in.
    probe(s, existing);
    if (conn.outgoing) {
      // This node dialled the same peer twice (two addresses): already connected.
      s.closedOnPurpose.add(conn);
      s.settleWaiters(conn, false);
      conn.destroy();
      return;
    }
    return s.drop(conn, new DuplicatePeerError(id));
  }
  if (existing && existing !== conn) {
    // Both nodes dialled each other. Keep the connection dialled by the node with the
    // larger id, as py2p does, so that both ends keep the same one.
    const keepExisting = (fromBase58(s.host.id()) > fromBase58(id)) !== conn.outgoing;
    s.host.print(1, `Resolving peer conflict on id ${id}`);
    if (keepExisting) {
      s.settleWaiters(conn, false);
      conn.destroy();
      return;
    }
    s.settleWaiters(existing, false);
    s.routingTable.delete(id);
    existing.destroy();
  }
  s.routingTable.set(id, conn);
  s.sendTo(conn, flags.whisper, [flags.peers, peerListJson(s)]);
  s.host.emit({ type: 'peer-connected', id, addr, outgoing: conn.outgoing });
  s.settleWaiters(conn, true);
  for (const joined of s.stages.peerConnected) joined(s, conn);
}

/** False for a peer that cannot be dialled at the address it gave (a browser over WebSocket). */
export function isListed(conn: Connection): boolean {
  return conn.transport.listed !== false;
}

/** This node's routing table as py2p's peers list, [[addr, id], …], shuffled; never a browser. */
export function peerListJson(s: RouterState): string {
  const list: Array<[[string, number], string]> = [];
  for (const [id, c] of s.routingTable) if (c.addr && isListed(c)) list.push([c.addr, id]);
  for (let i = list.length - 1; i > 0; i--) {
    const j = Math.floor(s.options.random() * (i + 1));
    [list[i], list[j]] = [list[j]!, list[i]!];
  }
  return pyJsonDumps(list);
}

/** A peer's peers list: dial the peers not known yet, while below maxOutgoing. */
export function onPeers(s: RouterState, conn: Connection, p: Buffer[]): void {
  const o = s.options;
  if (s.host.followPeersLists === false) return;
  let list: Array<{ addr: [string, number]; id: string }>;
  try {
    // Only the first maxPeersList entries are parsed at all.
    list = parsePeersList(p[1], o, o.maxPeersList);
  } catch (err) {
    return s.recordError(new MalformedControlError('peers list', (err as Error).message), conn.id);
  }
  for (const { addr, id } of list) {
    if (s.outgoingCount() >= o.maxOutgoing) break;
    if (id === s.host.id() || s.routingTable.has(id)) continue;
    dial(s, addr[0], addr[1], id, { resolve: () => undefined, reject: () => undefined });
  }
}

/**
 * After losing a peer: ask every rx2p peer for its routing table. Not py2p peers: py2p
 * 0.2 raises on the two-packet request and broadcasts its table on a three-packet one
 * (capability.ts); they keep to the peers lists of new connections.
 */
export function requestPeers(s: RouterState): void {
  for (const c of s.routingTable.values()) if (isRx2pPeer(c)) s.sendTo(c, flags.whisper, [flags.request, '*']);
}
