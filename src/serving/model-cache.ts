import { performance } from 'node:perf_hooks';

/** What a loader hands the cache: the model's estimated size, known before it starts, and how to start it. */
export interface CacheLoad<T> {
  /** Estimated resident bytes (package size); room is made for them before `start` runs. */
  bytes: number;
  start(): Promise<T>;
}

/** Limits and hooks of one cache; the owner supplies the errors so they carry its names. */
export interface ModelCacheOptions<T> {
  /** Estimated bytes of resident models before the least recently used idle one is unloaded. */
  budgetBytes: number;
  /** Resident models at most. */
  maxEntries: number;
  /** How long `acquire` waits for a load before throwing `notReady`; 0 never waits. */
  loadWaitMs: number;
  /** How long a failed load's error is answered before the next `acquire` loads again. */
  failedRetryMs: number;
  /** Unloads an evicted model (the caller lets its in-flight requests finish). */
  unload(key: string, value: T): void;
  /** The error of a request that would wait longer than `loadWaitMs` (429 with `Retry-After`). */
  notReady(key: string, retryAfterSeconds: number): Error;
  /** Told after a model became resident or was evicted (gauges). */
  changed?(): void;
}

/** One resident model as the listing shows it. */
export interface ResidentModel<T> {
  key: string;
  value: T;
  bytes: number;
  loadMs: number;
  loadedAt: number;
  lastUsedAt: number;
  hits: number;
  /** Requests holding a lease right now; an entry in use is never evicted. */
  inUse: number;
}

/** A model handed to one request; `release` once the request is done with it. */
export interface CacheLease<T> {
  value: T;
  /** True when the model was already resident (a cache hit). */
  hit: boolean;
  release(): void;
}

/** Counters of one cache, for metrics and the listing. */
export interface ModelCacheCounters {
  hits: number;
  misses: number;
  loads: number;
  loadFailures: number;
  evictions: number;
  notReady: number;
}

/**
 * A least-recently-used cache of loaded models under a byte budget and an entry limit. Concurrent
 * first requests for one key share one load (single flight); room is made before a load starts (its
 * bytes are reserved while it loads, so concurrent loads cannot overshoot together); only models no
 * request holds are evicted, so eviction never cuts off a request — when every resident model is in
 * use the cache runs over budget until leases are released. A request that would wait longer than the
 * wait budget gets `notReady` at once (when the model's last load, else the mean load, says it will) or
 * when the budget runs out, while the load carries on for the requests after it.
 */
export class ModelCache<T> {
  private readonly resident = new Map<string, ResidentModel<T>>();
  private readonly loading = new Map<string, Promise<ResidentModel<T>>>();
  private readonly failed = new Map<string, { until: number; error: unknown }>();
  private readonly lastLoadMs = new Map<string, number>();
  private reservedBytes = 0;
  private reservedCount = 0;
  private loadMsTotal = 0;
  private bytesResident = 0;
  /** Running totals since the cache was made. */
  readonly counters: ModelCacheCounters = { hits: 0, misses: 0, loads: 0, loadFailures: 0, evictions: 0, notReady: 0 };

  constructor(private readonly options: ModelCacheOptions<T>) {}

  /** Estimated bytes of the resident models. */
  get residentBytes(): number {
    return this.bytesResident;
  }

  /** Resident models, most recently used first. */
  entries(): ResidentModel<T>[] {
    return [...this.resident.values()].reverse();
  }

  /** Keys being loaded now. */
  loadingKeys(): string[] {
    return [...this.loading.keys()];
  }

  /** The model for `key`, loading it with `load` on a miss; throws the load's error, or `notReady` past the wait budget. */
  async acquire(key: string, load: () => Promise<CacheLoad<T>>): Promise<CacheLease<T>> {
    const hit = this.resident.get(key);
    if (hit) {
      this.counters.hits++;
      return this.lease(hit, true);
    }
    const failure = this.failed.get(key);
    if (failure && failure.until > Date.now()) throw failure.error;
    this.failed.delete(key);
    this.counters.misses++;
    let pending = this.loading.get(key);
    if (!pending) {
      pending = this.load(key, load);
      const p = pending;
      this.loading.set(key, p);
      p.then(
        () => this.loading.delete(key),
        () => this.loading.delete(key),
      );
    }
    const expectedMs = this.lastLoadMs.get(key) ?? (this.counters.loads > 0 ? this.loadMsTotal / this.counters.loads : 0);
    const wait = this.options.loadWaitMs;
    if (wait === 0 || expectedMs > wait) throw this.notReady(key, Math.max(expectedMs, wait));
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<undefined>((resolve) => {
      timer = setTimeout(() => resolve(undefined), wait);
    });
    try {
      const entry = await Promise.race([pending, timedOut]);
      if (!entry) throw this.notReady(key, Math.max(expectedMs, wait));
      // Evicted between the load and this request's turn (rare: a burst of other loads): try again.
      if (this.resident.get(key) !== entry) return this.acquire(key, load);
      return this.lease(entry, false);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Removes every model (the variant stops); the caller unloads the returned values. */
  clear(): T[] {
    const values = [...this.resident.values()].map((e) => e.value);
    this.resident.clear();
    this.bytesResident = 0;
    return values;
  }

  private notReady(key: string, expectedMs: number): Error {
    this.counters.notReady++;
    return this.options.notReady(key, Math.max(1, Math.ceil(expectedMs / 1000)));
  }

  private lease(entry: ResidentModel<T>, hit: boolean): CacheLease<T> {
    // Map order is the LRU order: re-inserting moves the entry to the most recently used end.
    this.resident.delete(entry.key);
    this.resident.set(entry.key, entry);
    entry.inUse++;
    entry.lastUsedAt = Date.now();
    if (hit) entry.hits++;
    let released = false;
    return {
      value: entry.value,
      hit,
      release: () => {
        if (released) return;
        released = true;
        entry.inUse--;
        if (entry.inUse === 0) this.makeRoom(0, 0);
      },
    };
  }

  private async load(key: string, loader: () => Promise<CacheLoad<T>>): Promise<ResidentModel<T>> {
    const startedAt = performance.now();
    try {
      const prepared = await loader();
      this.makeRoom(prepared.bytes, 1);
      this.reservedBytes += prepared.bytes;
      this.reservedCount++;
      let value: T;
      try {
        value = await prepared.start();
      } finally {
        this.reservedBytes -= prepared.bytes;
        this.reservedCount--;
      }
      const loadMs = performance.now() - startedAt;
      const entry: ResidentModel<T> = { key, value, bytes: prepared.bytes, loadMs, loadedAt: Date.now(), lastUsedAt: Date.now(), hits: 0, inUse: 0 };
      this.resident.set(key, entry);
      this.bytesResident += prepared.bytes;
      this.counters.loads++;
      this.loadMsTotal += loadMs;
      this.lastLoadMs.set(key, loadMs);
      this.options.changed?.();
      return entry;
    } catch (err) {
      this.counters.loadFailures++;
      if (this.options.failedRetryMs > 0) this.failed.set(key, { until: Date.now() + this.options.failedRetryMs, error: err });
      throw err;
    }
  }

  /** Evicts idle models, least recently used first, until `bytes` more and `count` more fit. */
  private makeRoom(bytes: number, count: number): void {
    const over = () =>
      this.resident.size + this.reservedCount + count > this.options.maxEntries || this.bytesResident + this.reservedBytes + bytes > this.options.budgetBytes;
    while (over()) {
      let victim: ResidentModel<T> | undefined;
      // A trim after a release keeps the most recently used model even alone over budget, so a model larger than the budget stays loaded.
      const keep = count === 0 && bytes === 0 ? [...this.resident.keys()].pop() : undefined;
      for (const e of this.resident.values()) {
        if (e.inUse === 0 && e.key !== keep) {
          victim = e;
          break;
        }
      }
      if (!victim) return;
      this.resident.delete(victim.key);
      this.bytesResident -= victim.bytes;
      this.counters.evictions++;
      this.options.unload(victim.key, victim.value);
      this.options.changed?.();
    }
  }
}
