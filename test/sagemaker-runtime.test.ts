import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { InvokeEndpointCommand, SageMakerRuntimeClient, type SageMakerRuntimeServiceException } from '@aws-sdk/client-sagemaker-runtime';
import { SignatureV4 } from '@smithy/signature-v4';
import { NodeSha256 } from '../src/auth/sigv4-verifier.js';
import type { AnsweredInvocation } from '../src/serving/answered-invocation.js';
import { registerApproved } from '../src/serving/test-support/serving-test-platform.js';
import { cliJson, runCapstan } from './support/capstan-cli.js';
import { startTestServer, type TestServer } from '../src/server/test-support/test-server.js';
import { testDatabases } from '../src/storage/test-support/test-databases.js';

/** A js model: sums a and b; when asked to fail it appends a line to `log` (counting the hits that reached it) and throws. */
const JS_MODEL = `
import { appendFileSync } from 'node:fs';
export function load() { return {}; }
export function predict(model, input) {
  if (input.fail) { appendFileSync(input.fail, 'hit\\n'); throw new Error('model bug'); }
  return { sum: input.a + input.b };
}
`;

const text = (body: Uint8Array | undefined) => Buffer.from(body ?? new Uint8Array()).toString('utf8');
const hits = (file: string) => (existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean).length : 0);

/** The unmodified AWS SDK client: only the endpoint URL and the credentials are Capstan's. */
function sdk(url: string, accessKeyId: string, secretAccessKey: string): SageMakerRuntimeClient {
  return new SageMakerRuntimeClient({ region: 'us-east-1', endpoint: url, credentials: { accessKeyId, secretAccessKey } });
}

async function rejectsWith(p: Promise<unknown>, name: string, status: number): Promise<SageMakerRuntimeServiceException> {
  try {
    await p;
  } catch (err) {
    const e = err as SageMakerRuntimeServiceException;
    assert.equal(e.name, name, `${e.name}: ${e.message}`);
    assert.equal(e.$metadata.httpStatusCode, status);
    return e;
  }
  assert.fail(`expected ${name}`);
}

/** A request signed by hand (the same maintained signer the SDKs use), to control the date. */
async function signedFetch(url: string, endpoint: string, body: string, creds: { accessKeyId: string; secretAccessKey: string }, signingDate: Date): Promise<Response> {
  const u = new URL(`/endpoints/${endpoint}/invocations`, url);
  const signer = new SignatureV4({ credentials: creds, region: 'us-east-1', service: 'sagemaker', sha256: NodeSha256 });
  const req = await signer.sign(
    { method: 'POST', protocol: 'http:', hostname: u.hostname, port: Number(u.port), path: u.pathname, query: {}, headers: { host: u.host, 'content-type': 'application/json' }, body },
    { signingDate },
  );
  return fetch(u, { method: 'POST', headers: req.headers, body });
}

for (const factory of await testDatabases()) {
  for (const auth of [true, false]) {
    describe(`SageMaker Runtime compatibility, auth ${auth ? 'on' : 'off'} (${factory.name})`, { skip: factory.skip }, () => {
      let t: TestServer;
      let dir: string;
      let dispose: () => Promise<void>;
      let client: SageMakerRuntimeClient;
      let creds = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'anything' };
      let bearer = '';
      const seen: AnsweredInvocation[] = [];

      before(async () => {
        const db = await factory.create();
        await db.db.close();
        dispose = () => db.dispose();
        t = await startTestServer({ 'server.auth': auth, databaseUrl: db.url });
        dir = mkdtempSync(path.join(os.tmpdir(), 'capstan-smr-'));
        const pkg = path.join(dir, 'adder');
        mkdirSync(pkg, { recursive: true });
        writeFileSync(path.join(pkg, 'model.mjs'), JS_MODEL);
        writeFileSync(path.join(pkg, 'model.json'), JSON.stringify({ name: 'adder', framework: 'js', entry: 'model.mjs' }));
        await registerApproved(t.platform.registry, 'adder', { packageDir: pkg });
        await t.platform.serving.create('shop', { variants: [{ name: 'blue', model: 'models:/adder/1', weight: 1 }, { name: 'green', model: 'models:/adder/1', weight: 0 }] });
        t.platform.serving.host.invocationListeners.push((e) => seen.push(e));
        if (auth) {
          const created = await t.platform.apiKeys.create('sm-client', 'invoker', { sigv4: true });
          creds = { accessKeyId: created.accessKeyId!, secretAccessKey: created.secretAccessKey! };
          bearer = created.key;
        }
        client = sdk(t.url, creds.accessKeyId, creds.secretAccessKey);
      });
      after(async () => {
        client?.destroy();
        await t?.dispose();
        await dispose?.().catch(() => {});
        rmSync(dir, { recursive: true, force: true });
      });

      const invoke = (input: Partial<ConstructorParameters<typeof InvokeEndpointCommand>[0]>, c = client) =>
        c.send(new InvokeEndpointCommand({ EndpointName: 'shop', ContentType: 'application/json', Body: JSON.stringify({ a: 1, b: 2 }), ...input }));

      it('answers InvokeEndpoint with the invoked production variant, honours the target variant, echoes custom attributes, records the inference id', async () => {
        const plain = await invoke({});
        assert.deepEqual(JSON.parse(text(plain.Body)), { sum: 3 });
        assert.equal(plain.InvokedProductionVariant, 'blue');
        assert.match(plain.ContentType ?? '', /^application\/json/);

        const out = await invoke({ TargetVariant: 'green', CustomAttributes: 'trace=abc,tenant=7', InferenceId: 'inf-123' });
        assert.equal(out.InvokedProductionVariant, 'green');
        assert.equal(out.CustomAttributes, 'trace=abc,tenant=7');
        const answered = seen.find((e) => e.inferenceId === 'inf-123');
        assert.ok(answered, 'the inference id reaches the invocation record (data capture, feedback)');
        assert.equal(answered.variant, 'green');
      });

      it('refuses an unknown target variant or target model as ValidationError, not 200', async () => {
        const v = await rejectsWith(invoke({ TargetVariant: 'purple' }), 'ValidationError', 400);
        assert.match(v.message, /has no variant purple/);
        const m = await rejectsWith(invoke({ TargetModel: 'ncf-v9.tar.gz' }), 'ValidationError', 400);
        assert.match(m.message, /no target model ncf-v9\.tar\.gz/);
        await rejectsWith(invoke({ EndpointName: 'nowhere' }), 'ValidationError', 400);
      });

      it('maps a failing model to ModelError 424 with the original status, and the SDK does not re-send it', async () => {
        const log = path.join(dir, `fail-${Date.now()}.log`);
        const e = await rejectsWith(invoke({ Body: JSON.stringify({ fail: log }) }), 'ModelError', 424);
        assert.equal((e as unknown as { OriginalStatusCode: number }).OriginalStatusCode, 500);
        assert.match((e as unknown as { OriginalMessage: string }).OriginalMessage, /model/);
        assert.equal(e.$metadata.attempts, 1);
        assert.equal(hits(log), 1, 'the model ran once: no SDK retries');
      });

      it('keeps problem+json for Capstan clients and takes the X-Amzn-SageMaker-* headers as aliases', async () => {
        const headers: Record<string, string> = { 'content-type': 'application/json', 'x-amzn-sagemaker-target-variant': 'green', 'x-amzn-sagemaker-custom-attributes': 'a=1' };
        if (auth) headers.authorization = `Bearer ${bearer}`;
        const ok = await fetch(`${t.url}/endpoints/shop/invocations`, { method: 'POST', headers, body: '{"a":2,"b":2}' });
        assert.equal(ok.status, 200);
        assert.equal(ok.headers.get('x-amzn-invoked-production-variant'), 'green');
        assert.equal(ok.headers.get('x-amzn-sagemaker-custom-attributes'), 'a=1');
        const bad = await fetch(`${t.url}/endpoints/shop/invocations`, { method: 'POST', headers: { ...headers, 'x-amzn-sagemaker-target-model': 'm1' }, body: '{}' });
        assert.equal(bad.status, 404);
        assert.equal(bad.headers.get('content-type'), 'application/problem+json; charset=utf-8');
        const problem = (await bad.json()) as { code: string; detail: string; targetModel: string };
        assert.equal(problem.code, 'CAPSTAN_SERVING_TARGET_MODEL_NOT_FOUND');
        assert.equal(problem.targetModel, 'm1');
        assert.match(problem.detail, /endpoint shop hosts no target model m1/);
      });

      if (auth) {
        it('refuses a wrong secret, an unknown access key and a date skewed by more than 5 minutes with 403, serving nothing', async () => {
          const log = path.join(dir, 'refused.log');
          const body = JSON.stringify({ fail: log });
          const wrong = sdk(t.url, creds.accessKeyId, `${creds.secretAccessKey}x`);
          const e1 = await rejectsWith(invoke({ Body: body }, wrong), 'InvalidSignatureException', 403);
          assert.match(e1.message, /signature does not match/);
          const unknown = sdk(t.url, 'CPAKAAAAAAAAAAAAAAAA', creds.secretAccessKey);
          const e2 = await rejectsWith(invoke({ Body: body }, unknown), 'UnrecognizedClientException', 403);
          assert.match(e2.message, /no active SigV4 access key CPAKAAAAAAAAAAAAAAAA/);
          wrong.destroy();
          unknown.destroy();

          const skewed = await signedFetch(t.url, 'shop', body, creds, new Date(Date.now() - 6 * 60_000));
          assert.equal(skewed.status, 403);
          assert.equal(skewed.headers.get('x-amzn-errortype'), 'InvalidSignatureException');
          assert.match(((await skewed.json()) as { message: string }).message, /more than 5 minutes/);
          const fresh = await signedFetch(t.url, 'shop', JSON.stringify({ a: 5, b: 5 }), creds, new Date());
          assert.equal(fresh.status, 200);
          assert.deepEqual(await fresh.json(), { sum: 10 });

          // A tampered body under a valid signature of another body.
          const u = new URL('/endpoints/shop/invocations', t.url);
          const signer = new SignatureV4({ credentials: creds, region: 'us-east-1', service: 'sagemaker', sha256: NodeSha256 });
          const signed = await signer.sign({ method: 'POST', protocol: 'http:', hostname: u.hostname, path: u.pathname, query: {}, headers: { host: u.host, 'content-type': 'application/json' }, body: '{"a":1,"b":1}' });
          const tampered = await fetch(u, { method: 'POST', headers: signed.headers, body });
          assert.equal(tampered.status, 403);
          assert.equal(hits(log), 0, 'no refused request reached the model');
        });

        it('maps the key to its role: a viewer key is refused with AccessDeniedException', async () => {
          const viewer = await t.platform.apiKeys.create('sm-viewer', 'viewer', { sigv4: true });
          const c = sdk(t.url, viewer.accessKeyId!, viewer.secretAccessKey!);
          const e = await rejectsWith(invoke({}, c), 'AccessDeniedException', 403);
          assert.match(e.message, /needs role invoker/);
          c.destroy();
        });

        it('stores the secret access key sealed, never in plain text', async () => {
          const row = await t.platform.db.as<{ api_keys: { name: string; sigv4_secret: string } }>().selectFrom('api_keys').select('sigv4_secret').where('name', '=', 'sm-client').executeTakeFirstOrThrow();
          assert.match(row.sigv4_secret, /^enc:v1:/);
          assert.ok(!row.sigv4_secret.includes(creds.secretAccessKey));
        });
      }
    });
  }
}

describe('capstan keys create --sigv4', () => {
  let t: TestServer;
  let dir: string;
  before(async () => {
    t = await startTestServer({ 'server.auth': true });
    dir = mkdtempSync(path.join(os.tmpdir(), 'capstan-smr-cli-'));
  });
  after(async () => {
    await t?.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  it('prints an access key id and secret on the embedded database', async () => {
    const run = await runCapstan(['keys', 'create', '--name', 'boto', '--role', 'invoker', '--sigv4'], { cwd: dir, env: { CAPSTAN_HOME: path.join(dir, 'home') } });
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /aws_access_key_id {5}= CPAK[A-Z2-7]{16}\n/);
    assert.match(run.stdout, /aws_secret_access_key = \S{40}\n/);
    const listed = cliJson(await runCapstan(['keys', 'list', '--json'], { cwd: dir, env: { CAPSTAN_HOME: path.join(dir, 'home') } }));
    assert.match(listed[0].accessKeyId, /^CPAK/);
    assert.equal(JSON.stringify(listed).includes('secret'), false);
  });

  it('creates the pair through --url, and the AWS SDK authenticates with it as the key role', async () => {
    const admin = (await t.platform.apiKeys.create('root', 'admin')).key;
    const created = cliJson(await runCapstan(['keys', 'create', '--name', 'sdk', '--role', 'invoker', '--sigv4', '--json'], { cwd: dir, env: { CAPSTAN_URL: t.url, CAPSTAN_API_KEY: admin } }));
    assert.match(created.accessKeyId, /^CPAK/);
    assert.equal(created.info.accessKeyId, created.accessKeyId);
    const c = sdk(t.url, created.accessKeyId, created.secretAccessKey);
    // No endpoint yet: authenticated, then refused as SageMaker refuses an unknown endpoint.
    const e = await rejectsWith(c.send(new InvokeEndpointCommand({ EndpointName: 'none', Body: '{}' })), 'ValidationError', 400);
    assert.match(e.message, /no endpoint none/);
    c.destroy();
    const plain = cliJson(await runCapstan(['keys', 'create', '--name', 'plain', '--role', 'invoker', '--json'], { cwd: dir, env: { CAPSTAN_URL: t.url, CAPSTAN_API_KEY: admin } }));
    assert.equal(plain.accessKeyId, undefined);
  });
});
