/**
 * The ids of recently flooded messages, for de-duplication. Bounded two ways:
 * an id is forgotten once older than `ttlSeconds` (a message that old is refused
 * anyway by the age check), and the cache never holds more than `maxEntries`: past
 * that the oldest ids are evicted first. A Map keeps insertion order, so both
 * checks look at the front only: O(1) amortised per insert, no timers.
 */
export class WaterfallCache {
  private readonly seen = new Map<string, number>();
  evicted = 0;

  constructor(readonly maxEntries: number, readonly ttlSeconds: number) {}

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
      const oldest = this.seen.keys().next().value as string;
      this.seen.delete(oldest);
      this.evicted++;
    }
    this.seen.set(key, now);
    return true;
  }

  expire(now: number): void {
    const horizon = now - this.ttlSeconds;
    for (const [key, at] of this.seen) {
      if (at >= horizon) break;
      this.seen.delete(key);
    }
  }

  get size(): number {
    return this.seen.size;
  }

  /** [id, time] pairs, oldest first (py2p's `waterfalls` deque holds the same pairs). */
  entries(): Array<[string, number]> {
    return [...this.seen];
  }

  clear(): void {
    this.seen.clear();
  }
}
