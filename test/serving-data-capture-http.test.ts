import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestServer, type TestServer } from '../src/server/test-support/test-server.js';

describe('GET /api/v1/endpoints/{name}/data-capture', () => {
  let s: TestServer;
  before(async () => (s = await startTestServer()));
  after(() => s.dispose());

  it('answers 404 CAPSTAN_SERVING_ENDPOINT_NOT_FOUND for an endpoint that does not exist', async () => {
    const res = await fetch(`${s.url}/api/v1/endpoints/nope/data-capture`);
    assert.equal(res.status, 404);
    const body = (await res.json()) as { code: string; detail: string };
    assert.equal(body.code, 'CAPSTAN_SERVING_ENDPOINT_NOT_FOUND');
    assert.match(body.detail, /no endpoint nope/);
  });

  it('refuses a page size above 200 as a bad request', async () => {
    const res = await fetch(`${s.url}/api/v1/endpoints/nope/data-capture?limit=500`);
    assert.equal(res.status, 400);
    assert.equal(((await res.json()) as { code: string }).code, 'CAPSTAN_REQUEST_INVALID');
  });
});
