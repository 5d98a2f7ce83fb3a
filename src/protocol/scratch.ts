// The reusable working space of the codec's hot path: the buffers a digest and a
// base_58 encoding are made in, the base_58 of the last message time, and a zlib
// engine for a caller that passes none. Owned by whoever builds messages (each
// Protocol holds one, made when first asked for), never by a module: two owners never
// share one, and an owner's is let go of with it.
import { BASE58_SCRATCH_BYTES, Time58Cache } from './base58.js';
import { SyncZlib } from './sync-zlib.js';

/** Bytes of one digest's input copied whole into `hash` (a larger input is hashed in pieces). */
export const HASH_SCRATCH_BYTES = 16 * 1024;

/**
 * Buffers filled and read within one synchronous call (nothing carries from one call to
 * the next), and two caches whose answers do not depend on who asked: `time58` (the
 * base_58 of the last time) and `hashViews` (views of `hash` by length). About 17 KiB,
 * and `zlib`'s ~350 KiB once used (release() lets go of it).
 */
export class CodecScratch {
  /** Where the parts of a digest's input are copied, then hashed once. */
  readonly hash: Buffer = Buffer.allocUnsafe(HASH_SCRATCH_BYTES);
  /** hash.subarray(0, n) by n, for small n: one fewer object per hash. */
  readonly hashViews: Buffer[] = [];
  /** The number being encoded, as 32-bit limbs. */
  readonly limbs: Float64Array = new Float64Array(BASE58_SCRATCH_BYTES / 4);
  /** base_58 digits, written from the end. */
  readonly digits: Buffer = Buffer.alloc(Math.ceil(BASE58_SCRATCH_BYTES * 1.3657) + 5);
  /** A latin1 key's bytes, for its base_58. */
  readonly keyBytes: Buffer = Buffer.alloc(BASE58_SCRATCH_BYTES);
  /** The base_58 of the last time asked for: messages built in one second share it. */
  readonly time58: Time58Cache = new Time58Cache();
  #zlib: SyncZlib | undefined;

  /** A zlib engine for messages compressed without one of the caller's (reset per call, not rebuilt). */
  get zlib(): SyncZlib {
    return (this.#zlib ??= new SyncZlib());
  }

  /** Lets go of the zlib engine's states (the next compression builds new ones). */
  release(): void {
    this.#zlib?.release();
  }
}
