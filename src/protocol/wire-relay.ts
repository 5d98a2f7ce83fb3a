// Frames that pass a message on, made from its parts: a wire body with only its type
// packet replaced, its packets compressed and framed, a payload copied off a socket
// chunk. Functions of their arguments; the message (./message.ts) decides which applies.
import { FrameTooLargeError } from './errors.js';
import { encodeFrame, MAX_WIRE_FRAME_BYTES } from './framing.js';
import { digestOf } from './digests.js';
import type { CodecScratch } from './scratch.js';
import { serializePackets } from './wire-parse.js';
import { assertSupported, type ZlibEngine } from './zlib-format.js';

/** The packets (strings as latin1) as a plain frame: size header, length headers, packets. */
export function plainFrame(packets: ReadonlyArray<Buffer | string>): Buffer {
  const out = serializePackets(packets, 4);
  if (out.length - 4 > MAX_WIRE_FRAME_BYTES) throw new FrameTooLargeError(out.length - 4, MAX_WIRE_FRAME_BYTES);
  out.writeUInt32BE(out.length - 4, 0);
  return out;
}

/** The packets [n x length][packets...] compressed with `method` and framed (size header). */
export function compressedFrame(packets: ReadonlyArray<Buffer | string>, method: string, zlib: ZlibEngine): Buffer {
  assertSupported(method);
  return encodeFrame(zlib.deflate(serializePackets(packets, 0)));
}

/**
 * The plain body `b` as a frame whose type packet (at `typeAt`, of msgType's length) is
 * `msgType`: a copy with the size header, or, for a method, the copy compressed with `zlib`.
 */
export function retypedFrame(b: Buffer, typeAt: number, msgType: string, method: string | null, zlib: ZlibEngine): Buffer {
  if (method === null) return retypedPlainFrame(b, typeAt, msgType);
  const plain = Buffer.from(b);
  plain.write(msgType, typeAt, 'latin1');
  assertSupported(method);
  return encodeFrame(zlib.deflate(plain));
}

/** retypedFrame(…, null): the plain body `b` with its type packet replaced, as a frame of its own. */
export function retypedPlainFrame(b: Buffer, typeAt: number, msgType: string): Buffer {
  if (b.length > MAX_WIRE_FRAME_BYTES) throw new FrameTooLargeError(b.length, MAX_WIRE_FRAME_BYTES);
  const out = Buffer.allocUnsafe(4 + b.length);
  out.set(b, 4);
  out.write(msgType, 4 + typeAt, 'latin1');
  out.writeUInt32BE(b.length, 0);
  return out;
}

/** retypedFrame(…, null) as two pieces end to end: a new head (size header, packet headers, type) and a view of the rest of `b` from `senderAt`. */
export function retypedPieces(b: Buffer, typeAt: number, senderAt: number, msgType: string): [Buffer, Buffer] {
  if (b.length > MAX_WIRE_FRAME_BYTES) throw new FrameTooLargeError(b.length, MAX_WIRE_FRAME_BYTES);
  const head = Buffer.allocUnsafe(4 + senderAt);
  head.writeUInt32BE(b.length, 0);
  b.copy(head, 4, 0, typeAt);
  head.write(msgType, 4 + typeAt, 'latin1');
  return [head, b.subarray(senderAt)];
}

/** Copies of the payload packets in one buffer of their own, or undefined when they hold no much larger buffer (nothing to release). */
export function ownPayload(p: readonly Buffer[]): Buffer[] | undefined {
  if (p.length === 0) return undefined;
  let size = 0;
  for (const x of p) size += x.length;
  if (p[0]!.buffer.byteLength <= 2 * size + 1024) return undefined;
  const own = Buffer.allocUnsafe(size);
  const views: Buffer[] = [];
  let off = 0;
  for (const x of p) {
    own.set(x, off);
    views.push(own.subarray(off, off + x.length));
    off += x.length;
  }
  return views;
}

/** SHA-1 of the sender and the payload packets with their lengths (PathfindingMessage.contentKey of a message not from the wire). */
export function contentKeyOf(sender: Buffer, payload: readonly Buffer[], scratch?: CodecScratch): string {
  const head = Buffer.allocUnsafe(8 + 4 * payload.length);
  head.writeUInt32BE(sender.length, 0);
  head.writeUInt32BE(payload.length, 4);
  for (let i = 0; i < payload.length; i++) head.writeUInt32BE(payload[i]!.length, 8 + 4 * i);
  return digestOf('sha1', [head.subarray(0, 4), sender, head.subarray(4), ...payload], scratch);
}
