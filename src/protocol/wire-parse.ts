// Reading a wire body, py2p 0.2's way: the size header, decompression, the packet
// length rule and the time packet, as functions of their arguments. The message
// (./message.ts) is built from what they return; writing a body is serializePackets.
import { fromBase58 } from './base58.js';
import { intersect } from './utils.js';
import { base_58 } from './constants.js';
import {
  BadPacketHeaderError,
  BadSizeHeaderError,
  DecompressionFailedError,
  FieldTooLargeError,
  FrameTooLargeError,
  NotBytesError,
  TooManyPacketsError,
  describeType,
} from './errors.js';
import { DEFAULT_MAX_TIME_CHARS, toPacket, type CodecLimits } from './limits.js';
import { SyncZlib } from './sync-zlib.js';
import { checkMaxBytes, compression, mayBeCompressed, type ZlibEngine } from './zlib-format.js';

/**
 * [n x uint32be length][packets...], optionally after `headroom` spare bytes. A packet
 * given as a string is written as latin1 (ids and times: ASCII), without a Buffer of its own.
 */
export function serializePackets(packets: ReadonlyArray<Buffer | string>, headroom: number): Buffer {
  let size = headroom + 4 * packets.length;
  for (const p of packets) size += p.length;
  const out = Buffer.allocUnsafe(size);
  let h = headroom;
  let d = headroom + 4 * packets.length;
  for (const p of packets) {
    out.writeUInt32BE(p.length, h);
    h += 4;
    if (typeof p === 'string') out.write(p, d, 'latin1');
    else out.set(p, d);
    d += p.length;
  }
  return out;
}

/**
 * py2p 0.2's packet rule: length headers are read until they and the lengths they
 * announce add up to the body exactly. Returns the packet count; anything else is
 * BadPacketHeaderError.
 */
export function countPackets(buf: Buffer, lim: CodecLimits): number {
  const total = buf.length;
  let count = 0;
  let headerEnd = 0; // py2p's `processed`
  let expected = total; // py2p's `expected`: total minus the announced lengths
  while (headerEnd !== expected) {
    if (headerEnd + 4 > total) {
      throw new BadPacketHeaderError(`packet length header at offset ${headerEnd} runs past the body (${total} bytes)`);
    }
    if (count >= lim.maxPackets) throw new TooManyPacketsError(lim.maxPackets);
    expected -= buf.readUInt32BE(headerEnd);
    headerEnd += 4;
    count++;
    // py2p would keep reading "headers" until it ran off the end; the outcome is the same.
    if (headerEnd > expected) {
      throw new BadPacketHeaderError(`packet lengths announce more than the body holds (${total} bytes)`);
    }
  }
  return count;
}

/** The time packet's value, its length checked first (base_58 decoding is quadratic in it). */
export function decodeTime(packet: Buffer, lim: CodecLimits): bigint {
  const max = lim.maxTimeChars ?? DEFAULT_MAX_TIME_CHARS;
  if (packet.length > max) throw new FieldTooLargeError('time packet', packet.length, max);
  return fromBase58(packet);
}

const B58_DIGIT = new Int8Array(256).fill(-1);
for (let i = 0; i < base_58.length; i++) B58_DIGIT[base_58.charCodeAt(i)] = i;

/**
 * The time packet's value when it is in canonical form, the one base_58 writes (no
 * leading "1"s, at most 9 digits, so it fits a double exactly), else -1 (the
 * caller then decodes it in full, with fromBase58's checks and errors).
 */
export function canonicalTime(buf: Buffer, start: number, end: number): number {
  if (end - start > 9 || (end > start && buf[start] === 0x31)) return -1;
  let v = 0;
  for (let i = start; i < end; i++) {
    const d = B58_DIGIT[buf[i]!]!;
    if (d < 0) return -1;
    v = v * 58 + d;
  }
  return v;
}

/** Checks and strips the 4-byte size header (unless sizeless), as py2p's sanitize_string. Returns a view, not a copy. */
export function sanitizeBody(string: Uint8Array | string, sizeless: boolean, lim: CodecLimits): Buffer {
  let buf: Buffer;
  if (typeof string === 'string') buf = Buffer.from(string, 'utf8');
  else if (string instanceof Uint8Array) buf = toPacket(string);
  else throw new NotBytesError(describeType(string));
  if (!sizeless) {
    if (buf.length < 4) throw new BadSizeHeaderError(`size header needs 4 bytes, got ${buf.length}`);
    const stated = buf.readUInt32BE(0);
    if (stated !== buf.length - 4) {
      throw new BadSizeHeaderError(`size header says ${stated} bytes, body has ${buf.length - 4}`);
    }
    buf = buf.subarray(4);
  }
  if (buf.length > lim.maxFrameBytes) throw new FrameTooLargeError(buf.length, lim.maxFrameBytes);
  return buf;
}

/**
 * py2p's decompress_string: the methods of `compressions` this build supports, in the
 * order given, the first that inflates `body` winning; `[body, true]` when none does.
 * A bomb is never a failure: DecompressedTooLargeError propagates. `zlib` is the
 * engine (by default a new one for this call).
 */
export function decompressBody(body: Buffer, compressions: readonly string[] | null | undefined, lim: CodecLimits, zlib?: ZlibEngine): [Buffer, boolean] {
  let failed = false;
  let engine = zlib;
  for (const method of intersect(compressions, compression)) {
    // A body whose header rules the method out fails without an inflate attempt.
    if (!mayBeCompressed(body, method)) {
      failed = true;
      continue;
    }
    try {
      return [(engine ??= new SyncZlib()).inflate(body, checkMaxBytes(lim.maxDecompressedBytes), method), false];
    } catch (e) {
      if (!(e instanceof DecompressionFailedError)) throw e;
      failed = true;
    }
  }
  return [body, failed];
}

/** py2p's process_string: the packets of a plaintext body, as views (BadPacketHeaderError unless the lengths add up). */
export function splitPackets(buf: Buffer, lim: CodecLimits): Buffer[] {
  const count = countPackets(buf, lim);
  const packets = new Array<Buffer>(count);
  let off = 4 * count;
  for (let i = 0; i < count; i++) {
    const end = off + buf.readUInt32BE(4 * i);
    packets[i] = buf.subarray(off, end);
    off = end;
  }
  return packets;
}

/** The payload packets of a plain body of `count` packets (views), the first at `payloadAt`. */
export function payloadViews(body: Buffer, count: number, payloadAt: number): Buffer[] {
  const out = new Array<Buffer>(count - 4);
  let at = payloadAt;
  for (let i = 4; i < count; i++) {
    const end = at + body.readUInt32BE(4 * i);
    out[i - 4] = body.subarray(at, end);
    at = end;
  }
  return out;
}

/** Whether buf[at, end) holds the bytes of `id` (ids differ early: a loop costs less than a call into Buffer.compare). */
export function regionEquals(buf: Buffer, at: number, end: number, id: Uint8Array): boolean {
  const n = end - at;
  if (n !== id.length) return false;
  for (let i = 0; i < n; i++) if (buf[at + i] !== id[i]) return false;
  return true;
}
