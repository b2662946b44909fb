/**
 * Values computed once per key for hot paths that see the same few keys over and over (a Host
 * header, a feature reference); past `maxSize` keys it starts over rather than tracking recency, so a
 * caller cycling through many keys costs a recomputation, never unbounded memory.
 */
export class BoundedMemo<K, V> {
  private readonly values = new Map<K, V>();

  constructor(private readonly maxSize: number) {}

  /** The value for `key`, computed by `compute` the first time (and again after a start-over). */
  get(key: K, compute: (key: K) => V): V {
    let value = this.values.get(key);
    if (value === undefined) {
      value = compute(key);
      if (this.values.size >= this.maxSize) this.values.clear();
      this.values.set(key, value);
    }
    return value;
  }
}
