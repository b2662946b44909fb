import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { testPostgresUrl } from './test-databases.js';

describe('testPostgresUrl', () => {
  it('falls back to the local PostgreSQL when CI=false, as it does with CI unset', () => {
    assert.equal(testPostgresUrl({}), 'postgres://postgres@127.0.0.1:5432/test');
    assert.equal(testPostgresUrl({ CI: 'false' }), 'postgres://postgres@127.0.0.1:5432/test');
  });

  it('demands CAPSTAN_TEST_DATABASE_URL under CI=true and takes it when set', () => {
    assert.equal(testPostgresUrl({ CI: 'true' }), undefined);
    assert.equal(testPostgresUrl({ CI: 'true', CAPSTAN_TEST_DATABASE_URL: 'postgres://x@127.0.0.1/y' }), 'postgres://x@127.0.0.1/y');
  });
});
