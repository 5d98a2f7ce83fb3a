import { map, type OperatorFunction } from 'rxjs';
import { PathfindingMessage, type CodecLimits } from '../protocol/message.js';
import { compression, mayBeCompressed } from '../protocol/compression.js';

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
    // A plain body's first byte rules every method out (mayBeCompressed): no attempt.
    let candidate = false;
    for (let i = 0; i < list.length && !candidate; i++) candidate = mayBeCompressed(raw, list[i]!);
    if (!candidate && compressionSupported(list)) return { raw, body: raw, compressionFail: true };
    const [body, compressionFail] = PathfindingMessage.decompressString(raw, [...list], limits);
    return { raw, body, compressionFail };
  });
}

/** True when some method of the list is one this build decompresses (decompressString would try it). */
function compressionSupported(list: readonly string[]): boolean {
  for (const m of list) if (compression.includes(m)) return true;
  return false;
}
