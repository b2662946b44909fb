import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { openTestPlatform, type TestPlatform } from '../src/platform/test-support/test-platform.js';
import { buildApp, type CapstanApp } from '../src/server/app.js';

function assertProblem(res: { statusCode: number; headers: Record<string, unknown>; body: string }, status: number, code: string): void {
  assert.equal(res.statusCode, status, res.body);
  assert.match(String(res.headers['content-type']), /^application\/problem\+json/);
  const doc = JSON.parse(res.body);
  assert.equal(doc.code, code);
  assert.equal(doc.status, status);
}

const BOMB = [
  'a: &a ["x","x","x","x","x","x","x","x","x","x"]',
  'b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]',
  'c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]',
  'd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]',
  'e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d]',
  'f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e,*e]',
  'name: bomb',
  'steps: [{name: s, command: [echo, hi]}]',
].join('\n');

describe('framework-level errors answer problem+json', () => {
  let t: TestPlatform;
  let app: CapstanApp;
  before(async () => {
    t = await openTestPlatform({ 'server.bodyLimit': 2048 });
    app = await buildApp(t.platform);
  });
  after(async () => {
    await app.close();
    await t.dispose();
  });

  it('answers malformed percent-encoding in a path with 400 CAPSTAN_REQUEST_URL_INVALID', async () => {
    const res = await app.inject({ method: 'GET', url: '/api/v1/pipelines/%E0%A4%A' });
    assertProblem(res, 400, 'CAPSTAN_REQUEST_URL_INVALID');
  });

  it('answers an over-long path parameter with 414 CAPSTAN_REQUEST_URL_TOO_LONG', async () => {
    const res = await app.inject({ method: 'GET', url: `/api/v1/pipelines/${'a'.repeat(600)}` });
    assertProblem(res, 414, 'CAPSTAN_REQUEST_URL_TOO_LONG');
  });

  it('answers bad JSON, an empty JSON body, an unknown content type and a too-large body with catalogue codes', async () => {
    const url = '/api/v1/pipelines/validate';
    assertProblem(await app.inject({ method: 'POST', url, headers: { 'content-type': 'application/json' }, payload: '{"yaml":' }), 400, 'CAPSTAN_REQUEST_MALFORMED_JSON');
    assertProblem(await app.inject({ method: 'POST', url, headers: { 'content-type': 'application/json' }, payload: '' }), 400, 'CAPSTAN_REQUEST_MALFORMED_JSON');
    assertProblem(await app.inject({ method: 'POST', url, headers: { 'content-type': 'application/x-unknown' }, payload: 'x' }), 415, 'CAPSTAN_REQUEST_UNSUPPORTED_MEDIA_TYPE');
    assertProblem(await app.inject({ method: 'POST', url, headers: { 'content-type': 'application/json' }, payload: JSON.stringify({ yaml: 'x'.repeat(4096) }) }), 413, 'CAPSTAN_REQUEST_TOO_LARGE');
  });

  it('answers a malformed HTTP request on the socket with 400 problem+json', async () => {
    await app.listen({ host: '127.0.0.1', port: 0 });
    const { port } = app.server.address() as { port: number };
    const raw = await new Promise<string>((resolve, reject) => {
      const socket = connect(port, '127.0.0.1', () => socket.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nthis line has no colon\r\n\r\n'));
      let text = '';
      socket.on('data', (c) => (text += c));
      socket.on('close', () => resolve(text));
      socket.on('error', reject);
    });
    const [head, body] = raw.split('\r\n\r\n');
    assert.match(head, /^HTTP\/1\.1 400 /);
    assert.match(head, /content-type: application\/problem\+json/i);
    assert.equal(JSON.parse(body).code, 'CAPSTAN_REQUEST_INVALID');
  });
});

describe('YAML from users is bounded', () => {
  let t: TestPlatform;
  let app: CapstanApp;
  before(async () => {
    t = await openTestPlatform();
    app = await buildApp(t.platform);
  });
  after(async () => {
    await app.close();
    await t.dispose();
  });

  it('answers a YAML alias bomb in PUT /api/v1/pipelines with 400 CAPSTAN_REQUEST_YAML_LIMIT and stores nothing', async () => {
    for (const [method, url] of [['PUT', '/api/v1/pipelines'], ['POST', '/api/v1/pipelines/validate']] as const) {
      const res = await app.inject({ method, url, payload: { yaml: BOMB } });
      assertProblem(res, 400, 'CAPSTAN_REQUEST_YAML_LIMIT');
      assert.match(res.json().detail, /alias/);
    }
    const list = await app.inject({ method: 'GET', url: '/api/v1/pipelines' });
    assert.deepEqual(list.json().pipelines, []);
  });
});
