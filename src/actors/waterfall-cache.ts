/**
 * The ids of recently flooded messages, for de-duplication. Bounded two ways:
 * an id is forgotten once older than `ttlSeconds` (a message that old is refused
 * anyway by the age check), and the cache never holds more than `maxEntries`: past
 * that the oldest ids are evicted first. Both checks look at the oldest entry only:
 * O(1) amortised per insert, no timers.
 *
 * The insertion order lives in a queue of its own (two arrays and a head index)
 * beside the Map that answers lookups. Iterating the Map itself to find its oldest
 * entry would not do: V8 leaves a deleted Map entry as a hole until the table is
 * rebuilt, and an iterator walks every hole before the first live entry, so with
 * ids evicted from the front each insert cost O(entries) once the cache was full.
 */
export class WaterfallCache {
  private readonly seen = new Map<string, number>();
  // Insertion order: keys[head..] with their times, oldest first.
  private keys: string[] = [];
  private times: number[] = [];
  private head = 0;
  evicted = 0;

  /**
   * @param display turns a key into what entries() shows (the router keys on a
   *   message's idKey and shows its base_58 id, as py2p's waterfalls deque does)
   */
  constructor(readonly maxEntries: number, readonly ttlSeconds: number, private readonly display: (key: string) => string = (k) => k) {}

  has(key: string): boolean {
    return this.seen.has(key);
  }

  /** The time recorded with key, if present. */
  get(key: string): number | undefined {
    return this.seen.get(key);
  }

  /** Records key at time now (unix seconds); returns false if it was already there. */
  add(key: string, now: number): boolean {
    if (this.seen.has(key)) return false;
    this.expire(now);
    while (this.seen.size >= this.maxEntries) {
      this.seen.delete(this.keys[this.head]!);
      this.shift();
      this.evicted++;
    }
    this.seen.set(key, now);
    this.keys.push(key);
    this.times.push(now);
    return true;
  }

  expire(now: number): void {
    const horizon = now - this.ttlSeconds;
    while (this.head < this.keys.length && this.times[this.head]! < horizon) {
      this.seen.delete(this.keys[this.head]!);
      this.shift();
    }
  }

  /** Drops the oldest queue slot, compacting the arrays once half of them is spent. */
  private shift(): void {
    this.keys[this.head] = '';
    this.head++;
    if (this.head === this.keys.length) {
      this.keys = [];
      this.times = [];
      this.head = 0;
    } else if (this.head >= 1024 && this.head * 2 >= this.keys.length) {
      this.keys = this.keys.slice(this.head);
      this.times = this.times.slice(this.head);
      this.head = 0;
    }
  }

  get size(): number {
    return this.seen.size;
  }

  /** [id, time] pairs, oldest first (py2p's `waterfalls` deque holds the same pairs). */
  entries(): Array<[string, number]> {
    const out: Array<[string, number]> = [];
    for (let i = this.head; i < this.keys.length; i++) out.push([this.display(this.keys[i]!), this.times[i]!]);
    return out;
  }

  clear(): void {
    this.seen.clear();
    this.keys = [];
    this.times = [];
    this.head = 0;
  }
}
