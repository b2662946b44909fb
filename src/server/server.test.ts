import { describe, it, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { CapstanError } from '../core/errors.js';
import { openTestPlatform, type TestPlatform } from '../platform/test-support/test-platform.js';
import { buildApp, type CapstanApp } from './app.js';
import type { RoutePlugin } from './routes/index.js';
import { assertSafeBind, isLoopbackHost, startServer } from './server.js';

/** Sends one request on a fresh connection and resolves with status and body. */
function get(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('HTTP app', () => {
  let t: TestPlatform;
  let app: CapstanApp;
  beforeEach(async () => {
    t = await openTestPlatform({ 'server.bodyLimit': 2048 });
    app = await buildApp(t.platform);
  });
  afterEach(async () => {
    await app.close();
    await t.dispose();
  });

  it('answers /healthz 200 and /readyz with the database dialect', async () => {
    const h = await app.inject({ method: 'GET', url: '/healthz' });
    assert.equal(h.statusCode, 200);
    assert.deepEqual(h.json(), { status: 'ok' });
    const r = await app.inject({ method: 'GET', url: '/readyz' });
    assert.equal(r.statusCode, 200);
    assert.deepEqual(r.json(), { status: 'ready', database: 'sqlite' });
  });

  it('serves the OpenAPI document with the key routes and Swagger UI at /docs', async () => {
    const o = await app.inject({ method: 'GET', url: '/openapi.json' });
    assert.equal(o.statusCode, 200);
    const doc = o.json();
    assert.equal(doc.openapi, '3.1.0');
    assert.ok(doc.paths['/api/v1/keys'], 'keys routes are documented');
    assert.ok(doc.paths['/healthz']);
    let page = await app.inject({ method: 'GET', url: '/docs' });
    if (page.statusCode === 302) page = await app.inject({ method: 'GET', url: new URL(String(page.headers.location), 'http://x/docs').pathname });
    assert.equal(page.statusCode, 200);
    assert.match(page.body, /swagger/i);
  });

  it('answers an unknown route with 404 problem+json', async () => {
    const res = await app.inject({ method: 'GET', url: '/api/v1/nothing-here?x=1' });
    assert.equal(res.statusCode, 404);
    assert.match(res.headers['content-type'] as string, /^application\/problem\+json/);
    const p = res.json();
    assert.equal(p.code, 'CAPSTAN_ROUTE_NOT_FOUND');
    assert.equal(p.status, 404);
    assert.equal(p.instance, '/api/v1/nothing-here');
    assert.equal(p.detail, 'no route GET /api/v1/nothing-here');
  });

  it('refuses a body over the limit with 413 CAPSTAN_REQUEST_TOO_LARGE and creates nothing', async () => {
    const res = await app.inject({
      method: 'POST',
      url: '/api/v1/keys',
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify({ name: 'big', role: 'viewer', pad: 'x'.repeat(4096) }),
    });
    assert.equal(res.statusCode, 413);
    assert.equal(res.json().code, 'CAPSTAN_REQUEST_TOO_LARGE');
    assert.equal(res.json().detail, 'The request body is too large');
    assert.deepEqual(await t.platform.apiKeys.list(), []);
  });

  it('refuses malformed JSON with 400 CAPSTAN_REQUEST_MALFORMED_JSON and creates nothing', async () => {
    const res = await app.inject({ method: 'POST', url: '/api/v1/keys', headers: { 'content-type': 'application/json' }, payload: '{"name": "a", role' });
    assert.equal(res.statusCode, 400);
    assert.match(res.headers['content-type'] as string, /^application\/problem\+json/);
    assert.equal(res.json().code, 'CAPSTAN_REQUEST_MALFORMED_JSON');
    assert.equal(res.json().detail, 'the request body is not valid JSON');
    assert.deepEqual(await t.platform.apiKeys.list(), []);
  });

  it('refuses a body that fails its schema with 400 CAPSTAN_REQUEST_INVALID naming the field', async () => {
    const res = await app.inject({ method: 'POST', url: '/api/v1/keys', payload: { name: 'a' } });
    assert.equal(res.statusCode, 400);
    assert.equal(res.json().code, 'CAPSTAN_REQUEST_INVALID');
    assert.match(res.json().detail, /role/);
  });

  it('creates, lists and revokes API keys through /api/v1/keys, never listing secrets', async () => {
    const created = await app.inject({ method: 'POST', url: '/api/v1/keys', payload: { name: 'ci', role: 'editor' } });
    assert.equal(created.statusCode, 201);
    const { key, info } = created.json();
    assert.match(key, /^cap_/);
    assert.equal(info.role, 'editor');
    const list = await app.inject({ method: 'GET', url: '/api/v1/keys' });
    assert.equal(list.json().items.length, 1);
    assert.ok(!list.body.includes(key), 'the secret is never listed');
    const revoked = await app.inject({ method: 'DELETE', url: '/api/v1/keys/ci' });
    assert.equal(revoked.statusCode, 200);
    assert.ok(revoked.json().revokedAt);
    const again = await app.inject({ method: 'DELETE', url: '/api/v1/keys/ci' });
    assert.equal(again.statusCode, 404);
    assert.equal(again.json().code, 'CAPSTAN_AUTH_KEY_NOT_FOUND');
  });

  it('refuses an unknown role with 400 CAPSTAN_AUTH_ROLE_INVALID listing the roles, and a bad name with CAPSTAN_NAME_INVALID', async () => {
    const role = await app.inject({ method: 'POST', url: '/api/v1/keys', payload: { name: 'x', role: 'root' } });
    assert.equal(role.statusCode, 400);
    assert.equal(role.json().code, 'CAPSTAN_AUTH_ROLE_INVALID');
    assert.equal(role.json().detail, 'unknown role "root"; use one of admin, editor, approver, invoker, viewer');
    const name = await app.inject({ method: 'POST', url: '/api/v1/keys', payload: { name: '../x', role: 'admin' } });
    assert.equal(name.json().code, 'CAPSTAN_NAME_INVALID');
    assert.deepEqual(await t.platform.apiKeys.list(), []);
  });

  it('exposes Prometheus metrics with request counts by route template, method and status', async () => {
    await app.inject({ method: 'GET', url: '/healthz' });
    await app.inject({ method: 'GET', url: '/api/v1/nothing' });
    const res = await app.inject({ method: 'GET', url: '/metrics' });
    assert.equal(res.statusCode, 200);
    assert.match(res.headers['content-type'] as string, /^text\/plain/);
    assert.match(res.body, /capstan_http_requests_total\{method="GET",route="\/healthz",status="200"\} 1/);
    assert.match(res.body, /capstan_http_requests_total\{method="GET",route="\(unmatched\)",status="404"\} 1/);
    assert.match(res.body, /capstan_http_request_duration_seconds_bucket/);
  });

  it('never leaks a stack or internal path in a 500', async () => {
    const boom: RoutePlugin = async (a) => {
      a.get('/boom', { config: { access: 'public' } }, async () => {
        throw new Error('ENOENT: open /srv/secret/thing');
      });
    };
    const app2 = await buildApp(t.platform, { extraPlugins: [boom] });
    try {
      const res = await app2.inject({ method: 'GET', url: '/boom' });
      assert.equal(res.statusCode, 500);
      assert.equal(res.json().code, 'CAPSTAN_INTERNAL');
      assert.doesNotMatch(res.body, /secret|ENOENT|at /);
    } finally {
      await app2.close();
    }
  });

  it('refuses to register a route that declares no access', async () => {
    const open: RoutePlugin = async (a) => {
      a.get('/open', async () => 'x');
    };
    await assert.rejects(buildApp(t.platform, { extraPlugins: [open] }), /route GET \/open declares no config\.access/);
  });
});

describe('binding', () => {
  it('treats only localhost, 127.0.0.0/8 and ::1 as loopback', () => {
    for (const h of ['localhost', '127.0.0.1', '127.1.2.3', '::1', '[::1]', '::ffff:127.0.0.1']) assert.ok(isLoopbackHost(h), h);
    for (const h of ['0.0.0.0', '::', '10.0.0.5', '192.168.1.1', 'example.com', '128.0.0.1']) assert.ok(!isLoopbackHost(h), h);
  });

  it('refuses a non-loopback bind without auth with CAPSTAN_CONFIG_INSECURE_BIND, and allows it with auth', () => {
    assert.throws(
      () => assertSafeBind('0.0.0.0', false),
      (e: unknown) => e instanceof CapstanError && e.code === 'CAPSTAN_CONFIG_INSECURE_BIND' && /refusing to listen on 0\.0\.0\.0 without API keys/.test(e.message),
    );
    assert.doesNotThrow(() => assertSafeBind('0.0.0.0', true));
    assert.doesNotThrow(() => assertSafeBind('127.0.0.1', false));
  });

  it('startServer refuses 0.0.0.0 without auth before listening', async () => {
    const t = await openTestPlatform({ 'server.host': '0.0.0.0', 'server.port': 0 });
    try {
      await assert.rejects(startServer(t.platform, { logRequests: false }), (e: any) => e.code === 'CAPSTAN_CONFIG_INSECURE_BIND');
    } finally {
      await t.dispose();
    }
  });
});

describe('running server', () => {
  it('serves /healthz on a real port, then shuts down gracefully: stops accepting, finishes the in-flight request, then stops background services', async () => {
    const t = await openTestPlatform();
    const order: string[] = [];
    let entered!: () => void;
    const handlerEntered = new Promise<void>((r) => (entered = r));
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    const slow: RoutePlugin = async (a) => {
      a.get('/slow', { config: { access: 'public' } }, async () => {
        entered();
        await released;
        order.push('request finished');
        return { done: true };
      });
    };
    t.platform.background.push({
      name: 'recorder',
      start: async () => void order.push('service started'),
      stop: async () => void order.push('service stopped'),
    });
    const server = await startServer(t.platform, { port: 0, background: true, logRequests: false, extraPlugins: [slow] });
    try {
      assert.equal(server.services.at(-1), 'recorder', 'every registered background service starts, in order');
      assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+$/);
      assert.equal((await get(`${server.url}/healthz`)).status, 200);

      const inFlight = get(`${server.url}/slow`);
      await handlerEntered;
      const shutdown = server.shutdown();
      while (server.app.server.listening) await new Promise((r) => setImmediate(r));
      await assert.rejects(get(`${server.url}/healthz`), /ECONNREFUSED/);
      assert.ok(!order.includes('service stopped'), 'services keep running while requests drain');
      release();
      const res = await inFlight;
      assert.equal(res.status, 200);
      assert.deepEqual(JSON.parse(res.body), { done: true });
      await shutdown;
      assert.deepEqual(order, ['service started', 'request finished', 'service stopped']);
      await assert.rejects(t.platform.db.kysely.selectFrom('api_keys').selectAll().execute(), 'the platform is closed');
      assert.equal(server.shutdown(), server.shutdown(), 'shutdown is idempotent');
    } finally {
      release();
      await server.shutdown();
      await t.dispose();
    }
  });
});

describe('running server and DNS rebinding', () => {
  it('refuses, on a real loopback socket, a pipeline apply whose Host names another site, and applies nothing', async () => {
    const t = await openTestPlatform();
    const server = await startServer(t.platform, { port: 0, logRequests: false });
    try {
      const body = JSON.stringify({ yaml: 'name: owned\nsteps:\n  - { name: s, type: processing, command: [sh, -c, "id > owned"] }\n' });
      const send = (headers: Record<string, string>) =>
        new Promise<{ status: number; body: string }>((resolve, reject) => {
          const req = httpRequest(`${server.url}/api/v1/pipelines`, { method: 'PUT', agent: false, headers: { 'content-type': 'application/json', ...headers } }, (res) => {
            let text = '';
            res.on('data', (c) => (text += c));
            res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
          });
          req.on('error', reject);
          req.end(body);
        });
      const rebound = await send({ host: `evil.example:${server.port}`, origin: `http://evil.example:${server.port}` });
      assert.equal(rebound.status, 421, rebound.body);
      assert.equal(JSON.parse(rebound.body).code, 'CAPSTAN_REQUEST_HOST_NOT_ALLOWED');
      const crossSite = await send({ origin: 'http://evil.example' });
      assert.equal(crossSite.status, 403, crossSite.body);
      assert.equal(JSON.parse(crossSite.body).code, 'CAPSTAN_REQUEST_CROSS_ORIGIN');
      assert.deepEqual(await t.platform.pipelines.list(), []);
      const cli = await send({});
      assert.equal(cli.status, 200, 'a client without browser headers applies as before');
    } finally {
      await server.shutdown();
      await t.dispose();
    }
  });
});
