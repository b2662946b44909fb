import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CapstanError } from '../../core/errors.js';
import { toSageMakerError } from './sagemaker-error.js';

describe('toSageMakerError', () => {
  it('maps model failures to ModelError 424 with the original status, never a 5xx', () => {
    for (const code of ['CAPSTAN_SERVING_MODEL_ERROR', 'CAPSTAN_SERVING_MODEL_CRASHED', 'CAPSTAN_SERVING_MODEL_TIMEOUT', 'CAPSTAN_SERVING_UPSTREAM_ERROR', 'CAPSTAN_SERVING_PYTHON_OUTPUT_INVALID'] as const) {
      const e = new CapstanError(code, 'boom');
      const m = toSageMakerError(e);
      assert.equal(m.type, 'ModelError', code);
      assert.equal(m.status, 424);
      assert.equal(m.body.OriginalStatusCode, e.status);
      assert.equal(m.body.OriginalMessage, 'boom');
    }
  });

  it('maps client errors to ValidationError, 503 to ServiceUnavailable and auth to 403 types', () => {
    assert.equal(toSageMakerError(new CapstanError('CAPSTAN_SERVING_VARIANT_NOT_FOUND', 'x')).type, 'ValidationError');
    assert.equal(toSageMakerError(new CapstanError('CAPSTAN_SERVING_TARGET_MODEL_NOT_FOUND', 'x')).status, 400);
    assert.equal(toSageMakerError(new CapstanError('CAPSTAN_SERVING_PAYLOAD_TOO_LARGE', 'x')).type, 'ValidationError');
    assert.deepEqual(toSageMakerError(new CapstanError('CAPSTAN_SERVING_ENDPOINT_NOT_READY', 'x')), { type: 'ServiceUnavailable', status: 503, body: { message: 'x' } });
    assert.deepEqual(toSageMakerError(new CapstanError('CAPSTAN_AUTH_SIGNATURE_EXPIRED', 'x')), { type: 'InvalidSignatureException', status: 403, body: { message: 'x' } });
    assert.equal(toSageMakerError(new CapstanError('CAPSTAN_AUTH_FORBIDDEN', 'x')).type, 'AccessDeniedException');
    assert.equal(toSageMakerError(new CapstanError('CAPSTAN_INTERNAL', 'x')).type, 'InternalFailure');
  });
});
