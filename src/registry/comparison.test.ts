import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isCapstanError } from '../core/errors.js';
import { buildComparison, lowerIsBetter } from './comparison.js';

const subjects: { id: string; metrics: Record<string, number>; params: Record<string, string> }[] = [
  { id: 'ncf/1', metrics: { 'hr@10': 0.55, loss: 0.4 }, params: { lr: '0.001' } },
  { id: 'ncf/2', metrics: { 'hr@10': 0.66, loss: 0.3 }, params: { lr: '0.002' } },
  { id: 'ncf/3', metrics: { 'hr@10': 0.61 }, params: {} },
];

describe('comparison tables', () => {
  it('lists the chosen metrics per row, null where missing, and the best row per metric', () => {
    const c = buildComparison(subjects, ['hr@10', 'loss'], ['lr']);
    assert.deepEqual(c.metrics, ['hr@10', 'loss']);
    assert.deepEqual(c.rows[2].metrics, { 'hr@10': 0.61, loss: null });
    assert.deepEqual(c.rows[2].params, { lr: null });
    assert.deepEqual(c.best, { 'hr@10': 'ncf/2', loss: 'ncf/2' });
  });

  it('defaults to every metric and param any row has, sorted', () => {
    const c = buildComparison(subjects);
    assert.deepEqual(c.metrics, ['hr@10', 'loss']);
    assert.deepEqual(c.params, ['lr']);
  });

  it('prefers the lowest value for loss-like metrics and the highest otherwise', () => {
    assert.equal(lowerIsBetter('val_loss'), true);
    assert.equal(lowerIsBetter('rmse'), true);
    assert.equal(lowerIsBetter('ndcg@10'), false);
    const c = buildComparison([
      { id: 'a', metrics: { loss: 0.2 }, params: {} },
      { id: 'b', metrics: { loss: 0.1 }, params: {} },
    ]);
    assert.equal(c.best.loss, 'b');
  });

  it('refuses an empty comparison', () => {
    assert.throws(() => buildComparison([]), (err: unknown) => isCapstanError(err, 'CAPSTAN_REGISTRY_COMPARE_INVALID') && /nothing to compare/.test(err.message));
  });
});
