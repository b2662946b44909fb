import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { SignatureV4 } from '@smithy/signature-v4';
import { KEY_CACHE_MS } from '../src/auth/auth-hook.js';
import { NodeSha256 } from '../src/auth/sigv4-verifier.js';
import { pollUntil } from '../src/core/test-support/poll-until.js';
import { openPlatformAt, openTestPlatform, type TestPlatform } from '../src/platform/test-support/test-platform.js';
import { buildApp, type CapstanApp } from '../src/server/app.js';

// A server reuses a key it verified for KEY_CACHE_MS instead of a lookup per request; these prove
// what that costs in revocation: nothing in the process that revokes, at most KEY_CACHE_MS elsewhere.
describe('revoking a key a server has just verified', () => {
  let t: TestPlatform;
  let app: CapstanApp;
  let admin: string;

  before(async () => {
    t = await openTestPlatform({ 'server.auth': true });
    app = await buildApp(t.platform);
    admin = (await t.platform.apiKeys.create('admin', 'admin')).key;
  });
  after(async () => {
    await app.close();
    await t.dispose();
  });

  const listKeys = (key: string) => app.inject({ method: 'GET', url: '/api/v1/keys', headers: { authorization: `Bearer ${key}` } });

  it('refuses a bearer key on its next request once this server revoked it', async () => {
    const doomed = (await t.platform.apiKeys.create('doomed', 'admin')).key;
    assert.equal((await listKeys(doomed)).statusCode, 200);
    assert.equal((await listKeys(doomed)).statusCode, 200, 'the second request is served from the cache');
    const revoked = await app.inject({ method: 'DELETE', url: '/api/v1/keys/doomed', headers: { authorization: `Bearer ${admin}` } });
    assert.equal(revoked.statusCode, 200);
    const refused = await listKeys(doomed);
    assert.equal(refused.statusCode, 401);
    assert.equal(refused.json().code, 'CAPSTAN_AUTH_INVALID_KEY');
    assert.equal((await listKeys(admin)).statusCode, 200, 'other keys keep working');
  });

  it('refuses a bearer key revoked by another process within KEY_CACHE_MS', async () => {
    const elsewhere = (await t.platform.apiKeys.create('elsewhere', 'admin')).key;
    assert.equal((await listKeys(elsewhere)).statusCode, 200);
    const cli = await openPlatformAt(t.home, { 'server.auth': true });
    const revokedAt = Date.now();
    try {
      await cli.apiKeys.revoke('elsewhere');
    } finally {
      await cli.close();
    }
    await pollUntil('the revoked key to be refused', async () => ((await listKeys(elsewhere)).statusCode === 401 ? true : undefined), { deadlineMs: KEY_CACHE_MS + 3_000, intervalMs: 100 });
    assert.ok(Date.now() - revokedAt <= KEY_CACHE_MS + 3_000);
  });

  it('refuses a SigV4 pair on its next request once this server revoked it', async () => {
    const created = await t.platform.apiKeys.create('signer', 'invoker', { sigv4: true });
    const signer = new SignatureV4({ credentials: { accessKeyId: created.accessKeyId!, secretAccessKey: created.secretAccessKey! }, region: 'us-east-1', service: 'sagemaker', sha256: NodeSha256 });
    const invoke = async () => {
      const signed = await signer.sign({ method: 'POST', protocol: 'http:', hostname: 'localhost', path: '/endpoints/missing/invocations', query: {}, headers: { host: 'localhost:80', 'content-type': 'application/json' }, body: '{}' });
      return app.inject({ method: 'POST', url: '/endpoints/missing/invocations', headers: signed.headers, payload: '{}' });
    };
    // Verified, then past auth: the endpoint does not exist, which SageMaker answers as a ValidationError.
    for (let i = 0; i < 2; i++) {
      const verified = await invoke();
      assert.equal(verified.statusCode, 400, verified.body);
      assert.equal(verified.headers['x-amzn-errortype'], 'ValidationError');
    }
    await app.inject({ method: 'DELETE', url: '/api/v1/keys/signer', headers: { authorization: `Bearer ${admin}` } });
    const refused = await invoke();
    assert.equal(refused.statusCode, 403);
    assert.equal(refused.headers['x-amzn-errortype'], 'UnrecognizedClientException');
  });
});
