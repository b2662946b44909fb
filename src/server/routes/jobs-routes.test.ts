import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { openTestPlatform, type TestPlatform } from '../../platform/test-support/test-platform.js';
import { buildApp, type CapstanApp } from '../app.js';

describe('jobs API', () => {
  let tp: TestPlatform;
  let app: CapstanApp;
  let viewer: string;
  let editor: string;

  before(async () => {
    tp = await openTestPlatform({ 'server.auth': true });
    app = await buildApp(tp.platform);
    viewer = (await tp.platform.apiKeys.create('ops-viewer', 'viewer')).key;
    editor = (await tp.platform.apiKeys.create('ops-editor', 'editor')).key;
  });
  after(async () => {
    await app?.close();
    await tp?.dispose();
  });

  const call = (method: 'GET' | 'POST', url: string, key?: string) =>
    app.inject({ method, url, headers: key ? { authorization: `Bearer ${key}` } : {} });

  it('lists jobs with filters and pages', async () => {
    const { queue } = tp.platform;
    const a = await queue.enqueue('demo.a', { n: 1 }, { queue: 'api' });
    const b = await queue.enqueue('demo.b', { n: 2 }, { queue: 'api' });
    const all = await call('GET', '/api/v1/jobs?queue=api', viewer);
    assert.equal(all.statusCode, 200);
    assert.deepEqual(all.json().jobs.map((j: { id: string }) => j.id).sort(), [a.id, b.id].sort());
    const page = await call('GET', '/api/v1/jobs?queue=api&limit=1', viewer);
    assert.equal(page.json().jobs.length, 1);
    assert.equal(typeof page.json().nextCursor, 'string');
    const byType = await call('GET', '/api/v1/jobs?type=demo.b', viewer);
    assert.deepEqual(byType.json().jobs.map((j: { id: string }) => j.id), [b.id]);
    assert.deepEqual(byType.json().jobs[0].payload, { n: 2 });
  });

  it('rejects a bad filter with CAPSTAN_REQUEST_INVALID', async () => {
    const res = await call('GET', '/api/v1/jobs?state=finished', viewer);
    assert.equal(res.statusCode, 400);
    assert.equal(res.headers['content-type'], 'application/problem+json; charset=utf-8');
    assert.equal(res.json().code, 'CAPSTAN_REQUEST_INVALID');
    assert.match(res.json().detail, /state/);
  });

  it('shows one job and answers 404 CAPSTAN_QUEUE_JOB_NOT_FOUND for an unknown id', async () => {
    const job = await tp.platform.queue.enqueue('demo.a', {}, { queue: 'show' });
    const res = await call('GET', `/api/v1/jobs/${job.id}`, viewer);
    assert.equal(res.statusCode, 200);
    assert.equal(res.json().id, job.id);
    assert.equal(res.json().state, 'queued');
    const missing = await call('GET', '/api/v1/jobs/job_nope', viewer);
    assert.equal(missing.statusCode, 404);
    assert.equal(missing.json().code, 'CAPSTAN_QUEUE_JOB_NOT_FOUND');
    assert.match(missing.json().detail, /no job "job_nope"/);
  });

  it('cancels a queued job, refuses to cancel it twice with 409, and retries it', async () => {
    const job = await tp.platform.queue.enqueue('demo.a', {}, { queue: 'writes' });
    const cancelled = await call('POST', `/api/v1/jobs/${job.id}/cancel`, editor);
    assert.equal(cancelled.statusCode, 200);
    assert.equal(cancelled.json().state, 'cancelled');
    const again = await call('POST', `/api/v1/jobs/${job.id}/cancel`, editor);
    assert.equal(again.statusCode, 409);
    assert.equal(again.json().code, 'CAPSTAN_QUEUE_JOB_STATE_INVALID');
    assert.match(again.json().detail, /is cancelled; only queued jobs can be cancelled/);
    assert.equal((await tp.platform.queue.get(job.id)).state, 'cancelled');
    const retried = await call('POST', `/api/v1/jobs/${job.id}/retry`, editor);
    assert.equal(retried.statusCode, 200);
    assert.equal(retried.json().state, 'queued');
    const badRetry = await call('POST', `/api/v1/jobs/${job.id}/retry`, editor);
    assert.equal(badRetry.statusCode, 409);
    assert.match(badRetry.json().detail, /only dead or cancelled jobs can be retried/);
  });

  it('counts jobs by state', async () => {
    const res = await call('GET', '/api/v1/jobs/stats', viewer);
    assert.equal(res.statusCode, 200);
    assert.deepEqual(Object.keys(res.json()).sort(), ['cancelled', 'dead', 'queued', 'running', 'succeeded']);
  });

  it('needs a key to read and the editor role to write', async () => {
    const job = await tp.platform.queue.enqueue('demo.a', {}, { queue: 'authz' });
    assert.equal((await call('GET', '/api/v1/jobs')).statusCode, 401);
    const forbidden = await call('POST', `/api/v1/jobs/${job.id}/cancel`, viewer);
    assert.equal(forbidden.statusCode, 403);
    assert.equal(forbidden.json().code, 'CAPSTAN_AUTH_FORBIDDEN');
    assert.equal((await tp.platform.queue.get(job.id)).state, 'queued', 'nothing changed');
  });
});
