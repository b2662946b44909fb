import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { isCapstanError } from '../src/core/errors.js';
import { openServingTestPlatform, type ServingTestPlatform } from '../src/serving/test-support/serving-test-platform.js';

describe('an endpoint host that is shutting down', () => {
  let t: ServingTestPlatform;
  before(async () => {
    t = await openServingTestPlatform();
    await t.registerNcf('ncf', { users: 10, items: 20, seed: 1 });
    const ep = await t.platform.serving.create('closing', { variants: [{ name: 'primary', model: 'models:/ncf/1' }] });
    assert.equal(ep.status, 'InService', ep.statusReason ?? '');
  });
  after(() => t?.dispose());

  it('answers a request for an endpoint it no longer serves with 503 CAPSTAN_SERVING_ENDPOINT_NOT_READY, not a TypeError', async () => {
    await t.platform.serving.host.close();
    await assert.rejects(t.platform.serving.host.invoke('closing', { body: '{"user":[1],"item":[2]}', contentType: 'application/json' }), (err: unknown) => {
      assert.ok(isCapstanError(err), String(err));
      assert.equal(err.code, 'CAPSTAN_SERVING_ENDPOINT_NOT_READY');
      assert.equal(err.status, 503);
      assert.match(err.message, /endpoint closing is not served here: this server is shutting down/);
      return true;
    });
  });
});
