import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { buildApp, type CapstanApp } from '../src/server/app.js';
import { tinyOnnxModel } from '../src/serving/test-support/onnx-builder.js';
import { openServingTestPlatform, registerApproved, type ServingTestPlatform } from '../src/serving/test-support/serving-test-platform.js';

/** A js model scoring rows of two float features, as the fraud example does; it would score anything it is given. */
const SCORER = `export function preprocess(body) { return Array.isArray(body?.instances) ? body.instances : [body]; }
export function predict(m, rows) { return rows.map((r) => ({ y: Number(r.a ?? 0) + Number(r.b ?? 0) })); }`;

/** A js model that reads CSV text. */
const CSV = `export function predict(m, text) { return { lines: String(text).trim().split('\\n').length }; }`;

describe('invocations are checked against the model package before the model sees them', () => {
  let t: ServingTestPlatform;
  let app: CapstanApp;
  const post = (url: string, body: string, contentType = 'application/json') => app.inject({ method: 'POST', url, headers: { 'content-type': contentType }, payload: body });

  function jsPackage(name: string, manifest: Record<string, unknown>, code: string): string {
    const dir = path.join(t.scratch, name);
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, 'model.mjs'), code);
    writeFileSync(path.join(dir, 'model.json'), JSON.stringify({ name, framework: 'js', entry: 'model.mjs', ...manifest }));
    return dir;
  }

  before(async () => {
    t = await openServingTestPlatform();
    const scorer = jsPackage('scorer', { signature: { inputs: [{ name: 'a', dtype: 'float64' }, { name: 'b', dtype: 'float64' }], outputs: [{ name: 'y', dtype: 'float64' }] } }, SCORER);
    await registerApproved(t.registry, 'scorer', { packageDir: scorer });
    await registerApproved(t.registry, 'csv', { packageDir: jsPackage('csv', { contentTypes: ['text/csv'] }, CSV) });
    const onnxDir = path.join(t.scratch, 'summer');
    mkdirSync(onnxDir, { recursive: true });
    writeFileSync(path.join(onnxDir, 'model.onnx'), tinyOnnxModel('summer'));
    const sig = { inputs: [{ name: 'user', dtype: 'int64', shape: [-1] }, { name: 'item', dtype: 'int64', shape: [-1] }], outputs: [{ name: 'score', dtype: 'float32', shape: [-1] }] };
    writeFileSync(path.join(onnxDir, 'model.json'), JSON.stringify({ name: 'summer', framework: 'onnx', entry: 'model.onnx', signature: sig }));
    await registerApproved(t.registry, 'summer', { packageDir: onnxDir });
    for (const name of ['scorer', 'csv', 'summer']) await t.platform.serving.create(name, { variants: [{ model: `models:/${name}/1` }] });
    app = await buildApp(t.platform);
  });
  after(async () => {
    await app?.close();
    await t?.dispose();
  });

  it('answers 415 to a form-encoded body for a JSON model, naming what it takes', async () => {
    const res = await post('/endpoints/scorer/invocations', 'a=1&b=2', 'application/x-www-form-urlencoded');
    assert.equal(res.statusCode, 415, res.body);
    assert.equal(res.json().code, 'CAPSTAN_SERVING_UNSUPPORTED_MEDIA_TYPE');
    assert.equal(res.json().detail, 'this model takes application/json, not "application/x-www-form-urlencoded"');
    assert.deepEqual(res.json().accepted, ['application/json']);
  });

  it('answers 400 listing the violations when a js model gets rows that do not fit its signature', async () => {
    const oops = await post('/endpoints/scorer/invocations', '{"instances":"oops"}');
    assert.equal(oops.statusCode, 400, oops.body);
    assert.equal(oops.json().code, 'CAPSTAN_SERVING_INVALID_INPUT');
    assert.deepEqual(oops.json().violations, ['instances must be a non-empty array of rows with a, b']);
    const wrong = await post('/endpoints/scorer/invocations', '{"instances":[{"a":"x","c":1},{"a":1,"b":2}]}');
    assert.equal(wrong.statusCode, 400, wrong.body);
    assert.deepEqual(wrong.json().violations, ['instances[0].a must be a number, got a string', 'instances[0].b is required', 'instances[0].c is not an input of the model (it takes a, b)']);
    assert.match(wrong.json().detail, /^the request does not fit the model's signature: instances\[0\]\.a must be a number/);
    const single = await post('/endpoints/scorer/invocations', '[1,2]');
    assert.deepEqual(single.json().violations, ['the body must be an object with a, b, got an array']);
  });

  it('serves rows that fit, one or many', async () => {
    assert.deepEqual((await post('/endpoints/scorer/invocations', '{"a":1,"b":2}')).json(), [{ y: 3 }]);
    assert.deepEqual((await post('/endpoints/scorer/invocations', '{"instances":[{"a":1,"b":2},{"a":0.5,"b":0}]}')).json(), [{ y: 3 }, { y: 0.5 }]);
    assert.deepEqual((await post('/endpoints/scorer/invocations', '{"a":1,"b":2}', 'application/json; charset=utf-8')).json(), [{ y: 3 }]);
  });

  it('passes the content types a package declares, and refuses JSON to a CSV model', async () => {
    const csv = await post('/endpoints/csv/invocations', 'a,b\n1,2\n', 'text/csv');
    assert.equal(csv.statusCode, 200, csv.body);
    assert.deepEqual(csv.json(), { lines: 2 });
    assert.equal((await post('/endpoints/csv/invocations', '{}')).statusCode, 415);
  });

  it("checks ONNX tensor requests against the declared shapes", async () => {
    const bad = await post('/endpoints/summer/invocations', '{"inputs":{"user":[[1]],"item":[[2]]}}');
    assert.equal(bad.statusCode, 400, bad.body);
    assert.deepEqual(bad.json().violations, ['input user must have 1 dimension(s), got 2']);
    const ok = await post('/endpoints/summer/invocations', '{"inputs":{"user":[1,2],"item":[3,4]}}');
    assert.equal(ok.statusCode, 200, ok.body);
    assert.deepEqual(ok.json(), { outputs: { score: [4, 6] } });
  });

  it('checks Open Inference Protocol tensors against the signature and content type, listing every violation', async () => {
    const tensor = (name: string, datatype: string, shape: number[], data: number[]) => ({ name, datatype, shape, data });
    const bad = await post('/v2/models/summer/infer', JSON.stringify({ inputs: [tensor('user', 'FP32', [1, 2], [1, 2]), tensor('extra', 'INT64', [1], [1])] }));
    assert.equal(bad.statusCode, 400, bad.body);
    assert.equal(bad.json().code, 'CAPSTAN_SERVING_INVALID_INPUT');
    assert.deepEqual(bad.json().violations, ['input user must be int64, got float32', 'input user must have 1 dimension(s), got 2', 'input item is missing', 'unknown input extra; the model takes user, item']);
    const text = await post('/v2/models/summer/infer', JSON.stringify({ inputs: [tensor('user', 'INT64', [1], [1]), tensor('item', 'INT64', [1], [2])] }), 'text/plain');
    assert.equal(text.statusCode, 415, text.body);
    const ok = await post('/v2/models/summer/infer', JSON.stringify({ inputs: [tensor('user', 'INT64', [2], [1, 2]), tensor('item', 'INT64', [2], [3, 4])] }));
    assert.equal(ok.statusCode, 200, ok.body);
    assert.deepEqual(ok.json().outputs[0].data, [4, 6]);
  });
});
