// Deflate and inflate with node:zlib (native): of large bodies on its thread pool, so
// that a large frame does not hold the event loop for its whole duration (pako,
// synchronous, took 50-95 ms to inflate 16 MiB), and of smaller ones synchronously,
// 2-4x faster than pako at every size from 1 KiB (bench/zlib.ts). The output bound
// holds: node:zlib stops at maxOutputLength and fails with ERR_BUFFER_TOO_LARGE, which
// becomes DecompressedTooLargeError. Not byte for byte CPython's output, as pako's is
// (src/protocol/compression.ts): any inflater reads it, py2p's included.
import * as zlib from 'node:zlib';
import { DecompressedTooLargeError, DecompressionFailedError } from '../protocol/errors.js';

/** Output is produced in chunks of this size: one thread-pool round trip each. */
const CHUNK = 256 * 1024;

/** A zlib stream (RFC 1950) of `plain` at level 6, as py2p's compress() makes (not byte for byte pako's). */
export function deflateAsync(plain: Uint8Array): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    zlib.deflate(plain, { level: 6, chunkSize: CHUNK }, (err, out) => (err ? reject(err) : resolve(out)));
  });
}

/** deflateAsync, synchronously. */
export function deflateNodeSync(plain: Uint8Array): Buffer {
  return zlib.deflateSync(plain, { level: 6 });
}

/** inflateAsync, synchronously. */
export function inflateNodeSync(body: Uint8Array, maxBytes: number, method: string): Buffer {
  const opts = { maxOutputLength: Math.max(1, maxBytes) };
  try {
    if (body[0] === 0x1f && body[1] === 0x8b) {
      const start = gzipDataStart(body);
      if (start < 0) throw new DecompressionFailedError(method, 'truncated gzip header');
      return zlib.inflateRawSync(body.subarray(start), opts);
    }
    return zlib.inflateSync(body, opts);
  } catch (err) {
    if (err instanceof DecompressionFailedError) throw err;
    if ((err as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') throw new DecompressedTooLargeError(method, maxBytes);
    throw new DecompressionFailedError(method, (err as Error).message);
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
    const done = (err: Error | null, out: Buffer) => {
      if (!err) return resolve(out);
      if ((err as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') return reject(new DecompressedTooLargeError(method, maxBytes));
      reject(new DecompressionFailedError(method, err.message));
    };
    const opts = { maxOutputLength: Math.max(1, maxBytes), chunkSize: CHUNK };
    if (body[0] === 0x1f && body[1] === 0x8b) {
      const start = gzipDataStart(body);
      if (start < 0) return reject(new DecompressionFailedError(method, 'truncated gzip header'));
      zlib.inflateRaw(body.subarray(start), opts, done);
    } else {
      zlib.inflate(body, opts, done);
    }
  });
}

/** Offset of the deflate data in a gzip member (RFC 1952 header), or -1 if the header is cut short or not deflate. */
function gzipDataStart(b: Uint8Array): number {
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

/** A plain wire frame (size header and body) compressed off the loop: the same frame with its body deflated. */
export async function compressFrameAsync(plainFrame: Uint8Array): Promise<Buffer> {
  return framed(await deflateAsync(plainFrame.subarray(4)));
}

/** compressFrameAsync, synchronously. */
export function compressFrameSync(plainFrame: Uint8Array): Buffer {
  return framed(deflateNodeSync(plainFrame.subarray(4)));
}

function framed(body: Buffer): Buffer {
  const out = Buffer.allocUnsafe(4 + body.length);
  out.writeUInt32BE(body.length, 0);
  out.set(body, 4);
  return out;
}
