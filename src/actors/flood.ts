// Flooding: relaying admitted broadcasts and waterfalls on (admission is dedup.ts), and
// this node's own broadcasts. This is the hot path: no
// closure or allocation per message beyond what the codec needs.
import { flags } from '../protocol/flags.js';
import { PathfindingMessage } from '../protocol/message.js';
import type { Connection } from '../streams/connection.js';
import { compressFrameAsync, compressFrameSync } from '../streams/zlib-async.js';
import { sharedZlib } from '../streams/zlib-codec.js';
import { isRx2pPeer } from './capability.js';
import { admitVerified, ownBroadcast } from './dedup.js';
import type { Packet, RouterState } from './state.js';

/**
 * A relayed message with this many payload bytes or more is written as a new head
 * and a view of its body, where a smaller one is copied (one buffer, batched with
 * others); the delivered message then keeps the body it came in.
 */
export const PIECES_FROM_BYTES = 64 * 1024;

/**
 * De-duplicates and floods a message the user hands back (waterfall()): a message
 * older than the age limit, or seen, is dropped; a new one goes on to every peer as a
 * waterfall that keeps the original sender and time, hence the same id.
 */
export function flood(s: RouterState, msg: PathfindingMessage, from: Connection | undefined): boolean {
  // A message the user floods is checked as any other (in the authenticated protocol,
  // it must carry its origin's signature), and remembered only once it passed.
  if (ownBroadcast(s, msg) || !admitVerified(s, msg, from)) return false;
  relay(s, msg, from, undefined);
  if (msg.msgType !== flags.waterfall) s.dedup.noteContent(msg);
  return true;
}

/**
 * Passes an admitted message on to every other peer as a waterfall, keeping its sender
 * and time. `prepared` is its plain waterfall frame if delivering it made one (one copy
 * of the body serves the user and the peers).
 */
export function relay(s: RouterState, msg: PathfindingMessage, from: Connection | undefined, prepared: Buffer | undefined): void {
  if (!s.closing) fanOut(s, s.routingTable.values(), flags.waterfall, msg, from, true, prepared);
}

/**
 * Writes msg (as msgType) to every given peer but `except`, encoding it once per
 * compression method in use. A relayed waterfall also skips the message's own
 * sender and any peer more than maxRelayBacklogBytes behind.
 */
export function fanOut(
  s: RouterState, targets: Iterable<Connection>, msgType: string, source: PathfindingMessage, except?: Connection, relaying = false, prepared?: Buffer,
): boolean {
  // Almost always one method (or none) is in use: the first is kept in two locals.
  let method0: string | null | undefined;
  let frame0: Buffer | undefined;
  let others: Map<string | null, Buffer> | undefined;
  let payloadBytes: number | undefined;
  let pieces: [Buffer, Buffer] | null | undefined;
  let offLoop: Promise<Buffer> | undefined;
  let deflated: Buffer | undefined;
  let below = true;
  const stats = s.stats;
  // py2p 0.2 drops young waterfalls and takes old ones as new (py2pRelayMaxAgeSeconds).
  const tooOldForPy2p = relaying && source.timeNumber <= s.utc() - s.host.options.py2pRelayMaxAgeSeconds;
  for (const conn of targets) {
    if (conn === except) continue;
    if (relaying) {
      const id = conn.idBytes;
      if (id !== undefined && source.senderIs(id)) continue;
      if (tooOldForPy2p && !isRx2pPeer(conn)) continue;
      if (conn.backlog > s.host.options.maxRelayBacklogBytes) {
        stats.relaysSkipped++;
        continue;
      }
    }
    const method = conn.methodFor(payloadBytes ??= source.payloadBytes, source);
    if (method !== null && conn.usesNodeZlib) {
      // Compressed with node:zlib, once for all peers: a large frame on its thread pool.
      // The plain frame is made only for the one compression (it was made per peer: a
      // 15 MiB broadcast relayed to nine gzip peers cost nine 15 MiB copies on the loop).
      if (conn.deflatesOffLoop(payloadBytes)) {
        // In the node's share of the thread pool, as inflates and digests are.
        if (offLoop === undefined) {
          const plain = prepared ?? source.relay(msgType, null);
          offLoop = s.pool.run(() => compressFrameAsync(plain));
        }
        if (!conn.writeLater(offLoop, payloadBytes)) below = false;
      } else if (!conn.write((deflated ??= compressFrameSync(prepared ?? source.relay(msgType, null))))) below = false;
      stats.framesOut++;
      if (msgType === flags.broadcast) conn.lastSent = source;
      continue;
    }
    if (method === null && relaying && payloadBytes >= PIECES_FROM_BYTES && (pieces ??= source.relayPieces(msgType) ?? null) !== null) {
      // A large message goes on as a new head and a view of its body: no copy.
      if (!conn.writePieces(pieces)) below = false;
      stats.framesOut++;
      continue;
    }
    let frame: Buffer | undefined;
    if (frame0 === undefined) {
      // Same payload and time, so the same id: no second hash of the payload.
      frame = frame0 = method === null && prepared !== undefined ? prepared : source.relay(msgType, method, sharedZlib);
      method0 = method;
    } else if (method === method0) {
      frame = frame0;
    } else {
      others ??= new Map();
      frame = others.get(method);
      if (frame === undefined) others.set(method, (frame = source.relay(msgType, method, sharedZlib)));
    }
    if (!conn.write(frame)) below = false;
    stats.framesOut++;
    if (msgType === flags.broadcast) conn.lastSent = source;
  }
  return below;
}

/** send(): a broadcast from this node, to every peer. False if a peer's buffer is full. */
export function broadcastFromHere(s: RouterState, packets: Packet[], subflag: string, flag: string): boolean {
  let payload: Packet[] = [s.bytesOf(subflag)];
  for (const p of packets) payload.push(p);
  const time = s.utc();
  if (flag === flags.broadcast || flag === flags.waterfall) {
    // A component may hold this node's broadcasts to send them together (the
    // authenticated protocol signs a tick's broadcasts at once), or seal each one.
    for (const queue of s.stages.queue) {
      const below = queue(s, payload, flag, time);
      if (below !== undefined) return below;
    }
    if (s.stages.seal.length !== 0) payload = s.sealed(payload, time);
  }
  return sendFromHere(s, payload, flag, time);
}

/** Sends a broadcast of this node's, its payload final, to every peer. False if a peer's buffer is full. */
export function sendFromHere(s: RouterState, payload: Packet[], flag: string, time: number): boolean {
  const msg = new PathfindingMessage(s.host.protocol, s.bytesOf(flag), s.bytesOf(s.host.id()), payload, [], time);
  const below = fanOut(s, s.routingTable.values(), flag, msg);
  // Our own id is listed in waterfalls, as py2p lists it (dedup.ts rememberOwn); a
  // waterfall() of it, and the copies peers flood back, are seen by their sender
  // (ownBroadcast), as in py2p.
  if (flag === flags.broadcast) {
    s.dedup.rememberOwn(msg, time);
    const sent = s.stages.sent;
    if (sent.length !== 0) for (const f of sent) f(s, msg);
  }
  return below;
}
