import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { probabilityBest } from './thompson-bandit.js';

describe('Thompson sampling', () => {
  it('gives the better arm most of the probability of being best, evenly split without evidence, deterministically per seed', () => {
    const p = probabilityBest([{ variant: 'a', successes: 10, failures: 90 }, { variant: 'b', successes: 30, failures: 70 }], 4000, 7);
    assert.ok(p.get('b')! > 0.95, String(p.get('b')));
    const even = probabilityBest([{ variant: 'a', successes: 0, failures: 0 }, { variant: 'b', successes: 0, failures: 0 }], 4000, 7);
    assert.ok(Math.abs(even.get('a')! - 0.5) < 0.05);
    assert.deepEqual(probabilityBest([{ variant: 'a', successes: 3, failures: 4 }, { variant: 'b', successes: 4, failures: 3 }], 1000, 42), probabilityBest([{ variant: 'a', successes: 3, failures: 4 }, { variant: 'b', successes: 4, failures: 3 }], 1000, 42));
  });
});
