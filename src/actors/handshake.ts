// The handshake (who a peer is, what it speaks) and the peers lists that grow the mesh.
import { flags } from '../protocol/flags.js';
import { fromBase58 } from '../protocol/base58.js';
import type { PathfindingMessage } from '../protocol/message.js';
import { pyJsonDumps } from '../protocol/pyjson.js';
import { DuplicatePeerError, MalformedControlError, MalformedHandshakeError, ProtocolMismatchError } from '../errors.js';
import type { Connection } from '../streams/connection.js';
import { dial } from './dial.js';
import { latin1, parseAddr, parseMethods } from './fields.js';
import type { RouterState } from './state.js';

/** A peer's handshake: [handshake, id, protocol id, JSON address, JSON compression list]. */
export function onHandshake(s: RouterState, conn: Connection, msg: PathfindingMessage): void {
  const p = msg.payload;
  if (p.length < 5) return s.drop(conn, new MalformedHandshakeError(`${p.length} packets, 5 expected`));
  const id = latin1(p[1]!);
  const protocolId = latin1(p[2]!);
  if (protocolId !== s.host.protocol.id) return s.drop(conn, new ProtocolMismatchError(s.host.protocol.id, protocolId));
  let addr: [string, number];
  let methods: string[];
  try {
    addr = parseAddr(JSON.parse(p[3]!.toString()));
    methods = parseMethods(JSON.parse(p[4]!.toString()));
    fromBase58(id);
    if (id.length === 0 || id.length > 128) throw new Error('bad node id');
  } catch (err) {
    return s.drop(conn, new MalformedHandshakeError((err as Error).message));
  }
  if (id === s.host.id()) {
    s.awaiting.delete(conn);
    s.settleWaiters(conn, false);
    conn.destroy();
    return;
  }
  for (const ext of s.hooks.onHandshake) {
    const refusal = ext.onHandshake!(s, conn, msg);
    if (refusal) return s.drop(conn, refusal);
  }
  const existing = s.routingTable.get(id);
  conn.id = id;
  conn.addr = addr;
  conn.setPeerCompression(methods);
  conn.handshaken = true;
  s.awaiting.delete(conn);
  if (existing && existing !== conn && existing.outgoing === conn.outgoing) {
    // Not crossed dials but a second connection claiming a connected peer's id. Ids are not
    // authenticated: replacing the working connection would let anyone displace a peer by
    // naming its id. Keep it, and probe it: if it is in fact dead (half-open after a
    // partition) the probe meets a reset, and the peer's next redial gets in.
    s.sendTo(existing, flags.whisper, [flags.request, '*']);
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
  for (const ext of s.hooks.onPeerConnected) ext.onPeerConnected!(s, conn);
}

/** This node's routing table as py2p's peers list, [[addr, id], …], shuffled. */
export function peerListJson(s: RouterState): string {
  const list: Array<[[string, number], string]> = [];
  for (const [id, c] of s.routingTable) if (c.addr) list.push([c.addr, id]);
  for (let i = list.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [list[i], list[j]] = [list[j]!, list[i]!];
  }
  return pyJsonDumps(list);
}

/** A peer's peers list: dial the peers not known yet, while below maxOutgoing. */
export function onPeers(s: RouterState, conn: Connection, p: Buffer[]): void {
  const o = s.options;
  let list: unknown;
  try {
    list = JSON.parse(p[1]?.toString() ?? '');
    if (!Array.isArray(list)) throw new Error('not a list');
  } catch (err) {
    return s.recordError(new MalformedControlError('peers list', (err as Error).message), conn.id);
  }
  let considered = 0;
  for (const entry of list) {
    if (considered++ >= o.maxPeersList) break;
    if (s.outgoingCount() >= o.maxOutgoing) break;
    let addr: [string, number];
    let id: string;
    try {
      if (!Array.isArray(entry) || entry.length !== 2 || typeof entry[1] !== 'string') throw new Error('bad entry');
      addr = parseAddr(entry[0]);
      id = entry[1];
    } catch {
      continue;
    }
    if (id === s.host.id() || s.routingTable.has(id)) continue;
    dial(s, addr[0], addr[1], id, { resolve: () => undefined, reject: () => undefined });
  }
}

/** py2p's request_peers: ask every peer for its routing table. */
export function requestPeers(s: RouterState): void {
  for (const c of s.routingTable.values()) s.sendTo(c, flags.whisper, [flags.request, '*']);
}
