import type { OperatorFunction } from 'rxjs';
import { PathfindingMessage, type CodecLimits } from '../protocol/message.js';
import { compression, mayBeCompressed } from '../protocol/zlib-format.js';
import { sharedZlib } from './zlib-codec.js';
import { DecompressedTooLargeError, DecompressionFailedError } from '../protocol/errors.js';
import { inflateAsync, inflateNodeSync } from './zlib-async.js';
import { orderedOffLoop, type OffLoopFlow } from './ordered-off-loop.js';

export interface InflatedFrame {
  /** The frame body as received (compressed or not), kept for diagnostics. */
  raw: Buffer;
  /** The body after decompression (the raw body when no method applied). */
  body: Buffer;
  /** True when methods were tried and none applied: py2p's compression_fail. */
  compressionFail: boolean;
}

export interface InflateOptions {
  /**
   * Compressed bodies of at least this many bytes are inflated on Node's zlib thread
   * pool; a smaller one is inflated here (node:zlib) up to 4x this many output bytes,
   * and again on the thread pool if it goes past that. 0: always here, with pako. See
   * MeshOptions.asyncZlibMinBytes.
   */
  asyncMinBytes?: number;
  /** The connection's flow control for the frames that wait behind one on the thread pool. */
  flow?: OffLoopFlow<Buffer>;
  /** Told of each body's inflated size (a compressed one), for the per-second budget. */
  onInflated?: (bytes: number) => void;
}

/**
 * Frame bodies → decompressed bodies, in the order they came. The methods to try are
 * read per frame, because renegotiation changes them mid-stream. A body that no method
 * inflates passes on as it is (py2p does the same); a body that inflates past the
 * limit ends the stream with DecompressedTooLargeError. While a large body inflates
 * off the event loop, the frames behind it wait, so that order is kept.
 */
export function inflate(methods: () => readonly string[], limits: CodecLimits, options: InflateOptions = {}): OperatorFunction<Buffer, InflatedFrame> {
  const asyncMin = options.asyncMinBytes ?? 0;
  const syncCap = asyncMin > 0 ? Math.min(limits.maxDecompressedBytes, 4 * asyncMin) : limits.maxDecompressedBytes;
  const syncLimits: CodecLimits = { ...limits, maxDecompressedBytes: syncCap };
  const onInflated = options.onInflated;
  /** One frame: its result now, or undefined when it is to go to the thread pool. */
  const step = (raw: Buffer): InflatedFrame | undefined => {
    const list = methods();
    if (list.length === 0) return { raw, body: raw, compressionFail: false };
    // A plain body's first byte rules every method out (mayBeCompressed): no attempt.
    let candidate = false;
    for (let i = 0; i < list.length && !candidate; i++) candidate = mayBeCompressed(raw, list[i]!);
    if (!candidate && compressionSupported(list)) return { raw, body: raw, compressionFail: true };
    if (asyncMin > 0 && raw.length >= asyncMin && list.includes('gzip')) return undefined;
    try {
      if (asyncMin > 0 && list.includes('gzip')) {
        // node:zlib, synchronously: gzip is the one method this build has.
        try {
          const body = inflateNodeSync(raw, syncCap, 'gzip');
          onInflated?.(body.length);
          return { raw, body, compressionFail: false };
        } catch (err) {
          if (err instanceof DecompressionFailedError) return { raw, body: raw, compressionFail: true };
          throw err;
        }
      }
      const [body, compressionFail] = PathfindingMessage.decompressString(raw, [...list], syncLimits, sharedZlib);
      if (onInflated !== undefined && body !== raw) onInflated(body.length);
      return { raw, body, compressionFail };
    } catch (err) {
      // Past the synchronous share: the whole body goes to the thread pool.
      if (err instanceof DecompressedTooLargeError && syncCap < limits.maxDecompressedBytes) return undefined;
      throw err;
    }
  };
  return orderedOffLoop(step, (raw) =>
    inflateAsync(raw, limits.maxDecompressedBytes, 'gzip').then(
      (body): InflatedFrame => {
        onInflated?.(body.length);
        return { raw, body, compressionFail: false };
      },
      (err: unknown) => {
        if (err instanceof DecompressionFailedError) return { raw, body: raw, compressionFail: true };
        throw err;
      },
    ),
    options.flow,
  );
}

/** True when some method of the list is one this build decompresses (decompressString would try it). */
function compressionSupported(list: readonly string[]): boolean {
  for (const m of list) if (compression.includes(m)) return true;
  return false;
}
