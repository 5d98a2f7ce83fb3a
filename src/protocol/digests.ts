// The digests a message is keyed on (SHA-384 id, SHA-256 de-duplication key, SHA-1
// content key), as latin1 strings of the raw digest: one hash over the bytes, copied
// into a scratch buffer rather than cut into views.
import * as nodeCrypto from 'node:crypto';
import { createHash } from 'node:crypto';
import type { CodecScratch } from './scratch.js';

// node:crypto's one-shot hash() (Node >= 20.12) skips the Hash object: for a small
// message, copying it into a scratch buffer and hashing that once is ~3x cheaper
// than createHash + update per packet + digest.
// Read through the namespace: a named import would fail to link on an older Node 20.
const oneShotHash = (nodeCrypto as { hash?: typeof nodeCrypto.hash }).hash;

/** Inputs up to this size are hashed from one copy even without a scratch (a pooled Buffer is cheap). */
const POOLED_BYTES = 4 * 1024;

/**
 * A buffer of `size` bytes to copy a digest's input into, or undefined (hash it in
 * pieces): the caller's scratch when it fits (a 16 KiB allocation per message would
 * cost more than the hash of a small message), else a pooled Buffer for a small input.
 */
function copyTarget(size: number, scratch: CodecScratch | undefined): Buffer | undefined {
  if (oneShotHash === undefined) return undefined;
  if (scratch !== undefined && size <= scratch.hash.length) return scratch.hash;
  return size <= POOLED_BYTES ? Buffer.allocUnsafe(size) : undefined;
}

/**
 * The digest of the concatenated parts (strings as latin1, so give ASCII), as a
 * latin1 string of the raw digest bytes: a compact Map key. Copied into `scratch` and
 * hashed once when it fits.
 */
export function digestOf(algorithm: string, parts: ReadonlyArray<Uint8Array | string>, scratch?: CodecScratch): string {
  let size = 0;
  for (const p of parts) size += p.length;
  const into = copyTarget(size, scratch);
  if (into !== undefined && oneShotHash !== undefined) {
    let off = 0;
    for (const p of parts) {
      if (typeof p === 'string') off += into.write(p, off, 'latin1');
      else {
        into.set(p, off);
        off += p.length;
      }
    }
    return oneShotHash(algorithm, into.subarray(0, off), 'binary');
  }
  const h = createHash(algorithm);
  for (const p of parts) (typeof p === 'string' ? h.update(p, 'latin1') : h.update(p));
  return h.digest('binary');
}

/** Copies buf[start, end) into `into` at `at`; returns the offset after it. Short regions byte by byte (Buffer.copy makes a view first). */
function copyRegion(into: Buffer, buf: Buffer, start: number, end: number, at: number): number {
  const n = end - start;
  if (n <= 48) {
    for (let i = 0; i < n; i++) into[at + i] = buf[start + i]!;
    return at + n;
  }
  return at + buf.copy(into, at, start, end);
}

/**
 * The digest of three regions of `buf`, with `head1` and `head2` as uint32be before
 * the first and the second when `heads` is true: the pieces are copied into the
 * scratch and hashed once, without a view per piece. A region [0, 0) is empty.
 */
export function digestRegions(
  scratch: CodecScratch | undefined, algorithm: string, buf: Buffer, heads: boolean, head1: number, head2: number,
  a0: number, a1: number, b0: number, b1: number, c0: number, c1: number,
): string {
  const size = (heads ? 8 : 0) + (a1 - a0) + (b1 - b0) + (c1 - c0);
  const into = copyTarget(size, scratch);
  if (into === undefined || oneShotHash === undefined) {
    const h = createHash(algorithm);
    const u32 = (n: number) => { const x = Buffer.allocUnsafe(4); x.writeUInt32BE(n, 0); h.update(x); };
    if (heads) u32(head1);
    h.update(buf.subarray(a0, a1));
    if (heads) u32(head2);
    h.update(buf.subarray(b0, b1));
    h.update(buf.subarray(c0, c1));
    return h.digest('binary');
  }
  let off = 0;
  if (heads) off = into.writeUInt32BE(head1, off);
  off = copyRegion(into, buf, a0, a1, off);
  if (heads) off = into.writeUInt32BE(head2, off);
  off = copyRegion(into, buf, b0, b1, off);
  off = copyRegion(into, buf, c0, c1, off);
  if (into !== scratch?.hash) return oneShotHash(algorithm, into.subarray(0, off), 'binary');
  // Views of the scratch by length, for small lengths: one fewer object per hash.
  const view = off <= 2048 ? (scratch.hashViews[off] ??= into.subarray(0, off)) : into.subarray(0, off);
  return oneShotHash(algorithm, view, 'binary');
}
