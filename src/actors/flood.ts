// Flooding: admission of broadcasts and waterfalls (age, de-duplication, py2p's re-timed
// copies), relaying them on, and this node's own broadcasts. This is the hot path: no
// closure or allocation per message beyond what the codec needs.
import { flags } from '../protocol/flags.js';
import { PathfindingMessage } from '../protocol/message.js';
import type { Connection } from '../streams/connection.js';
import { MAX_ID_CHARS } from '../protocol/bounds.js';
import { compressFrameAsync, compressFrameSync } from '../streams/zlib-async.js';
import { sharedZlib } from '../streams/zlib-codec.js';
import { isRx2pPeer } from './capability.js';
import type { Packet, RouterState } from './state.js';

/** Payloads larger than this are not tracked for re-timed copies (their hash would cost more than they risk). */
const CONTENT_TRACK_LIMIT = 64 * 1024;
/**
 * A relayed message with this many payload bytes or more is written as a new head
 * and a view of its body, where a smaller one is copied (one buffer, batched with
 * others); the delivered message then keeps the body it came in.
 */
const PIECES_FROM_BYTES = 64 * 1024;

/**
 * De-duplicates and floods a broadcast or waterfall: a message older than the age
 * limit, or whose id was seen, is dropped; a new one goes on to every other peer as
 * a waterfall that keeps the original sender and time, hence the same id.
 */
export function flood(s: RouterState, msg: PathfindingMessage, from: Connection | undefined): boolean {
  // A message the user floods is checked as any other (in the authenticated protocol,
  // it must carry its origin's signature), and remembered only once it passed.
  if (!admitVerified(s, msg, from)) return false;
  relay(s, msg, from);
  if (msg.msgType !== flags.waterfall) noteContent(s, msg);
  return true;
}

/** Passes an admitted message on to every other peer as a waterfall, keeping its sender and time. */
export function relay(s: RouterState, msg: PathfindingMessage, from: Connection | undefined): void {
  try {
    if (!s.closing) fanOut(s, s.routingTable.values(), flags.waterfall, msg, from, true);
  } finally {
    if (s.hooks.onAdmitted.length !== 0) {
      s.relayedFor = msg;
      s.relayedFrame = s.preparedFor === msg ? s.preparedRelay : undefined;
    }
    s.preparedRelay = s.preparedFor = undefined;
  }
}

/**
 * admit(), then the extensions' verification (the authenticated protocol's signature
 * check) where there is one: validate, then remember. A copy that fails verification
 * never enters the seen-cache, so it cannot shadow the genuine message arriving later;
 * a copy of a message that passed is dropped as seen before any verification (one per
 * genuine message per node).
 */
export function admitVerified(s: RouterState, msg: PathfindingMessage, from: Connection | undefined): boolean {
  if (s.hooks.verifyAdmitted.length === 0) return admit(s, msg, from);
  if (!admit(s, msg, from, false)) return false;
  if (!verifiedByExtensions(s, msg, from)) return false;
  s.waterfalls.add(msg.dedupKey, s.utc());
  s.waterfalls.labelNewest(displayId(msg));
  return true;
}

/**
 * False for a message too old, dated too far ahead, already seen, or a py2p
 * re-timed copy of a message seen. An admitted message's id is in the cache, unless
 * `remember` is false (the caller adds it once the message is verified).
 */
export function admit(s: RouterState, msg: PathfindingMessage, from?: Connection, remember = true): boolean {
  const now = s.utc();
  const time = msg.timeNumber;
  const o = s.host.options;
  // Too old, or dated further ahead than clocks plausibly drift: a message from the
  // future would otherwise outlive its id in the cache and could be replayed.
  if ((time < now - o.maxMessageAgeSeconds && !admittedOld(s, msg, now)) || time > now + o.maxMessageAgeSeconds) {
    s.stats.expired++;
    s.host.print(2, 'Waterfall expired');
    return false;
  }
  if (remember ? !s.waterfalls.add(msg.dedupKey, now) : s.waterfalls.has(msg.dedupKey)) {
    s.stats.duplicates++;
    s.host.print(3, 'Not rebroadcasting');
    return false;
  }
  if (remember) s.waterfalls.labelNewest(displayId(msg));
  // py2p's re-timed copies never come where senders are proven, and there a forger
  // could use this check to have a genuine message dropped as a copy of its forgery.
  if (s.sendersProven) return true;
  // A py2p peer's waterfall is its relay, dated when it relayed (py2pCopyWindowSeconds).
  const fromPy2p = from !== undefined && o.py2pCopyWindowSeconds > 0 && !isRx2pPeer(from);
  // py2p's send() dates its broadcast anew for each peer (and its resend too), so a
  // py2p peer's broadcast may be a copy of one that came another way, a second later.
  const waterfall = msg.msgType === flags.waterfall;
  if ((waterfall || fromPy2p) && !checkContent(s, msg, time, fromPy2p && waterfall)) {
    s.stats.retimedDuplicates++;
    return false;
  }
  // The original of a py2p copy already delivered (it came the longer way round).
  if (!fromPy2p && s.py2pCopies.size !== 0 && isOriginalOfCopy(s, msg, time)) {
    s.stats.retimedDuplicates++;
    return false;
  }
  return true;
}

/** Whether an extension admits a message older than the age limit (a repair asked for). */
function admittedOld(s: RouterState, msg: PathfindingMessage, now: number): boolean {
  for (const ext of s.hooks.admitOld) if (ext.admitOld!(s, msg, now)) return true;
  return false;
}

/**
 * False for a waterfall that is a py2p re-timed copy of a message seen (see
 * retimedDuplicateWindowSeconds, and py2pCopyWindowSeconds for one from a py2p peer);
 * its content is remembered either way, and a py2p peer's admitted as a copy.
 */
function checkContent(s: RouterState, msg: PathfindingMessage, time: number, py2pRelay: boolean): boolean {
  const o = s.host.options;
  const window = py2pRelay ? Math.max(o.retimedDuplicateWindowSeconds, o.py2pCopyWindowSeconds) : o.retimedDuplicateWindowSeconds;
  if (window <= 0 || msg.payloadBytes > CONTENT_TRACK_LIMIT) return true;
  const seenAt = s.contents.putIfAbsent(msg.contentKey, time);
  if (seenAt !== undefined && Math.abs(time - seenAt) <= window) return false;
  if (py2pRelay) s.py2pCopies.putIfAbsent(msg.contentKey, time);
  return true;
}

/** True for a message dated at most py2pCopyWindowSeconds before a py2p copy of it that was delivered. */
function isOriginalOfCopy(s: RouterState, msg: PathfindingMessage, time: number): boolean {
  if (msg.payloadBytes > CONTENT_TRACK_LIMIT) return false;
  const copyAt = s.py2pCopies.get(msg.contentKey);
  return copyAt !== undefined && copyAt >= time && copyAt - time <= s.host.options.py2pCopyWindowSeconds;
}

/**
 * Remembers what an admitted broadcast says, so that re-timed copies of it are
 * caught. Nothing about the broadcast itself depends on it, so it is done after
 * the broadcast is delivered and relayed (a hash less before the user has it).
 */
export function noteContent(s: RouterState, msg: PathfindingMessage): void {
  // Where senders are proven the re-timed-copy check is off (admit): nothing to note.
  if (s.sendersProven || s.host.options.retimedDuplicateWindowSeconds <= 0 || msg.payloadBytes > CONTENT_TRACK_LIMIT) return;
  s.contents.putIfAbsent(msg.contentKey, msg.timeNumber);
}

/** Forgets ids and contents past their time (the housekeeping tick). */
export function expireSeen(s: RouterState): void {
  const utc = s.utc();
  s.waterfalls.expire(utc);
  s.contents.expire(utc);
  s.py2pCopies.expire(utc);
}

/**
 * The message to hand the user, with bytes of its own (see compacted()). One that
 * is about to be relayed shares them with its plain relay frame, which relay() then
 * sends: one copy of the body instead of two.
 */
export function ownCopy(s: RouterState, msg: PathfindingMessage, relaying: boolean): PathfindingMessage {
  if (relaying && msg.payloadBytes < PIECES_FROM_BYTES) {
    const shared = msg.relayAndCompact(flags.waterfall);
    if (shared !== undefined) {
      s.preparedFor = msg;
      s.preparedRelay = shared.frame;
      return shared.message;
    }
  }
  return msg.compacted();
}

/**
 * Writes msg (as msgType) to every given peer but `except`, encoding it once per
 * compression method in use. A relayed waterfall also skips the message's own
 * sender and any peer more than maxRelayBacklogBytes behind.
 */
export function fanOut(s: RouterState, targets: Iterable<Connection>, msgType: string, source: PathfindingMessage, except?: Connection, relaying = false): boolean {
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
          const plain = source === s.preparedFor ? s.preparedRelay! : source.relay(msgType, null);
          offLoop = s.pool.run(() => compressFrameAsync(plain));
        }
        if (!conn.writeLater(offLoop, payloadBytes)) below = false;
      } else if (!conn.write((deflated ??= compressFrameSync(source === s.preparedFor ? s.preparedRelay! : source.relay(msgType, null))))) below = false;
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
      frame = frame0 = method === null && source === s.preparedFor ? s.preparedRelay! : source.relay(msgType, method, sharedZlib);
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
    // An extension may hold this node's broadcasts to send them together (the
    // authenticated protocol signs a tick's broadcasts at once), or seal each one.
    for (const ext of s.hooks.queueBroadcast) {
      const below = ext.queueBroadcast!(s, payload, flag, time);
      if (below !== undefined) return below;
    }
    if (s.hooks.sealBroadcast.length !== 0) payload = s.sealed(payload, time);
  }
  return sendFromHere(s, payload, flag, time);
}

/** Sends a broadcast of this node's, its payload final, to every peer. False if a peer's buffer is full. */
export function sendFromHere(s: RouterState, payload: Packet[], flag: string, time: number): boolean {
  const msg = new PathfindingMessage(s.host.protocol, s.bytesOf(flag), s.bytesOf(s.host.id()), payload, [], time);
  const below = fanOut(s, s.routingTable.values(), flag, msg);
  // Our own id is listed in waterfalls, as py2p lists it. The copies peers flood back
  // are dropped for their sender (onFrame), so the entry is keyed on the SHA-384
  // digest the id already cost rather than on a SHA-256 of the payload as well.
  if (flag === flags.broadcast) {
    s.waterfalls.add(msg.idKey, msg.timeNumber, msg.id);
    if (s.hooks.onBroadcastSent.length !== 0) for (const ext of s.hooks.onBroadcastSent) ext.onBroadcastSent!(s, msg);
  }
  return below;
}

/** Whether every extension that verifies new messages passes this one. */
export function verifiedByExtensions(s: RouterState, msg: PathfindingMessage, from: Connection | undefined): boolean {
  for (const ext of s.hooks.verifyAdmitted) if (!ext.verifyAdmitted!(s, msg, from)) return false;
  return true;
}

/**
 * The id a waterfalls entry shows: the id packet as received, which is the id for any
 * well-formed message (and costs no SHA-384); one too long to be an id is replaced by
 * the id computed from payload and time, so that a peer cannot park large strings here.
 */
function displayId(msg: PathfindingMessage): string {
  const wire = msg.wireId;
  return wire.length <= MAX_ID_CHARS ? wire : msg.id;
}
