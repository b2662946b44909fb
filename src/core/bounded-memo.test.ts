import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BoundedMemo } from './bounded-memo.js';

describe('BoundedMemo', () => {
  it('computes a key once, falsy values included, and starts over past its size', () => {
    const memo = new BoundedMemo<string, boolean>(2);
    let calls = 0;
    const decide = (k: string) => (calls++, k === 'yes');
    assert.equal(memo.get('no', decide), false);
    assert.equal(memo.get('no', decide), false);
    assert.equal(calls, 1);
    memo.get('yes', decide);
    memo.get('third', decide);
    assert.equal(memo.get('no', decide), false);
    assert.equal(calls, 4, 'the third key made it start over');
  });
});
