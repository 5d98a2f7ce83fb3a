// Deflate and inflate with node:zlib (native): of large bodies on its thread pool, so
// that a large frame does not hold the event loop for its whole duration (pako,
// synchronous, took 50-95 ms to inflate 16 MiB), and of smaller ones synchronously,
// 2-4x faster than pako at every size from 1 KiB (bench/zlib.ts). The output bound
// holds: node:zlib stops at maxOutputLength and fails with ERR_BUFFER_TOO_LARGE, which
// becomes DecompressedTooLargeError. Not byte for byte CPython's output, as pako's is
// (src/protocol/sync-zlib.ts): any inflater reads it, py2p's included. Parameters,
// gzip header, framing and errors are src/protocol/zlib-format.ts's, as for pako.
import * as zlib from 'node:zlib';
import { DecompressionFailedError } from '../protocol/errors.js';
import {
  DEFLATE_LEVEL,
  DEFLATE_MEM_LEVEL,
  DEFLATE_WINDOW_BITS,
  gzipDataStart,
  inflateFailure,
  isGzipMember,
} from '../protocol/zlib-format.js';
import { encodeFrame } from '../protocol/framing.js';

/** Output is produced in chunks of this size: one thread-pool round trip each. */
const CHUNK = 256 * 1024;

const DEFLATE_OPTIONS: zlib.ZlibOptions = Object.freeze({ level: DEFLATE_LEVEL, windowBits: DEFLATE_WINDOW_BITS, memLevel: DEFLATE_MEM_LEVEL });

/** A zlib stream (RFC 1950) of `plain` at level 6, as py2p's compress() makes (not byte for byte pako's). */
export function deflateAsync(plain: Uint8Array): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    zlib.deflate(plain, { ...DEFLATE_OPTIONS, chunkSize: CHUNK }, (err, out) => (err ? reject(err) : resolve(out)));
  });
}

/** deflateAsync, synchronously. */
export function deflateNodeSync(plain: Uint8Array): Buffer {
  return zlib.deflateSync(plain, DEFLATE_OPTIONS);
}

/** inflateAsync, synchronously. */
export function inflateNodeSync(body: Uint8Array, maxBytes: number, method: string): Buffer {
  const opts = { maxOutputLength: Math.max(1, maxBytes) };
  try {
    if (isGzipMember(body)) {
      const start = gzipDataStart(body);
      if (start < 0) throw new DecompressionFailedError(method, 'truncated gzip header');
      return zlib.inflateRawSync(body.subarray(start), opts);
    }
    return zlib.inflateSync(body, opts);
  } catch (err) {
    throw inflateFailure(err, method, maxBytes);
  }
}

/**
 * Inflates a zlib or gzip body (py2p's MAX_WBITS | 32) to at most maxBytes. A gzip body
 * is inflated from the end of its header as raw deflate, so that bytes after the end
 * of the stream are ignored, as py2p's zlib.decompress ignores them (node:zlib would
 * read them as a second gzip member); its CRC trailer is then not checked.
 */
export function inflateAsync(body: Uint8Array, maxBytes: number, method: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const done = (err: Error | null, out: Buffer) => (err ? reject(inflateFailure(err, method, maxBytes)) : resolve(out));
    const opts = { maxOutputLength: Math.max(1, maxBytes), chunkSize: CHUNK };
    if (isGzipMember(body)) {
      const start = gzipDataStart(body);
      if (start < 0) return reject(new DecompressionFailedError(method, 'truncated gzip header'));
      zlib.inflateRaw(body.subarray(start), opts, done);
    } else {
      zlib.inflate(body, opts, done);
    }
  });
}

/** A plain wire frame (size header and body) compressed off the loop: the same frame with its body deflated. */
export async function compressFrameAsync(plainFrame: Uint8Array): Promise<Buffer> {
  return encodeFrame(await deflateAsync(plainFrame.subarray(4)));
}

/** compressFrameAsync, synchronously. */
export function compressFrameSync(plainFrame: Uint8Array): Buffer {
  return encodeFrame(deflateNodeSync(plainFrame.subarray(4)));
}
