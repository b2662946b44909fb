import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import Fastify, { type FastifyInstance } from 'fastify';
import { SignatureV4 } from '@smithy/signature-v4';
import { isCapstanError } from '../core/errors.js';
import type { ApiKeyStore, Principal } from './api-key-store.js';
import { installAuth } from './auth-hook.js';
import { NodeSha256 } from './sigv4-verifier.js';

const creds = { accessKeyId: 'CPAKABCDEFGHIJKLMNOP', secretAccessKey: 'secret/key+value' };
const viewerCreds = { accessKeyId: 'CPAKVIEWERVIEWERVIEW', secretAccessKey: 'viewer secret' };
const invoker: Principal = { keyId: 'key_1', name: 'client', role: 'invoker' };
const viewer: Principal = { keyId: 'key_2', name: 'viewer', role: 'viewer' };

/** Just the key store calls the hook makes, counting the SigV4 look-ups. */
function fakeKeys() {
  const calls = { sigv4: 0 };
  const keys = {
    async sigv4Credentials(id: string) {
      calls.sigv4++;
      if (id === creds.accessKeyId) return { principal: invoker, secretAccessKey: creds.secretAccessKey };
      if (id === viewerCreds.accessKeyId) return { principal: viewer, secretAccessKey: viewerCreds.secretAccessKey };
      return undefined;
    },
    async authenticate(secret: string) {
      return secret === 'cap_bearer' ? invoker : undefined;
    },
    async touch() {},
    onRevoke() {},
  };
  return { keys: keys as unknown as ApiKeyStore, calls };
}

async function sign(body: string, c = creds, path = '/endpoints/shop/invocations'): Promise<Record<string, string>> {
  const signer = new SignatureV4({ credentials: c, region: 'us-east-1', service: 'sagemaker', sha256: NodeSha256 });
  const req = await signer.sign({ method: 'POST', protocol: 'http:', hostname: 'localhost', path, query: {}, headers: { host: 'localhost:80', 'content-type': 'application/json' }, body });
  return req.headers;
}

describe('installAuth with SigV4', () => {
  let app: FastifyInstance;
  let calls: { sigv4: number };

  before(async () => {
    const fake = fakeKeys();
    calls = fake.calls;
    app = Fastify();
    installAuth(app, fake.keys, true);
    app.setErrorHandler((err: Error, _request, reply) => {
      if (isCapstanError(err)) return reply.code(err.status).send({ code: err.code });
      return reply.code(500).send({ code: 'unexpected', message: err.message });
    });
    app.removeAllContentTypeParsers();
    app.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));
    const answer = async (request: { principal?: Principal; body: unknown }) => ({ principal: request.principal?.name ?? null, bytes: (request.body as Buffer | undefined)?.length ?? 0 });
    app.post('/endpoints/:name/invocations', { config: { access: 'invoker', sigv4: true } }, answer);
    app.post('/api/v1/things', { config: { access: 'invoker' } }, answer);
    app.post('/open', { config: { access: 'public' } }, answer);
    await app.ready();
  });
  after(() => app.close());

  const post = (url: string, headers: Record<string, string>, payload: string) => app.inject({ method: 'POST', url, headers, payload });

  it('serves a signed request as the key, the first one through a look-up and the next from the cache', async () => {
    const body = '{"a":1,"b":2}';
    const headers = await sign(body);
    const before = calls.sigv4;
    for (let i = 0; i < 3; i++) {
      const res = await post('/endpoints/shop/invocations', headers, body);
      assert.equal(res.statusCode, 200, res.body);
      assert.deepEqual(res.json(), { principal: 'client', bytes: body.length });
    }
    assert.ok(calls.sigv4 - before <= 1);
  });

  it('refuses a tampered body, an unknown access key and a key whose role is too low, with their codes', async () => {
    const body = '{"a":1,"b":2}';
    const tampered = await post('/endpoints/shop/invocations', await sign(body), '{"a":1,"b":3}');
    assert.deepEqual([tampered.statusCode, tampered.json().code], [403, 'CAPSTAN_AUTH_SIGNATURE_INVALID']);
    const unknown = await post('/endpoints/shop/invocations', await sign(body, { accessKeyId: 'CPAKUNKNOWNUNKNOWNUN', secretAccessKey: 'x' }), body);
    assert.deepEqual([unknown.statusCode, unknown.json().code], [403, 'CAPSTAN_AUTH_ACCESS_KEY_UNKNOWN']);
    const low = await post('/endpoints/shop/invocations', await sign(body, viewerCreds), body);
    assert.deepEqual([low.statusCode, low.json().code], [403, 'CAPSTAN_AUTH_FORBIDDEN']);
  });

  it('refuses a signature on a route that does not take them, and leaves public routes open', async () => {
    const res = await post('/api/v1/things', await sign('{}', creds, '/api/v1/things'), '{}');
    assert.deepEqual([res.statusCode, res.json().code], [401, 'CAPSTAN_AUTH_SIGV4_UNSUPPORTED']);
    const open = await post('/open', await sign('{}', creds, '/open'), '{}');
    assert.deepEqual([open.statusCode, open.json().principal], [200, null]);
  });

  it('still takes bearer keys on a SigV4 route and refuses a request with neither', async () => {
    const bearer = await post('/endpoints/shop/invocations', { 'content-type': 'application/json', authorization: 'Bearer cap_bearer' }, '{}');
    assert.deepEqual([bearer.statusCode, bearer.json().principal], [200, 'client']);
    const none = await post('/endpoints/shop/invocations', { 'content-type': 'application/json' }, '{}');
    assert.deepEqual([none.statusCode, none.json().code], [401, 'CAPSTAN_AUTH_REQUIRED']);
    const wrong = await post('/api/v1/things', { 'content-type': 'application/json', authorization: 'Bearer cap_wrong' }, '{}');
    assert.deepEqual([wrong.statusCode, wrong.json().code], [401, 'CAPSTAN_AUTH_INVALID_KEY']);
  });
});
