// Compression as py2p 0.2 names it: compress() and decompress() with the synchronous
// engine given (or a new one for the call). The decisions (methods, parameters,
// headers) are ./zlib-format.ts's; the engine is ./sync-zlib.ts. Nothing here keeps
// state between calls: an engine that does is the caller's (src/streams/zlib-codec.ts).
import { SyncZlib } from './sync-zlib.js';
import { DEFAULT_MAX_DECOMPRESSED_BYTES, assertSupported, checkMaxBytes, type DecompressOptions, type ZlibEngine } from './zlib-format.js';

export {
  compression,
  py2pCompressionMethods,
  DEFAULT_MAX_DECOMPRESSED_BYTES,
  assertSupported,
  mayBeCompressed,
  type DecompressOptions,
  type ZlibEngine,
} from './zlib-format.js';
export { getUTC } from './clock.js';
export { intersect } from './utils.js';

/**
 * Compresses like py2p's compress(): "gzip" gives a zlib stream at the default level.
 * `zlib` is the engine to use (one that keeps its deflate state between calls); by
 * default a new one, for this call only.
 */
export function compress(data: Uint8Array, method: string, zlib?: ZlibEngine): Buffer {
  assertSupported(method);
  return (zlib ?? new SyncZlib()).deflate(data);
}

/** Decompresses like py2p's decompress(), but stops as soon as the output exceeds maxBytes. */
export function decompress(data: Uint8Array, method: string, opts: DecompressOptions = {}): Buffer {
  assertSupported(method);
  const maxBytes = checkMaxBytes(opts.maxBytes ?? DEFAULT_MAX_DECOMPRESSED_BYTES);
  return (opts.zlib ?? new SyncZlib()).inflate(data, maxBytes, method);
}
