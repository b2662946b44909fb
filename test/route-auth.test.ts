import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { openTestPlatform, type TestPlatform } from '../src/platform/test-support/test-platform.js';
import { buildApp, type CapstanApp } from '../src/server/app.js';
import { ROLES, isKeyless, roleSatisfies, type Role } from '../src/auth/index.js';
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
      const now = String(Math.floor(Date.now() / 1000));
      const cases: [Record<string, string>, string][] = [
        [{}, 'CAPSTAN_PIPELINE_WEBHOOK_HEADER_MISSING'],
        [{ authorization: `Bearer ${keyOf.get('admin')}` }, 'CAPSTAN_PIPELINE_WEBHOOK_HEADER_MISSING'],
        [{ 'webhook-id': 'msg_1', 'webhook-timestamp': '1', 'webhook-signature': 'v1,AAAA' }, 'CAPSTAN_PIPELINE_WEBHOOK_TIMESTAMP_INVALID'],
        [{ 'webhook-id': 'msg_1', 'webhook-timestamp': now, 'webhook-signature': 'v1,AAAA' }, 'CAPSTAN_PIPELINE_WEBHOOK_SIGNATURE_INVALID'],
        [{ 'x-hub-signature-256': 'sha256=00' }, 'CAPSTAN_PIPELINE_WEBHOOK_SIGNATURE_INVALID'],
        [{ 'x-gitlab-token': 'guess' }, 'CAPSTAN_PIPELINE_WEBHOOK_SIGNATURE_INVALID'],
        [{ 'x-capstan-signature': 't=1,v1=00' }, 'CAPSTAN_PIPELINE_WEBHOOK_TIMESTAMP_INVALID'],
      ];
      for (const [headers, code] of cases) {
        const res = await app.inject({ method: r.method as Method, url: sampleUrl(r.url), headers: { 'content-type': 'application/json', ...headers }, payload: '{}' });
        assert.equal(res.statusCode, 401, `${describeRoute(r)} with ${JSON.stringify(headers)}`);
        // Push webhooks of repositories answer one code for every failure (they take no Standard Webhooks headers).
        const expected = r.url.startsWith('/api/v1/repositories/') ? 'CAPSTAN_GITOPS_WEBHOOK_SIGNATURE_INVALID' : code;
        assert.equal(res.json().code, expected, JSON.stringify(headers));
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

const GUARD_CODES = new Set(['CAPSTAN_REQUEST_HOST_NOT_ALLOWED', 'CAPSTAN_REQUEST_CROSS_ORIGIN']);
const STATE_CHANGING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
let probesRun = 0;

/**
 * The DNS-rebinding and cross-site probes, over every route: a foreign Host is refused on every
 * non-public route (reads too: a rebinding page could read the API), a cross-site browser request on
 * every state-changing one; same-origin pages, configured origins and clients without browser headers
 * pass the guard (whatever the route then answers).
 */
function originGuardProbes(auth: boolean): void {
  describe(`DNS rebinding and cross-site requests with auth ${auth ? 'on' : 'off'}`, () => {
    let t: TestPlatform;
    let app: CapstanApp;
    let key: Record<string, string> = {};
    before(async () => {
      t = await openTestPlatform({ 'server.auth': auth, 'server.allowedOrigins': ['https://ui.example.com'] });
      app = await buildApp(t.platform);
      if (auth) key = { authorization: `Bearer ${(await t.platform.apiKeys.create('probe-admin', 'admin')).key}` };
    });
    after(async () => {
      await app.close();
      await t.dispose();
    });

    async function probe(r: RouteRecord, headers: Record<string, string>): Promise<{ status: number; code?: string }> {
      probesRun++;
      const res = await app.inject({ method: r.method as Method, url: sampleUrl(r.url), headers: { 'content-type': 'text/plain', ...key, ...headers }, payload: r.method === 'GET' || r.method === 'HEAD' || r.method === 'DELETE' ? undefined : 'x' });
      return { status: res.statusCode, code: r.method === 'HEAD' ? undefined : (JSON.parse(res.body || '{}') as { code?: string }).code };
    }
    const guarded = () => app.capstanRoutes.filter((r) => r.access !== 'public' && r.method !== 'OPTIONS');
    const stateChanging = () => guarded().filter((r) => STATE_CHANGING.has(r.method));

    it('covers the state-changing routes the audit named', () => {
      const names = stateChanging().map((r) => `${r.method} ${r.url}`);
      for (const expected of ['PUT /api/v1/pipelines', 'POST /endpoints/:name/invocations', 'POST /api/v1/pipelines/:name/webhooks/:trigger', 'POST /api/v1/keys']) assert.ok(names.includes(expected), expected);
    });

    it('answers 421 CAPSTAN_REQUEST_HOST_NOT_ALLOWED to a Host that does not name a loopback address, on every non-public route', async () => {
      const failures: string[] = [];
      for (const r of guarded()) {
        for (const host of ['evil.example:7304', 'evil.example', 'localhost.evil.example:7070', '127.0.0.1.nip.io:7070']) {
          const res = await probe(r, { host });
          if (res.status !== 421 || (r.method !== 'HEAD' && res.code !== 'CAPSTAN_REQUEST_HOST_NOT_ALLOWED')) failures.push(`${describeRoute(r)} Host ${host} answered ${res.status} ${res.code}`);
        }
      }
      assert.deepEqual(failures, []);
    });

    it('answers 403 CAPSTAN_REQUEST_CROSS_ORIGIN to a state-changing request a browser marks cross-site', async () => {
      const failures: string[] = [];
      const crossSite: Record<string, string>[] = [
        { origin: 'http://evil.example:7304' },
        { origin: 'null' },
        { origin: 'http://localhost:3000' },
        { 'sec-fetch-site': 'cross-site' },
        { 'sec-fetch-site': 'same-site' },
        { origin: 'http://evil.example', 'sec-fetch-site': 'cross-site' },
      ];
      for (const r of stateChanging()) {
        for (const headers of crossSite) {
          const res = await probe(r, { host: 'localhost:7070', ...headers });
          if (res.status !== 403 || res.code !== 'CAPSTAN_REQUEST_CROSS_ORIGIN') failures.push(`${describeRoute(r)} ${JSON.stringify(headers)} answered ${res.status} ${res.code}`);
        }
      }
      assert.deepEqual(failures, []);
    });

    it('lets same-origin pages, configured origins and clients without browser headers through the guard', async () => {
      const failures: string[] = [];
      const allowed: Record<string, string>[] = [
        { host: 'localhost:7070' },
        { host: '127.0.0.1:7070' },
        { host: '[::1]:7070' },
        { host: 'LOCALHOST:7070', origin: 'http://localhost:7070' },
        { host: '127.0.0.1:7070', 'sec-fetch-site': 'same-origin' },
        { host: '127.0.0.1:7070', 'sec-fetch-site': 'none' },
        { host: '127.0.0.1:7070', origin: 'https://ui.example.com', 'sec-fetch-site': 'cross-site' },
      ];
      for (const r of stateChanging()) {
        for (const headers of allowed) {
          const res = await probe(r, headers);
          if (res.code && GUARD_CODES.has(res.code)) failures.push(`${describeRoute(r)} ${JSON.stringify(headers)} answered ${res.status} ${res.code}`);
        }
      }
      assert.deepEqual(failures, []);
    });

    it('keeps a cross-site read of public routes and a same-origin read working', async () => {
      for (const url of ['/healthz', '/openapi.json']) assert.equal((await app.inject({ method: 'GET', url, headers: { host: 'pod-10-1-2-3:7070' } })).statusCode, 200, url);
      const read = await app.inject({ method: 'GET', url: '/api/v1/pipelines', headers: { host: 'localhost:7070', origin: 'http://evil.example', ...key } });
      assert.equal(read.statusCode, 200, 'a cross-origin read is left to the browser: no CORS headers, so the page cannot see the answer');
    });
  });
}

describe('Host and Origin guard', () => {
  after(() => {
    // Printed so a reader of the run sees how much of the matrix ran, not only that it passed.
    console.log(`route-auth: ${probesRun} probes`);
  });

  originGuardProbes(false);
  originGuardProbes(true);

  describe('Host check on a non-loopback bind', () => {
    let t: TestPlatform;
    after(async () => {
      await t?.dispose();
    });

    it('accepts any Host without server.allowedHosts, and only the listed ones (plus loopback names) with it', async () => {
      t = await openTestPlatform({ 'server.auth': true, 'server.allowedHosts': ['capstan.internal:7070', 'ml.example.com'] });
      const strict = await buildApp(t.platform, { bindHost: '0.0.0.0' });
      try {
        const status = async (app: CapstanApp, host: string) => {
          probesRun++;
          return (await app.inject({ method: 'PUT', url: '/api/v1/pipelines', headers: { host }, payload: {} })).statusCode;
        };
        assert.equal(await status(strict, 'evil.example:7070'), 421);
        assert.equal(await status(strict, 'capstan.internal:7071'), 421, 'a port given in the list must match');
        for (const host of ['capstan.internal:7070', 'ml.example.com:443', 'ML.EXAMPLE.COM', '127.0.0.1:7070']) assert.equal(await status(strict, host), 401, host);
        const unlisted = await openTestPlatform({ 'server.auth': true });
        const anyHost = await buildApp(unlisted.platform, { bindHost: '0.0.0.0' });
        try {
          assert.equal(await status(anyHost, 'evil.example:7070'), 401, 'API keys guard a non-loopback bind; the Host check needs a list there');
        } finally {
          await anyHost.close();
          await unlisted.dispose();
        }
      } finally {
        await strict.close();
      }
    });

    it('accepts a name listed in server.allowedHosts on a loopback bind too (a hosts-file alias), and still refuses others', async () => {
      const aliased = await openTestPlatform({ 'server.auth': true, 'server.allowedHosts': ['capstan.test'] });
      const app = await buildApp(aliased.platform);
      try {
        const status = async (host: string) => {
          probesRun++;
          return (await app.inject({ method: 'PUT', url: '/api/v1/pipelines', headers: { host }, payload: {} })).statusCode;
        };
        assert.equal(await status('capstan.test:7070'), 401);
        assert.equal(await status('evil.example:7070'), 421);
      } finally {
        await app.close();
        await aliased.dispose();
      }
    });
  });
});
