import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isCapstanError } from '../../core/errors.js';
import { prepareDataset } from './dataset.js';
import { parseRatings } from './ratings-reader.js';
import { synthCsv, synthesize } from './synth.js';

describe('synthetic interactions', () => {
  it('produces exactly the requested interactions, distinct per user, reproducibly', () => {
    const a = synthesize({ users: 50, items: 80, interactions: 1500, seed: 3 });
    const b = synthesize({ users: 50, items: 80, interactions: 1500, seed: 3 });
    assert.equal(a.user.length, 1500);
    assert.deepEqual(a.item, b.item);
    const seen = new Set<number>();
    for (let r = 0; r < a.user.length; r++) {
      const key = a.user[r] * 80 + a.item[r];
      assert.ok(!seen.has(key), 'no repeated user–item pair');
      seen.add(key);
      assert.ok(a.rating[r] >= 1 && a.rating[r] <= 5);
    }
    for (let u = 0; u < 50; u++) assert.ok(a.user.includes(u), 'every user has an interaction');
  });

  it('writes CSV the generic reader takes back', () => {
    const csv = synthCsv(synthesize({ users: 10, items: 20, interactions: 40 }));
    assert.match(csv, /^user,item,rating,timestamp\n1,/);
    const ds = prepareDataset(parseRatings(csv, 'csv'), { testNegatives: 5 });
    assert.equal(ds.trainUser.length + ds.testUser.length, 40);
  });

  it('refuses impossible sizes', () => {
    assert.throws(() => synthesize({ users: 10, items: 4, interactions: 30 }), (e: unknown) => isCapstanError(e, 'CAPSTAN_NCF_HYPERPARAMETER_INVALID'));
    assert.throws(() => synthesize({ users: 10, items: 40, interactions: 5 }), (e: unknown) => isCapstanError(e, 'CAPSTAN_NCF_HYPERPARAMETER_INVALID'));
  });
});
