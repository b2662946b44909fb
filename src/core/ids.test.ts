import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { newId } from './ids.js';

describe('newId', () => {
  it('gives prefixed ids of 26 base32 characters that sort by creation time', () => {
    const a = newId('dec', Date.UTC(2026, 11, 2));
    const b = newId('dec', Date.UTC(2026, 11, 2) + 1);
    assert.match(a, /^dec_[0-9a-hjkmnp-tv-z]{26}$/);
    assert.ok(a < b);
  });

  it('never repeats, across many refills of its random pool, even within one millisecond', () => {
    const now = Date.now();
    const seen = new Set<string>();
    for (let i = 0; i < 20_000; i++) seen.add(newId('x', now));
    assert.equal(seen.size, 20_000);
  });
});
