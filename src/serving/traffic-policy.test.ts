import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createTrafficPolicy, StickyPolicy, unitHash, WeightedRandomPolicy } from './traffic-policy.js';

const variants = [
  { name: 'blue', weight: 3 },
  { name: 'green', weight: 1 },
  { name: 'off', weight: 0 },
];

describe('traffic policies', () => {
  it('weighted-random maps each draw onto the cumulative weights', () => {
    const draws = [0, 0.7499, 0.75, 0.9999];
    const policy = new WeightedRandomPolicy(variants, () => draws.shift()!);
    assert.deepEqual([1, 2, 3, 4].map(() => policy.choose({}).name), ['blue', 'blue', 'green', 'green']);
    assert.deepEqual([...policy.shares()], [['blue', 75], ['green', 25], ['off', 0]]);
  });

  it('sticky sends the same key to the same variant every time, in any process', () => {
    const a = new StickyPolicy(variants, () => 0);
    const b = new StickyPolicy(variants, () => 0.99);
    for (const key of ['user-1', 'user-2', 'u:42', '']) {
      const first = a.choose({ stickyKey: key }).name;
      for (let i = 0; i < 5; i++) assert.equal(a.choose({ stickyKey: key }).name, first);
      assert.equal(b.choose({ stickyKey: key }).name, first, 'a second process with another random source agrees');
    }
  });

  it('sticky spreads keys over the variants by weight and never onto a weight of 0', () => {
    const policy = new StickyPolicy(variants);
    const counts = new Map<string, number>();
    for (let i = 0; i < 4000; i++) {
      const v = policy.choose({ stickyKey: `user-${i}` }).name;
      counts.set(v, (counts.get(v) ?? 0) + 1);
    }
    assert.equal(counts.get('off'), undefined);
    const blue = counts.get('blue')! / 4000;
    assert.ok(blue > 0.7 && blue < 0.8, `blue got ${blue} of the keys, expected about 0.75`);
  });

  it('sticky without a key falls back to a random draw', () => {
    const policy = new StickyPolicy(variants, () => 0.8);
    assert.equal(policy.choose({}).name, 'green');
  });

  it('unitHash stays in [0, 1) and is stable', () => {
    assert.equal(unitHash('user-1'), unitHash('user-1'));
    assert.notEqual(unitHash('user-1'), unitHash('user-2'));
    for (const k of ['', 'a', 'zzzzzzzzzzzz', '\u{1F600}']) assert.ok(unitHash(k) >= 0 && unitHash(k) < 1);
  });

  it('the endpoint configuration picks the policy; weighted-random by default; an unknown kind is refused', () => {
    assert.equal(createTrafficPolicy(undefined, variants).kind, 'weighted-random');
    assert.equal(createTrafficPolicy({ kind: 'sticky' }, variants).kind, 'sticky');
    assert.throws(() => createTrafficPolicy({ kind: 'round-robin' as never }, variants), (err: Error & { code?: string }) => err.code === 'CAPSTAN_SERVING_ENDPOINT_CONFIG_INVALID' && /trafficPolicy\.kind/.test(err.message));
  });
});
