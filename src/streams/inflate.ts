import { Observable, type OperatorFunction } from 'rxjs';
import { PathfindingMessage, type CodecLimits } from '../protocol/message.js';
import { compression, mayBeCompressed } from '../protocol/compression.js';
import { DecompressedTooLargeError, DecompressionFailedError } from '../protocol/errors.js';
import { inflateAsync, inflateNodeSync } from './zlib-async.js';

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
  return (source) =>
    new Observable<InflatedFrame>((subscriber) => {
      // While a body inflates off the loop, what arrives behind it waits here, in order:
      // frames, then the source's end (undefined while nothing is off the loop).
      let waiting: Buffer[] | undefined;
      let end: { error: unknown } | 'complete' | undefined;
      let stopped = false;

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
              return { raw, body: inflateNodeSync(raw, syncCap, 'gzip'), compressionFail: false };
            } catch (err) {
              if (err instanceof DecompressionFailedError) return { raw, body: raw, compressionFail: true };
              throw err;
            }
          }
          const [body, compressionFail] = PathfindingMessage.decompressString(raw, [...list], syncLimits);
          return { raw, body, compressionFail };
        } catch (err) {
          // Past the synchronous share: the whole body goes to the thread pool.
          if (err instanceof DecompressedTooLargeError && syncCap < limits.maxDecompressedBytes) return undefined;
          throw err;
        }
      };

      const fail = (err: unknown): void => {
        stopped = true;
        waiting = undefined;
        subscriber.error(err);
      };

      /** Emits raw's frame now, or sends it off the loop (then `waiting` is set). */
      const handle = (raw: Buffer): void => {
        let out: InflatedFrame | undefined;
        try {
          out = step(raw);
        } catch (err) {
          return fail(err);
        }
        if (out !== undefined) return subscriber.next(out);
        waiting = [];
        inflateAsync(raw, limits.maxDecompressedBytes, 'gzip').then(
          (body) => resume({ raw, body, compressionFail: false }),
          (err: unknown) => (err instanceof DecompressionFailedError ? resume({ raw, body: raw, compressionFail: true }) : fail(err)),
        );
      };

      /** An off-loop inflate is done: emit it, then what waited, until one goes off the loop again. */
      const resume = (frame: InflatedFrame): void => {
        if (stopped) return;
        const queue = waiting!;
        waiting = undefined;
        subscriber.next(frame);
        for (let i = 0; i < queue.length; i++) {
          if (stopped) return;
          handle(queue[i]!);
          if (waiting !== undefined) {
            (waiting as Buffer[]).push(...queue.slice(i + 1));
            return;
          }
        }
        finish();
      };

      const finish = (): void => {
        if (stopped || end === undefined) return;
        if (end === 'complete') subscriber.complete();
        else fail(end.error);
      };

      const sub = source.subscribe({
        next(raw) {
          if (stopped) return;
          if (waiting !== undefined) waiting.push(raw);
          else handle(raw);
        },
        // Frames already complete go out before the source's error or end, as they would
        // without the thread pool.
        error: (error: unknown) => {
          end = { error };
          if (waiting === undefined) finish();
        },
        complete: () => {
          end = 'complete';
          if (waiting === undefined) finish();
        },
      });
      return () => {
        stopped = true;
        sub.unsubscribe();
      };
    });
}

/** True when some method of the list is one this build decompresses (decompressString would try it). */
function compressionSupported(list: readonly string[]): boolean {
  for (const m of list) if (compression.includes(m)) return true;
  return false;
}
