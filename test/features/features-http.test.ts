import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestServer, type TestServer } from '../../src/server/test-support/test-server.js';
import type { FeatureService } from '../../src/features/index.js';
import { DEFINITIONS } from './feature-fixtures.js';
import { FeaturesClient } from '../../src/sdk/features-client.js';
import { HttpClient } from '../../src/sdk/http-client.js';

async function call(s: TestServer, method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> {
  const res = await fetch(`${s.url}${path}`, { method, headers: body === undefined ? {} : { 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
  return { status: res.status, json: await res.json() };
}

describe('feature store over HTTP', () => {
  let s: TestServer;
  const now = Date.now();
  const iso = (ms: number) => new Date(ms).toISOString();
  before(async () => {
    s = await startTestServer({ 'features.pushMaxRecords': 3 });
  });
  after(() => s.dispose());

  it('applies definitions and lists them', async () => {
    const applied = await call(s, 'POST', '/api/v1/features/apply', DEFINITIONS);
    assert.equal(applied.status, 200);
    assert.deepEqual(applied.json.featureGroups, [{ name: 'txn', version: 1, action: 'created' }]);
    const groups = await call(s, 'GET', '/api/v1/feature-groups');
    assert.deepEqual(groups.json.items.map((g: { name: string; version: number }) => `${g.name}@${g.version}`), ['txn@1']);
    const missing = await call(s, 'GET', '/api/v1/feature-groups/none');
    assert.deepEqual([missing.status, missing.json.code], [404, 'CAPSTAN_FEATURES_NOT_FOUND']);
  });

  it('pushes records, enqueues materialization, and serves them online', async () => {
    const pushed = await call(s, 'POST', '/api/v1/feature-groups/txn/records', [
      { customer_id: 'c1', event_time: iso(now - 60_000), amount_sum: 4.5, txn_count: 2 },
      { customer_id: 'c2', event_time: iso(now - 2 * 3_600_000), amount_sum: 1, txn_count: 1 },
    ]);
    assert.equal(pushed.status, 200, JSON.stringify(pushed.json));
    assert.equal(pushed.json.rowsWritten, 2);
    const jobs = await s.platform.queue.list({ type: 'features.materialize' });
    assert.equal(jobs.jobs.length, 1);
    assert.deepEqual(jobs.jobs[0].payload, { group: 'txn', version: 1 });
    // Run the job as a worker would.
    const handler = s.platform.jobHandlers.get('features.materialize')!;
    await handler(jobs.jobs[0], undefined as never);
    const online = await call(s, 'POST', '/api/v1/features/online', { features: ['txn:amount_sum', 'txn@1:txn_count'], entities: [{ customer_id: 'c1' }, { customer_id: 'c2' }, { customer_id: 'c3' }] });
    assert.equal(online.status, 200);
    assert.deepEqual(online.json.features, ['txn:amount_sum', 'txn@1:txn_count']);
    assert.deepEqual(online.json.results[0], {
      entity: { customer_id: 'c1' },
      values: { 'txn:amount_sum': { value: 4.5, status: 'PRESENT', eventTime: iso(now - 60_000) }, 'txn@1:txn_count': { value: 2, status: 'PRESENT', eventTime: iso(now - 60_000) } },
    });
    assert.equal(online.json.results[1].values['txn:amount_sum'].status, 'EXPIRED');
    assert.equal(online.json.results[2].values['txn:amount_sum'].status, 'NOT_FOUND');
  });

  it('reports freshness per group on /metrics', async () => {
    const text = await (await fetch(`${s.url}/metrics`)).text();
    const line = text.split('\n').find((l) => l.startsWith('capstan_features_freshness_seconds{group="txn",version="1"}'));
    assert.ok(line, text.split('\n').filter((l) => l.includes('features')).join('\n'));
    assert.ok(Number(line.split(' ')[1]) >= 60);
  });

  it('answers the same freshness as JSON, over HTTP and through the SDK client alike', async () => {
    const fresh = await call(s, 'GET', '/api/v1/features/freshness');
    assert.equal(fresh.status, 200);
    assert.equal(fresh.json.items.length, 1);
    const [f] = fresh.json.items;
    assert.deepEqual([f.group, f.version, f.newestEventAt, f.rowsWritten], ['txn', 1, iso(now - 60_000), 2]);
    assert.ok(f.ageSeconds >= 60 && f.ageSeconds < 3600, String(f.ageSeconds));
    const viaClient = await new FeaturesClient(new HttpClient({ baseUrl: s.url })).freshness();
    assert.deepEqual(viaClient.map((x) => [x.group, x.version, x.newestEventAt]), [['txn', 1, iso(now - 60_000)]]);
  });

  it('answers 413 for a push over the limit and writes nothing', async () => {
    const before = await s.platform.context<FeatureService>('features').readOnline({ features: ['txn:amount_sum'], entities: [{ customer_id: 'c9' }] });
    const rows = Array.from({ length: 4 }, () => ({ customer_id: 'c9', event_time: iso(now), amount_sum: 1, txn_count: 1 }));
    const res = await call(s, 'POST', '/api/v1/feature-groups/txn/records', rows);
    assert.equal(res.status, 413);
    assert.equal(res.json.code, 'CAPSTAN_FEATURES_BATCH_TOO_LARGE');
    assert.match(res.json.detail, /the batch has 4 records; at most 3 are accepted per push/);
    assert.equal(before.results[0].values['txn:amount_sum'].status, 'NOT_FOUND');
    assert.equal((await s.platform.queue.list({ type: 'features.materialize' })).jobs.length, 1, 'no new materialization job');
  });

  it('answers per-row errors as problem+json', async () => {
    const res = await call(s, 'POST', '/api/v1/feature-groups/txn/records', [{ customer_id: 'c1', event_time: 'later', amount_sum: 1, txn_count: 1 }]);
    assert.equal(res.status, 400);
    assert.equal(res.json.code, 'CAPSTAN_FEATURES_RECORDS_INVALID');
    assert.deepEqual(res.json.errors, [{ row: 1, column: 'event_time', reason: 'not a valid timestamp: "later"' }]);
  });
});
