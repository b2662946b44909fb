/**
 * What a process verified about a key (a bearer key's owner, a SigV4 pair's owner and secret), kept
 * for `ttlMs` after it was stored so hot requests skip the database; past `maxSize` keys it starts over.
 */
export class KeyCache<V> {
  private readonly entries = new Map<string, { value: V; until: number }>();

  constructor(
    private readonly ttlMs: number,
    private readonly maxSize: number,
  ) {}

  /** The value stored for `key` while it is fresh at `now`, else undefined. */
  get(key: string, now: number): V | undefined {
    const hit = this.entries.get(key);
    return hit && hit.until > now ? hit.value : undefined;
  }

  /** Stores `value` for `key`, fresh until `now + ttlMs`. */
  set(key: string, value: V, now: number): void {
    if (this.entries.size >= this.maxSize) this.entries.clear();
    this.entries.set(key, { value, until: now + this.ttlMs });
  }

  /** Forgets every key (a revocation). */
  clear(): void {
    this.entries.clear();
  }
}
