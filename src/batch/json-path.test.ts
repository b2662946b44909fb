import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isCapstanError } from '../core/errors.js';
import { compileJsonPath } from './json-path.js';

describe('JSONPath filters', () => {
  const doc = { id: 7, req: { user: 1, items: [10, 20, 30] }, 'odd-key': true };
  it('selects members, indices, slices and unions', () => {
    assert.deepEqual(compileJsonPath('$')(doc), doc);
    assert.equal(compileJsonPath('$.req.user')(doc), 1);
    assert.equal(compileJsonPath("$['odd-key']")(doc), true);
    assert.equal(compileJsonPath('$.req.items[-1]')(doc), 30);
    assert.deepEqual(compileJsonPath('$.req.items[1:]')(doc), [20, 30]);
    assert.deepEqual(compileJsonPath('$.req.items[0,2]')(doc), [10, 30]);
    assert.deepEqual(compileJsonPath("$['id','req']")(doc), { id: 7, req: doc.req });
    assert.equal(compileJsonPath('$.nope.deeper')(doc), undefined);
  });
  it('refuses what it does not support, naming the path', () => {
    for (const [path, why] of [['x', /must start with \$/], ['$..a', /expected a member name/], ['$[?(@.a)]', /unsupported selector/], ["$['a','b'].c", /union or slice must be the last/], ['$[1', /unclosed \[/]] as const) {
      assert.throws(() => compileJsonPath(path), (err) => isCapstanError(err) && err.code === 'CAPSTAN_BATCH_FILTER_INVALID' && why.test(err.message));
    }
  });
});
