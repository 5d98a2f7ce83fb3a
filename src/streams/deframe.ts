import { Observable, type OperatorFunction } from 'rxjs';
import { Deframer } from '../protocol/framing.js';
import { FrameTooLargeError } from '../protocol/errors.js';

export interface DeframeOptions {
  maxFrameBytes: number;
  /**
   * Told after each chunk how many bytes of an unfinished frame are held, and how many
   * frames the chunk completed (a held remainder after completed frames is a new frame).
   */
  onBuffered?: (bytes: number, completed: number) => void;
  /**
   * The limit in force now, at most maxFrameBytes: lower until the peer is trusted (its
   * handshake done). Checked per frame as it goes out and, after each chunk, against the
   * frame in progress, so a handshake in the same chunk raises it for what follows.
   */
  limit?: { bytes: number };
}

/**
 * Socket chunks → whole frame bodies (the 4-byte size header removed). Frames may be
 * split across chunks or packed several to a chunk. An oversized or otherwise bad
 * header ends the stream with the codec's typed error.
 */
export function deframe(options: DeframeOptions): OperatorFunction<Uint8Array, Buffer> {
  return (source) =>
    new Observable<Buffer>((subscriber) => {
      const deframer = new Deframer({ maxFrameBytes: options.maxFrameBytes });
      const limit = options.limit ?? { bytes: options.maxFrameBytes };
      return source.subscribe({
        next(chunk) {
          // Frames completed before a bad header in the same chunk still go out first,
          // exactly as if the chunk had been split just before the header.
          const frames: Buffer[] = [];
          let failure: unknown;
          try {
            deframer.push(chunk, frames);
          } catch (err) {
            failure = err;
          }
          if (failure === undefined) options.onBuffered?.(deframer.buffered, frames.length);
          for (const frame of frames) {
            if (frame.length > limit.bytes) return subscriber.error(new FrameTooLargeError(frame.length, limit.bytes));
            subscriber.next(frame);
          }
          if (failure !== undefined) return subscriber.error(failure);
          if (deframer.announced > limit.bytes) subscriber.error(new FrameTooLargeError(deframer.announced, limit.bytes));
        },
        error: (err) => subscriber.error(err),
        complete: () => subscriber.complete(),
      });
    });
}
