// The digests a message is keyed on (SHA-384 id, SHA-256 de-duplication key, SHA-1
// content key), as latin1 strings of the raw digest: one hash over the bytes, copied
// into a scratch buffer rather than cut into views.
import * as nodeCrypto from 'node:crypto';
import { createHash } from 'node:crypto';

// node:crypto's one-shot hash() (Node >= 20.12) skips the Hash object: for a small
// message, copying it into a scratch buffer and hashing that once is ~3x cheaper
// than createHash + update per packet + digest.
// Read through the namespace: a named import would fail to link on an older Node 20.
const oneShotHash = (nodeCrypto as { hash?: typeof nodeCrypto.hash }).hash;
// HASH_SCRATCH and SCRATCH_VIEWS are the module's only mutable values, and carry nothing
// from one call to the next: the scratch is written in full, then hashed, before the
// synchronous call returns, and the views (of its first n bytes, by n) are the same
// objects whoever made them. Held per module rather than per call, because a 16 KiB
// allocation per message would cost more than the hash of a small message.
const HASH_SCRATCH = Buffer.allocUnsafe(16 * 1024);

/**
 * The digest of the concatenated parts (strings as latin1, so give ASCII), as a
 * latin1 string of the raw digest bytes: a compact Map key.
 */
export function digestOf(algorithm: string, parts: ReadonlyArray<Uint8Array | string>): string {
  let size = 0;
  for (const p of parts) size += p.length;
  if (oneShotHash !== undefined && size <= HASH_SCRATCH.length) {
    let off = 0;
    for (const p of parts) {
      if (typeof p === 'string') off += HASH_SCRATCH.write(p, off, 'latin1');
      else {
        HASH_SCRATCH.set(p, off);
        off += p.length;
      }
    }
    return oneShotHash(algorithm, HASH_SCRATCH.subarray(0, off), 'binary');
  }
  const h = createHash(algorithm);
  for (const p of parts) (typeof p === 'string' ? h.update(p, 'latin1') : h.update(p));
  return h.digest('binary');
}

const SCRATCH_VIEWS: Buffer[] = [];

/** Copies buf[start, end) into HASH_SCRATCH at `at`; returns the offset after it. Short regions byte by byte (Buffer.copy makes a view first). */
function copyRegion(buf: Buffer, start: number, end: number, at: number): number {
  const n = end - start;
  if (n <= 48) {
    for (let i = 0; i < n; i++) HASH_SCRATCH[at + i] = buf[start + i]!;
    return at + n;
  }
  return at + buf.copy(HASH_SCRATCH, at, start, end);
}

/**
 * The digest of three regions of `buf`, with `head1` and `head2` as uint32be before
 * the first and the second when `heads` is true: the pieces
 * are copied into a scratch buffer and hashed once, without a view per piece.
 * A region [0, 0) is empty.
 */
export function digestRegions(
  algorithm: string, buf: Buffer, heads: boolean, head1: number, head2: number,
  a0: number, a1: number, b0: number, b1: number, c0: number, c1: number,
): string {
  const size = (heads ? 8 : 0) + (a1 - a0) + (b1 - b0) + (c1 - c0);
  if (oneShotHash === undefined || size > HASH_SCRATCH.length) {
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
  if (heads) off = HASH_SCRATCH.writeUInt32BE(head1, off);
  off = copyRegion(buf, a0, a1, off);
  if (heads) off = HASH_SCRATCH.writeUInt32BE(head2, off);
  off = copyRegion(buf, b0, b1, off);
  off = copyRegion(buf, c0, c1, off);
  // Views of the scratch buffer by length, for small lengths: one fewer object per hash.
  const view = off <= 2048 ? (SCRATCH_VIEWS[off] ??= HASH_SCRATCH.subarray(0, off)) : HASH_SCRATCH.subarray(0, off);
  return oneShotHash(algorithm, view, 'binary');
}
