// The decoder of PathfindingMessage (its statics feedString, sanitizeString,
// decompressString, processString, fromBody, fromPackets, and encode): functions of
// their arguments. A parsed message is built by the constructor's wire form, from its
// body, its packet count and its time.
import { MalformedMessageError } from './errors.js';
import { resolveLimits, toPacket, type CodecLimits, type PacketInput } from './limits.js';
import { PathfindingMessage } from './message.js';
import type { Protocol } from './protocol.js';
import { canonicalTime, countPackets, decodeTime, decompressBody, sanitizeBody, splitPackets } from './wire-parse.js';
import { assertSupported, type ZlibEngine } from './zlib-format.js';

const NO_PACKETS: readonly PacketInput[] = Object.freeze([]);
const EMPTY = Buffer.alloc(0);

/**
 * Parses a wire message, as py2p's feed_string. A string is UTF-8 encoded first (as
 * py2p does with a str); any other non-bytes value raises NotBytesError. The id packet
 * on the wire is ignored and recomputed, and the time is re-encoded (leading "1"s
 * vanish). `zlib` is the engine to inflate with (by default the protocol's scratch engine).
 */
export function feedString(
  protocol: Protocol, string: Uint8Array | string, sizeless = false,
  compressions: readonly string[] | null = null, limits?: Partial<CodecLimits>, zlib?: ZlibEngine,
): PathfindingMessage {
  const lim = resolveLimits(limits);
  const [plain, compressionFail] = decompressBody(sanitizeBody(string, sizeless, lim), compressions, lim, zlib ?? protocol.scratch.zlib);
  const msg = fromBody(protocol, plain, compressions, lim);
  msg.compressionFail = compressionFail;
  return msg;
}

/** Checks and strips the 4-byte size header (unless sizeless). Returns a view, not a copy. */
export function sanitizeString(string: Uint8Array | string, sizeless = false, limits?: Partial<CodecLimits>): Buffer {
  return sanitizeBody(string, sizeless, resolveLimits(limits));
}

/**
 * Tries the methods of `compressions` that this build supports, in the order given;
 * the first that succeeds wins. A body no method decompresses comes back unchanged
 * with `true` (py2p's compression_fail). Unknown names are skipped, as py2p's
 * intersect() skips them. A bomb is never treated as a failure:
 * DecompressedTooLargeError propagates. `zlib` is the engine (by default a new one).
 */
export function decompressString(
  string: Uint8Array, compressions: readonly string[] | null | undefined, limits?: Partial<CodecLimits>, zlib?: ZlibEngine,
): [Buffer, boolean] {
  return decompressBody(toPacket(string), compressions, resolveLimits(limits), zlib);
}

/**
 * Splits a plaintext body into packets (views, no copies), with py2p 0.2's rule:
 * length headers are read until they and the lengths they announce add up to the
 * body exactly. Anything else is BadPacketHeaderError.
 */
export function processString(string: Uint8Array, limits?: Partial<CodecLimits>): Buffer[] {
  return splitPackets(toPacket(string), resolveLimits(limits));
}

/**
 * processString then fromPackets in one step, without a Buffer per packet: the
 * message reads its packets from `body` when asked for them (so `body` must not
 * change while the message is in use).
 */
export function fromBody(protocol: Protocol, body: Uint8Array, compressions: readonly string[] | null = null, limits?: Partial<CodecLimits>): PathfindingMessage {
  const buf = toPacket(body);
  const lim = resolveLimits(limits);
  const count = countPackets(buf, lim);
  if (count < 4) throw new MalformedMessageError(`a message needs at least 4 packets (type, sender, id, time), got ${count}`);
  const timeAt = 4 * count + buf.readUInt32BE(0) + buf.readUInt32BE(4) + buf.readUInt32BE(8);
  const timeEnd = timeAt + buf.readUInt32BE(12);
  const t = canonicalTime(buf, timeAt, timeEnd);
  // A canonical time packet gives a number, any other its full (bigint) value.
  const time = t >= 0 ? t : decodeTime(buf.subarray(timeAt, timeEnd), lim);
  return new PathfindingMessage(protocol, EMPTY, EMPTY, NO_PACKETS, compressions, time, buf, count);
}

/**
 * Builds a message from parsed packets (the last step of feedString):
 * at least 4 packets, time decoded from base_58, id recomputed.
 */
export function fromPackets(protocol: Protocol, packets: readonly Buffer[], compressions: readonly string[] | null = null, limits?: Partial<CodecLimits>): PathfindingMessage {
  if (packets.length < 4) {
    throw new MalformedMessageError(`a message needs at least 4 packets (type, sender, id, time), got ${packets.length}`);
  }
  const time = decodeTime(packets[3]!, resolveLimits(limits));
  return new PathfindingMessage(protocol, packets[0]!, packets[1]!, packets.slice(4), compressions, time);
}

/**
 * Wire bytes of a message in one call. `compressionUsed` must be a method this build
 * supports (or null); unlike the constructor it is not negotiated. `zlib` compresses.
 */
export function encodeMessage(
  protocol: Protocol, msgType: PacketInput, sender: PacketInput, payload: readonly PacketInput[],
  compressionUsed: string | null, time?: bigint | number, zlib?: ZlibEngine,
): Buffer {
  if (compressionUsed !== null) assertSupported(compressionUsed);
  return new PathfindingMessage(protocol, msgType, sender, payload, compressionUsed === null ? [] : [compressionUsed], time).encodeWith(zlib);
}
