import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isCapstanError } from '../core/errors.js';
import { compileContentTypeCheck, compileRowCheck, compileTensorCheck } from './request-validation.js';

const violations = (fn: () => void): unknown => {
  try {
    fn();
  } catch (err) {
    assert.ok(isCapstanError(err) && err.code === 'CAPSTAN_SERVING_INVALID_INPUT', String(err));
    return err.fields.violations;
  }
  return [];
};

describe('request checks compiled from a model package', () => {
  it('accepts JSON with parameters and +json types by default, the declared types otherwise, and anything with */*', () => {
    const json = compileContentTypeCheck();
    for (const ok of ['application/json', 'Application/JSON; charset=utf-8', 'application/vnd.shop+json']) assert.doesNotThrow(() => json(ok), ok);
    assert.throws(() => json('text/plain'), (err) => isCapstanError(err) && err.code === 'CAPSTAN_SERVING_UNSUPPORTED_MEDIA_TYPE');
    assert.throws(() => compileContentTypeCheck(['text/csv'])('application/json'), /takes text\/csv, not "application\/json"/);
    assert.doesNotThrow(() => compileContentTypeCheck(['*/*'])('image/png'));
  });

  it('checks js rows: dtypes with integer ranges, fixed shapes, and the instances form', () => {
    const check = compileRowCheck([
      { name: 'age', dtype: 'uint8' },
      { name: 'vec', dtype: 'float32', shape: [2] },
      { name: 'tag', dtype: 'string' },
    ])!;
    assert.deepEqual(violations(() => check({ age: 30, vec: [1, 2], tag: 'a' })), []);
    assert.deepEqual(violations(() => check({ age: 300, vec: [1, 2, 3], tag: 1 })), ['age must be an integer from 0 to 255, got number', 'vec must have 2 element(s), got 3', 'tag must be a string, got number']);
    assert.deepEqual(violations(() => check({ instances: [{ age: 1, vec: [1, 'x'], tag: 'a' }], extra: 1 })), ['instances[0].vec[1] must be a number, got a string', 'extra: only "instances" may sit beside the rows']);
    assert.equal(compileRowCheck([]), undefined, 'a package that declares no inputs is left to its module');
  });

  it('checks OIP tensors against names, dtypes and ranks', () => {
    const check = compileTensorCheck([{ name: 'x', dtype: 'float32', shape: [-1, 3] }]);
    const x = (type: 'float32' | 'int64', dims: number[]) => ({ type, dims, data: new Float32Array(dims.reduce((a, b) => a * b, 1)) });
    assert.deepEqual(violations(() => check({ x: x('float32', [2, 3]) })), []);
    assert.deepEqual(violations(() => check({ x: x('int64', [2, 4]) })), ['input x must be float32, got int64', 'input x dimension 1 must be 3, got 4']);
  });
});
