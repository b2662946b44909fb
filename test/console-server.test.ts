import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { buildApp, type CapstanApp } from '../src/server/app.js';
import { openTestPlatform, type TestPlatform } from '../src/platform/test-support/test-platform.js';
import { CONSOLE_DIST } from '../src/server/console/console-static.js';
import { ensureConsoleBuilt } from './support/console-browser.js';

const cookieOf = (setCookie: string | string[] | undefined) => String(Array.isArray(setCookie) ? setCookie[0] : setCookie).split(';')[0];

describe('console static files and session with auth off', () => {
  let t: TestPlatform;
  let app: CapstanApp;
  before(async () => {
    ensureConsoleBuilt();
    t = await openTestPlatform();
    app = await buildApp(t.platform);
  });
  after(async () => {
    await app.close();
    await t.dispose();
  });

  it('redirects / to /console/ and serves index.html uncached with a strict CSP, deep links included', async () => {
    const root = await app.inject({ method: 'GET', url: '/' });
    assert.equal(root.statusCode, 302);
    assert.equal(root.headers.location, '/console/');
    for (const url of ['/console/', '/console/models/ncf', '/console/pipelines/x/executions/y']) {
      const page = await app.inject({ method: 'GET', url });
      assert.equal(page.statusCode, 200, url);
      assert.match(String(page.headers['content-type']), /^text\/html/);
      assert.equal(page.headers['cache-control'], 'no-cache');
      assert.match(String(page.headers['content-security-policy']), /script-src 'self'(;|$)/);
      assert.match(String(page.headers['content-security-policy']), /frame-ancestors 'none'/);
      assert.equal(page.headers['x-content-type-options'], 'nosniff');
    }
  });

  it('caches hashed assets for a year and answers 404 for missing files and paths outside the build', async () => {
    const asset = readdirSync(`${CONSOLE_DIST}/assets`).find((f) => f.endsWith('.js'))!;
    const js = await app.inject({ method: 'GET', url: `/console/assets/${asset}` });
    assert.equal(js.statusCode, 200);
    assert.equal(js.headers['cache-control'], 'public, max-age=31536000, immutable');
    assert.match(String(js.headers['content-type']), /^text\/javascript/);
    const missing = await app.inject({ method: 'GET', url: '/console/assets/nope.js' });
    assert.equal(missing.statusCode, 404);
    for (const url of ['/console/../package.json', '/console/%2e%2e/%2e%2e/package.json', '/console/..%2f..%2fpackage.json']) {
      const res = await app.inject({ method: 'GET', url });
      assert.ok(!res.body.includes('"name": "capstan"'), `${url} does not leak files outside the build`);
    }
  });

  it('is open on loopback without signing in: the session says so and API calls need no CSRF token', async () => {
    const session = await app.inject({ method: 'GET', url: '/console/session' });
    assert.deepEqual(session.json(), { authEnabled: false, signedIn: true, name: 'anonymous', role: 'admin', csrfToken: null });
    const created = await app.inject({ method: 'POST', url: '/api/v1/models', payload: { name: 'open' } });
    assert.equal(created.statusCode, 201);
  });
});

describe('console session with auth on', () => {
  let t: TestPlatform;
  let app: CapstanApp;
  let editorKey: string;
  before(async () => {
    t = await openTestPlatform({ 'server.auth': true });
    app = await buildApp(t.platform);
    editorKey = (await t.platform.apiKeys.create('ed', 'editor')).key;
  });
  after(async () => {
    await app.close();
    await t.dispose();
  });

  it('refuses a wrong key and a cross-site sign-in, and sets no cookie', async () => {
    const wrong = await app.inject({ method: 'POST', url: '/console/session', payload: { apiKey: 'cap_wrong' } });
    assert.equal(wrong.statusCode, 401);
    assert.equal(wrong.json().code, 'CAPSTAN_AUTH_INVALID_KEY');
    assert.equal(wrong.headers['set-cookie'], undefined);
    const cross = await app.inject({ method: 'POST', url: '/console/session', headers: { 'sec-fetch-site': 'cross-site' }, payload: { apiKey: editorKey } });
    assert.equal(cross.statusCode, 403);
    assert.equal(cross.json().code, 'CAPSTAN_REQUEST_CROSS_ORIGIN');
    assert.equal(cross.headers['set-cookie'], undefined);
  });

  it('exchanges a key for an HttpOnly SameSite=Strict cookie; state changes need the CSRF token; sign-out revokes', async () => {
    const signIn = await app.inject({ method: 'POST', url: '/console/session', payload: { apiKey: editorKey } });
    assert.equal(signIn.statusCode, 200);
    const setCookie = String(signIn.headers['set-cookie']);
    assert.match(setCookie, /^capstan_session=[A-Za-z0-9_-]{40,}; Path=\/; HttpOnly; SameSite=Strict; Max-Age=\d+$/);
    const { csrfToken, role, name } = signIn.json();
    assert.deepEqual({ role, name }, { role: 'editor', name: 'ed' });
    assert.ok(!JSON.stringify(signIn.json()).includes(editorKey), 'the answer does not echo the key');
    const cookie = cookieOf(signIn.headers['set-cookie']);

    const read = await app.inject({ method: 'GET', url: '/api/v1/models', headers: { cookie } });
    assert.equal(read.statusCode, 200);
    const noToken = await app.inject({ method: 'POST', url: '/api/v1/models', headers: { cookie }, payload: { name: 'm1' } });
    assert.equal(noToken.statusCode, 403);
    assert.equal(noToken.json().code, 'CAPSTAN_CONSOLE_CSRF_REQUIRED');
    const badToken = await app.inject({ method: 'POST', url: '/api/v1/models', headers: { cookie, 'x-capstan-csrf': 'x'.repeat(csrfToken.length) }, payload: { name: 'm1' } });
    assert.equal(badToken.statusCode, 403);
    assert.deepEqual(await t.platform.registry.listModels(), [], 'nothing was created without the token');
    const ok = await app.inject({ method: 'POST', url: '/api/v1/models', headers: { cookie, 'x-capstan-csrf': csrfToken }, payload: { name: 'm1' } });
    assert.equal(ok.statusCode, 201);
    const forbidden = await app.inject({ method: 'PUT', url: '/api/v1/models/m1/approval-policy', headers: { cookie, 'x-capstan-csrf': csrfToken }, payload: { autoApprove: 'true' } });
    assert.equal(forbidden.json().code, 'CAPSTAN_AUTH_FORBIDDEN', 'the role still bounds a session');

    const outNoToken = await app.inject({ method: 'DELETE', url: '/console/session', headers: { cookie } });
    assert.equal(outNoToken.statusCode, 403);
    const out = await app.inject({ method: 'DELETE', url: '/console/session', headers: { cookie, 'x-capstan-csrf': csrfToken } });
    assert.equal(out.statusCode, 204);
    assert.match(String(out.headers['set-cookie']), /^capstan_session=; .*Max-Age=0/);
    const after = await app.inject({ method: 'GET', url: '/api/v1/models', headers: { cookie } });
    assert.equal(after.statusCode, 401);
    assert.equal(after.json().code, 'CAPSTAN_CONSOLE_SESSION_INVALID');
    assert.deepEqual((await app.inject({ method: 'GET', url: '/console/session', headers: { cookie } })).json(), { authEnabled: true, signedIn: false });
  });

  it('keeps a session across API servers on the same database and across a restart; a sign-out on one server ends it on the other', async () => {
    const other = await buildApp(t.platform);
    try {
      const signIn = await app.inject({ method: 'POST', url: '/console/session', payload: { apiKey: editorKey } });
      const cookie = cookieOf(signIn.headers['set-cookie']);
      const { csrfToken } = signIn.json();
      assert.equal((await other.inject({ method: 'GET', url: '/api/v1/models', headers: { cookie } })).statusCode, 200, 'the other server knows the session');
      assert.equal((await other.inject({ method: 'GET', url: '/console/session', headers: { cookie } })).json().csrfToken, csrfToken);
      const restarted = await buildApp(t.platform);
      try {
        assert.equal((await restarted.inject({ method: 'GET', url: '/api/v1/models', headers: { cookie } })).statusCode, 200, 'a restart keeps the session');
      } finally {
        await restarted.close();
      }
      assert.equal((await other.inject({ method: 'DELETE', url: '/console/session', headers: { cookie, 'x-capstan-csrf': csrfToken } })).statusCode, 204);
      const gone = await app.inject({ method: 'GET', url: '/api/v1/models', headers: { cookie } });
      assert.equal(gone.statusCode, 401);
      assert.equal(gone.json().code, 'CAPSTAN_CONSOLE_SESSION_INVALID');
    } finally {
      await other.close();
    }
  });

  it('ends a session whose API key is revoked', async () => {
    const key = await t.platform.apiKeys.create('short-lived', 'viewer');
    const signIn = await app.inject({ method: 'POST', url: '/console/session', payload: { apiKey: key.key } });
    const cookie = cookieOf(signIn.headers['set-cookie']);
    assert.equal((await app.inject({ method: 'GET', url: '/api/v1/models', headers: { cookie } })).statusCode, 200);
    await t.platform.apiKeys.revoke('short-lived');
    const res = await app.inject({ method: 'GET', url: '/api/v1/models', headers: { cookie } });
    assert.equal(res.statusCode, 401);
    assert.equal(res.json().code, 'CAPSTAN_CONSOLE_SESSION_INVALID');
  });
});
