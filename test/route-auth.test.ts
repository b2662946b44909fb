import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { openTestPlatform, type TestPlatform } from '../src/platform/test-support/test-platform.js';
import { buildApp, type CapstanApp } from '../src/server/app.js';
import { ROLES, isKeyless, roleSatisfies, type Role } from '../src/server/auth/roles.js';
import type { RouteRecord } from '../src/server/route-access.js';
import type { RoutePlugin } from '../src/server/routes/index.js';

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'HEAD' | 'OPTIONS';

/** A concrete URL for a route template: every `:param` and `*` gets a harmless sample value. */
function sampleUrl(template: string): string {
  return template.replace(/:[A-Za-z0-9_]+\([^)]*\)/g, '1').replace(/:[A-Za-z0-9_]+/g, 'sample').replace(/\*/g, 'sample');
}

function describeRoute(r: RouteRecord): string {
  return `${r.method} ${r.url} (${r.access})`;
}

/** Every role whose key must NOT be allowed on a route needing `need`. */
function rolesBelow(need: Role): Role[] {
  return ROLES.filter((have) => !roleSatisfies(have, need));
}

describe('route access with auth on', () => {
  let t: TestPlatform;
  let app: CapstanApp;
  const keyOf = new Map<Role, string>();
  let revokedKey: string;
  // A context added later needs no change to this test: every route of every plugin is enumerated.
  const lateContext: RoutePlugin = async (a) => {
    a.get('/api/v1/late-additions', { config: { access: 'editor' } }, async () => ({ ok: true }));
    a.post('/api/v1/late-additions/:name/things', { config: { access: 'approver' } }, async () => ({ ok: true }));
  };

  before(async () => {
    t = await openTestPlatform({ 'server.auth': true });
    app = await buildApp(t.platform, { extraPlugins: [lateContext] });
    for (const role of ROLES) keyOf.set(role, (await t.platform.apiKeys.create(`k-${role}`, role)).key);
    revokedKey = (await t.platform.apiKeys.create('gone', 'admin')).key;
    await t.platform.apiKeys.revoke('gone');
  });
  after(async () => {
    await app.close();
    await t.dispose();
  });

  const protectedRoutes = () => app.capstanRoutes.filter((r) => !isKeyless(r.access));

  it('enumerates every registered route, including ones a context adds later', () => {
    const urls = app.capstanRoutes.map(describeRoute);
    for (const expected of ['GET /healthz (public)', 'GET /api/v1/keys (admin)', 'GET /api/v1/late-additions (editor)', 'POST /api/v1/late-additions/:name/things (approver)']) {
      assert.ok(urls.includes(expected), `${expected} is enumerated`);
    }
    assert.ok(protectedRoutes().length >= 5);
  });

  it('has no public route under /api/v1', () => {
    const open = app.capstanRoutes.filter((r) => r.access === 'public' && r.url.startsWith('/api/'));
    assert.deepEqual(open.map(describeRoute), []);
  });

  it('refuses every signature-checked route without a valid signature, whatever key is sent', async () => {
    const signed = app.capstanRoutes.filter((r) => r.access === 'signature');
    assert.ok(signed.length >= 1, 'the pipeline webhook is signature-checked');
    for (const r of signed) {
      for (const headers of [{}, { authorization: `Bearer ${keyOf.get('admin')}` }, { 'x-capstan-signature': 't=1,v1=00' }]) {
        const res = await app.inject({ method: r.method as Method, url: sampleUrl(r.url), headers: { 'content-type': 'application/json', ...headers }, payload: '{}' });
        assert.equal(res.statusCode, 401, `${describeRoute(r)} with ${JSON.stringify(headers)}`);
        assert.equal(res.json().code, 'CAPSTAN_PIPELINE_WEBHOOK_SIGNATURE_INVALID');
      }
    }
  });

  it('answers every non-public route without a key with 401 problem+json CAPSTAN_AUTH_REQUIRED', async () => {
    const failures: string[] = [];
    for (const r of protectedRoutes()) {
      const res = await app.inject({ method: r.method as Method, url: sampleUrl(r.url) });
      if (res.statusCode !== 401) {
        failures.push(`${describeRoute(r)} answered ${res.statusCode}`);
        continue;
      }
      if (r.method === 'HEAD') continue;
      if (!/^application\/problem\+json/.test(String(res.headers['content-type'])) || res.json().code !== 'CAPSTAN_AUTH_REQUIRED') {
        failures.push(`${describeRoute(r)} answered 401 without the problem document`);
      }
      if (res.headers['www-authenticate'] !== 'Bearer') failures.push(`${describeRoute(r)} sent no WWW-Authenticate`);
    }
    assert.deepEqual(failures, []);
  });

  it('answers every non-public route with 401 CAPSTAN_AUTH_INVALID_KEY for an unknown or revoked key', async () => {
    const failures: string[] = [];
    for (const r of protectedRoutes()) {
      for (const [what, key] of [['unknown', 'cap_not-a-real-key'], ['revoked', revokedKey]] as const) {
        const res = await app.inject({ method: r.method as Method, url: sampleUrl(r.url), headers: { authorization: `Bearer ${key}` } });
        if (res.statusCode !== 401 || (r.method !== 'HEAD' && res.json().code !== 'CAPSTAN_AUTH_INVALID_KEY')) {
          failures.push(`${describeRoute(r)} with an ${what} key answered ${res.statusCode}`);
        }
      }
    }
    assert.deepEqual(failures, []);
  });

  it('answers every non-public route with 403 CAPSTAN_AUTH_FORBIDDEN for each role that is not enough', async () => {
    const failures: string[] = [];
    let checked = 0;
    for (const r of protectedRoutes()) {
      for (const role of rolesBelow(r.access as Role)) {
        checked++;
        const res = await app.inject({ method: r.method as Method, url: sampleUrl(r.url), headers: { 'x-capstan-api-key': keyOf.get(role)! } });
        if (res.statusCode !== 403 || (r.method !== 'HEAD' && res.json().code !== 'CAPSTAN_AUTH_FORBIDDEN')) {
          failures.push(`${describeRoute(r)} with role ${role} answered ${res.statusCode}`);
        }
      }
    }
    assert.deepEqual(failures, []);
    assert.ok(checked > 0);
  });

  it('lets a key with the required role (or admin) through the auth check', async () => {
    for (const role of ['editor', 'admin'] as const) {
      const res = await app.inject({ method: 'GET', url: '/api/v1/late-additions', headers: { authorization: `Bearer ${keyOf.get(role)}` } });
      assert.equal(res.statusCode, 200, role);
    }
    const keys = await app.inject({ method: 'GET', url: '/api/v1/keys', headers: { authorization: `Bearer ${keyOf.get('admin')}` } });
    assert.equal(keys.statusCode, 200);
  });

  it('keeps health checks and the API description public', async () => {
    for (const url of ['/healthz', '/readyz', '/openapi.json']) {
      assert.equal((await app.inject({ method: 'GET', url })).statusCode, 200, url);
    }
    assert.equal((await app.inject({ method: 'GET', url: '/metrics' })).statusCode, 401, '/metrics needs a viewer key');
    assert.equal((await app.inject({ method: 'GET', url: '/metrics', headers: { authorization: `Bearer ${keyOf.get('viewer')}` } })).statusCode, 200);
  });
});
