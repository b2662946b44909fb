import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { isCapstanError } from '../src/core/errors.js';
import { toSageMakerError } from '../src/serving/http/sagemaker-error.js';
import { testDatabases } from '../src/storage/test-support/test-databases.js';
import { openHostingHarness, until, type HostingHarness } from './hosting-support.js';

// Three js stages: pre turns {a, b} into {x}, mid doubles x into {y} (and can fail or sleep), post adds one.
const PRE = `export function predict(m, input) { return { x: input.a + input.b, failMid: input.failMid, sleep: input.sleep }; }`;
const MID = `export async function predict(m, input) {
  if (input.failMid) throw new Error('mid broke');
  if (input.sleep) await new Promise((r) => setTimeout(r, input.sleep));
  return { y: input.x * 2 };
}`;
const POST = `export function predict(m, input) { return { answer: input.y + 1 }; }`;

for (const factory of await testDatabases()) {
  describe(`serial inference pipelines (${factory.name})`, { skip: factory.skip }, () => {
    let h: HostingHarness;

    before(async () => {
      h = await openHostingHarness(factory);
      await h.registerJs('pre', PRE, { signature: { outputs: [{ name: 'x' }, { name: 'failMid' }, { name: 'sleep' }] } });
      await h.registerJs('mid', MID, { signature: { outputs: [{ name: 'y' }] } });
      await h.registerJs('post', POST, { signature: { inputs: [{ name: 'y' }], outputs: [{ name: 'answer' }] } });
      const ep = await h.platform.serving.create('chain', {
        variants: [{ pipeline: [{ name: 'pre', model: 'models:/pre/1' }, { name: 'mid', model: 'models:/mid/1', timeoutMs: 300, capture: true }, { name: 'post', model: 'models:/post/1' }] } as never],
        dataCapture: { enabled: true, rotateMs: 100 },
      });
      assert.equal(ep.status, 'InService', ep.statusReason ?? '');
    });
    after(async () => {
      await h?.dispose();
    });

    it('passes each stage answer to the next stage and answers the last one', async () => {
      const res = await h.invoke('chain', { a: 2, b: 3 });
      assert.equal(res.statusCode, 200, res.body);
      assert.deepEqual(res.json(), { answer: 11 });
      const ep = await h.platform.serving.describe('chain');
      assert.equal(ep.variants[0].model, 'models:/pre/1', 'a pipeline variant names its first model stage');
      assert.deepEqual(ep.variants[0].pipeline?.map((s) => `${s.name}=${s.resolved?.name}/${s.resolved?.version}`), ['pre=pre/1', 'mid=mid/1', 'post=post/1']);
    });

    it('captures the input and output of a stage that asks for it', async () => {
      await h.invoke('chain', { a: 20, b: 1 });
      let lines: Record<string, unknown>[] = [];
      await until('a capture file with the mid stage', async () => {
        const files = await h.platform.artifacts.list('data-capture/chain/');
        lines = (await Promise.all(files.map(async (f) => (await h.platform.artifacts.get(f.key)).toString('utf8')))).join('').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l));
        return lines.some((l) => l.stage === 'mid' && String(l.request).includes('"x":21'));
      });
      const mid = lines.find((l) => l.stage === 'mid' && String(l.request).includes('"x":21'))!;
      assert.deepEqual(JSON.parse(String(mid.response)), { y: 42 });
    });

    it('answers a failing stage with a problem naming the stage and its status, never 200', async () => {
      const res = await h.invoke('chain', { a: 1, b: 1, failMid: true });
      assert.equal(res.statusCode, 424, res.body);
      assert.match(String(res.headers['content-type']), /application\/problem\+json/);
      const p = res.json();
      assert.equal(p.code, 'CAPSTAN_SERVING_PIPELINE_STAGE_FAILED');
      assert.match(p.detail, /pipeline stage mid \(2 of 3\) failed with 500 CAPSTAN_SERVING_MODEL_ERROR/);
      assert.equal(p.stage, 'mid');
      assert.equal(p.stageStatus, 500);
      // SigV4 (SageMaker) clients get ModelError 424, which their SDKs do not re-send.
      const err = await h.platform.serving.invoke('chain', JSON.stringify({ a: 1, b: 1, failMid: true })).catch((e: unknown) => e);
      assert.ok(isCapstanError(err));
      assert.equal(toSageMakerError(err).type, 'ModelError');
    });

    it('fails a stage slower than its own timeout with 504 naming it', async () => {
      const res = await h.invoke('chain', { a: 1, b: 1, sleep: 3000 });
      assert.equal(res.statusCode, 504, res.body);
      assert.equal(res.json().code, 'CAPSTAN_SERVING_PIPELINE_STAGE_TIMEOUT');
      assert.equal(res.json().stage, 'mid');
      assert.equal((await h.invoke('chain', { a: 1, b: 1 })).statusCode, 200, 'the pipeline keeps serving');
    });

    it('refuses at create a pipeline whose stage signatures do not connect, creating nothing', async () => {
      const res = await h.app.inject({
        method: 'POST',
        url: '/api/v1/endpoints',
        payload: { name: 'broken', variants: [{ pipeline: [{ name: 'pre', model: 'models:/pre/1' }, { name: 'post', model: 'models:/post/1' }] }] },
      });
      assert.equal(res.statusCode, 400, res.body);
      assert.equal(res.json().code, 'CAPSTAN_SERVING_PIPELINE_STAGES_DISCONNECTED');
      assert.match(res.json().detail, /pipeline stage pre does not connect to stage post: post needs input y, pre outputs x, failMid, sleep/);
      assert.equal((await h.app.inject({ method: 'GET', url: '/api/v1/endpoints/broken' })).statusCode, 404);
    });

    it('refuses at create a declared output media type the next stage does not accept', async () => {
      const err = await h.platform.serving
        .create('csv-chain', { variants: [{ pipeline: [{ name: 'pre', model: 'models:/pre/1', outputContentType: 'text/csv' }, { name: 'mid', model: 'models:/mid/1' }] } as never] })
        .catch((e: unknown) => e);
      assert.ok(isCapstanError(err, 'CAPSTAN_SERVING_PIPELINE_STAGES_DISCONNECTED'), String(err));
      assert.match(err.message, /it answers text\/csv, mid accepts application\/json/);
    });

    it('refuses a pipeline of one stage or more than five', async () => {
      for (const n of [1, 6]) {
        const pipeline = Array.from({ length: n }, (_, i) => ({ name: `s${i}`, model: 'models:/pre/1' }));
        const err = await h.platform.serving.create(`n${n}`, { variants: [{ pipeline } as never] }).catch((e: unknown) => e);
        assert.ok(isCapstanError(err, 'CAPSTAN_SERVING_ENDPOINT_CONFIG_INVALID'), String(err));
        assert.match(err.message, /variants\[0\]\.pipeline must be a list of 2 to 5 stages/);
      }
    });
  });
}
