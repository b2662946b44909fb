import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isCapstanError } from '../../core/errors.js';
import { compileNcfHyperparameters, defaultNcfHyperparameters, parseHyperparameterFlags } from './hyperparameters.js';

describe('NCF hyperparameters', () => {
  it('defaults to the recipe: factor 32, 3 layers, dropout 0, lr 0.001, batch 256, 10 epochs, 4 negatives, top 10', () => {
    const hp = compileNcfHyperparameters();
    assert.deepEqual(
      [hp.factor_num, hp.num_layers, hp.dropout, hp.lr, hp.batch_size, hp.epochs, hp.num_neg, hp.top_k, hp.test_negatives, hp.min_rating],
      [32, 3, 0, 0.001, 256, 10, 4, 10, 99, null],
    );
    assert.deepEqual(hp, { ...defaultNcfHyperparameters });
  });

  it('takes numeric strings as the step contract and --hp pass them', () => {
    const hp = compileNcfHyperparameters(parseHyperparameterFlags(['epochs=20', 'dropout=0.3', 'min_rating=4']));
    assert.equal(hp.epochs, 20);
    assert.equal(hp.dropout, 0.3);
    assert.equal(hp.min_rating, 4);
  });

  it('refuses unknown names, out-of-range values and malformed flags', () => {
    const refuses = (fn: () => unknown, message: RegExp) =>
      assert.throws(fn, (e: unknown) => isCapstanError(e, 'CAPSTAN_NCF_HYPERPARAMETER_INVALID') && message.test((e as Error).message));
    refuses(() => compileNcfHyperparameters({ epoch: 3 }), /unknown hyperparameter "epoch"/);
    refuses(() => compileNcfHyperparameters({ factor_num: '3.5' }), /factor_num must be an integer/);
    refuses(() => compileNcfHyperparameters({ lr: 0 }), /lr must be a number in \(0, 1\]/);
    refuses(() => compileNcfHyperparameters({ dropout: 'high' }), /dropout must be a number/);
    refuses(() => parseHyperparameterFlags(['epochs']), /--hp expects name=value/);
  });
});
