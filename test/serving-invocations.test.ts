import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as ort from 'onnxruntime-node';
import { buildApp, type CapstanApp } from '../src/server/app.js';
import { openServingTestPlatform, type ServingTestPlatform } from '../src/serving/test-support/serving-test-platform.js';
import type { NcfFixture } from '../src/serving/test-support/ncf-package-fixture.js';

const LIMIT = 4096;

describe('real-time endpoint serving an NCF model from the registry', () => {
  let t: ServingTestPlatform;
  let app: CapstanApp;
  let fixture: NcfFixture;
  let session: ort.InferenceSession;

  /** Scores the model gives dense (user, item) pairs, straight from ONNX Runtime. */
  async function expectedScores(user: number, items: number[]): Promise<number[]> {
    const out = await session.run({
      user: new ort.Tensor('int64', BigInt64Array.from(items.map(() => BigInt(user))), [items.length]),
      item: new ort.Tensor('int64', BigInt64Array.from(items.map((i) => BigInt(i))), [items.length]),
    });
    return Array.from(out.score.data as Float32Array);
  }

  const invoke = (body: unknown, headers: Record<string, string> = {}) =>
    app.inject({ method: 'POST', url: '/endpoints/ncf/invocations', headers: { 'content-type': 'application/json', ...headers }, payload: typeof body === 'string' ? body : JSON.stringify(body) });

  before(async () => {
    t = await openServingTestPlatform({ 'server.invocationBodyLimit': LIMIT });
    const registered = await t.registerNcf('ncf', { users: 20, items: 60 });
    fixture = registered.fixture;
    await t.registry.setAlias('ncf', 'champion', registered.version);
    session = await ort.InferenceSession.create(path.join(fixture.dir, 'model.onnx'));
    app = await buildApp(t.platform);
  });

  after(async () => {
    await app?.close();
    await session?.release();
    await t?.dispose();
  });

  it('creates an endpoint from an alias reference and reports it InService with the pinned version', async () => {
    const res = await app.inject({ method: 'POST', url: '/api/v1/endpoints', payload: { name: 'ncf', variants: [{ model: 'models:/ncf@champion' }] } });
    assert.equal(res.statusCode, 201, res.body);
    const ep = res.json();
    assert.equal(ep.status, 'InService');
    assert.equal(ep.variants[0].name, 'primary');
    assert.deepEqual(ep.variants[0].resolved.version, 1);
    assert.equal(ep.variants[0].live.workers, 1);
    assert.equal(ep.variants[0].live.trafficPercent, 100);
  });

  it("ranks the source team's pair request by the model's scores", async () => {
    const items = [5001, 5002, 5003, 5010, 5020];
    const res = await invoke({ user: [1003, 1003, 1003, 1003, 1003], item: items });
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(res.headers['x-capstan-invoked-variant'], 'primary');
    const body = res.json();
    const scores = await expectedScores(3, items.map((i) => i - 5000));
    const expected = items.map((item, i) => ({ item, score: scores[i] })).sort((a, b) => b.score - a.score);
    assert.equal(body.user, 1003);
    assert.deepEqual(body.items, expected.map((e) => e.item));
    body.scores.forEach((s: number, i: number) => assert.ok(Math.abs(s - expected[i].score) < 1e-5));
  });

  it('ranks {user, items} and truncates to k', async () => {
    const res = await invoke({ user: 1004, items: [5005, 5006, 5007, 5008], k: 2 });
    assert.equal(res.statusCode, 200, res.body);
    const body = res.json();
    assert.equal(body.items.length, 2);
    assert.ok(body.scores[0] >= body.scores[1]);
  });

  it('answers top-k over all items, excluding the items the user saw in training', async () => {
    const res = await invoke({ user: 1002, k: 10 });
    assert.equal(res.statusCode, 200, res.body);
    const body = res.json();
    assert.equal(body.items.length, 10);
    const known = new Set(fixture.userItems[2].map((d) => fixture.itemIds[d]));
    for (const item of body.items) assert.ok(!known.has(item), `known item ${item} was recommended`);
    const all = await expectedScores(2, fixture.itemIds.map((_, d) => d).filter((d) => !fixture.userItems[2].includes(d)));
    const best = Math.max(...all);
    assert.ok(Math.abs(body.scores[0] - best) < 1e-5);
  });

  it('refuses unknown users and items with 400 naming them, and serves the next request normally', async () => {
    const res = await invoke({ user: 77, items: [5001, 999999] });
    assert.equal(res.statusCode, 400);
    assert.match(res.headers['content-type'] as string, /application\/problem\+json/);
    const problem = res.json();
    assert.equal(problem.code, 'CAPSTAN_SERVING_UNKNOWN_IDS');
    assert.match(problem.detail, /unknown users \[77\]/);
    assert.match(problem.detail, /unknown items \[999999\]/);
    assert.equal((await invoke({ user: 1001, items: [5001] })).statusCode, 200);
  });

  it('answers 400 for malformed JSON and wrong shapes, as problem+json', async () => {
    const malformed = await invoke('{"user": [1,');
    assert.equal(malformed.statusCode, 400);
    assert.equal(malformed.json().code, 'CAPSTAN_SERVING_MALFORMED_JSON');
    const mismatch = await invoke({ user: [1001, 1001], item: [5001] });
    assert.equal(mismatch.statusCode, 400);
    assert.equal(mismatch.json().code, 'CAPSTAN_SERVING_INVALID_INPUT');
    assert.match(mismatch.json().detail, /"user" has 2 entries but "item" has 1/);
  });

  it('answers 413 for a body over the invocation limit, and stays healthy', async () => {
    const res = await invoke({ user: 1001, items: Array.from({ length: 2000 }, (_, i) => 5000 + (i % 60)) });
    assert.equal(res.statusCode, 413);
    assert.equal(res.json().code, 'CAPSTAN_SERVING_PAYLOAD_TOO_LARGE');
    assert.equal((await app.inject({ method: 'GET', url: '/healthz' })).statusCode, 200);
    assert.equal((await invoke({ user: 1001, items: [5001, 5002] })).statusCode, 200);
  });

  it('answers 404 for an unknown endpoint and 400 for an unknown target variant', async () => {
    const missing = await app.inject({ method: 'POST', url: '/endpoints/nope/invocations', headers: { 'content-type': 'application/json' }, payload: '{}' });
    assert.equal(missing.statusCode, 404);
    assert.equal(missing.json().code, 'CAPSTAN_SERVING_ENDPOINT_NOT_FOUND');
    const variant = await invoke({ user: 1001, items: [5001] }, { 'x-capstan-target-variant': 'blue' });
    assert.equal(variant.statusCode, 400);
    assert.equal(variant.json().code, 'CAPSTAN_SERVING_VARIANT_NOT_FOUND');
  });

  it('serves the Open Inference Protocol v2: health, metadata, readiness and inference', async () => {
    assert.deepEqual((await app.inject({ method: 'GET', url: '/v2/health/live' })).json(), { live: true });
    assert.deepEqual((await app.inject({ method: 'GET', url: '/v2/health/ready' })).json(), { ready: true });
    const meta = (await app.inject({ method: 'GET', url: '/v2/models/ncf' })).json();
    assert.equal(meta.name, 'ncf');
    assert.deepEqual(meta.versions, ['1']);
    assert.equal(meta.platform, 'onnxruntime_onnx');
    assert.deepEqual(meta.inputs.map((i: { name: string; datatype: string }) => `${i.name}:${i.datatype}`), ['user:INT64', 'item:INT64']);
    assert.equal((await app.inject({ method: 'GET', url: '/v2/models/ncf/ready' })).statusCode, 200);
    const res = await app.inject({
      method: 'POST',
      url: '/v2/models/ncf/infer',
      headers: { 'content-type': 'application/json' },
      payload: { id: 'r1', inputs: [{ name: 'user', shape: [2], datatype: 'INT64', data: [1001, 1001] }, { name: 'item', shape: [2], datatype: 'INT64', data: [5003, 5004] }] },
    });
    assert.equal(res.statusCode, 200, res.body);
    const body = res.json();
    assert.equal(body.model_name, 'ncf');
    assert.equal(body.id, 'r1');
    assert.equal(body.outputs[0].name, 'score');
    assert.equal(body.outputs[0].datatype, 'FP32');
    const expected = await expectedScores(1, [3, 4]);
    body.outputs[0].data.forEach((s: number, i: number) => assert.ok(Math.abs(s - expected[i]) < 1e-5));
  });

  it('answers concurrent Open Inference Protocol requests with their own tensors', async () => {
    // Their tensors move to the model thread together in one message and come back the same way.
    const items = [3, 4, 5, 6, 7, 8];
    const responses = await Promise.all(
      items.map((item) =>
        app.inject({
          method: 'POST',
          url: '/v2/models/ncf/infer',
          headers: { 'content-type': 'application/json' },
          payload: { inputs: [{ name: 'user', shape: [1], datatype: 'INT64', data: [1001] }, { name: 'item', shape: [1], datatype: 'INT64', data: [5000 + item] }] },
        }),
      ),
    );
    const expected = await expectedScores(1, items);
    responses.forEach((res, i) => {
      assert.equal(res.statusCode, 200, res.body);
      assert.ok(Math.abs(res.json().outputs[0].data[0] - expected[i]) < 1e-5, `item ${items[i]}`);
    });
  });

  it('counts invocations and errors per endpoint and variant in /metrics', async () => {
    const text = (await app.inject({ method: 'GET', url: '/metrics' })).body;
    assert.match(text, /capstan_endpoint_invocations_total\{endpoint="ncf",variant="primary"\} \d+/);
    assert.match(text, /capstan_endpoint_invocation_4xx_errors_total\{endpoint="ncf",variant="primary"\} [1-9]/);
    assert.match(text, /capstan_endpoint_model_latency_seconds_count\{endpoint="ncf",variant="primary"\} [1-9]/);
    assert.match(text, /capstan_endpoint_overhead_latency_seconds_count\{endpoint="ncf",variant="primary"\} [1-9]/);
  });
});
