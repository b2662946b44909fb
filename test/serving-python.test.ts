import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { buildApp, type CapstanApp } from '../src/server/app.js';
import { openServingTestPlatform, registerApproved, type ServingTestPlatform } from '../src/serving/test-support/serving-test-platform.js';

/** A linear scorer with SageMaker handlers: model_fn loads weights; predict_fn can also sleep, crash, fail or return junk. */
const SCORER = `
import json, os, time

def model_fn(model_dir):
    with open(os.path.join(model_dir, "weights.json")) as f:
        return json.load(f)

def predict_fn(data, model):
    if isinstance(data, dict):
        if data.get("sleep"):
            time.sleep(data["sleep"])
        if data.get("crash"):
            os._exit(7)
        if data.get("fail"):
            raise RuntimeError("internal detail at /srv/secret/path")
        if data.get("refuse"):
            err = ValueError("a and b must be numbers")
            err.status_code = 422
            raise err
        if data.get("unserialisable"):
            return {"value": object()}
        if data.get("pid"):
            print("handling a pid request")
            return {"pid": os.getpid()}
        data = data["instances"]
    return [sum(w * x for w, x in zip(model["w"], row)) + model["b"] for row in data]
`;

/** transform_fn alone: echoes the body's bytes reversed with its own content type. */
const TRANSFORM = `
def model_fn(model_dir):
    return "loaded"

def transform_fn(model, body, content_type, accept):
    return body[::-1], "text/plain; charset=utf-8"
`;

/** predict_fn over a batch: reports the size of the batch each request was part of. */
const BATCHED = `
import os, time
PREDICT_BATCH = True

class BadRequest(ValueError):
    status_code = 400

def predict_fn(inputs, model):
    time.sleep(0.05)
    if any(not isinstance(x["x"], int) for x in inputs):
        raise BadRequest("x must be an integer")
    return [{"y": x["x"] * 2, "batch": len(inputs), "pid": os.getpid()} for x in inputs]
`;

describe('python runtime: inference.py in long-lived Python worker processes', () => {
  let t: ServingTestPlatform;
  let app: CapstanApp;
  let n = 0;
  const invoke = (endpoint: string, body: unknown, contentType = 'application/json') =>
    app.inject({ method: 'POST', url: `/endpoints/${endpoint}/invocations`, headers: { 'content-type': contentType }, payload: typeof body === 'string' ? body : JSON.stringify(body) });
  const restarts = async (endpoint: string) => (await t.platform.serving.describe(endpoint)).variants[0].live?.workerRestarts ?? 0;

  /** Writes a python package with the given inference.py (and extra files) and registers it approved. */
  async function pythonModel(name: string, source: string, files: Record<string, string> = {}): Promise<string> {
    const dir = path.join(t.scratch, `py-${++n}`);
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, 'inference.py'), source);
    writeFileSync(path.join(dir, 'weights.json'), JSON.stringify({ w: [1, 10], b: 0.5 }));
    for (const [file, text] of Object.entries(files)) {
      mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
      writeFileSync(path.join(dir, file), text);
    }
    writeFileSync(path.join(dir, 'model.json'), JSON.stringify({ name, framework: 'python', entry: 'inference.py' }));
    const v = await registerApproved(t.registry, name, { packageDir: dir });
    return `models:/${name}/${v.version}`;
  }

  const createProblem = async (name: string, variant: Record<string, unknown>) => {
    const res = await app.inject({ method: 'POST', url: '/api/v1/endpoints', payload: { name, variants: [variant] } });
    assert.ok(res.statusCode >= 400, res.body);
    assert.ok(!res.body.includes(t.scratch) && !res.body.includes(t.platform.config.home), `no server path in the problem: ${res.body}`);
    assert.ok(!res.body.includes('Traceback'), 'no traceback in the problem');
    assert.deepEqual((await t.platform.serving.list()).filter((e) => e.name === name), [], 'no endpoint row after a failed create');
    return res;
  };

  before(async () => {
    t = await openServingTestPlatform();
    app = await buildApp(t.platform);
    const ep = await t.platform.serving.create('scorer', { variants: [{ model: await pythonModel('scorer', SCORER), timeoutMs: 3000 }] });
    assert.equal(ep.status, 'InService', ep.statusReason ?? '');
  });

  after(async () => {
    await app?.close();
    await t?.dispose();
  });

  it('default input_fn / output_fn: JSON in, JSON out', async () => {
    const res = await invoke('scorer', { instances: [[1, 2], [3, 4]] });
    assert.equal(res.statusCode, 200, res.body);
    assert.match(String(res.headers['content-type']), /^application\/json/);
    assert.deepEqual(res.json(), [21.5, 43.5]);
  });

  it('default input_fn reads CSV rows as numbers; output_fn answers CSV when the variant accepts text/csv', async () => {
    const json = await invoke('scorer', '1,2\n3,4\n', 'text/csv');
    assert.equal(json.statusCode, 200, json.body);
    assert.deepEqual(json.json(), [21.5, 43.5]);
    const ep = await t.platform.serving.create('scorer-csv', { variants: [{ model: 'models:/scorer/1', handlerOptions: { accept: 'text/csv' } }] });
    assert.equal(ep.status, 'InService', ep.statusReason ?? '');
    const csv = await invoke('scorer-csv', '1,2\n3,4\n', 'text/csv');
    assert.equal(csv.statusCode, 200, csv.body);
    assert.match(String(csv.headers['content-type']), /^text\/csv/);
    assert.equal(csv.body, '21.5\n43.5\n');
    await t.platform.serving.delete('scorer-csv');
  });

  it('transform_fn gets the body bytes untouched and answers with its own content type', async () => {
    const ep = await t.platform.serving.create('mirror', { variants: [{ model: await pythonModel('mirror', TRANSFORM) }] });
    assert.equal(ep.status, 'InService', ep.statusReason ?? '');
    const res = await invoke('mirror', '{"word": "héllo"}');
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(res.headers['content-type'], 'text/plain; charset=utf-8');
    // Reversing the UTF-8 bytes splits "é": the answer proves inference.py saw bytes, not decoded text.
    assert.equal(res.body, Buffer.from('{"word": "héllo"}', 'utf8').reverse().toString('utf8'));
    // Frames far larger than a pipe's buffer cross both ways.
    const big = JSON.stringify({ text: 'abcdefgh'.repeat(512 * 1024) });
    const echoed = await invoke('mirror', big);
    assert.equal(echoed.statusCode, 200);
    assert.equal(echoed.body, [...big].reverse().join(''));
    await t.platform.serving.delete('mirror');
  });

  it('merges concurrent requests into one predict_fn call when PREDICT_BATCH is set, across several worker processes', async () => {
    const ep = await t.platform.serving.create('doubler', { variants: [{ model: await pythonModel('doubler', BATCHED), instances: 2, batching: { maxBatchSize: 8, maxDelayMs: 200 } }] });
    assert.equal(ep.status, 'InService', ep.statusReason ?? '');
    assert.equal(ep.variants[0].live?.workers, 2);
    const answers = await Promise.all(Array.from({ length: 16 }, (_, i) => invoke('doubler', { x: i })));
    answers.forEach((res, i) => {
      assert.equal(res.statusCode, 200, res.body);
      assert.equal(res.json().y, i * 2, 'each request gets its own prediction back');
    });
    assert.ok(Math.max(...answers.map((r) => r.json().batch)) > 1, `some requests shared a predict_fn call: ${answers.map((r) => r.json().batch)}`);
    assert.equal(new Set(answers.map((r) => r.json().pid)).size, 2, 'both worker processes served requests');
    // A bad request merged with good ones fails alone: the batch is retried request by request.
    const mixed = await Promise.all([...Array.from({ length: 7 }, (_, i) => invoke('doubler', { x: i })), invoke('doubler', { x: 'seven' })]);
    assert.deepEqual(mixed.map((r) => r.statusCode), [200, 200, 200, 200, 200, 200, 200, 400]);
    assert.equal(mixed[7].json().detail, 'x must be an integer');
    mixed.slice(0, 7).forEach((res, i) => assert.equal(res.json().y, i * 2));
    await t.platform.serving.delete('doubler');
  });

  it('a handler exception answers CAPSTAN_SERVING_MODEL_ERROR without the traceback; one with a 4xx status_code answers 400', async () => {
    const failed = await invoke('scorer', { fail: true });
    assert.equal(failed.statusCode, 500, failed.body);
    assert.equal(failed.json().code, 'CAPSTAN_SERVING_MODEL_ERROR');
    assert.equal(failed.json().detail, "the model's predict_fn failed");
    assert.ok(!failed.body.includes('secret') && !failed.body.includes('Traceback'), failed.body);
    const refused = await invoke('scorer', { refuse: true });
    assert.equal(refused.statusCode, 400, refused.body);
    assert.equal(refused.json().code, 'CAPSTAN_SERVING_INVALID_INPUT');
    assert.equal(refused.json().detail, 'a and b must be numbers');
    const malformed = await invoke('scorer', '{"instances": [');
    assert.equal(malformed.statusCode, 400, malformed.body);
    assert.equal(malformed.json().code, 'CAPSTAN_SERVING_MALFORMED_JSON');
  });

  it('a prediction output_fn cannot serialise answers 424 and the worker stays up', async () => {
    const before = (await invoke('scorer', { pid: true })).json().pid;
    const res = await invoke('scorer', { unserialisable: true });
    assert.equal(res.statusCode, 424, res.body);
    assert.equal(res.json().code, 'CAPSTAN_SERVING_PYTHON_OUTPUT_INVALID');
    assert.match(res.json().detail, /cannot be serialised as application\/json: Object of type object is not JSON serializable/);
    assert.equal((await invoke('scorer', { pid: true })).json().pid, before, 'the same process answers');
    assert.equal(await restarts('scorer'), 0);
  });

  it('a request slower than the timeout answers 504 and the worker process is replaced', async () => {
    const before = (await invoke('scorer', { pid: true })).json().pid;
    const res = await invoke('scorer', { sleep: 60 });
    assert.equal(res.statusCode, 504, res.body);
    assert.equal(res.json().code, 'CAPSTAN_SERVING_MODEL_TIMEOUT');
    assert.match(res.json().detail, /within 3000 ms/);
    const next = await invoke('scorer', { pid: true });
    assert.equal(next.statusCode, 200, next.body);
    assert.notEqual(next.json().pid, before, 'a new process answers');
    assert.equal(await restarts('scorer'), 1);
  });

  it('a crashed worker answers CAPSTAN_SERVING_MODEL_CRASHED, is restarted and counted, and the next request is served', async () => {
    const before = await restarts('scorer');
    const crashed = await invoke('scorer', { crash: true });
    assert.equal(crashed.statusCode, 500, crashed.body);
    assert.equal(crashed.json().code, 'CAPSTAN_SERVING_MODEL_CRASHED');
    const next = await invoke('scorer', { instances: [[1, 1]] });
    assert.equal(next.statusCode, 200, next.body);
    assert.deepEqual(next.json(), [11.5]);
    assert.equal(await restarts('scorer'), before + 1);
    const metrics = (await app.inject({ method: 'GET', url: '/metrics' })).body;
    assert.match(metrics, /capstan_endpoint_worker_restarts_total\{endpoint="scorer",variant="primary"\} [1-9]/);
  });

  it('inference.py with a syntax error: the endpoint does not start, and the problem names the line but no server path', async () => {
    const res = await createProblem('syntax', { model: await pythonModel('syntax', 'def model_fn(model_dir):\n    return (\n') });
    assert.equal(res.json().code, 'CAPSTAN_SERVING_MODEL_LOAD_FAILED');
    assert.match(res.json().detail, /^inference\.py has a syntax error at line \d+: /);
  });

  it('inference.py importing a missing module: the endpoint does not start and the problem names the module', async () => {
    const res = await createProblem('missing', { model: await pythonModel('missing', 'import capstan_no_such_module_xyz\n') });
    assert.equal(res.json().code, 'CAPSTAN_SERVING_PYTHON_DEPENDENCY_MISSING');
    assert.equal(res.json().module, 'capstan_no_such_module_xyz');
    assert.match(res.json().detail, /inference\.py imports capstan_no_such_module_xyz, which python3 cannot import/);
  });

  it('requirements.txt is checked at load: a distribution the interpreter lacks, or at the wrong version, is named', async () => {
    const missing = await createProblem('reqs', { model: await pythonModel('reqs', SCORER, { 'requirements.txt': '# serving needs\ncapstan-no-such-dist>=1.0\n' }) });
    assert.equal(missing.json().code, 'CAPSTAN_SERVING_PYTHON_DEPENDENCY_MISSING');
    assert.equal(missing.json().detail, 'requirements.txt needs capstan-no-such-dist, which python3 does not have installed');
    // A distribution vendored in the package counts as installed; its version is checked.
    const vendored = { 'requirements.txt': 'vendored-dist>=2.0\n', 'vendored_dist-1.4.dist-info/METADATA': 'Metadata-Version: 2.1\nName: vendored-dist\nVersion: 1.4\n' };
    const old = await createProblem('reqs-version', { model: await pythonModel('reqs-version', SCORER, vendored) });
    assert.equal(old.json().detail, 'requirements.txt needs vendored-dist>=2.0, but python3 has vendored-dist 1.4');
    const ok = await t.platform.serving.create('reqs-ok', { variants: [{ model: await pythonModel('reqs-ok', SCORER, { ...vendored, 'requirements.txt': 'vendored-dist>=1.2,<2  # pinned\n' }) }] });
    assert.equal(ok.status, 'InService', ok.statusReason ?? '');
    await t.platform.serving.delete('reqs-ok');
  });

  it('the interpreter is a per-variant setting: only a python executable is accepted, and a missing one is named', async () => {
    const shell = await createProblem('shell', { model: 'models:/scorer/1', interpreter: '/bin/sh' });
    assert.equal(shell.statusCode, 400);
    assert.equal(shell.json().code, 'CAPSTAN_SERVING_ENDPOINT_CONFIG_INVALID');
    const absent = await createProblem('absent', { model: 'models:/scorer/1', interpreter: 'python3.99' });
    assert.equal(absent.json().code, 'CAPSTAN_SERVING_MODEL_LOAD_FAILED');
    assert.equal(absent.json().detail, 'the Python interpreter python3.99 was not found');
  });
});
