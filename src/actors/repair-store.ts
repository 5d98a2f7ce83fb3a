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
 * of frames. Entries live in a ring in insertion order (key, time and frame each in an
 * array of their own, the ring doubling as needed up to maxMessages) with a Map from
 * short id to its position: insert and evict are O(1), and no entry owns a closure.
 *
 * For the compact comparison between peers the store keeps, per time bucket
 * (bucketSeconds of message time), the count of its entries and the XOR of their short
 * ids, updated on every insert and eviction.
 */
export const SHORT_ID_BYTES = 8;

/** A stored frame: one buffer, or a head and a view of a large body (no copy of it). */
export type StoredFrame = Buffer | readonly [Buffer, Buffer];

export function frameBytes(frame: StoredFrame): number {
  return Buffer.isBuffer(frame) ? frame.length : frame[0].length + frame[1].length;
}

/** Count and XOR of the short ids of one bucket's entries (the XOR as two 32-bit halves). */
export interface BucketDigest {
  index: number;
  count: number;
  x0: number;
  x1: number;
}

export class RepairStore {
  private keys: Array<string | undefined>;
  private times: Float64Array;
  private frames: Array<StoredFrame | undefined>;
  private capacity: number;
  /** Sequence number of the oldest entry; entries are headSeq .. nextSeq - 1. */
  private headSeq = 0;
  private nextSeq = 0;
  private readonly index = new Map<string, number>();
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
    this.capacity = Math.min(1024, ceilPow2(Math.max(1, maxMessages)));
    this.keys = new Array<string | undefined>(this.capacity);
    this.times = new Float64Array(this.capacity);
    this.frames = new Array<StoredFrame | undefined>(this.capacity);
  }

  get size(): number {
    return this.nextSeq - this.headSeq;
  }

  has(key: string): boolean {
    return this.index.has(key);
  }

  /** The stored frame of a short id, if held. */
  get(key: string): StoredFrame | undefined {
    const seq = this.index.get(key);
    return seq === undefined ? undefined : this.frames[seq & (this.capacity - 1)];
  }

  /**
   * Stores a message's frame under its short id; false if it was there already or is
   * larger than the whole byte bound. Older entries make room.
   */
  add(key: string, time: number, frame: StoredFrame): boolean {
    if (this.index.has(key)) return false;
    const size = frameBytes(frame);
    if (size > this.maxBytes) return false;
    while (this.size >= this.maxMessages || this.bytes + size > this.maxBytes) this.evictOldest(true);
    if (this.size >= this.capacity) this.grow();
    const seq = this.nextSeq++;
    const slot = seq & (this.capacity - 1);
    this.keys[slot] = key;
    this.times[slot] = time;
    this.frames[slot] = frame;
    this.index.set(key, seq);
    this.bytes += size;
    this.account(key, time, 1);
    return true;
  }

  /** Drops the entries, oldest first, whose time is before `now - windowSeconds`. */
  expire(now: number): void {
    const oldest = now - this.windowSeconds;
    while (this.size > 0 && this.times[this.headSeq & (this.capacity - 1)]! < oldest) this.evictOldest(false);
  }

  clear(): void {
    for (let seq = this.headSeq; seq < this.nextSeq; seq++) {
      const slot = seq & (this.capacity - 1);
      this.keys[slot] = this.frames[slot] = undefined;
    }
    this.headSeq = this.nextSeq = 0;
    this.index.clear();
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
   * Calls fn with each entry's key and time, oldest first. One pass over the ring:
   * what a list of ids per bucket costs.
   */
  forEach(fn: (key: string, time: number) => void): void {
    const mask = this.capacity - 1;
    for (let seq = this.headSeq; seq < this.nextSeq; seq++) {
      const slot = seq & mask;
      fn(this.keys[slot]!, this.times[slot]!);
    }
  }

  private evictOldest(forBounds: boolean): void {
    const slot = this.headSeq & (this.capacity - 1);
    const key = this.keys[slot]!;
    const time = this.times[slot]!;
    this.bytes -= frameBytes(this.frames[slot]!);
    this.keys[slot] = this.frames[slot] = undefined;
    this.index.delete(key);
    this.headSeq++;
    this.account(key, time, -1);
    if (forBounds) {
      this.evictedForBounds++;
      if (time + 1 > this.completeSince) this.completeSince = time + 1;
    }
  }

  private account(key: string, time: number, delta: 1 | -1): void {
    const index = this.bucketOf(time);
    let d = this.buckets.get(index);
    if (d === undefined) {
      d = { index, count: 0, x0: 0, x1: 0 };
      this.buckets.set(index, d);
    }
    d.count += delta;
    d.x0 = (d.x0 ^ word(key, 0)) >>> 0;
    d.x1 = (d.x1 ^ word(key, 4)) >>> 0;
    if (d.count === 0) this.buckets.delete(index);
  }

  private grow(): void {
    const capacity = this.capacity * 2;
    const keys = new Array<string | undefined>(capacity);
    const times = new Float64Array(capacity);
    const frames = new Array<StoredFrame | undefined>(capacity);
    for (let seq = this.headSeq; seq < this.nextSeq; seq++) {
      const from = seq & (this.capacity - 1);
      const to = seq & (capacity - 1);
      keys[to] = this.keys[from];
      times[to] = this.times[from]!;
      frames[to] = this.frames[from];
    }
    this.keys = keys;
    this.times = times;
    this.frames = frames;
    this.capacity = capacity;
  }
}

/** Bytes at..at+3 of a latin1 short id as a uint32 (big-endian). */
export function word(key: string, at: number): number {
  return ((key.charCodeAt(at) << 24) | (key.charCodeAt(at + 1) << 16) | (key.charCodeAt(at + 2) << 8) | key.charCodeAt(at + 3)) >>> 0;
}

function ceilPow2(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}
