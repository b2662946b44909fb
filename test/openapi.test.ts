import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Validator } from '@seriousme/openapi-schema-validator';
import type { TSchema } from 'typebox';
import { Errors } from 'typebox/value';
import { openTestPlatform, type TestPlatform } from '../src/platform/test-support/test-platform.js';
import { buildApp, type CapstanApp } from '../src/server/app.js';
import { componentSchemas } from '../src/server/openapi/component-schemas.js';

type Json = Record<string, unknown>;
interface Operation extends Json {
  operationId?: string;
  summary?: string;
  description?: string;
  tags?: string[];
  security?: unknown[];
  requestBody?: { content: Record<string, Json> };
  responses: Record<string, { content?: Record<string, Json> }>;
}

const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'];
// Probes answer 200 or a 5xx: no client error is possible, so none is documented.
const PROBES = new Set(['getLiveness', 'getReadiness', 'oipServerLive', 'oipServerReady']);
const PROBLEM_REF = '#/components/schemas/Problem';

function operations(doc: Json): { key: string; op: Operation }[] {
  const out: { key: string; op: Operation }[] = [];
  for (const [path, item] of Object.entries(doc.paths as Record<string, Record<string, Operation>>)) {
    for (const m of METHODS) if (item[m]) out.push({ key: `${m.toUpperCase()} ${path}`, op: item[m] });
  }
  return out;
}

/** Every `$ref` anywhere in a value. */
function refs(value: unknown, into = new Set<string>()): Set<string> {
  if (Array.isArray(value)) for (const v of value) refs(v, into);
  else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      if (k === '$ref' && typeof v === 'string') into.add(v);
      else refs(v, into);
    }
  }
  return into;
}

/** Asserts a real response body fits the component it is documented with. */
function assertFits(name: string, body: unknown): void {
  const errors = Errors(componentSchemas[name] as TSchema, body);
  assert.deepEqual(errors, [], `${name}: ${JSON.stringify(body).slice(0, 300)}`);
}

describe('OpenAPI document', () => {
  let t: TestPlatform;
  let app: CapstanApp;
  let doc: Json;
  before(async () => {
    t = await openTestPlatform();
    app = await buildApp(t.platform);
    const res = await app.inject({ method: 'GET', url: '/openapi.json' });
    assert.equal(res.statusCode, 200);
    doc = res.json();
  });
  after(async () => {
    await app?.close();
    await t?.dispose();
  });

  it('is served at /openapi.json and /docs/json alike, and is a valid OpenAPI 3.1 document', async () => {
    const legacy = await app.inject({ method: 'GET', url: '/docs/json' });
    assert.equal(legacy.statusCode, 200);
    assert.deepEqual(legacy.json(), doc);
    assert.equal(doc.openapi, '3.1.0');
    const result = await new Validator().validate(structuredClone(doc));
    assert.equal(result.valid, true, JSON.stringify(result.errors, null, 1)?.slice(0, 2000));
  });

  it("points Swagger UI's explore bar at /openapi.json", async () => {
    const init = await app.inject({ method: 'GET', url: '/docs/static/swagger-initializer.js' });
    assert.equal(init.statusCode, 200);
    assert.match(init.body, /"urls":\[\{"url":"\/openapi\.json"/);
  });

  it('gives every operation a summary, a description, declared tags and a unique operationId', () => {
    const ops = operations(doc);
    const declared = new Map((doc.tags as { name: string; description: string }[]).map((tag) => [tag.name, tag.description]));
    assert.ok(ops.length >= 60, `only ${ops.length} operations`);
    const ids = new Map<string, string>();
    for (const { key, op } of ops) {
      assert.ok(op.summary, `${key} has no summary`);
      assert.ok(op.description && op.description.length > 20, `${key} has no description`);
      assert.ok(op.tags?.length, `${key} has no tags`);
      for (const tag of op.tags) assert.ok(declared.get(tag), `${key}: tag ${tag} is not declared with a description`);
      assert.match(op.operationId ?? '', /^[a-z][A-Za-z0-9]+$/, `${key} has no operationId`);
      assert.equal(ids.get(op.operationId!), undefined, `${key} repeats the operationId of ${ids.get(op.operationId!)}`);
      ids.set(op.operationId!, key);
    }
  });

  it('documents every error answer as application/problem+json referencing Problem, with a 4xx on every operation but the probes', () => {
    for (const { key, op } of operations(doc)) {
      const errors = Object.keys(op.responses).filter((s) => Number(s) >= 400);
      for (const status of errors) {
        const media = op.responses[status].content?.['application/problem+json'];
        assert.ok(media, `${key} ${status} is not problem+json`);
        assert.deepEqual(media.schema, { $ref: PROBLEM_REF }, `${key} ${status}`);
        assert.ok(Object.keys(media.examples as Json).length > 0, `${key} ${status} has no example`);
      }
      if (PROBES.has(op.operationId!)) assert.ok(errors.some((s) => Number(s) >= 500), `${key} documents no 5xx`);
      else assert.ok(errors.some((s) => Number(s) < 500), `${key} documents no 4xx`);
      assert.ok(errors.includes('500'), `${key} documents no 500`);
    }
  });

  it('names the shared schemas under components.schemas and references each of them', () => {
    const components = (doc.components as { schemas: Json }).schemas;
    for (const name of ['Problem', 'ModelGroup', 'ModelVersion', 'Run', 'Experiment', 'Job', 'ApiKey', 'Endpoint', 'DeployResult', 'PipelineExecution', 'Pipeline', 'OipInferenceRequest']) {
      assert.ok(components[name], `no component ${name}`);
    }
    assert.ok(!Object.keys(components).some((n) => n.startsWith('def-')), 'an unnamed def-N component');
    const used = refs({ paths: doc.paths, schemas: components });
    for (const name of Object.keys(components)) assert.ok(used.has(`#/components/schemas/${name}`), `component ${name} is never referenced`);
  });

  it('has an example on every request body', () => {
    for (const { key, op } of operations(doc)) {
      for (const [type, media] of Object.entries(op.requestBody?.content ?? {})) {
        assert.ok(media.example !== undefined || media.examples, `${key} request ${type} has no example`);
      }
    }
    const withBody = operations(doc).filter(({ op }) => op.requestBody).length;
    assert.ok(withBody >= 20, `only ${withBody} request bodies`);
  });

  it('has examples that fit their schemas: request bodies, success responses and problems', () => {
    const local = (v: unknown) => JSON.parse(JSON.stringify(v).replace(/"#\/components\/schemas\/([A-Za-z0-9]+)"/g, '"$1"'));
    const context = local((doc.components as { schemas: Json }).schemas);
    const misfits: string[] = [];
    const check = (where: string, media: Json | undefined) => {
      if (!media?.schema) return;
      const examples = media.example !== undefined ? [media.example] : Object.values((media.examples as Record<string, { value: unknown }>) ?? {}).map((e) => e.value);
      for (const example of examples) {
        const errors = Errors(context, local(media.schema), example);
        if (errors.length) misfits.push(`${where}: ${JSON.stringify(errors[0])}`);
      }
    };
    let checked = 0;
    for (const { key, op } of operations(doc)) {
      const media = [
        ...Object.entries(op.requestBody?.content ?? {}).map(([type, m]) => ({ where: `${key} request`, type, m })),
        ...Object.entries(op.responses).flatMap(([status, r]) => Object.entries(r.content ?? {}).map(([type, m]) => ({ where: `${key} ${status}`, type, m }))),
      ];
      for (const { where, type, m } of media) {
        if (!type.endsWith('json')) continue;
        check(where, m);
        checked++;
      }
    }
    assert.ok(checked > 100, `only ${checked} media checked`);
    assert.deepEqual(misfits, []);
  });

  it('documents the invocation bodies as JSON, CSV or binary, and the Open Inference Protocol request by schema', () => {
    const invoke = (doc.paths as Record<string, Record<string, Operation>>)['/endpoints/{name}/invocations'].post;
    assert.deepEqual(Object.keys(invoke.requestBody!.content).sort(), ['application/json', 'application/octet-stream', 'text/csv']);
    const infer = (doc.paths as Record<string, Record<string, Operation>>)['/v2/models/{name}/infer'].post;
    assert.deepEqual(infer.requestBody!.content['application/json'].schema, { $ref: '#/components/schemas/OipInferenceRequest' });
  });

  it('passes invocation bodies to the handler unvalidated: CSV and a non-conforming OIP body reach the serving code', async () => {
    const csv = await app.inject({ method: 'POST', url: '/endpoints/nope/invocations', headers: { 'content-type': 'text/csv' }, payload: '1,2,3\n4,5,6' });
    assert.equal(csv.json().code, 'CAPSTAN_SERVING_ENDPOINT_NOT_FOUND');
    const oip = await app.inject({ method: 'POST', url: '/v2/models/nope/infer', headers: { 'content-type': 'application/json' }, payload: '{"inputs":"not a list"}' });
    assert.equal(oip.statusCode, 400);
    assert.equal(oip.json().code, 'CAPSTAN_SERVING_INVALID_INPUT');
  });

  it('documents bodies the server really sends: keys, runs, experiments and problems fit their components', async () => {
    const key = await app.inject({ method: 'POST', url: '/api/v1/keys', payload: { name: 'doc-check', role: 'viewer' } });
    assert.equal(key.statusCode, 201);
    assertFits('CreatedApiKey', key.json());
    const exp = await app.inject({ method: 'POST', url: '/api/v1/experiments', payload: { name: 'doc-exp' } });
    assertFits('Experiment', exp.json());
    const run = await app.inject({ method: 'POST', url: '/api/v1/runs', payload: { experiment: 'doc-exp', params: { lr: 0.1 } } });
    assertFits('Run', run.json());
    const missing = await app.inject({ method: 'GET', url: '/api/v1/models/nope' });
    assert.equal(missing.statusCode, 404);
    assertFits('Problem', missing.json());
  });

  it('prints the document counts', () => {
    const ops = operations(doc);
    const text = JSON.stringify(doc.paths);
    const examples = (text.match(/"example":/g)?.length ?? 0) + (text.match(/"examples":\{/g)?.length ?? 0);
    const named = Object.keys((doc.components as { schemas: Json }).schemas).length;
    console.log(`openapi: ${ops.length} operations, ${ops.filter(({ op }) => op.description).length} descriptions, ${examples} examples, ${named} named schemas`);
  });
});

describe('OpenAPI document with auth on', () => {
  it('requires the bearer key on every operation except the public probes and the signed webhooks, which need none', async () => {
    const t = await openTestPlatform({ 'server.auth': true });
    const app = await buildApp(t.platform);
    try {
      const doc = (await app.inject({ method: 'GET', url: '/openapi.json' })).json();
      assert.deepEqual(doc.security, [{ apiKey: [] }]);
      const open = operations(doc).filter(({ op }) => Array.isArray(op.security) && op.security.length === 0).map(({ op }) => op.operationId).sort();
      assert.deepEqual(open, ['getLiveness', 'getReadiness', 'oipServerLive', 'oipServerReady', 'repositoryPushWebhook', 'triggerPipelineWebhook']);
      for (const { key, op } of operations(doc)) {
        if (open.includes(op.operationId ?? '')) continue;
        assert.ok(op.responses['401'] && op.responses['403'], `${key} does not document 401 and 403`);
        assert.ok(['admin', 'editor', 'approver', 'invoker', 'viewer'].includes(op['x-capstan-access'] as string), `${key} names no role`);
      }
    } finally {
      await app.close();
      await t.dispose();
    }
  });
});
