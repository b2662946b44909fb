import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { VariantRouter } from './variant-router.js';

describe('VariantRouter', () => {
  const router = new VariantRouter([
    { name: 'blue', weight: 3 },
    { name: 'green', weight: 1 },
    { name: 'off', weight: 0 },
  ]);

  it('maps the random draw onto cumulative weights', () => {
    assert.equal(router.pick(0).name, 'blue');
    assert.equal(router.pick(0.7499).name, 'blue');
    assert.equal(router.pick(0.75).name, 'green');
    assert.equal(router.pick(0.9999999).name, 'green');
  });

  it('never picks a variant with weight 0, but finds it by name', () => {
    for (let r = 0; r < 1; r += 0.01) assert.notEqual(router.pick(r).name, 'off');
    assert.equal(router.get('off')?.name, 'off');
    assert.equal(router.get('nope'), undefined);
  });

  it('reports traffic shares in percent', () => {
    assert.deepEqual([...router.shares()], [['blue', 75], ['green', 25], ['off', 0]]);
  });
});
