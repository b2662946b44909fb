import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { InvokeEndpointCommand, SageMakerRuntimeClient, type SageMakerRuntimeServiceException } from '@aws-sdk/client-sagemaker-runtime';
import { registerApproved } from '../src/serving/test-support/serving-test-platform.js';
import { writeNcfPackage } from '../src/serving/test-support/ncf-package-fixture.js';
import type { EndpointModels } from '../src/serving/index.js';
import { startTestServer, type TestServer } from '../src/server/test-support/test-server.js';
import { testDatabases } from '../src/storage/test-support/test-databases.js';
import { cliJson, runCapstan } from './support/capstan-cli.js';

const BODY = JSON.stringify({ user: 1001, items: [5001, 5002, 5003] });
/** A package whose load throws with a message holding a path, which must never reach the caller. */
const BROKEN_MODEL = "export function load() { throw new Error('cannot open /srv/secret/weights.bin'); }\nexport function predict() { return {}; }\n";

for (const factory of await testDatabases()) {
  describe(`multi-model variants (${factory.name})`, { skip: factory.skip }, () => {
    let t: TestServer;
    let dir: string;
    let dispose: () => Promise<void>;
    let packageBytes = 0;

    const invoke = async (endpoint: string, targetModel?: string, header = 'x-capstan-target-model') => {
      const res = await fetch(`${t.url}/endpoints/${endpoint}/invocations`, { method: 'POST', headers: { 'content-type': 'application/json', ...(targetModel !== undefined ? { [header]: targetModel } : {}) }, body: BODY });
      const text = await res.text();
      return { status: res.status, model: res.headers.get('x-capstan-invoked-model'), retryAfter: res.headers.get('retry-after'), text, json: () => JSON.parse(text) };
    };
    const models = async (endpoint: string): Promise<EndpointModels> => (await fetch(`${t.url}/api/v1/endpoints/${endpoint}/models`)).json() as Promise<EndpointModels>;
    /** Polls a target that answers 429 while it loads until it answers something else (the number of polls is bounded, not timed). */
    const untilLoaded = async (endpoint: string, target: string) => {
      for (let i = 0; i < 400; i++) {
        const r = await invoke(endpoint, target);
        if (r.status !== 429) return r;
        await new Promise((res) => setTimeout(res, 50));
      }
      assert.fail(`${target} never stopped answering 429`);
    };

    before(async () => {
      const db = await factory.create();
      await db.db.close();
      dispose = () => db.dispose();
      t = await startTestServer({ databaseUrl: db.url });
      dir = mkdtempSync(path.join(os.tmpdir(), 'capstan-mme-'));
      // Three versions of group ncf (3 is the champion), differing in weights only.
      for (const seed of [1, 2, 3]) {
        const fx = writeNcfPackage(path.join(dir, `ncf-${seed}`), { seed });
        await registerApproved(t.platform.registry, 'ncf', { packageDir: fx.dir });
      }
      await t.platform.registry.setAlias('ncf', 'champion', 3);
      const { readdirSync, statSync } = await import('node:fs');
      packageBytes = readdirSync(path.join(dir, 'ncf-1')).reduce((n, f) => n + statSync(path.join(dir, 'ncf-1', f)).size, 0);
      // An artifact prefix: a good NCF package and a broken one, each in its own folder.
      writeNcfPackage(path.join(dir, 'shelf', 'good'), { seed: 9 });
      mkdirSync(path.join(dir, 'shelf', 'broken'), { recursive: true });
      writeFileSync(path.join(dir, 'shelf', 'broken', 'model.mjs'), BROKEN_MODEL);
      writeFileSync(path.join(dir, 'shelf', 'broken', 'model.json'), JSON.stringify({ name: 'broken', framework: 'js', entry: 'model.mjs' }));
      await t.platform.artifacts.uploadDirectory(path.join(dir, 'shelf'), 'mme/shelf');
    });
    after(async () => {
      await t?.dispose();
      await dispose?.().catch(() => {});
      rmSync(dir, { recursive: true, force: true });
    });

    it('creates a multi-model variant through the API; nothing loads until a request names a model', async () => {
      // Room for two NCF packages: the third resident model evicts one.
      const res = await fetch(`${t.url}/api/v1/endpoints`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'recs', variants: [{ name: 'all', multiModel: { source: 'models:/ncf', memoryBudgetBytes: Math.floor(packageBytes * 2.5), loadWaitMs: 120_000 } }] }),
      });
      assert.equal(res.status, 201, await res.text());
      const listed = await models('recs');
      assert.equal(listed.variants.length, 1);
      assert.equal(listed.variants[0].source, 'models:/ncf');
      assert.deepEqual(listed.variants[0].models, []);
    });

    it('loads a model on first use and answers with it, with X-Amzn-SageMaker-Target-Model as an alias', async () => {
      const r = await invoke('recs', 'ncf/1');
      assert.equal(r.status, 200, r.text);
      assert.equal(r.model, 'ncf/1');
      assert.equal(r.json().items.length, 3);
      const again = await invoke('recs', 'ncf/1', 'x-amzn-sagemaker-target-model');
      assert.equal(again.status, 200);
      assert.equal(again.text, r.text);
      const v = (await models('recs')).variants[0];
      assert.deepEqual(v.models.map((m) => m.model), ['ncf/1']);
      assert.deepEqual({ loads: v.loads, hits: v.hits, misses: v.misses }, { loads: 1, hits: 1, misses: 1 });
    });

    it('loads a model once for concurrent first requests', async () => {
      const answers = await Promise.all(Array.from({ length: 8 }, () => invoke('recs', 'ncf/2')));
      assert.deepEqual(answers.map((a) => a.status), Array(8).fill(200));
      assert.equal(new Set(answers.map((a) => a.text)).size, 1);
      const v = (await models('recs')).variants[0];
      assert.equal(v.loads, 2, 'one load for ncf/1, one for the eight ncf/2 requests');
      assert.notEqual((await invoke('recs', 'ncf/1')).text, answers[0].text, 'versions 1 and 2 score differently');
    });

    it('evicts the least recently used model under the memory budget; an alias resolves to its version', async () => {
      // ncf/1 was used last, so ncf/2 is the least recently used when the champion (3) loads.
      const r = await invoke('recs', 'ncf@champion');
      assert.equal(r.status, 200, r.text);
      assert.equal(r.model, 'ncf/3');
      const v = (await models('recs')).variants[0];
      assert.deepEqual(v.models.map((m) => m.model), ['ncf/3', 'ncf/1']);
      assert.equal(v.evictions, 1);
      assert.ok(v.residentBytes <= v.memoryBudgetBytes);
      assert.equal((await invoke('recs', 'ncf/3')).text, r.text, 'ncf/3 and ncf@champion are one resident model');
      const metrics = (await (await fetch(`${t.url}/metrics`)).text()).split('\n').filter((l) => l.includes('model') && !l.startsWith('#') && !l.includes('_bucket')).join('\n');
      assert.match(metrics, /capstan_endpoint_model_invocations_total\{endpoint="recs",variant="all",model="ncf\/3"\} 2/);
      assert.match(metrics, /capstan_endpoint_model_evictions_total\{endpoint="recs",variant="all"\} 1/);
      assert.match(metrics, /capstan_endpoint_models_resident\{endpoint="recs",variant="all"\} 2/);
      assert.doesNotMatch(metrics, /model="ncf\/2"/, 'an evicted model leaves no per-model series behind');
    });

    it('answers 404 naming an unknown target model, and 400 when a multi-model variant gets none', async () => {
      for (const target of ['ncf/99', 'ncf@nobody', 'other/1']) {
        const r = await invoke('recs', target);
        assert.equal(r.status, 404, r.text);
        assert.equal(r.json().code, 'CAPSTAN_SERVING_TARGET_MODEL_NOT_FOUND');
        assert.match(r.json().detail, new RegExp(`no target model ${target}`));
      }
      const none = await invoke('recs');
      assert.equal(none.status, 400);
      assert.equal(none.json().code, 'CAPSTAN_SERVING_TARGET_MODEL_REQUIRED');
      assert.deepEqual((await models('recs')).variants[0].models.map((m) => m.model), ['ncf/3', 'ncf/1'], 'bad targets loaded and evicted nothing');
    });

    it('serves InvokeEndpoint with TargetModel through the unmodified AWS SDK', async () => {
      const client = new SageMakerRuntimeClient({ region: 'us-east-1', endpoint: t.url, credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'anything' } });
      try {
        const out = await client.send(new InvokeEndpointCommand({ EndpointName: 'recs', ContentType: 'application/json', TargetModel: 'ncf/1', Body: BODY }));
        assert.equal(out.InvokedProductionVariant, 'all');
        assert.equal(Buffer.from(out.Body!).toString('utf8'), (await invoke('recs', 'ncf/1')).text);
        const err = (await client.send(new InvokeEndpointCommand({ EndpointName: 'recs', ContentType: 'application/json', TargetModel: 'ncf/42', Body: BODY })).catch((e: unknown) => e)) as SageMakerRuntimeServiceException;
        assert.equal(err.name, 'ValidationError');
        assert.match(err.message, /no target model ncf\/42/);
      } finally {
        client.destroy();
      }
    });

    it('creates an artifact-prefix variant with the CLI; a load past the wait budget answers 429 with Retry-After, then serves', async () => {
      const created = cliJson(await runCapstan(['--url', t.url, 'endpoints', 'create', 'shelf', '--multi-model', 'artifacts:/mme/shelf', '--load-wait-ms', '0', '--json']));
      assert.equal(created.variants[0].multiModel.source, 'artifacts:/mme/shelf');
      const first = await invoke('shelf', 'good');
      assert.equal(first.status, 429, first.text);
      assert.equal(first.json().code, 'CAPSTAN_SERVING_MODEL_NOT_READY');
      assert.ok(Number(first.retryAfter) >= 1, `Retry-After ${first.retryAfter}`);
      const served = await untilLoaded('shelf', 'good');
      assert.equal(served.status, 200, served.text);
      assert.equal(served.model, 'good');
    });

    it('answers a model that fails to load with an error naming the model, not a path, while the others keep serving', async () => {
      const failed = await untilLoaded('shelf', 'broken');
      assert.equal(failed.status, 500, failed.text);
      const problem = failed.json();
      assert.equal(problem.code, 'CAPSTAN_SERVING_MODEL_LOAD_FAILED');
      assert.match(problem.detail, /target model broken/);
      assert.doesNotMatch(failed.text, /\/srv\/secret|capstan-mme-|\/tmp\//);
      const again = await invoke('shelf', 'broken');
      assert.equal(again.status, 500, 'the failure is answered again without a new load');
      assert.equal((await invoke('shelf', 'good')).status, 200);
      assert.equal((await invoke('shelf', 'missing')).status, 404);
      const v = (await models('shelf')).variants[0];
      assert.deepEqual(v.models.map((m) => m.model), ['good']);
      assert.equal(v.loadFailures, 1);
    });

    it('lists what each variant has loaded with capstan endpoints models', async () => {
      const listed = cliJson(await runCapstan(['--url', t.url, 'endpoints', 'models', 'recs', '--json']));
      assert.deepEqual(listed.variants[0].models.map((m: { model: string }) => m.model), ['ncf/1', 'ncf/3']);
      const human = await runCapstan(['--url', t.url, 'endpoints', 'models', 'recs']);
      assert.equal(human.code, 0, human.stderr);
      assert.match(human.stdout, /variant all \(models:\/ncf\): 2\/32 models/);
      assert.match(human.stdout, /ncf\/3/);
    });
  });
}
