import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { InvokeEndpointCommand, SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { SignatureV4 } from '@smithy/signature-v4';
import { NodeSha256 } from '../src/auth/sigv4-verifier.js';
import { registerApproved } from '../src/serving/test-support/serving-test-platform.js';
import { startTestServer, type TestServer } from '../src/server/test-support/test-server.js';
import { pythonProblem, pythonWith } from './support/python-interpreter.js';

/**
 * Bytes in, bytes out: octet-stream and PNG bodies come back reversed with the request's content type,
 * .npy arrays doubled; JSON rows answer in what Accept asks for (CSV or JSON). input_fn refuses
 * anything but bytes, so a text round trip in the gateway would fail here, not pass by accident.
 */
const INFERENCE = `
import io, json

def input_fn(body, content_type):
    if not isinstance(body, bytes):
        raise TypeError("the body is not bytes")
    return body, content_type.split(";")[0].strip()

def predict_fn(data, model):
    body, media = data
    if media == "application/x-npy":
        import numpy as np
        return "npy", np.load(io.BytesIO(body), allow_pickle=False) * 2
    if media in ("application/octet-stream", "image/png"):
        return media, body[::-1]
    return "rows", json.loads(body)["rows"]

def output_fn(prediction, accept):
    kind, value = prediction
    if kind == "npy":
        import numpy as np
        out = io.BytesIO()
        np.save(out, value, allow_pickle=False)
        return out.getvalue(), "application/x-npy"
    if kind != "rows":
        return value, kind
    if accept.split(";")[0].strip() == "text/csv":
        return "".join(",".join(str(x) for x in row) + "\\n" for row in value), "text/csv"
    return json.dumps({"rows": value, "accept": accept}), "application/json"
`;

/** Random bytes led by NUL, a lone continuation byte, an overlong and a surrogate encoding: none of it is UTF-8. */
function binary(size: number): Buffer {
  return Buffer.concat([Buffer.from([0x00, 0x00, 0x80, 0xc0, 0xaf, 0xed, 0xa0, 0x80, 0xff, 0xfe]), randomBytes(size)]);
}

const reversed = (b: Buffer) => Buffer.from(b).reverse();

/** A version-1.0 .npy file of little-endian float64 values (numpy's own layout: header padded to 64 bytes). */
function npy(values: number[]): Buffer {
  let header = `{'descr': '<f8', 'fortran_order': False, 'shape': (${values.length},), }`;
  header += ' '.repeat(64 - ((10 + header.length + 1) % 64)) + '\n';
  const data = Buffer.alloc(8 * values.length);
  values.forEach((v, i) => data.writeDoubleLE(v, i * 8));
  const prefix = Buffer.from([0x93, ...Buffer.from('NUMPY'), 1, 0, header.length & 0xff, header.length >> 8]);
  return Buffer.concat([prefix, Buffer.from(header, 'latin1'), data]);
}

function npyValues(file: Buffer): number[] {
  assert.equal(file.subarray(0, 6).toString('latin1'), '\x93NUMPY');
  const headerLength = file.readUInt16LE(8);
  assert.match(file.subarray(10, 10 + headerLength).toString('latin1'), /'descr': '<f8'/);
  const data = file.subarray(10 + headerLength);
  return Array.from({ length: data.length / 8 }, (_, i) => data.readDoubleLE(i * 8));
}

const python = pythonWith(['numpy']);

describe('binary invocation bodies reach inference.py and come back byte for byte', { skip: python ? false : pythonProblem(['numpy'], 'python3-numpy') }, () => {
  let t: TestServer;
  let dir: string;
  let bearer = '';
  let creds = { accessKeyId: '', secretAccessKey: '' };
  let client: SageMakerRuntimeClient;

  const post = (body: Buffer | string, headers: Record<string, string>, endpoint = 'bytes') =>
    fetch(new URL(`/endpoints/${endpoint}/invocations`, t.url), { method: 'POST', headers: { authorization: `Bearer ${bearer}`, ...headers }, body });

  before(async () => {
    t = await startTestServer({ 'server.auth': true });
    dir = mkdtempSync(path.join(os.tmpdir(), 'capstan-bytes-'));
    const pkg = path.join(dir, 'bytes');
    mkdirSync(pkg);
    writeFileSync(path.join(pkg, 'inference.py'), INFERENCE);
    const contentTypes = ['application/octet-stream', 'image/png', 'application/x-npy', 'application/json'];
    writeFileSync(path.join(pkg, 'model.json'), JSON.stringify({ name: 'bytes', framework: 'python', entry: 'inference.py', contentTypes }));
    await registerApproved(t.platform.registry, 'bytes', { packageDir: pkg });
    const ep = await t.platform.serving.create('bytes', {
      variants: [{ model: 'models:/bytes/1', interpreter: python }],
      dataCapture: { enabled: true, samplingPercent: 100, rotateMs: 100 },
    });
    assert.equal(ep.status, 'InService', ep.statusReason ?? '');
    const created = await t.platform.apiKeys.create('bytes-client', 'invoker', { sigv4: true });
    bearer = created.key;
    creds = { accessKeyId: created.accessKeyId!, secretAccessKey: created.secretAccessKey! };
    client = new SageMakerRuntimeClient({ region: 'us-east-1', endpoint: t.url, credentials: creds });
  });

  after(async () => {
    client?.destroy();
    await t?.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  it("over Capstan's route: octet-stream and PNG bodies (NUL, invalid UTF-8, over 1 MB) come back exactly, with the handler's content type", async () => {
    for (const [contentType, size] of [['application/octet-stream', 1536 * 1024], ['image/png', 4096]] as const) {
      const body = binary(size);
      const res = await post(body, { 'content-type': contentType, accept: contentType });
      const answer = Buffer.from(await res.arrayBuffer());
      assert.equal(res.status, 200, answer.toString('utf8').slice(0, 500));
      assert.equal(res.headers.get('content-type'), contentType);
      assert.equal(answer.length, body.length);
      assert.ok(answer.equals(reversed(body)), `${contentType}: the answer is the request reversed, byte for byte`);
    }
  });

  it('an .npy array goes in and a doubled .npy array comes out', async () => {
    const res = await post(npy([1.5, -2, 0, 1e300]), { 'content-type': 'application/x-npy', accept: 'application/x-npy' });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'application/x-npy');
    assert.deepEqual(npyValues(Buffer.from(await res.arrayBuffer())), [3, -4, 0, 2e300]);
  });

  it('the Accept header reaches output_fn: text/csv answers CSV; none or */* answers application/json', async () => {
    const rows = JSON.stringify({ rows: [[1, 2], [3, 4]] });
    const csv = await post(rows, { 'content-type': 'application/json', accept: 'text/csv' });
    assert.equal(csv.status, 200);
    assert.equal(csv.headers.get('content-type'), 'text/csv');
    assert.equal(await csv.text(), '1,2\n3,4\n');
    for (const accept of [undefined, '*/*']) {
      const json = await post(rows, { 'content-type': 'application/json', ...(accept ? { accept } : {}) });
      assert.equal(json.status, 200);
      assert.equal(json.headers.get('content-type'), 'application/json');
      assert.deepEqual(await json.json(), { rows: [[1, 2], [3, 4]], accept: 'application/json' });
    }
  });

  it('through the AWS SDK with SigV4: a binary body is signed over its bytes, verified and answered exactly', async () => {
    const body = binary(1100 * 1024);
    const out = await client.send(new InvokeEndpointCommand({ EndpointName: 'bytes', ContentType: 'application/octet-stream', Accept: 'application/octet-stream', Body: body }));
    assert.equal(out.ContentType, 'application/octet-stream');
    assert.ok(Buffer.from(out.Body!).equals(reversed(body)), 'the SDK reads back the request reversed, byte for byte');
    const csv = await client.send(new InvokeEndpointCommand({ EndpointName: 'bytes', ContentType: 'application/json', Accept: 'text/csv', Body: JSON.stringify({ rows: [[5, 6]] }) }));
    assert.equal(csv.ContentType, 'text/csv');
    assert.equal(Buffer.from(csv.Body!).toString('utf8'), '5,6\n');
  });

  it('a signed binary body with one byte changed in transit is refused (403)', async () => {
    const body = binary(2048);
    const u = new URL('/endpoints/bytes/invocations', t.url);
    const signer = new SignatureV4({ credentials: creds, region: 'us-east-1', service: 'sagemaker', sha256: NodeSha256 });
    const signed = await signer.sign({ method: 'POST', protocol: 'http:', hostname: u.hostname, port: Number(u.port), path: u.pathname, query: {}, headers: { host: u.host, 'content-type': 'application/octet-stream' }, body });
    const good = await fetch(u, { method: 'POST', headers: signed.headers, body });
    assert.equal(good.status, 200);
    assert.ok(Buffer.from(await good.arrayBuffer()).equals(reversed(body)));
    const altered = Buffer.from(body);
    altered[9] = 0xff; // 0xfe -> 0xff: both decode to U+FFFD, so only a hash over the bytes tells them apart
    const res = await fetch(u, { method: 'POST', headers: signed.headers, body: altered });
    assert.equal(res.status, 403);
    assert.equal(res.headers.get('x-amzn-errortype'), 'InvalidSignatureException');
  });

  it('data capture keeps a binary body as base64 marked with its encoding, JSON as text', async () => {
    const body = binary(300);
    assert.equal((await post(body, { 'content-type': 'application/octet-stream', accept: 'application/octet-stream', 'x-capstan-inference-id': 'bin-1' })).status, 200);
    assert.equal((await post(JSON.stringify({ rows: [[7]] }), { 'content-type': 'application/json', 'x-capstan-inference-id': 'json-1' })).status, 200);
    let records: Record<string, unknown>[] = [];
    for (let i = 0; i < 100 && !(records.some((r) => r.inferenceId === 'bin-1') && records.some((r) => r.inferenceId === 'json-1')); i++) {
      await new Promise((r) => setTimeout(r, 50));
      records = [];
      for (const f of await t.platform.artifacts.list('data-capture/bytes/')) {
        records.push(...(await t.platform.artifacts.get(f.key)).toString('utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>));
      }
    }
    const bin = records.find((r) => r.inferenceId === 'bin-1');
    assert.ok(bin, 'the binary invocation was captured');
    assert.equal(bin.requestEncoding, 'base64');
    assert.equal(bin.responseEncoding, 'base64');
    assert.ok(Buffer.from(String(bin.request), 'base64').equals(body));
    assert.ok(Buffer.from(String(bin.response), 'base64').equals(reversed(body)));
    const json = records.find((r) => r.inferenceId === 'json-1');
    assert.ok(json, 'the JSON invocation was captured');
    assert.equal(json.request, JSON.stringify({ rows: [[7]] }));
    assert.equal(json.requestEncoding, undefined);
    assert.deepEqual(JSON.parse(String(json.response)), { rows: [[7]], accept: 'application/json' });
  });
});
