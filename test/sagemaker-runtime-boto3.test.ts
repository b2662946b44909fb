import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { registerApproved } from '../src/serving/test-support/serving-test-platform.js';
import { startTestServer, type TestServer } from '../src/server/test-support/test-server.js';

const JS_MODEL = `
import { appendFileSync } from 'node:fs';
export function load() { return {}; }
export function predict(model, input) {
  if (input.fail) { appendFileSync(input.fail, 'hit\\n'); throw new Error('model bug'); }
  return { sum: input.a + input.b };
}
`;

/** An unmodified boto3 sagemaker-runtime client: only endpoint_url and the credentials are Capstan's. */
const SCRIPT = `
import json, sys, boto3, botocore
url, key_id, secret, fail_log = sys.argv[1:5]
rt = boto3.client("sagemaker-runtime", region_name="us-east-1", endpoint_url=url, aws_access_key_id=key_id, aws_secret_access_key=secret)
out = {}
r = rt.invoke_endpoint(EndpointName="shop", ContentType="application/json", Body=json.dumps({"a": 1, "b": 2}), TargetVariant="green", CustomAttributes="trace=abc", InferenceId="boto-1")
out["ok"] = {"variant": r.get("InvokedProductionVariant"), "attrs": r.get("CustomAttributes"), "body": json.loads(r["Body"].read())}
for name, kwargs in [("unknown_variant", {"TargetVariant": "purple"}), ("failing", {"Body": json.dumps({"fail": fail_log})})]:
    try:
        rt.invoke_endpoint(EndpointName="shop", ContentType="application/json", **{"Body": json.dumps({"a": 1, "b": 2}), **kwargs})
        out[name] = "no error"
    except botocore.exceptions.ClientError as e:
        out[name] = {"code": e.response["Error"]["Code"], "status": e.response["ResponseMetadata"]["HTTPStatusCode"], "attempts": e.response["ResponseMetadata"].get("RetryAttempts"), "original": e.response.get("OriginalStatusCode")}
bad = boto3.client("sagemaker-runtime", region_name="us-east-1", endpoint_url=url, aws_access_key_id=key_id, aws_secret_access_key=secret + "x")
try:
    bad.invoke_endpoint(EndpointName="shop", ContentType="application/json", Body=json.dumps({"fail": fail_log}))
    out["bad_secret"] = "no error"
except botocore.exceptions.ClientError as e:
    out["bad_secret"] = {"code": e.response["Error"]["Code"], "status": e.response["ResponseMetadata"]["HTTPStatusCode"]}
print(json.dumps(out))
`;

const hasBoto3 = spawnSync('python3', ['-c', 'import boto3'], { stdio: 'ignore' }).status === 0;

describe('SageMaker Runtime compatibility with boto3', { skip: hasBoto3 ? false : 'boto3 is not installed' }, () => {
  let t: TestServer;
  let dir: string;
  let creds: { accessKeyId: string; secretAccessKey: string };

  before(async () => {
    t = await startTestServer({ 'server.auth': true });
    dir = mkdtempSync(path.join(os.tmpdir(), 'capstan-boto3-'));
    const pkg = path.join(dir, 'adder');
    mkdirSync(pkg, { recursive: true });
    writeFileSync(path.join(pkg, 'model.mjs'), JS_MODEL);
    writeFileSync(path.join(pkg, 'model.json'), JSON.stringify({ name: 'adder', framework: 'js', entry: 'model.mjs' }));
    await registerApproved(t.platform.registry, 'adder', { packageDir: pkg });
    await t.platform.serving.create('shop', { variants: [{ name: 'blue', model: 'models:/adder/1', weight: 1 }, { name: 'green', model: 'models:/adder/1', weight: 0 }] });
    const key = await t.platform.apiKeys.create('boto', 'invoker', { sigv4: true });
    creds = { accessKeyId: key.accessKeyId!, secretAccessKey: key.secretAccessKey! };
  });
  after(async () => {
    await t?.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  it('invokes with a target variant and custom attributes, maps errors, and does not re-send a model failure', async () => {
    const failLog = path.join(dir, 'fail.log');
    // Keep the caller's AWS configuration out: only the arguments configure the client.
    const env = { PATH: process.env.PATH ?? '', HOME: dir, AWS_CONFIG_FILE: path.join(dir, 'none'), AWS_SHARED_CREDENTIALS_FILE: path.join(dir, 'none') };
    // Asynchronously: the server answering boto3 runs in this process.
    const run = await promisify(execFile)('python3', ['-c', SCRIPT, t.url, creds.accessKeyId, creds.secretAccessKey, failLog], { env, encoding: 'utf8', timeout: 120_000 });
    const out = JSON.parse(run.stdout);
    assert.deepEqual(out.ok, { variant: 'green', attrs: 'trace=abc', body: { sum: 3 } });
    assert.deepEqual(out.unknown_variant, { code: 'ValidationError', status: 400, attempts: 0, original: null });
    assert.equal(out.failing.code, 'ModelError');
    assert.equal(out.failing.status, 424);
    assert.equal(out.failing.attempts, 0);
    assert.equal(out.failing.original, 500);
    assert.deepEqual(out.bad_secret, { code: 'InvalidSignatureException', status: 403 });
    assert.equal(existsSync(failLog) ? readFileSync(failLog, 'utf8').split('\n').filter(Boolean).length : 0, 1, 'the failing request reached the model once');
  });
});
