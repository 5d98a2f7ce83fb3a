import { randomInt } from 'node:crypto';

/**
 * The ids of recently flooded messages, for de-duplication. Bounded two ways:
 * an id is forgotten once older than `ttlSeconds` (a message that old is refused
 * anyway by the age check), and the cache never holds more than `maxEntries`: past
 * that the oldest ids are evicted first. Both checks look at the oldest entry only:
 * O(1) per insert, no timers.
 *
 * Entries live in a ring in insertion order (key, time and a 32-bit fingerprint of
 * the key each in an array of their own), and an open-addressing table of ring
 * positions, probed linearly, answers lookups. A probe compares fingerprints in a
 * typed array and reads a key only when its fingerprint matches, so a lookup
 * touches about one cache line where a Map of 100,000 strings touched several, and
 * an eviction deletes in place (backward shift) instead of leaving the holes after
 * which a Map rebuilds its table. The fingerprint is a hash of the whole key,
 * seeded at random per cache, so that keys cannot be chosen to pile up in one
 * stretch of the table. The ring and the table start small and double as needed.
 */
export class WaterfallCache {
  private keys: Array<string | undefined>;
  /** What entries() shows for an entry, when given to add(). */
  private labels: Array<string | undefined>;
  private times: Float64Array;
  private fps: Int32Array;
  /** Ring slots in use start at head; count of them. */
  private head = 0;
  private count = 0;
  /**
   * Open addressing, two int32 per slot side by side (one cache line for both): the
   * ring position + 1 (0 = empty), and that entry's fingerprint.
   */
  private table: Int32Array;
  private mask: number;
  private readonly seed = randomInt(0x7fffffff) | 1;
  /** Ids evicted to stay within maxEntries (not by age), since the cache was made. */
  evicted = 0;
  /** Ring position of the entry added last, or -1 (see labelNewest). */
  private newest = -1;

  /**
   * @param display turns a key into what entries() shows for an entry added without
   *   a label (the router labels each entry with the message's base_58 id, as py2p's
   *   waterfalls deque shows it)
   */
  constructor(
    /** Ids held at most. */
    readonly maxEntries: number,
    /** Ids older than this are forgotten (expire()). */
    readonly ttlSeconds: number,
    private readonly display: (key: string) => string = (k) => k,
  ) {
    const ring = Math.max(1, Math.min(maxEntries, INITIAL_RING));
    this.keys = new Array<string | undefined>(ring);
    this.labels = new Array<string | undefined>(ring);
    this.times = new Float64Array(ring);
    this.fps = new Int32Array(ring);
    const size = tableSizeFor(ring);
    this.table = new Int32Array(2 * size);
    this.mask = size - 1;
  }

  /** True when the id is held. */
  has(key: string): boolean {
    return this.find(key, this.fingerprint(key)) >= 0;
  }

  /** The time recorded with key, if present. */
  get(key: string): number | undefined {
    const at = this.find(key, this.fingerprint(key));
    return at < 0 ? undefined : this.times[this.table[2 * at]! - 1];
  }

  /**
   * Records key at time now (unix seconds); returns false if it was already there.
   * `label` is what entries() shows for it (else display(key)).
   */
  add(key: string, now: number, label?: string): boolean {
    const fp = this.fingerprint(key);
    if (this.find(key, fp) >= 0) return false;
    this.insert(key, fp, now, label);
    return true;
  }

  /** Sets what entries() shows for the entry added last (a label costly to make is made only for new keys). */
  labelNewest(label: string): void {
    if (this.newest >= 0) this.labels[this.newest] = label;
  }

  /** The time recorded with key if it is there; else records it at `now` and returns undefined. One lookup. */
  putIfAbsent(key: string, now: number): number | undefined {
    const fp = this.fingerprint(key);
    const at = this.find(key, fp);
    if (at >= 0) return this.times[this.table[2 * at]! - 1];
    this.insert(key, fp, now);
    return undefined;
  }

  private insert(key: string, fp: number, now: number, label?: string): void {
    this.newest = -1;
    this.expire(now);
    if (this.maxEntries <= 0) return;
    while (this.count >= this.maxEntries) {
      this.evictOldest();
      this.evicted++;
    }
    if (this.count === this.keys.length) this.grow();
    const ring = this.keys.length;
    const pos = (this.head + this.count) % ring;
    this.keys[pos] = key;
    this.labels[pos] = label;
    this.times[pos] = now;
    this.fps[pos] = fp;
    this.count++;
    this.newest = pos;
    const table = this.table;
    let i = fp & this.mask;
    while (table[2 * i] !== 0) i = (i + 1) & this.mask;
    table[2 * i] = pos + 1;
    table[2 * i + 1] = fp;
  }

  /** Forgets the ids older than ttlSeconds at `now` (unix seconds). */
  expire(now: number): void {
    const horizon = now - this.ttlSeconds;
    while (this.count > 0 && this.times[this.head]! < horizon) this.evictOldest();
  }

  /** Ids held. */
  get size(): number {
    return this.count;
  }

  /** [id, time] pairs, oldest first (py2p's `waterfalls` deque holds the same pairs). */
  entries(): Array<[string, number]> {
    const out: Array<[string, number]> = [];
    const ring = this.keys.length;
    for (let k = 0; k < this.count; k++) {
      const pos = (this.head + k) % ring;
      out.push([this.labels[pos] ?? this.display(this.keys[pos]!), this.times[pos]!]);
    }
    return out;
  }

  /** Forgets every id. */
  clear(): void {
    this.keys.fill(undefined);
    this.labels.fill(undefined);
    this.table.fill(0);
    this.newest = -1;
    this.head = 0;
    this.count = 0;
  }

  /** The table slot holding key, or -1. */
  private find(key: string, fp: number): number {
    const table = this.table;
    const mask = this.mask;
    for (let i = fp & mask; ; i = (i + 1) & mask) {
      const s = table[2 * i]!;
      if (s === 0) return -1;
      if (table[2 * i + 1] === fp && this.keys[s - 1] === key) return i;
    }
  }

  private evictOldest(): void {
    const pos = this.head;
    const mask = this.mask;
    const table = this.table;
    let i = this.fps[pos]! & mask;
    while (table[2 * i] !== pos + 1) i = (i + 1) & mask;
    // Backward-shift deletion: pull later entries of the probe run into the gap
    // unless their home slot lies cyclically in (gap, j].
    for (let j = (i + 1) & mask; table[2 * j] !== 0; j = (j + 1) & mask) {
      const home = table[2 * j + 1]! & mask;
      const stays = i <= j ? home > i && home <= j : home > i || home <= j;
      if (stays) continue;
      table[2 * i] = table[2 * j]!;
      table[2 * i + 1] = table[2 * j + 1]!;
      i = j;
    }
    table[2 * i] = 0;
    this.keys[pos] = undefined;
    this.labels[pos] = undefined;
    if (pos === this.newest) this.newest = -1;
    this.head = (pos + 1) % this.keys.length;
    this.count--;
  }

  /** Doubles the ring (up to maxEntries) and rebuilds the table for it. */
  private grow(): void {
    const old = this.keys.length;
    const ring = Math.min(this.maxEntries, old * 2);
    const keys = new Array<string | undefined>(ring);
    const labels = new Array<string | undefined>(ring);
    const times = new Float64Array(ring);
    const fps = new Int32Array(ring);
    for (let k = 0; k < this.count; k++) {
      const pos = (this.head + k) % old;
      keys[k] = this.keys[pos];
      labels[k] = this.labels[pos];
      times[k] = this.times[pos]!;
      fps[k] = this.fps[pos]!;
    }
    this.keys = keys;
    this.labels = labels;
    this.newest = -1;
    this.times = times;
    this.fps = fps;
    this.head = 0;
    const size = tableSizeFor(ring);
    const table = (this.table = new Int32Array(2 * size));
    this.mask = size - 1;
    for (let k = 0; k < this.count; k++) {
      let i = fps[k]! & this.mask;
      while (table[2 * i] !== 0) i = (i + 1) & this.mask;
      table[2 * i] = k + 1;
      table[2 * i + 1] = fps[k]!;
    }
  }

  /** A seeded 32-bit hash of every character of the key (murmur3-style mixing). */
  private fingerprint(key: string): number {
    let h = this.seed ^ key.length;
    const n = key.length;
    let i = 0;
    for (; i + 1 < n; i += 2) {
      let k = key.charCodeAt(i) | (key.charCodeAt(i + 1) << 16);
      k = Math.imul(k, 0xcc9e2d51);
      k = (k << 15) | (k >>> 17);
      h ^= Math.imul(k, 0x1b873593);
      h = (h << 13) | (h >>> 19);
      h = (Math.imul(h, 5) + 0xe6546b64) | 0;
    }
    if (i < n) h ^= Math.imul(key.charCodeAt(i), 0xcc9e2d51);
    h ^= h >>> 16;
    h = Math.imul(h, 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    return h ^ (h >>> 16);
  }
}

/** A power of two at least twice the ring: probe runs stay short at a load factor of at most 1/2. */
function tableSizeFor(ring: number): number {
  let size = 16;
  while (size < 2 * ring) size *= 2;
  return size;
}

/**
 * Entries the ring starts with. Small: a node that floods little holds two caches of
 * about 3 KB (at 1,024 they held 90 KB per node, most of a simulated node's heap).
 */
const INITIAL_RING = 64;
