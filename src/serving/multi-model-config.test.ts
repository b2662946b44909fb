import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isCapstanError } from '../core/errors.js';
import { compileEndpointConfig, type EndpointConfigInput } from './endpoint-config.js';
import { parseMultiModelSource } from './multi-model-config.js';

function rejects(variant: unknown, field: string, pattern: RegExp): void {
  assert.throws(
    () => compileEndpointConfig({ variants: [variant] } as EndpointConfigInput),
    (err) => isCapstanError(err, 'CAPSTAN_SERVING_ENDPOINT_CONFIG_INVALID') && err.fields.field === field && pattern.test(err.message),
  );
}

describe('multi-model variant configuration', () => {
  it('fills the cache defaults and takes the source as the model when model is left out', () => {
    const c = compileEndpointConfig({ variants: [{ multiModel: { source: 'models:/ncf' } }] } as unknown as EndpointConfigInput);
    assert.equal(c.variants[0].model, 'models:/ncf');
    assert.deepEqual(c.variants[0].multiModel, { source: 'models:/ncf', memoryBudgetBytes: 1024 ** 3, maxModels: 32, loadWaitMs: 5000, failedRetryMs: 5000 });
    const again = compileEndpointConfig({ variants: [{ model: 'artifacts:/mme/shop/', multiModel: { source: 'artifacts:/mme/shop/', maxModels: 4 } }] });
    assert.equal(again.variants[0].model, 'artifacts:/mme/shop');
  });

  it('reads registry groups and artifact prefixes, and nothing else', () => {
    assert.deepEqual(parseMultiModelSource('models:/ncf'), { kind: 'registry', group: 'ncf' });
    assert.deepEqual(parseMultiModelSource('artifacts:/a/b'), { kind: 'artifacts', prefix: 'a/b' });
    for (const bad of ['models:/ncf/3', 'models:/ncf@champion', 'artifacts:/../etc', 'artifacts:/', 's3://bucket/x', 'ncf']) assert.equal(parseMultiModelSource(bad), undefined, bad);
  });

  it('refuses bad blocks naming the field', () => {
    rejects({ multiModel: { source: 'models:/ncf/3' } }, 'variants[0].multiModel.source', /must be models:\/<group>/);
    rejects({ multiModel: 'models:/ncf' }, 'variants[0].multiModel', /must be an object with a source/);
    rejects({ model: 'models:/ncf/3', multiModel: { source: 'models:/ncf' } }, 'variants[0].model', /left out of a multi-model variant/);
    rejects({ multiModel: { source: 'models:/ncf', memoryBudgetBytes: 10 } }, 'variants[0].multiModel.memoryBudgetBytes', /integer from 1024/);
    rejects({ multiModel: { source: 'models:/ncf', maxModels: 0 } }, 'variants[0].multiModel.maxModels', /integer from 1 to 1000/);
    rejects({ multiModel: { source: 'models:/ncf', loadWaitMs: -1 } }, 'variants[0].multiModel.loadWaitMs', /integer from 0/);
  });
});
