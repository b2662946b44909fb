import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isCapstanError } from '../core/errors.js';
import { compileEndpointConfig, type EndpointConfigInput } from './endpoint-config.js';

function rejects(input: unknown, pattern: RegExp): void {
  assert.throws(
    () => compileEndpointConfig(input as EndpointConfigInput),
    (err) => isCapstanError(err, 'CAPSTAN_SERVING_ENDPOINT_CONFIG_INVALID') && pattern.test(err.message),
  );
}

describe('compileEndpointConfig', () => {
  it('fills every default', () => {
    const c = compileEndpointConfig({ variants: [{ model: 'models:/ncf@champion' }, { model: 'models:/ncf/2', weight: 0 }] });
    assert.deepEqual(c.variants[0], {
      name: 'primary', model: 'models:/ncf@champion', weight: 1, instances: 1, batching: { maxBatchSize: 1, maxDelayMs: 0 },
      intraOpThreads: 1, interOpThreads: 1, timeoutMs: 60_000, handlerOptions: {},
    });
    assert.equal(c.variants[1].name, 'variant-2');
    assert.deepEqual(c.dataCapture, { enabled: false, samplingPercent: 100, rotateBytes: 16 * 1024 * 1024, rotateMs: 60_000 });
  });

  it('refuses bad configurations naming the field', () => {
    rejects({ variants: [] }, /at least one production variant/);
    rejects({ variants: [{ model: 'm/1', name: 'Bad Name' }] }, /variants\[0\]\.name "Bad Name" is not a valid name/);
    rejects({ variants: [{ model: 'm/1', name: 'a' }, { model: 'm/2', name: 'a' }] }, /variant name a is used twice/);
    rejects({ variants: [{ model: '' }] }, /variants\[0\]\.model must name a model version/);
    rejects({ variants: [{ model: 'm/1', weight: -1 }] }, /variants\[0\]\.weight must be a number >= 0/);
    rejects({ variants: [{ model: 'm/1', weight: 0 }] }, /at least one variant needs a weight above 0/);
    rejects({ variants: [{ model: 'm/1', instances: 0 }] }, /variants\[0\]\.instances must be an integer from 1 to 32/);
    rejects({ variants: [{ model: 'm/1', batching: { maxDelayMs: -5 } }] }, /batching\.maxDelayMs must be an integer/);
    rejects({ variants: [{ model: 'm/1' }], dataCapture: { samplingPercent: 101 } }, /samplingPercent must be from 0 to 100/);
  });
});
