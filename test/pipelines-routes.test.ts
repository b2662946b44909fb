import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { compileConfig } from '../src/core/config.js';
import { silentLogger } from '../src/core/logger.js';
import { signDeprecatedWebhook } from '../src/pipelines/triggers/webhook-signature.js';
import { openPlatform, type Platform } from '../src/platform/platform.js';
import { buildApp, type CapstanApp } from '../src/server/app.js';
import { signedBy } from './pipelines-support.js';

const YAML = `name: hello
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

describe('pipelines HTTP API', () => {
  let home: string;
  let platform: Platform;
  let app: CapstanApp;
  let secret: string;
  before(async () => {
    home = mkdtempSync(path.join(os.tmpdir(), 'capstan-pl-routes-'));
    platform = await openPlatform({ config: compileConfig({ flags: { home }, env: {}, cwd: home }), logger: silentLogger() });
    app = await buildApp(platform);
  });
  after(async () => {
    await app?.close();
    await platform?.close();
    rmSync(home, { recursive: true, force: true });
  });

  it('refuses an invalid definition with problem+json naming file, line and path, and stores nothing', async () => {
    const res = await app.inject({ method: 'PUT', url: '/api/v1/pipelines', payload: { yaml: 'name: bad\nsteps:\n  - name: a\n    type: teleport\n', file: 'bad.yaml' } });
    assert.equal(res.statusCode, 400);
    assert.match(res.headers['content-type'] as string, /problem\+json/);
    const body = res.json();
    assert.equal(body.code, 'CAPSTAN_PIPELINE_INVALID');
    assert.match(body.detail, /^bad\.yaml:4:11 steps\[0\]\.type: unknown step type "teleport"/);
    assert.equal(body.issues[0].line, 4);
    assert.deepEqual((await app.inject({ method: 'GET', url: '/api/v1/pipelines' })).json(), { pipelines: [] });
  });

  it('applies, runs with a parameter override, and serves the execution, its logs (JSON and SSE) and log search', async () => {
    const applied = await app.inject({ method: 'PUT', url: '/api/v1/pipelines', payload: { yaml: YAML } });
    assert.equal(applied.statusCode, 200, applied.body);
    secret = applied.json().webhookSecrets.ci;
    assert.ok(secret);
    const started = await app.inject({ method: 'POST', url: '/api/v1/pipelines/hello/executions', payload: { params: { who: 'capstan' } } });
    assert.equal(started.statusCode, 201, started.body);
    const id = started.json().id;
    const done = await platform.pipelines.wait(id);
    assert.equal(done.state, 'succeeded');
    const exec = (await app.inject({ method: 'GET', url: `/api/v1/pipelines/hello/executions/${id}` })).json();
    assert.deepEqual(exec.steps[0].metrics, { loss: 0.5 });
    const logs = (await app.inject({ method: 'GET', url: `/api/v1/pipelines/hello/executions/${id}/logs?step=greet` })).json();
    assert.ok(logs.lines.some((l: { line: string }) => l.line === 'hello capstan'));
    const sse = await app.inject({ method: 'GET', url: `/api/v1/pipelines/hello/executions/${id}/logs`, headers: { accept: 'text/event-stream' } });
    assert.match(sse.headers['content-type'] as string, /text\/event-stream/);
    assert.match(sse.body, /event: log\ndata: .*hello capstan/);
    assert.match(sse.body, /event: end\ndata: {"state":"succeeded"}/);
    const found = (await app.inject({ method: 'GET', url: '/api/v1/pipeline-logs?q=loss%3D&pipeline=hello' })).json();
    const printed = found.lines.filter((l: { stream: string }) => l.stream === 'stdout');
    assert.equal(printed.length, 1, 'the step printed it once (the logged command line matches too)');
    assert.equal(printed[0].executionId, id);
    assert.equal(printed[0].line, 'Loss=0.5;');
  });

  it('searches logs by regex on a linear-time engine and refuses patterns RE2 cannot run with CAPSTAN_REQUEST_REGEX_INVALID', async () => {
    const line = `${'a'.repeat(30)}!`;
    await platform.pipelines.logs.insert([{ execution_id: 'redos-probe', pipeline: 'redos', step: 's', attempt: 1, seq: 0, at: Date.now(), stream: 'stdout', line }]);
    // Exponential for a backtracking engine (seconds at 30 characters, doubling with each one); linear on RE2.
    const nested = await app.inject({ method: 'GET', url: '/api/v1/pipeline-logs?q=^(a%2B)%2B$&regex=true&pipeline=redos' });
    assert.equal(nested.statusCode, 200, nested.body);
    assert.deepEqual(nested.json().lines, []);
    const plain = await app.inject({ method: 'GET', url: '/api/v1/pipeline-logs?q=^a%2B!$&regex=true&pipeline=redos' });
    assert.deepEqual(plain.json().lines.map((l: { line: string }) => l.line), [line]);
    for (const q of ['(a)\\1', 'a(%3F=!)', '(unclosed']) {
      const res = await app.inject({ method: 'GET', url: `/api/v1/pipeline-logs?q=${q}&regex=true&pipeline=redos` });
      assert.equal(res.statusCode, 400, `${q}: ${res.body}`);
      assert.match(String(res.headers['content-type']), /^application\/problem\+json/);
      assert.equal(res.json().code, 'CAPSTAN_REQUEST_REGEX_INVALID', q);
      assert.match(res.json().detail, /not a valid RE2 regular expression/);
    }
  });

  it('starts an execution from a correctly signed webhook only', async () => {
    const body = JSON.stringify({ params: { who: 'hook' } });
    const bad = await app.inject({ method: 'POST', url: '/api/v1/pipelines/hello/webhooks/ci', headers: { 'content-type': 'application/json', ...signedBy.standard('whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', body) }, payload: body });
    assert.equal(bad.statusCode, 401);
    assert.equal(bad.json().code, 'CAPSTAN_PIPELINE_WEBHOOK_SIGNATURE_INVALID');
    const ok = await app.inject({ method: 'POST', url: '/api/v1/pipelines/hello/webhooks/ci', headers: { 'content-type': 'application/json', ...signedBy.standard(secret, body) }, payload: body });
    assert.equal(ok.statusCode, 202, ok.body);
    assert.deepEqual(ok.json().params, { who: 'hook' });
    assert.equal(ok.json().trigger.type, 'webhook');
    assert.equal(ok.headers.deprecation, undefined);
  });

  it('acknowledges a replayed signed webhook as a duplicate and starts nothing more', async () => {
    const body = JSON.stringify({ params: { who: 'replayed' } });
    const headers: Record<string, string> = { 'content-type': 'application/json', ...signedBy.standard(secret, body) };
    const before = (await platform.pipelines.executions({ pipeline: 'hello' })).length;
    const first = await app.inject({ method: 'POST', url: '/api/v1/pipelines/hello/webhooks/ci', headers, payload: body });
    assert.equal(first.statusCode, 202, first.body);
    const resigned = { 'content-type': 'application/json', ...signedBy.standard(secret, body, { id: headers['webhook-id'], timestamp: Number(headers['webhook-timestamp']) - 1 }) };
    for (const replay of [headers, resigned]) {
      const res = await app.inject({ method: 'POST', url: '/api/v1/pipelines/hello/webhooks/ci', headers: replay, payload: body });
      assert.equal(res.statusCode, 200, res.body);
      assert.deepEqual(res.json(), { duplicate: true, started: false, executionId: first.json().id });
    }
    assert.equal((await platform.pipelines.executions({ pipeline: 'hello' })).length, before + 1);
  });

  it('still accepts the deprecated X-Capstan-Signature (with a Deprecation header) and treats a retry with the same X-Capstan-Delivery id as a duplicate even when re-signed', async () => {
    const body = JSON.stringify({ params: { who: 'retried' } });
    const now = Math.floor(Date.now() / 1000);
    const send = (t: number) => app.inject({ method: 'POST', url: '/api/v1/pipelines/hello/webhooks/ci', headers: { 'content-type': 'application/json', 'x-capstan-delivery': 'd-42', 'x-capstan-signature': signDeprecatedWebhook(secret, body, t) }, payload: body });
    const first = await send(now - 1);
    assert.equal(first.statusCode, 202, first.body);
    assert.equal(first.headers.deprecation, '@1796083200', 'RFC 9745: deprecated since 2026-12-01');
    const retry = await send(now);
    assert.equal(retry.statusCode, 200, retry.body);
    assert.equal(retry.json().executionId, first.json().id);
  });

  it('refuses unknown parameters', async () => {
    const res = await app.inject({ method: 'POST', url: '/api/v1/pipelines/hello/executions', payload: { params: { nope: 1 } } });
    assert.equal(res.statusCode, 400);
    assert.equal(res.json().code, 'CAPSTAN_PIPELINE_PARAMETER_INVALID');
    assert.match(res.json().detail, /has no parameter "nope"; it has who/);
  });

  it('refuses a definition over an applied one (non-boolean condition, function step without code, code not uploaded) and leaves the applied version as it was', async () => {
    const before = (await app.inject({ method: 'GET', url: '/api/v1/pipelines/hello' })).json();
    const broken = {
      condition: `name: hello
parameters:
  who: { type: string, default: world }
steps:
  - { name: check, type: condition, if: "params.who", then: [f] }
  - { name: f, type: fail }
`,
      function: `name: hello
steps:
  - { name: fn, type: function, module: f.mjs }
`,
      code: `name: hello
code: ./src
steps:
  - { name: a, type: processing, command: "true" }
`,
    };
    const expected = { condition: 'CAPSTAN_PIPELINE_INVALID', function: 'CAPSTAN_PIPELINE_INVALID', code: 'CAPSTAN_PIPELINE_CODE_INVALID' };
    for (const [what, yaml] of Object.entries(broken)) {
      const res = await app.inject({ method: 'PUT', url: '/api/v1/pipelines', payload: { yaml, file: `${what}.yaml` } });
      assert.equal(res.statusCode, 400, `${what}: ${res.body}`);
      assert.match(res.headers['content-type'] as string, /problem\+json/);
      assert.equal(res.json().code, expected[what as keyof typeof expected], res.body);
    }
    assert.match((await app.inject({ method: 'PUT', url: '/api/v1/pipelines', payload: { yaml: broken.code } })).json().detail, /^code directory \.\/src: does not exist$/);
    const afterwards = (await app.inject({ method: 'GET', url: '/api/v1/pipelines/hello' })).json();
    assert.equal(afterwards.version, before.version);
    assert.deepEqual(afterwards.definition, before.definition);
  });

  it('snapshots uploaded code files as the code directory, whatever path code names on the client', async () => {
    const yaml = `name: with-code
code: ./src/app
steps:
  - { name: a, type: processing, command: [sh, run.sh] }
`;
    const res = await app.inject({ method: 'PUT', url: '/api/v1/pipelines', payload: { yaml, files: { 'run.sh': Buffer.from('echo hi\n').toString('base64') } } });
    assert.equal(res.statusCode, 200, res.body);
    assert.match(res.json().pipeline.codeDigest, /^sha256:/);
    const stored = await platform.artifacts.list(res.json().pipeline.codePrefix);
    assert.deepEqual(stored.map((o) => o.key.slice(res.json().pipeline.codePrefix.length)), ['run.sh']);
  });
});
