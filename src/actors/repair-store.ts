/**
 * The recent-message store behind repair: the broadcasts this node sent or delivered
 * lately, as the plain wire frames that carried them, so that a copy sent to a peer
 * that missed one is the original byte for byte (sender, id and time included).
 *
 * Entries are keyed on a short id: the last SHORT_ID_BYTES characters of the message's
 * id as its id packet carries it (base_58 of SHA-384: 8 characters hold 46 bits). Every
 * node has it for the same message at no cost: no hash is computed for it.
 *
 * Bounded three ways, oldest out first: entries older than the window (looked at from
 * the oldest on, as the sweep runs), more than maxMessages entries, more than maxBytes
 * of frames. Adding a message is on every node's hot path, so the store holds no object
 * per message (nothing for the garbage collector to carry into the old generation) and
 * touches memory in order:
 * - frames are copied into one byte arena used as a ring (it starts small and doubles
 *   up to maxBytes); a frame that does not fit before the arena's end goes to its start;
 * - entries live in a ring (one Float64Array) in insertion order, each entry's fields side
 *   by side: short id as two 32-bit words, time, offset and length in the arena.
 * Insert and evict are O(1) (amortised over the arena's and the ring's doublings). There is
 * no index kept per message: a hash table costs a few cache misses per insert and evict,
 * which measured as much as the rest of the store. Lookups by id are for the repair
 * exchange only (a few per interval and peer, bounded): they use an index built from the
 * ring when asked (O(entries)) and kept until the store changes.
 * The store does not de-duplicate: it is given only messages the de-duplication cache
 * admitted, or this node's own.
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
/** The fields of a ring entry. */
const K0 = 0;
const K1 = 1;
const TIME = 2;
const OFFSET = 3;
const LENGTH = 4;
const FIELDS = 5;
const FIRST_RING = 64;

/** The recent broadcasts a node keeps for repair (repairStoreMaxMessages, repairStoreMaxBytes, repairWindowSeconds), with per-bucket digests for the comparison between peers; see the notes above. */
export class RepairStore {
  // The ring of entries: position seq lives at slot seq & (capacity - 1).
  private capacity: number;
  /**
   * Per entry, side by side (one cache line to write when adding, one to read when
   * evicting): the short id's two words, its time, its offset and length in the arena.
   */
  private ring: Float64Array;
  private headSeq = 0;
  private nextSeq = 0;
  // The arena: frames end to end from the oldest entry's offset to writeAt, around its end.
  private arena: Buffer;
  private writeAt = 0;
  /** Short id -> position, built when a lookup needs it, for the entries headSeq..indexedTo - 1. */
  private index: Map<string, number> | undefined;
  private indexedTo = 0;
  private readonly buckets = new Map<number, BucketDigest>();
  /** The bucket written last (times mostly come in order: no Map lookup then). */
  private lastBucket: BucketDigest | undefined;
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
    /** Entries kept at most (oldest out first). */
    readonly maxMessages: number,
    /** Frame bytes kept at most (oldest out first). */
    readonly maxBytes: number,
    /** Entries older than this many seconds of message time are dropped. */
    readonly windowSeconds: number,
    /** The width of a digest bucket, in seconds of message time. */
    readonly bucketSeconds: number,
  ) {
    this.capacity = Math.min(FIRST_RING, ceilPow2(Math.max(1, maxMessages)));
    this.ring = new Float64Array(FIELDS * this.capacity);
    // The arena is allocated with the first frame: a node that never stores costs nothing.
    this.arena = Buffer.alloc(0);
  }

  /** Entries held. */
  get size(): number {
    return this.nextSeq - this.headSeq;
  }

  /** Bytes the store has allocated for frames (its arena): at most maxBytes. */
  get arenaBytes(): number {
    return this.arena.length;
  }

  /** True when a message with this short id is held. */
  has(key: string): boolean {
    return this.find(key) >= 0;
  }

  /**
   * A copy of the stored frame of a short id (a copy: a socket may hold what it is given
   * until it is sent, and the arena's bytes are reused).
   */
  get(key: string): Buffer | undefined {
    const seq = this.find(key);
    if (seq < 0) return undefined;
    const slot = seq & (this.capacity - 1);
    const offset = this.ring[FIELDS * slot + OFFSET]!;
    return Buffer.from(this.arena.subarray(offset, offset + this.ring[FIELDS * slot + LENGTH]!));
  }

  /**
   * Stores a copy of a message's frame (one buffer, or pieces end to end) under its short
   * id; false if it is larger than the whole byte bound. Older entries make room. The
   * caller gives each message once (the store does not look).
   */
  add(key: string, time: number, frame: Uint8Array | readonly Uint8Array[]): boolean {
    const a = word(key, 0) | 0;
    const b = word(key, 4) | 0;
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
    const r = this.ring;
    const at = FIELDS * slot;
    r[at + K0] = a;
    r[at + K1] = b;
    r[at + TIME] = time;
    r[at + OFFSET] = offset;
    r[at + LENGTH] = size;
    this.bytes += size;
    this.account(time, a, b, 1);
    return true;
  }

  /** Drops the entries, oldest first, whose time is before `now - windowSeconds`. */
  expire(now: number): void {
    const oldest = now - this.windowSeconds;
    while (this.size > 0 && this.ring[FIELDS * (this.headSeq & (this.capacity - 1)) + TIME]! < oldest) this.evictOldest(false);
  }

  /** Forgets every entry and digest. */
  clear(): void {
    this.headSeq = this.nextSeq = 0;
    this.writeAt = 0;
    this.index = undefined;
    this.indexedTo = 0;
    this.buckets.clear();
    this.lastBucket = undefined;
    this.bytes = 0;
  }

  /** The index of the digest bucket of a message time (unix seconds). */
  bucketOf(time: number): number {
    return Math.floor(time / this.bucketSeconds);
  }

  /** The digest of every non-empty bucket. */
  digests(): IterableIterator<BucketDigest> {
    return this.buckets.values();
  }

  /** The digest of bucket `index`, or undefined when the bucket is empty. */
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
      fn(keyOf(this.ring[FIELDS * slot + K0]!, this.ring[FIELDS * slot + K1]!), this.ring[FIELDS * slot + TIME]!);
    }
  }

  /** Calls fn with each entry's short id, time and frame (a view into the arena, valid during the call), oldest first. */
  forEachFrame(fn: (key: string, time: number, frame: Buffer) => void): void {
    const mask = this.capacity - 1;
    for (let seq = this.headSeq; seq < this.nextSeq; seq++) {
      const at = FIELDS * (seq & mask);
      const offset = this.ring[at + OFFSET]!;
      fn(keyOf(this.ring[at + K0]!, this.ring[at + K1]!), this.ring[at + TIME]!, this.arena.subarray(offset, offset + this.ring[at + LENGTH]!));
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
        const t = this.ring[FIELDS * (this.headSeq & (this.capacity - 1)) + OFFSET]!;
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
    let size = Math.max(this.arena.length, Math.min(FIRST_ARENA_BYTES, this.maxBytes));
    while (size < atLeast * 2 && size < this.maxBytes) size *= 2;
    size = Math.min(size, this.maxBytes);
    const next = Buffer.allocUnsafe(size);
    let at = 0;
    const mask = this.capacity - 1;
    for (let seq = this.headSeq; seq < this.nextSeq; seq++) {
      const slot = seq & mask;
      const offset = this.ring[FIELDS * slot + OFFSET]!;
      const length = this.ring[FIELDS * slot + LENGTH]!;
      this.arena.copy(next, at, offset, offset + length);
      this.ring[FIELDS * slot + OFFSET] = at;
      at += length;
    }
    this.arena = next;
    this.writeAt = at;
  }

  // ---------------------------------------------------------------- the ring

  private evictOldest(forBounds: boolean): void {
    const seq = this.headSeq;
    const slot = seq & (this.capacity - 1);
    const r = this.ring;
    const at = FIELDS * slot;
    const a = r[at + K0]!;
    const b = r[at + K1]!;
    const time = r[at + TIME]!;
    this.bytes -= r[at + LENGTH]!;
    this.headSeq++;
    this.account(time, a, b, -1);
    if (forBounds) {
      this.evictedForBounds++;
      if (time + 1 > this.completeSince) this.completeSince = time + 1;
    }
  }

  private grow(): void {
    const capacity = this.capacity * 2;
    const ring = new Float64Array(FIELDS * capacity);
    for (let seq = this.headSeq; seq < this.nextSeq; seq++) {
      const from = FIELDS * (seq & (this.capacity - 1));
      ring.set(this.ring.subarray(from, from + FIELDS), FIELDS * (seq & (capacity - 1)));
    }
    this.ring = ring;
    this.capacity = capacity;
  }

  // ---------------------------------------------------------------- the index

  /**
   * Position of a short id, or -1. The index covers what was added up to its build; a
   * position since evicted is no longer valid, and entries added since are searched
   * from the newest back until the index is rebuilt (when they are many).
   */
  private find(key: string): number {
    if (this.index === undefined || this.nextSeq - this.indexedTo > 256) this.buildIndex();
    const mask = this.capacity - 1;
    const a = word(key, 0) | 0;
    const b = word(key, 4) | 0;
    for (let seq = this.nextSeq - 1; seq >= this.indexedTo && seq >= this.headSeq; seq--) {
      if (this.ring[FIELDS * (seq & mask) + K0] === a && this.ring[FIELDS * (seq & mask) + K1] === b) return seq;
    }
    const seq = this.index!.get(key);
    return seq !== undefined && seq >= this.headSeq ? seq : -1;
  }

  private buildIndex(): void {
    const index = new Map<string, number>();
    const mask = this.capacity - 1;
    for (let seq = this.headSeq; seq < this.nextSeq; seq++) index.set(keyOf(this.ring[FIELDS * (seq & mask) + K0]!, this.ring[FIELDS * (seq & mask) + K1]!), seq);
    this.index = index;
    this.indexedTo = this.nextSeq;
  }

  private account(time: number, a: number, b: number, delta: 1 | -1): void {
    const index = this.bucketOf(time);
    let d = this.lastBucket;
    if (d === undefined || d.index !== index || d.count === 0) {
      d = this.buckets.get(index);
      if (d === undefined) {
        d = { index, count: 0, x0: 0, x1: 0 };
        this.buckets.set(index, d);
      }
      if (delta === 1) this.lastBucket = d;
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
