import { randomInt } from 'node:crypto';

/**
 * The recent-message store behind repair: the broadcasts this node sent or delivered
 * lately, as the plain wire frames that carried them, so that a copy sent to a peer
 * that missed one is the original byte for byte (sender, id and time included).
 *
 * Entries are keyed on a short id: the first SHORT_ID_BYTES bytes of the message's
 * dedupKey (SHA-256 of payload ‖ time_58, what the id hashes), a latin1 string. Every
 * node computes the same short id for the same message without any SHA-384.
 *
 * Bounded three ways, oldest out first: entries older than the window (looked at from
 * the oldest on, as the sweep runs), more than maxMessages entries, more than maxBytes
 * of frames. It holds no object per message, so that what it keeps costs the garbage
 * collector nothing per message (a Buffer and a Map entry kept per message made every
 * message survive into the old generation: a tenth of W1's throughput):
 * - frames are copied into one byte arena used as a ring (it starts small and doubles
 *   up to maxBytes); a frame that does not fit before the arena's end goes to its start;
 * - entries live in a ring of typed arrays in insertion order (short id as two 32-bit
 *   words, time, offset and length in the arena);
 * - an open-addressing table of ring positions, probed linearly and hashed with a seed
 *   drawn per store (ids cannot be chosen to collide), answers lookups; an eviction
 *   deletes in place (backward shift).
 * Insert and evict are O(1) (amortised over the arena's and the ring's doublings).
 *
 * For the compact comparison between peers the store keeps, per time bucket
 * (bucketSeconds of message time), the count of its entries and the XOR of their short
 * ids, updated on every insert and eviction.
 */
export const SHORT_ID_BYTES = 8;

/** Count and XOR of the short ids of one bucket's entries (the XOR as two 32-bit halves). */
export interface BucketDigest {
  index: number;
  count: number;
  x0: number;
  x1: number;
}

const FIRST_ARENA_BYTES = 256 * 1024;
const FIRST_RING = 1024;

export class RepairStore {
  // The ring of entries: position seq lives at slot seq & (capacity - 1).
  private capacity: number;
  private k0: Int32Array;
  private k1: Int32Array;
  private times: Float64Array;
  private offsets: Float64Array;
  private lengths: Int32Array;
  private headSeq = 0;
  private nextSeq = 0;
  // The arena: frames end to end from the oldest entry's offset to writeAt, around its end.
  private arena: Buffer;
  private writeAt = 0;
  // Open addressing: seq + 1 per slot (0 = empty).
  private table: Float64Array;
  private mask: number;
  private readonly seed = randomInt(0x7fffffff) | 1;
  private readonly buckets = new Map<number, BucketDigest>();
  /** Frame bytes held. */
  bytes = 0;
  /** Entries evicted for a count or byte bound (not for age). */
  evictedForBounds = 0;
  /**
   * The store holds every message added with a time at or after this (unix seconds): an
   * eviction for a count or byte bound raises it past the evicted message's time. A peer
   * compares only the buckets both stores hold completely.
   */
  completeSince = 0;

  constructor(
    readonly maxMessages: number,
    readonly maxBytes: number,
    readonly windowSeconds: number,
    readonly bucketSeconds: number,
  ) {
    this.capacity = Math.min(FIRST_RING, ceilPow2(Math.max(1, maxMessages)));
    this.k0 = new Int32Array(this.capacity);
    this.k1 = new Int32Array(this.capacity);
    this.times = new Float64Array(this.capacity);
    this.offsets = new Float64Array(this.capacity);
    this.lengths = new Int32Array(this.capacity);
    this.arena = Buffer.allocUnsafe(Math.min(FIRST_ARENA_BYTES, maxBytes));
    this.table = new Float64Array(2 * this.capacity);
    this.mask = 2 * this.capacity - 1;
  }

  get size(): number {
    return this.nextSeq - this.headSeq;
  }

  /** Bytes the store has allocated for frames (its arena): at most maxBytes. */
  get arenaBytes(): number {
    return this.arena.length;
  }

  has(key: string): boolean {
    return this.find(word(key, 0) | 0, word(key, 4) | 0) >= 0;
  }

  /**
   * A copy of the stored frame of a short id (a copy: a socket may hold what it is given
   * until it is sent, and the arena's bytes are reused).
   */
  get(key: string): Buffer | undefined {
    const at = this.find(word(key, 0) | 0, word(key, 4) | 0);
    if (at < 0) return undefined;
    const slot = (this.table[at]! - 1) & (this.capacity - 1);
    const offset = this.offsets[slot]!;
    return Buffer.from(this.arena.subarray(offset, offset + this.lengths[slot]!));
  }

  /**
   * Stores a copy of a message's frame (one buffer, or pieces end to end) under its short
   * id; false if it was there already or is larger than the whole byte bound. Older
   * entries make room.
   */
  add(key: string, time: number, frame: Uint8Array | readonly Uint8Array[]): boolean {
    const a = word(key, 0) | 0;
    const b = word(key, 4) | 0;
    if (this.find(a, b) >= 0) return false;
    let size = 0;
    if (frame instanceof Uint8Array) size = frame.length;
    else for (const p of frame) size += p.length;
    if (size > this.maxBytes) return false;
    while (this.size >= this.maxMessages) this.evictOldest(true);
    const offset = this.place(size);
    if (frame instanceof Uint8Array) this.arena.set(frame, offset);
    else {
      let at = offset;
      for (const p of frame) {
        this.arena.set(p, at);
        at += p.length;
      }
    }
    if (this.size >= this.capacity) this.grow();
    const seq = this.nextSeq++;
    const slot = seq & (this.capacity - 1);
    this.k0[slot] = a;
    this.k1[slot] = b;
    this.times[slot] = time;
    this.offsets[slot] = offset;
    this.lengths[slot] = size;
    this.insertIndex(seq, a, b);
    this.bytes += size;
    this.account(time, a, b, 1);
    return true;
  }

  /** Drops the entries, oldest first, whose time is before `now - windowSeconds`. */
  expire(now: number): void {
    const oldest = now - this.windowSeconds;
    while (this.size > 0 && this.times[this.headSeq & (this.capacity - 1)]! < oldest) this.evictOldest(false);
  }

  clear(): void {
    this.headSeq = this.nextSeq = 0;
    this.writeAt = 0;
    this.table.fill(0);
    this.buckets.clear();
    this.bytes = 0;
  }

  bucketOf(time: number): number {
    return Math.floor(time / this.bucketSeconds);
  }

  /** The digest of every non-empty bucket. */
  digests(): IterableIterator<BucketDigest> {
    return this.buckets.values();
  }

  digest(index: number): BucketDigest | undefined {
    return this.buckets.get(index);
  }

  /**
   * Calls fn with each entry's short id and time, oldest first. One pass over the ring:
   * what a list of ids per bucket costs (a string per entry listed).
   */
  forEach(fn: (key: string, time: number) => void): void {
    const mask = this.capacity - 1;
    for (let seq = this.headSeq; seq < this.nextSeq; seq++) {
      const slot = seq & mask;
      fn(keyOf(this.k0[slot]!, this.k1[slot]!), this.times[slot]!);
    }
  }

  // ---------------------------------------------------------------- the arena

  /**
   * Where a frame of `size` bytes goes: after the newest, or at the arena's start when
   * it does not fit before the end; the oldest entries are evicted (or the arena grows)
   * until the space is free.
   */
  private place(size: number): number {
    for (;;) {
      if (this.size === 0) this.writeAt = 0;
      const arenaSize = this.arena.length;
      const w = this.writeAt;
      if (this.size === 0) {
        if (size > arenaSize) {
          this.growArena(size);
          continue;
        }
      } else {
        const t = this.offsets[this.headSeq & (this.capacity - 1)]!;
        // Live bytes run from t to w, around the end when t >= w.
        if (t < w) {
          if (w + size <= arenaSize) return this.advance(w, size);
          if (size <= t) return this.advance(0, size);
        } else if (w + size <= t) {
          return this.advance(w, size);
        }
        if (arenaSize < this.maxBytes) {
          this.growArena(this.bytes + size);
          continue;
        }
        this.evictOldest(true);
        continue;
      }
      return this.advance(0, size);
    }
  }

  private advance(at: number, size: number): number {
    this.writeAt = at + size;
    return at;
  }

  /** A larger arena (doubling, at most maxBytes): the live frames are copied into it in order, from 0. */
  private growArena(atLeast: number): void {
    let size = this.arena.length;
    while (size < atLeast * 2 && size < this.maxBytes) size *= 2;
    size = Math.min(size, this.maxBytes);
    const next = Buffer.allocUnsafe(size);
    let at = 0;
    const mask = this.capacity - 1;
    for (let seq = this.headSeq; seq < this.nextSeq; seq++) {
      const slot = seq & mask;
      const offset = this.offsets[slot]!;
      const length = this.lengths[slot]!;
      this.arena.copy(next, at, offset, offset + length);
      this.offsets[slot] = at;
      at += length;
    }
    this.arena = next;
    this.writeAt = at;
  }

  // ---------------------------------------------------------------- the ring

  private evictOldest(forBounds: boolean): void {
    const seq = this.headSeq;
    const slot = seq & (this.capacity - 1);
    const a = this.k0[slot]!;
    const b = this.k1[slot]!;
    const time = this.times[slot]!;
    this.bytes -= this.lengths[slot]!;
    this.removeIndex(seq, a, b);
    this.headSeq++;
    this.account(time, a, b, -1);
    if (forBounds) {
      this.evictedForBounds++;
      if (time + 1 > this.completeSince) this.completeSince = time + 1;
    }
  }

  private grow(): void {
    const capacity = this.capacity * 2;
    const move = <T extends Int32Array | Float64Array>(from: T, to: T): T => {
      for (let seq = this.headSeq; seq < this.nextSeq; seq++) to[seq & (capacity - 1)] = from[seq & (this.capacity - 1)]!;
      return to;
    };
    this.k0 = move(this.k0, new Int32Array(capacity));
    this.k1 = move(this.k1, new Int32Array(capacity));
    this.times = move(this.times, new Float64Array(capacity));
    this.offsets = move(this.offsets, new Float64Array(capacity));
    this.lengths = move(this.lengths, new Int32Array(capacity));
    this.capacity = capacity;
    this.table = new Float64Array(2 * capacity);
    this.mask = 2 * capacity - 1;
    for (let seq = this.headSeq; seq < this.nextSeq; seq++) {
      const slot = seq & (capacity - 1);
      this.insertIndex(seq, this.k0[slot]!, this.k1[slot]!);
    }
  }

  // ---------------------------------------------------------------- the index

  private hash(a: number, b: number): number {
    let h = Math.imul(a ^ this.seed, 0x9e3779b1);
    h = Math.imul(h ^ (h >>> 15) ^ b, 0x85ebca6b);
    return (h ^ (h >>> 13)) & this.mask;
  }

  /** Table position of (a, b), or -1. */
  private find(a: number, b: number): number {
    const mask = this.mask;
    const cap = this.capacity - 1;
    for (let at = this.hash(a, b); ; at = (at + 1) & mask) {
      const v = this.table[at]!;
      if (v === 0) return -1;
      const slot = (v - 1) & cap;
      if (this.k0[slot] === a && this.k1[slot] === b) return at;
    }
  }

  private insertIndex(seq: number, a: number, b: number): void {
    const mask = this.mask;
    let at = this.hash(a, b);
    while (this.table[at] !== 0) at = (at + 1) & mask;
    this.table[at] = seq + 1;
  }

  /** Deletes seq's entry from the table, shifting later entries of its run back (no tombstones). */
  private removeIndex(seq: number, a: number, b: number): void {
    const mask = this.mask;
    let at = this.hash(a, b);
    while (this.table[at] !== seq + 1) at = (at + 1) & mask;
    let hole = at;
    for (let next = (hole + 1) & mask; this.table[next] !== 0; next = (next + 1) & mask) {
      const slot = (this.table[next]! - 1) & (this.capacity - 1);
      const home = this.hash(this.k0[slot]!, this.k1[slot]!);
      // Move the entry back into the hole unless its home lies cyclically in (hole, next].
      const between = hole <= next ? home > hole && home <= next : home > hole || home <= next;
      if (!between) {
        this.table[hole] = this.table[next]!;
        hole = next;
      }
    }
    this.table[hole] = 0;
  }

  private account(time: number, a: number, b: number, delta: 1 | -1): void {
    const index = this.bucketOf(time);
    let d = this.buckets.get(index);
    if (d === undefined) {
      d = { index, count: 0, x0: 0, x1: 0 };
      this.buckets.set(index, d);
    }
    d.count += delta;
    d.x0 = (d.x0 ^ a) >>> 0;
    d.x1 = (d.x1 ^ b) >>> 0;
    if (d.count === 0) this.buckets.delete(index);
  }
}

/** Bytes at..at+3 of a latin1 short id as a uint32 (big-endian). */
export function word(key: string, at: number): number {
  return ((key.charCodeAt(at) << 24) | (key.charCodeAt(at + 1) << 16) | (key.charCodeAt(at + 2) << 8) | key.charCodeAt(at + 3)) >>> 0;
}

/** The latin1 short id of two 32-bit words. */
export function keyOf(a: number, b: number): string {
  return String.fromCharCode((a >>> 24) & 255, (a >>> 16) & 255, (a >>> 8) & 255, a & 255, (b >>> 24) & 255, (b >>> 16) & 255, (b >>> 8) & 255, b & 255);
}

function ceilPow2(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}
