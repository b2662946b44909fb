import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { KeyCache } from './key-cache.js';

describe('KeyCache', () => {
  it('answers a key until its time to live has passed, and nothing after a clear', () => {
    const cache = new KeyCache<string>(5_000, 10);
    cache.set('k', 'owner', 1_000);
    assert.equal(cache.get('k', 5_999), 'owner');
    assert.equal(cache.get('k', 6_000), undefined);
    cache.set('k', 'owner', 6_000);
    cache.clear();
    assert.equal(cache.get('k', 6_001), undefined);
  });

  it('starts over rather than grow past its size', () => {
    const cache = new KeyCache<number>(5_000, 2);
    cache.set('a', 1, 0);
    cache.set('b', 2, 0);
    cache.set('c', 3, 0);
    assert.deepEqual([cache.get('a', 1), cache.get('b', 1), cache.get('c', 1)], [undefined, undefined, 3]);
  });
});
