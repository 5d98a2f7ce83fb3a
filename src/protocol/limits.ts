// The codec's bounds on untrusted bytes, and how a packet given by a caller becomes bytes.
import { NotBytesError, describeType } from './errors.js';

/** Bounds applied when decoding untrusted bytes. */
export interface CodecLimits {
  /** Largest body (wire message without its 4-byte header). */
  maxFrameBytes: number;
  /** Largest body after decompression (decompression-bomb guard). */
  maxDecompressedBytes: number;
  /** Most packets in one message (type, sender, id and time included). */
  maxPackets: number;
  /**
   * Longest time packet, in characters, checked before it is base_58 decoded (decoding
   * is quadratic in the length). A unix time is 6 characters; default 16.
   */
  maxTimeChars?: number;
}

/** The time packet bound when CodecLimits.maxTimeChars is not given. */
export const DEFAULT_MAX_TIME_CHARS = 16;

/** The codec's default bounds: 16 MiB frames and inflated bodies, 10,000 packets, 16-character time packets. */
export const defaultLimits: Readonly<CodecLimits> = Object.freeze({
  maxFrameBytes: 16 * 1024 * 1024,
  maxDecompressedBytes: 16 * 1024 * 1024,
  maxPackets: 10_000,
  maxTimeChars: DEFAULT_MAX_TIME_CHARS,
});

/** A packet as callers give it: text is UTF-8 encoded (as py2p does with str). */
export type PacketInput = string | Uint8Array;

/** Turns a packet into a Buffer without copying bytes that already are bytes. */
export function toPacket(value: PacketInput): Buffer {
  if (typeof value === 'string') return Buffer.from(value, 'utf8');
  if (Buffer.isBuffer(value)) return value;
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  throw new NotBytesError(describeType(value));
}

/** Limits as given, completed with the defaults. */
export function resolveLimits(limits: Partial<CodecLimits> | undefined): CodecLimits {
  if (limits === undefined || limits === defaultLimits) return defaultLimits;
  // Complete limits (a connection's, or ones resolved here already) are used as they
  // are: feedString resolves once per frame, then passes them to each step.
  if (limits.maxFrameBytes !== undefined && limits.maxDecompressedBytes !== undefined && limits.maxPackets !== undefined) {
    return limits as CodecLimits;
  }
  return { ...defaultLimits, ...limits };
}

/** A message time as given: a non-negative integer (RangeError otherwise), as a bigint. */
export function toTime(time: bigint | number): bigint {
  if (typeof time === 'bigint') {
    if (time < 0n) throw new RangeError('message time must be >= 0');
    return time;
  }
  if (!Number.isSafeInteger(time) || time < 0) throw new RangeError(`message time must be a non-negative integer, got ${time}`);
  return BigInt(time);
}
