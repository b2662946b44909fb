import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { isCapstanError } from '../src/core/errors.js';
import { pollUntil } from '../src/core/test-support/poll-until.js';
import { buildApp, type CapstanApp } from '../src/server/app.js';
import { openServingTestPlatform, registerApproved, type ServingTestPlatform } from '../src/serving/test-support/serving-test-platform.js';

/** A js model package: sums a and b; can sleep, spin until a flag file appears, spin forever, or crash its thread. */
const JS_MODEL = `
import { existsSync } from 'node:fs';
export function load(dir, options) { return { offset: options.offset ?? 0 }; }
export function preprocess(body) {
  if (body && body.bad) { const e = new Error('a and b must be numbers'); e.status = 422; throw e; }
  return body;
}
export async function predict(model, input) {
  if (input.sleep) await new Promise((r) => setTimeout(r, input.sleep));
  if (input.waitFor) { const until = Date.now() + 60000; while (!existsSync(input.waitFor) && Date.now() < until) {} }
  if (input.spinForever) { for (;;) {} }
  if (input.crash) setTimeout(() => { throw new Error('model bug'); });
  if (input.crash) await new Promise((r) => setTimeout(r, 10000));
  return input.a + input.b + model.offset;
}
export function postprocess(output, ctx) { return ctx.customAttributes ? { sum: output, attributes: ctx.customAttributes } : { sum: output }; }
`;

function writeJsPackage(dir: string): string {
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'model.mjs'), JS_MODEL);
  writeFileSync(path.join(dir, 'model.json'), JSON.stringify({ name: 'adder', framework: 'js', entry: 'model.mjs' }));
  return dir;
}

describe('js and http runtimes in worker threads', () => {
  let t: ServingTestPlatform;
  let app: CapstanApp;
  const invoke = (endpoint: string, body: unknown) =>
    app.inject({ method: 'POST', url: `/endpoints/${endpoint}/invocations`, headers: { 'content-type': 'application/json' }, payload: JSON.stringify(body) });

  before(async () => {
    t = await openServingTestPlatform();
    await registerApproved(t.registry, 'adder', { packageDir: writeJsPackage(path.join(t.scratch, 'adder')) });
    app = await buildApp(t.platform);
    const ep = await t.platform.serving.create('adder', { variants: [{ model: 'models:/adder/1', timeoutMs: 8000, handlerOptions: { offset: 100 } }] });
    assert.equal(ep.status, 'InService', ep.statusReason ?? '');
  });

  after(async () => {
    await app?.close();
    await t?.dispose();
  });

  it('runs load, preprocess, predict and postprocess of a js module, with handler options', async () => {
    const res = await invoke('adder', { a: 2, b: 3 });
    assert.equal(res.statusCode, 200, res.body);
    assert.deepEqual(res.json(), { sum: 105 });
  });

  it('passes custom attributes to the handler, echoes the inference id, and captures request and response as JSONL', async () => {
    const ep = await t.platform.serving.create('captured', {
      variants: [{ model: 'models:/adder/1' }],
      dataCapture: { enabled: true, samplingPercent: 100, rotateMs: 100 },
    });
    assert.equal(ep.status, 'InService', ep.statusReason ?? '');
    const res = await app.inject({
      method: 'POST',
      url: '/endpoints/captured/invocations',
      headers: { 'content-type': 'application/json', 'x-capstan-inference-id': 'req-42', 'x-capstan-custom-attributes': 'tenant=shop-7' },
      payload: JSON.stringify({ a: 20, b: 22 }),
    });
    assert.equal(res.statusCode, 200, res.body);
    assert.deepEqual(res.json(), { sum: 42, attributes: 'tenant=shop-7' });
    assert.equal(res.headers['x-capstan-inference-id'], 'req-42');
    assert.equal(res.headers['x-capstan-invoked-variant'], 'primary');

    // The writer closes a file 100 ms after its first record; wait for it to land in the artifact store.
    let files = await t.platform.artifacts.list('data-capture/captured/');
    for (let i = 0; i < 100 && files.length === 0; i++) {
      await new Promise((r) => setTimeout(r, 50));
      files = await t.platform.artifacts.list('data-capture/captured/');
    }
    assert.equal(files.length, 1, 'one capture file');
    assert.match(files[0].key, /^data-capture\/captured\/\d{4}\/\d{2}\/\d{2}\/\d{2}\/.+\.jsonl$/);
    const lines = (await t.platform.artifacts.get(files[0].key)).toString('utf8').trim().split('\n').map((l) => JSON.parse(l));
    assert.equal(lines.length, 1);
    assert.equal(lines[0].endpoint, 'captured');
    assert.equal(lines[0].variant, 'primary');
    assert.equal(lines[0].inferenceId, 'req-42');
    assert.deepEqual(JSON.parse(lines[0].request), { a: 20, b: 22 });
    assert.deepEqual(JSON.parse(lines[0].response), { sum: 42, attributes: 'tenant=shop-7' });
    // The counter moves when the store acknowledges the write, which can come a moment after the
    // file is visible to a listing.
    const counted = /capstan_endpoint_data_capture_records_total\{endpoint="captured"\} 1/;
    const metrics = await pollUntil('the capture counter to count the record', async () => {
      const text = (await app.inject({ method: 'GET', url: '/metrics' })).body;
      return counted.test(text) ? text : undefined;
    }, { deadlineMs: 2_000, intervalMs: 20 });
    assert.match(metrics, counted);
  });

  it('refuses to create an endpoint whose model cannot be imported, with a reason that shows no server path, and leaves no endpoint behind', async () => {
    const dir = path.join(t.scratch, 'broken-import');
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, 'model.mjs'), `import { w } from './weights/missing.mjs';\nexport function predict() { return w; }\n`);
    writeFileSync(path.join(dir, 'model.json'), JSON.stringify({ name: 'broken', framework: 'js', entry: 'model.mjs' }));
    await registerApproved(t.registry, 'broken', { packageDir: dir });
    for (let attempt = 0; attempt < 2; attempt++) {
      const res = await app.inject({ method: 'POST', url: '/api/v1/endpoints', payload: { name: 'broken', variants: [{ model: 'models:/broken/1' }] } });
      assert.equal(res.statusCode, 500, res.body);
      assert.equal(res.json().code, 'CAPSTAN_SERVING_MODEL_LOAD_FAILED');
      assert.match(res.json().detail, /cannot import model\.mjs: Cannot find module '<package>\/weights\/missing\.mjs' imported from <package>\/model\.mjs/);
      assert.ok(!res.body.includes(t.platform.config.home), 'no path of the server in the problem');
    }
    assert.deepEqual((await t.platform.serving.list()).filter((e) => e.name === 'broken'), [], 'no endpoint row after failed creates');
    const invoked = await invoke('broken', { a: 1, b: 2 });
    assert.equal(invoked.statusCode, 404, invoked.body);
  });

  it('turns a handler error with a 4xx status into a 400 problem', async () => {
    const res = await invoke('adder', { bad: true });
    assert.equal(res.statusCode, 400);
    assert.equal(res.json().code, 'CAPSTAN_SERVING_INVALID_INPUT');
    assert.match(res.json().detail, /a and b must be numbers/);
  });

  it('answers many requests that reach the thread together, each with its own answer or error', async () => {
    // Requests of one event-loop turn travel to the model thread in one message: none may get another's answer.
    const bodies = Array.from({ length: 40 }, (_, i) => (i % 10 === 3 ? { bad: true } : { a: i, b: 1 }));
    const answers = await Promise.all(bodies.map((body) => invoke('adder', body)));
    answers.forEach((res, i) => {
      if (i % 10 === 3) {
        assert.equal(res.statusCode, 400, `request ${i}`);
        assert.equal(res.json().code, 'CAPSTAN_SERVING_INVALID_INPUT');
      } else {
        assert.equal(res.statusCode, 200, `request ${i}: ${res.body}`);
        assert.deepEqual(res.json(), { sum: i + 1 + 100 });
      }
    });
  });

  it('answers other requests while a model blocks its thread', async () => {
    const flag = path.join(t.scratch, 'release');
    const ep = await t.platform.serving.create('blocking', { variants: [{ model: 'models:/adder/1', timeoutMs: 120_000 }] });
    assert.equal(ep.status, 'InService');
    let settled = false;
    const blocked = invoke('blocking', { a: 1, b: 1, waitFor: flag }).finally(() => (settled = true));
    const health = await app.inject({ method: 'GET', url: '/healthz' });
    assert.equal(health.statusCode, 200);
    const other = await invoke('adder', { a: 1, b: 2 });
    assert.equal(other.statusCode, 200);
    assert.equal(settled, false, 'the blocked request finished before it was released');
    writeFileSync(flag, '');
    assert.equal((await blocked).statusCode, 200);
  });

  it('answers 504 when the model is slower than the timeout, and serves the next request from the same worker', async () => {
    const res = await invoke('adder', { a: 1, b: 1, sleep: 60_000 });
    assert.equal(res.statusCode, 504);
    assert.equal(res.json().code, 'CAPSTAN_SERVING_MODEL_TIMEOUT');
    assert.match(res.json().detail, /within 8000 ms/);
    assert.equal((await invoke('adder', { a: 1, b: 1 })).statusCode, 200);
    assert.equal((await t.platform.serving.describe('adder')).variants[0].live?.workerRestarts, 0, 'a slow but responsive worker must not be replaced');
  });

  it('restarts a crashed worker, counts the restart, and serves the next request', async () => {
    const crashed = await invoke('adder', { a: 1, b: 1, crash: true });
    assert.equal(crashed.statusCode, 500);
    assert.equal(crashed.json().code, 'CAPSTAN_SERVING_MODEL_CRASHED');
    const next = await invoke('adder', { a: 4, b: 4 });
    assert.equal(next.statusCode, 200, next.body);
    assert.deepEqual(next.json(), { sum: 108 });
    const ep = await t.platform.serving.describe('adder');
    assert.ok((ep.variants[0].live?.workerRestarts ?? 0) >= 1);
    const metrics = (await app.inject({ method: 'GET', url: '/metrics' })).body;
    assert.match(metrics, /capstan_endpoint_worker_restarts_total\{endpoint="adder",variant="primary"\} [1-9]/);
    assert.match(metrics, /capstan_endpoint_invocation_5xx_errors_total\{endpoint="adder",variant="primary"\} [1-9]/);
  });

  it('replaces a worker stuck in a loop after the timeout', async () => {
    const before = (await t.platform.serving.describe('adder')).variants[0].live?.workerRestarts ?? 0;
    const stuck = await invoke('adder', { a: 1, b: 1, spinForever: true });
    assert.equal(stuck.statusCode, 504);
    const next = await invoke('adder', { a: 1, b: 2 });
    assert.equal(next.statusCode, 200, next.body);
    assert.ok(((await t.platform.serving.describe('adder')).variants[0].live?.workerRestarts ?? 0) > before);
  });
});

describe('http runtime: forwarding to an external model server behind the outbound guard', () => {
  let upstream: Server;
  let port: number;
  const seen: { body: string; contentType?: string }[] = [];

  before(async () => {
    upstream = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        seen.push({ body, contentType: req.headers['content-type'] });
        if (body.includes('fail')) {
          res.writeHead(500).end('upstream broke at /srv/secret/path');
          return;
        }
        if (body.includes('redirect')) {
          res.writeHead(302, { location: `http://127.0.0.1:${port}/elsewhere?token=secret` }).end('moved to the secret place');
          return;
        }
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ echoed: JSON.parse(body) }));
      });
    });
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', () => r()));
    port = (upstream.address() as { port: number }).port;
  });
  after(() => new Promise<void>((r) => upstream.close(() => r())));

  async function withEndpoint(flags: Record<string, unknown>, fn: (t: ServingTestPlatform, app: CapstanApp) => Promise<void>): Promise<void> {
    const t = await openServingTestPlatform(flags);
    const dir = path.join(t.scratch, 'remote');
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, 'model.json'), JSON.stringify({ name: 'remote', framework: 'http', url: `http://127.0.0.1:${port}/invocations` }));
    await registerApproved(t.registry, 'remote', { packageDir: dir });
    const app = await buildApp(t.platform);
    try {
      await fn(t, app);
    } finally {
      await app.close();
      await t.dispose();
    }
  }

  it('refuses a loopback model server by default: the create fails with the guard named and leaves no endpoint', async () => {
    await withEndpoint({}, async (t) => {
      await assert.rejects(t.platform.serving.create('remote', { variants: [{ model: 'models:/remote/1' }] }), (err) => isCapstanError(err) && err.code === 'CAPSTAN_OUTBOUND_ADDRESS_BLOCKED' && /loopback/.test(err.message));
      assert.deepEqual(await t.platform.serving.list(), []);
    });
  });

  it('forwards invocations to an allowed host and hides upstream failures behind 502', async () => {
    await withEndpoint({ 'outbound.allowHosts': [`127.0.0.1:${port}`] }, async (t, app) => {
      const ep = await t.platform.serving.create('remote', { variants: [{ model: 'models:/remote/1' }] });
      assert.equal(ep.status, 'InService', ep.statusReason ?? '');
      const ok = await app.inject({ method: 'POST', url: '/endpoints/remote/invocations', headers: { 'content-type': 'application/json' }, payload: '{"x":1}' });
      assert.equal(ok.statusCode, 200, ok.body);
      assert.deepEqual(ok.json(), { echoed: { x: 1 } });
      assert.equal(seen.at(-1)?.contentType, 'application/json');
      const bad = await app.inject({ method: 'POST', url: '/endpoints/remote/invocations', headers: { 'content-type': 'application/json' }, payload: '{"fail":1}' });
      assert.equal(bad.statusCode, 502);
      assert.equal(bad.json().code, 'CAPSTAN_SERVING_UPSTREAM_ERROR');
      assert.doesNotMatch(bad.body, /secret/);
    });
  });

  it('answers a redirecting model server with a 502 problem naming the upstream status, without following it or passing its body on', async () => {
    await withEndpoint({ 'outbound.allowHosts': [`127.0.0.1:${port}`] }, async (t, app) => {
      await t.platform.serving.create('remote', { variants: [{ model: 'models:/remote/1' }] });
      const before = seen.length;
      const res = await app.inject({ method: 'POST', url: '/endpoints/remote/invocations', headers: { 'content-type': 'application/json' }, payload: '{"redirect":1}' });
      assert.equal(res.statusCode, 502, res.body);
      assert.match(String(res.headers['content-type']), /^application\/problem\+json/);
      assert.equal(res.json().code, 'CAPSTAN_SERVING_UPSTREAM_ERROR');
      assert.equal(res.json().upstreamStatus, 302);
      assert.equal(res.json().detail, 'the external model server answered HTTP 302');
      assert.doesNotMatch(res.body, /secret/);
      assert.equal(seen.length, before + 1, 'the redirect was not followed');
    });
  });
});
