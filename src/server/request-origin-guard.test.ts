import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import Fastify from 'fastify';
import { installProblemHandlers } from '../core/problem.js';
import { installOriginGuard } from './request-origin-guard.js';
import type {} from './route-access.js';

async function guardedApp(bindHost: string, allowedHosts: string[] = []) {
  const app = Fastify();
  installProblemHandlers(app);
  installOriginGuard(app, { bindHost, allowedHosts, allowedOrigins: [] });
  const ok = async () => ({ ok: true });
  app.post('/api/v1/things', { config: { access: 'editor' } }, ok);
  await app.ready();
  return app;
}

describe('request origin guard', () => {
  it('keeps refusing a foreign Host and admitting a loopback one, request after request', async () => {
    const app = await guardedApp('127.0.0.1');
    try {
      for (let i = 0; i < 3; i++) {
        for (const [host, status] of [['127.0.0.1:8080', 200], ['evil.example:8080', 421], ['LOCALHOST:8080', 200], ['localhost.evil.example', 421]] as const) {
          const res = await app.inject({ method: 'POST', url: '/api/v1/things', headers: { host } });
          assert.equal(res.statusCode, status, `${host} (round ${i})`);
          if (status === 421) assert.equal(res.json().code, 'CAPSTAN_REQUEST_HOST_NOT_ALLOWED');
        }
      }
    } finally {
      await app.close();
    }
  });

  it('decides correctly for more distinct Host values than it remembers', async () => {
    const app = await guardedApp('0.0.0.0', ['capstan.internal']);
    try {
      for (let i = 0; i < 600; i++) {
        const host = i % 2 === 0 ? `other-${i}.example` : 'capstan.internal';
        const res = await app.inject({ method: 'POST', url: '/api/v1/things', headers: { host } });
        assert.equal(res.statusCode, i % 2 === 0 ? 421 : 200, host);
      }
    } finally {
      await app.close();
    }
  });
});
