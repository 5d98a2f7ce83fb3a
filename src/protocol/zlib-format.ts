// The one zlib codec's decisions, shared by both engines: the synchronous one
// (./sync-zlib.ts, pako, byte for byte CPython's zlib.compress) and node:zlib's, on and
// off the event loop (src/streams/zlib-async.ts). Which methods exist, the deflate
// parameters, which bodies may be compressed, where a gzip member's data starts, how a
// compressed body is framed and how a failure is named: decided here once, so that
// the two paths cannot drift.
//
// py2p 0.2 names: "gzip" is py2p's flag, but the bytes are zlib.compress() output
// (RFC 1950); on receipt py2p uses zlib.decompress(data, MAX_WBITS | 32), which takes
// a zlib OR a gzip (RFC 1952) wrapper and ignores bytes after the end of the stream.
//
// bz2 and lzma are NOT supported by this build, so they are not advertised:
// - lzma (xz container): the maintained option that installs without scripts,
//   @napi-rs/lzma, only has one-shot decompress(), with no streaming and no
//   output cap, so a small xz bomb would be inflated in full before any check.
//   Pure-JS xz decoders are decode-only; lzma-native needs an install script.
// - bz2: no maintained npm library; compressjs (last release 2015) and the
//   decode-only unbzip2-stream/seek-bzip are not "well kept", and none is native.
// py2p negotiates: a peer only compresses with a method we advertised, so the
// cost is the golden vectors that use bz2/lzma (see spec/protocol).
import {
  DecompressedTooLargeError,
  DecompressionFailedError,
  UnknownCompressionError,
  UnsupportedCompressionError,
} from './errors.js';
import { intersect } from './utils.js';

/** Methods this build supports, in order of preference (py2p prefers gzip, bz2, lzma). */
export const compression: readonly string[] = Object.freeze(['gzip']);

/** Every method py2p 0.2 defines, in its order of preference. */
export const py2pCompressionMethods: readonly string[] = Object.freeze(['gzip', 'bz2', 'lzma']);

const UNSUPPORTED_REASON: Readonly<Record<string, string>> = Object.freeze({
  bz2: 'no maintained npm bzip2 library with a bounded (streaming) decoder',
  lzma: '@napi-rs/lzma has no bounded (streaming) decoder, so an xz bomb could not be refused early',
});

/** Default cap on decompressed output, as `defaultLimits.maxDecompressedBytes`. */
export const DEFAULT_MAX_DECOMPRESSED_BYTES = 16 * 1024 * 1024;

/** Deflate level (py2p's zlib.compress default). */
export const DEFLATE_LEVEL = 6;
/** Deflate window: 32 KiB, a zlib (RFC 1950) wrapper. */
export const DEFLATE_WINDOW_BITS = 15;
/** Deflate memLevel (zlib's default). */
export const DEFLATE_MEM_LEVEL = 8;
/** Inflate window bits: 15 | 32, a zlib or a gzip header, detected (py2p's MAX_WBITS | 32). */
export const INFLATE_WINDOW_BITS = 15 + 32;

/**
 * A synchronous zlib engine: deflate as py2p's compress() and a bounded inflate as its
 * decompress(). The pako engine (SyncZlib) and its idle-releasing owner
 * (src/streams/zlib-codec.ts) implement it; codec functions that compress or
 * decompress take one as an argument.
 */
export interface ZlibEngine {
  /** A zlib stream (RFC 1950) of `data` at level 6. */
  deflate(data: Uint8Array): Buffer;
  /** A zlib or gzip body inflated to at most `maxBytes` (DecompressedTooLargeError beyond), for `method`'s errors. */
  inflate(data: Uint8Array, maxBytes: number, method: string): Buffer;
}

/** Bounds of one decompression. */
export interface DecompressOptions {
  /** Largest output accepted; beyond it DecompressedTooLargeError. Default 16 MiB. */
  maxBytes?: number;
  /** The engine to inflate with (one that keeps its state between calls); by default a new one for this call. */
  zlib?: ZlibEngine;
}

/** First method of this build's preference order that `compressions` names (py2p's compression_used). */
export function negotiateCompression(compressions: readonly string[] | null | undefined): string | null {
  return intersect(compression, compressions)[0] ?? null;
}

/** Throws UnknownCompressionError or UnsupportedCompressionError unless this build can use `method`. */
export function assertSupported(method: string): void {
  if (method === 'gzip') return;
  if (Object.hasOwn(UNSUPPORTED_REASON, method)) {
    throw new UnsupportedCompressionError(method, UNSUPPORTED_REASON[method]!);
  }
  throw new UnknownCompressionError(method);
}

/** A decompression cap as given: a RangeError unless it is a number >= 0. */
export function checkMaxBytes(maxBytes: number): number {
  if (!(maxBytes >= 0)) throw new RangeError(`maxBytes must be >= 0, got ${maxBytes}`);
  return maxBytes;
}

/**
 * False only when `data` cannot be a `method` stream at all, because its first two
 * bytes are neither a gzip magic nor a zlib header inflate would accept (method 8,
 * window <= 32 KiB, check bits): decompress() would throw DecompressionFailedError.
 * A plaintext body starts with a packet length's high byte, 0x00, so this skips
 * building an inflate state and an error for every uncompressed frame.
 */
export function mayBeCompressed(data: Uint8Array, method: string): boolean {
  if (method !== 'gzip' || data.length < 2) return true;
  const b0 = data[0]!;
  const b1 = data[1]!;
  if (b0 === 0x1f && b1 === 0x8b) return true;
  return (b0 & 0x0f) === 8 && b0 >> 4 <= 7 && ((b0 << 8) | b1) % 31 === 0;
}

/** Whether the body starts with a gzip member's magic (else it is read as a zlib stream). */
export function isGzipMember(b: Uint8Array): boolean {
  return b[0] === 0x1f && b[1] === 0x8b;
}

/** Offset of the deflate data in a gzip member (RFC 1952 header), or -1 if the header is cut short or not deflate. */
export function gzipDataStart(b: Uint8Array): number {
  if (b.length < 10 || b[2] !== 8) return -1;
  const flg = b[3]!;
  let at = 10;
  if (flg & 4) {
    if (at + 2 > b.length) return -1;
    at += 2 + (b[at]! | (b[at + 1]! << 8));
  }
  for (const bit of [8, 16]) {
    if (flg & bit) {
      while (at < b.length && b[at] !== 0) at++;
      at++;
    }
  }
  if (flg & 2) at += 2;
  return at <= b.length ? at : -1;
}

/** zlib's deflateBound() for these settings, plus room to spare. */
export function deflateBound(n: number): number {
  return n + (n >>> 12) + (n >>> 14) + (n >>> 25) + 64;
}

/** A node:zlib failure as the codec names it: its output bound passed, or any other failure. */
export function inflateFailure(err: unknown, method: string, maxBytes: number): DecompressedTooLargeError | DecompressionFailedError {
  if (err instanceof DecompressedTooLargeError || err instanceof DecompressionFailedError) return err;
  if ((err as { code?: string } | null)?.code === 'ERR_BUFFER_TOO_LARGE') return new DecompressedTooLargeError(method, maxBytes);
  return new DecompressionFailedError(method, (err as Error)?.message ?? String(err));
}
