import type { OperatorFunction } from 'rxjs';
import { flags } from '../protocol/flags.js';
import { PathfindingMessage } from '../protocol/message.js';
import type { ParsedFrame } from './parse.js';
import { orderedOffLoop, type OffLoopFlow } from './ordered-off-loop.js';

/**
 * A broadcast or waterfall with at least this many payload bytes has its de-duplication
 * digest (SHA-256 of payload and time) computed on the thread pool (WebCrypto) before
 * the router sees it: 16 MiB took the loop 13 ms alone, 25-40 ms on a busy machine.
 * Below this (2.5 ms for 4 MiB) the copy and the trip to the thread pool cost more than
 * they spare: at 1 MiB they took a sixth of W2's throughput.
 */
export const ASYNC_DIGEST_MIN_BYTES = 4 * 1024 * 1024;

/** Parsed frames → the same frames, large flooded ones with their dedupKey computed off the loop; order is kept. */
export function digestLarge(minBytes = ASYNC_DIGEST_MIN_BYTES, flow?: OffLoopFlow<ParsedFrame>): OperatorFunction<ParsedFrame, ParsedFrame> {
  const needsDigest = (f: ParsedFrame): boolean => {
    if (!f.ok) return false;
    const type = f.msg.msgType;
    return (type === flags.broadcast || type === flags.waterfall) && f.msg.payloadBytes >= minBytes;
  };
  return orderedOffLoop(
    (f) => (needsDigest(f) ? undefined : f),
    (f) => {
      const msg = (f as Extract<ParsedFrame, { ok: true }>).msg;
      // One buffer of payload then time58, as digestOf hashes them (the copy is linear and short).
      const input = Buffer.concat([...msg.payload, Buffer.from(msg.time58, 'latin1')]);
      return globalThis.crypto.subtle.digest('SHA-256', input).then(
        (d) => {
          PathfindingMessage.presetDedupKey(msg, Buffer.from(d).toString('latin1'));
          return f;
        },
        // The router computes it itself, then.
        () => f,
      );
    },
    flow,
  );
}
