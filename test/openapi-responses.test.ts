import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { TSchema } from 'typebox';
import { Check, Errors } from 'typebox/value';
import { buildApp, type CapstanApp } from '../src/server/app.js';
import { componentSchemas } from '../src/server/openapi/component-schemas.js';
import { operationDocs } from '../src/server/openapi/operation-docs.js';
import { openServingTestPlatform, type ServingTestPlatform } from '../src/serving/test-support/serving-test-platform.js';

type Schema = TSchema & { properties?: Record<string, Schema>; patternProperties?: Record<string, Schema>; items?: Schema; anyOf?: Schema[]; additionalProperties?: unknown };

/** Paths of members a body has that its schema does not declare (where the schema lists properties). */
function undocumented(schema: Schema, value: unknown, at = '$'): string[] {
  if (schema.anyOf) {
    const fit = schema.anyOf.find((s) => Check(s, value));
    return fit ? undocumented(fit, value, at) : [];
  }
  if (Array.isArray(value) && schema.items) return value.flatMap((v, i) => undocumented(schema.items!, v, `${at}[${i}]`));
  if (!value || typeof value !== 'object' || Array.isArray(value)) return [];
  const entries = Object.entries(value as Record<string, unknown>);
  if (schema.patternProperties) {
    const inner = Object.values(schema.patternProperties)[0];
    return entries.flatMap(([k, v]) => undocumented(inner, v, `${at}.${k}`));
  }
  if (!schema.properties || schema.additionalProperties === true) return [];
  return entries.flatMap(([k, v]) => (schema.properties![k] ? undocumented(schema.properties![k], v, `${at}.${k}`) : [`${at}.${k}`]));
}

/** Asserts a body fits its documented schema and has no member the schema leaves out. */
function assertDocumented(what: string, schema: TSchema | null | undefined, body: unknown): void {
  assert.ok(schema, `${what} has no documented schema`);
  assert.deepEqual(Errors(schema, body), [], `${what}: ${JSON.stringify(body).slice(0, 400)}`);
  assert.deepEqual(undocumented(schema as Schema, body), [], `${what} has members the document does not name`);
}

const documented = (route: string, status: number) => operationDocs[route]?.responses?.[status];

const PIPELINE = `name: doc-check
parameters:
  who: { type: string, default: world }
steps:
  - name: greet
    type: processing
    command: [sh, -c, 'echo "hello \${params.who}"; echo "Loss=0.5;"']
    metric_definitions: [{ name: loss, regex: "Loss=([0-9.]+);" }]
triggers:
  - { name: ci, type: webhook }
`;

describe('documented response schemas match what the server sends', () => {
  let t: ServingTestPlatform;
  let app: CapstanApp;

  before(async () => {
    t = await openServingTestPlatform();
    await t.registerNcf('ncf', { users: 10, items: 20 });
    app = await buildApp(t.platform);
  });
  after(async () => {
    await app?.close();
    await t?.dispose();
  });

  it('endpoints: create, list, describe and deploy answer Endpoint, EndpointList and DeployResult with no undocumented member', async () => {
    const created = await app.inject({ method: 'POST', url: '/api/v1/endpoints', payload: { name: 'ncf', variants: [{ model: 'models:/ncf/1' }] } });
    assert.equal(created.statusCode, 201, created.body);
    assertDocumented('POST /api/v1/endpoints', componentSchemas.Endpoint, created.json());
    assertDocumented('GET /api/v1/endpoints', componentSchemas.EndpointList, (await app.inject({ method: 'GET', url: '/api/v1/endpoints' })).json());
    assertDocumented('GET /api/v1/endpoints/:name', componentSchemas.Endpoint, (await app.inject({ method: 'GET', url: '/api/v1/endpoints/ncf' })).json());
    const deployed = await app.inject({ method: 'POST', url: '/api/v1/endpoints/ncf/deploy', payload: { model: 'models:/ncf/1', instances: 1 } });
    assert.equal(deployed.statusCode, 200, deployed.body);
    assertDocumented('POST /api/v1/endpoints/:name/deploy', componentSchemas.DeployResult, deployed.json());
  });

  it('Open Inference Protocol: metadata, readiness and inference answer their documented schemas', async () => {
    const meta = await app.inject({ method: 'GET', url: '/v2/models/ncf' });
    assert.equal(meta.statusCode, 200, meta.body);
    assertDocumented('GET /v2/models/:name', componentSchemas.OipModelMetadata, meta.json());
    assertDocumented('GET /v2/models/:name/ready', documented('GET /v2/models/:name/ready', 200), (await app.inject({ method: 'GET', url: '/v2/models/ncf/ready' })).json());
    const inputs = meta.json().inputs.map((i: { name: string; datatype: string }) => ({ name: i.name, datatype: i.datatype, shape: [2], data: i.name === 'user' ? [1000, 1001] : [5000, 5001] }));
    const infer = await app.inject({ method: 'POST', url: '/v2/models/ncf/infer', headers: { 'content-type': 'application/json' }, payload: JSON.stringify({ id: 'r1', inputs }) });
    assert.equal(infer.statusCode, 200, infer.body);
    assertDocumented('POST /v2/models/:name/infer', componentSchemas.OipInferenceResponse, infer.json());
    assertDocumented('GET /v2/health/ready', documented('GET /v2/health/ready', 200), (await app.inject({ method: 'GET', url: '/v2/health/ready' })).json());
  });

  it('pipelines: apply, describe, start, execution, logs and list answer their documented schemas', async () => {
    const validated = await app.inject({ method: 'POST', url: '/api/v1/pipelines/validate', payload: { yaml: PIPELINE } });
    assertDocumented('POST /api/v1/pipelines/validate', documented('POST /api/v1/pipelines/validate', 200), validated.json());
    const applied = await app.inject({ method: 'PUT', url: '/api/v1/pipelines', payload: { yaml: PIPELINE } });
    assert.equal(applied.statusCode, 200, applied.body);
    assertDocumented('PUT /api/v1/pipelines', documented('PUT /api/v1/pipelines', 200), applied.json());
    const started = await app.inject({ method: 'POST', url: '/api/v1/pipelines/doc-check/executions', payload: { params: { who: 'docs' } } });
    assert.equal(started.statusCode, 201, started.body);
    assertDocumented('POST /api/v1/pipelines/:name/executions', componentSchemas.PipelineExecution, started.json());
    const id = started.json().id as string;
    await t.platform.pipelines.wait(id);
    const exec = await app.inject({ method: 'GET', url: `/api/v1/pipelines/doc-check/executions/${id}` });
    assert.equal(exec.json().state, 'succeeded', exec.body);
    assert.ok(exec.json().steps.length > 0);
    assertDocumented('GET /api/v1/pipelines/:name/executions/:id', componentSchemas.PipelineExecution, exec.json());
    assertDocumented('GET /api/v1/pipeline-executions/:id', componentSchemas.PipelineExecution, (await app.inject({ method: 'GET', url: `/api/v1/pipeline-executions/${id}` })).json());
    assertDocumented('GET /api/v1/pipelines/:name', componentSchemas.PipelineDescription, (await app.inject({ method: 'GET', url: '/api/v1/pipelines/doc-check' })).json());
    assertDocumented('GET /api/v1/pipelines', documented('GET /api/v1/pipelines', 200), (await app.inject({ method: 'GET', url: '/api/v1/pipelines' })).json());
    assertDocumented('GET /api/v1/pipeline-executions', documented('GET /api/v1/pipeline-executions', 200), (await app.inject({ method: 'GET', url: '/api/v1/pipeline-executions' })).json());
    const logs = await app.inject({ method: 'GET', url: `/api/v1/pipelines/doc-check/executions/${id}/logs` });
    assert.ok(logs.json().lines.length > 0);
    assertDocumented('GET /api/v1/pipelines/:name/executions/:id/logs', documented('GET /api/v1/pipelines/:name/executions/:id/logs', 200), logs.json());
    assertDocumented('GET /api/v1/pipeline-logs', documented('GET /api/v1/pipeline-logs', 200), (await app.inject({ method: 'GET', url: '/api/v1/pipeline-logs?q=hello' })).json());
  });

  it('registry, readiness and errors: versions, groups and problems fit their components', async () => {
    assertDocumented('GET /api/v1/models/:name/versions/:version', componentSchemas.ModelVersion, (await app.inject({ method: 'GET', url: '/api/v1/models/ncf/versions/1' })).json());
    assertDocumented('GET /api/v1/models/:name', componentSchemas.ModelGroup, (await app.inject({ method: 'GET', url: '/api/v1/models/ncf' })).json());
    assertDocumented('GET /readyz', documented('GET /readyz', 200), (await app.inject({ method: 'GET', url: '/readyz' })).json());
    const problem = await app.inject({ method: 'GET', url: '/api/v1/endpoints/nope' });
    assert.equal(problem.statusCode, 404);
    assert.deepEqual(Errors(componentSchemas.Problem, problem.json()), []);
  });
});
