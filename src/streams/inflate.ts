import { map, type OperatorFunction } from 'rxjs';
import { PathfindingMessage, type CodecLimits } from '../protocol/message.js';

export interface InflatedFrame {
  /** The frame body as received (compressed or not), kept for diagnostics. */
  raw: Buffer;
  /** The body after decompression (the raw body when no method applied). */
  body: Buffer;
  /** True when methods were tried and none applied: py2p's compression_fail. */
  compressionFail: boolean;
}

/**
 * Frame bodies → decompressed bodies. The methods to try are read per frame, because
 * renegotiation changes them mid-stream. A body that no method inflates passes on
 * as it is (py2p does the same); a body that inflates past the limit ends the
 * stream with DecompressedTooLargeError.
 */
export function inflate(methods: () => readonly string[], limits: CodecLimits): OperatorFunction<Buffer, InflatedFrame> {
  return map((raw) => {
    const list = methods();
    if (list.length === 0) return { raw, body: raw, compressionFail: false };
    const [body, compressionFail] = PathfindingMessage.decompressString(raw, [...list], limits);
    return { raw, body, compressionFail };
  });
}
