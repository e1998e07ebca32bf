// A small TTL cache for authentication and authorization answers (pure: the clock is passed
// in). Bounded: past `maxEntries` the least recently used entry goes, so a flood of distinct
// tokens costs memory in proportion to the bound, not to the flood.

export interface DecisionCacheOptions {
  ttlMs: number;
  maxEntries: number;
  now: () => number;
}

export class DecisionCache<V> {
  // Map keeps insertion order; re-inserting on read makes it an LRU.
  private readonly entries = new Map<string, { value: V; expiresAt: number }>();

  constructor(private readonly options: DecisionCacheOptions) {}

  get size(): number {
    return this.entries.size;
  }

  get(key: string): V | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    this.entries.delete(key);
    if (entry.expiresAt <= this.options.now()) return undefined;
    this.entries.set(key, entry);
    return entry.value;
  }

  set(key: string, value: V): void {
    if (this.options.ttlMs <= 0) return;
    this.entries.delete(key);
    this.entries.set(key, { value, expiresAt: this.options.now() + this.options.ttlMs });
    while (this.entries.size > this.options.maxEntries) {
      const oldest = this.entries.keys().next().value;
      if (oldest === undefined) break;
      this.entries.delete(oldest);
    }
  }
}
