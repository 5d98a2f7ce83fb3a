// Which messages are worth compressing for a peer that negotiated a method: py2p reads
// a plain body from a peer that advertised compression (its decompress fails and it
// parses the plaintext: compression_fail), so compressing is this node's choice.
import { looksCompressible } from '../protocol/compressibility.js';
import type { PathfindingMessage } from '../protocol/message.js';

const judged = new WeakMap<PathfindingMessage, boolean>();
/** The entropy estimate's scratch counts, reused (each estimate fills it before reading it, synchronously). */
const COUNTS = new Uint32Array(256);

/** Whether deflate is likely to shrink this message's payload (a sample's entropy), judged once per message. */
export function worthCompressing(msg: PathfindingMessage): boolean {
  let v = judged.get(msg);
  if (v === undefined) judged.set(msg, (v = looksCompressible(msg.payload, msg.payloadBytes, COUNTS)));
  return v;
}

/** The same judgement for packets not yet in a message. */
export function packetsWorthCompressing(payload: ReadonlyArray<string | Uint8Array>, bytes: number): boolean {
  return looksCompressible(payload.map((p) => (typeof p === 'string' ? Buffer.from(p, 'utf8') : p)), bytes, COUNTS);
}
