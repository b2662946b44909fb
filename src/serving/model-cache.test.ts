import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ModelCache, type CacheLoad } from './model-cache.js';

class NotReady extends Error {
  constructor(readonly retryAfter: number) {
    super('not ready');
  }
}

/** A cache of strings whose loads the test releases by hand, recording loads and unloads. */
function harness(options: { budgetBytes?: number; maxEntries?: number; loadWaitMs?: number; failedRetryMs?: number } = {}) {
  const unloaded: string[] = [];
  const loads: string[] = [];
  const gates = new Map<string, { open: () => void; fail: (e: Error) => void }>();
  const cache = new ModelCache<string>({
    budgetBytes: options.budgetBytes ?? 1000,
    maxEntries: options.maxEntries ?? 100,
    loadWaitMs: options.loadWaitMs ?? 60_000,
    failedRetryMs: options.failedRetryMs ?? 60_000,
    unload: (key) => unloaded.push(key),
    notReady: (_key, s) => new NotReady(s),
  });
  /** A loader of `bytes` that finishes at once, or when the test opens its gate (`gated`). */
  const loader =
    (key: string, bytes: number, gated = false) =>
    async (): Promise<CacheLoad<string>> => {
      loads.push(key);
      return {
        bytes,
        start: () =>
          gated
            ? new Promise<string>((resolve, reject) => gates.set(key, { open: () => resolve(`model ${key}`), fail: reject }))
            : Promise.resolve(`model ${key}`),
      };
    };
  const use = async (key: string, bytes = 100) => (await cache.acquire(key, loader(key, bytes))).release();
  return { cache, loader, unloaded, loads, gates, use };
}

const tick = () => new Promise((r) => setImmediate(r));

describe('the multi-model LRU cache', () => {
  it('loads on first use and counts the next acquire as a hit', async () => {
    const h = harness();
    const first = await h.cache.acquire('a', h.loader('a', 100));
    first.release();
    const second = await h.cache.acquire('a', h.loader('a', 100));
    second.release();
    assert.equal(first.hit, false);
    assert.equal(second.hit, true);
    assert.deepEqual(h.loads, ['a']);
    assert.deepEqual({ hits: h.cache.counters.hits, misses: h.cache.counters.misses, loads: h.cache.counters.loads }, { hits: 1, misses: 1, loads: 1 });
  });

  it('loads once for concurrent first requests (single flight)', async () => {
    const h = harness();
    const all = Promise.all(Array.from({ length: 10 }, () => h.cache.acquire('a', h.loader('a', 100, true))));
    await tick();
    h.gates.get('a')!.open();
    const leases = await all;
    assert.deepEqual(h.loads, ['a']);
    assert.ok(leases.every((l) => l.value === 'model a'));
    assert.equal(h.cache.counters.loads, 1);
  });

  it('evicts the least recently used model when the byte budget is reached', async () => {
    const h = harness({ budgetBytes: 300 });
    await h.use('a');
    await h.use('b');
    await h.use('c');
    await h.use('a'); // a is now the most recently used, b the least
    await h.use('d');
    assert.deepEqual(h.unloaded, ['b']);
    assert.deepEqual(h.cache.entries().map((e) => e.key), ['d', 'a', 'c']);
    await h.use('e', 200);
    assert.deepEqual(h.unloaded, ['b', 'c', 'a'], 'a 200-byte model needs two 100-byte slots, taken from the least recently used');
    assert.equal(h.cache.residentBytes, 300);
    assert.equal(h.cache.counters.evictions, 3);
  });

  it('also keeps at most maxEntries models, whatever their size', async () => {
    const h = harness({ maxEntries: 2 });
    for (const k of ['a', 'b', 'c']) await h.use(k, 1);
    assert.deepEqual(h.unloaded, ['a']);
  });

  it('never evicts a model a request still holds; the cache runs over budget until it is released', async () => {
    const h = harness({ budgetBytes: 200 });
    const held = await h.cache.acquire('a', h.loader('a', 100));
    await h.use('b');
    await h.use('c');
    assert.deepEqual(h.unloaded, ['b'], 'a is in use, so b goes');
    await h.use('d');
    assert.deepEqual(h.unloaded, ['b', 'c']);
    assert.deepEqual(h.cache.entries().map((e) => e.key).sort(), ['a', 'd']);
    held.release();
  });

  it('answers notReady with a Retry-After when the load outlasts the wait budget, and the load carries on', async () => {
    const h = harness({ loadWaitMs: 0 });
    const err = await h.cache.acquire('a', h.loader('a', 100, true)).catch((e: unknown) => e);
    assert.ok(err instanceof NotReady);
    assert.equal(err.retryAfter, 1);
    await tick();
    h.gates.get('a')!.open();
    await tick();
    const lease = await h.cache.acquire('a', h.loader('a', 100));
    assert.equal(lease.hit, true, 'the load started by the refused request finished');
    assert.deepEqual(h.loads, ['a']);
    assert.equal(h.cache.counters.notReady, 1);
  });

  it('answers a failed load with its error until failedRetryMs passes, without loading again', async () => {
    const h = harness();
    const pending = h.cache.acquire('bad', h.loader('bad', 100, true));
    await tick();
    h.gates.get('bad')!.fail(new Error('broken package'));
    await assert.rejects(pending, /broken package/);
    await assert.rejects(h.cache.acquire('bad', h.loader('bad', 100)), /broken package/);
    assert.deepEqual(h.loads, ['bad']);
    assert.equal(h.cache.counters.loadFailures, 1);
    await h.use('good');
    assert.deepEqual(h.cache.entries().map((e) => e.key), ['good']);
  });
});
