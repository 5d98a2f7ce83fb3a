// Codec micro-benchmark: encode (what send() builds) and feed (what a receiver parses,
// then the id it computes for de-duplication) of 100 B and 1 MiB messages, plain and
// gzip, against node:crypto SHA-384 over the same bytes.
import { createHash } from 'node:crypto';
import { PathfindingMessage, Protocol, nodeId } from '../src/index.js';
import { sharedZlib } from '../src/streams/zlib-codec.js';
import { HEADER, makePayload } from './agent.js';

export interface CodecResult {
  size: number;
  compression: 'plain' | 'gzip';
  op: 'encode' | 'feed';
  /** Messages per second. */
  msgsPerSec: number;
  /** Payload MB/s (10^6 bytes). */
  mbPerSec: number;
  /** SHA-384 of the same bytes (the frame body), as messages per second and MB/s of payload. */
  shaMsgsPerSec: number;
  shaMbPerSec: number;
}

/** Runs fn in growing batches until minMs have passed; returns calls per second. */
export function rate(fn: () => void, minMs: number): number {
  for (let i = 0; i < 3; i++) fn(); // warm-up
  let n = 0;
  let batch = 1;
  const t0 = performance.now();
  let t = t0;
  while (t - t0 < minMs) {
    for (let i = 0; i < batch; i++) fn();
    n += batch;
    t = performance.now();
    if (t - t0 < minMs / 8) batch *= 2;
  }
  return n / ((t - t0) / 1000);
}

let sink = 0;

export function codecBench(minMs: number): CodecResult[] {
  const protocol = new Protocol('mesh', 'Plaintext');
  const sender = nodeId(['127.0.0.1', 4444], protocol.id);
  const time = Math.floor(Date.now() / 1000);
  const out: CodecResult[] = [];
  for (const size of [100, 1024 * 1024]) {
    const payload = makePayload(Math.max(size, HEADER), 1, 0, 0);
    for (const compression of ['plain', 'gzip'] as const) {
      const methods = compression === 'gzip' ? ['gzip'] : [];
      // Exactly what MeshSocket.send() builds per message: a new message, hashed and serialized
      // (compressed with the node's engine, as a connection does).
      const encode = () => {
        const m = new PathfindingMessage(protocol, 'broadcast', sender, ['broadcast', payload], methods, time);
        sink += m.encodeWith(sharedZlib).length;
      };
      const frame = new PathfindingMessage(protocol, 'broadcast', sender, ['broadcast', payload], methods, time).string;
      const body = frame.subarray(4);
      // What a connection does with a frame body: decompress (when negotiated), split, parse;
      // then the router reads the id (SHA-384 of payload and time) to de-duplicate.
      const feed = () => {
        const m = PathfindingMessage.feedString(protocol, body, true, compression === 'gzip' ? ['gzip'] : null, undefined, sharedZlib);
        sink += m.id.length;
      };
      const sha = () => {
        sink += createHash('sha384').update(body).digest().length;
      };
      const shaRate = rate(sha, minMs);
      for (const [op, fn] of [['encode', encode], ['feed', feed]] as const) {
        const r = rate(fn, minMs);
        out.push({
          size, compression, op,
          msgsPerSec: r, mbPerSec: (r * size) / 1e6,
          shaMsgsPerSec: shaRate, shaMbPerSec: (shaRate * size) / 1e6,
        });
      }
    }
  }
  if (sink === -1) console.log(sink);
  return out;
}
