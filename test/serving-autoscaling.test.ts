import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { isCapstanError } from '../src/core/errors.js';
import { testDatabases } from '../src/storage/test-support/test-databases.js';
import { openHostingHarness, until, type HostingHarness } from './hosting-support.js';

const SLEEPY = `export async function predict(m, input) {
  if (input.sleep) await new Promise((r) => setTimeout(r, input.sleep));
  return { n: input.n ?? 0 };
}`;

for (const factory of await testDatabases()) {
  describe(`autoscaling and scale to zero (${factory.name})`, { skip: factory.skip }, () => {
    let h: HostingHarness;
    const live = async (endpoint: string) => (await h.platform.serving.describe(endpoint)).variants[0].live!;

    before(async () => {
      h = await openHostingHarness(factory);
      await h.registerJs('sleepy', SLEEPY);
    });
    after(async () => {
      await h?.dispose();
    });

    it('scales to zero after the idle timeout, then serves a burst of 20 concurrent requests through the cold start', async () => {
      const ep = await h.platform.serving.create('zero', { variants: [{ model: 'models:/sleepy/1', scaling: { min: 0, max: 2, idleTimeoutMs: 200, queueSize: 50 } }] });
      assert.equal(ep.status, 'InService', ep.statusReason ?? '');
      await until('the variant scales to zero', async () => (await live('zero')).workers === 0);
      const answers = await Promise.all(Array.from({ length: 20 }, (_, n) => h.invoke('zero', { n })));
      assert.deepEqual(answers.map((r) => r.statusCode), Array(20).fill(200), 'no request fails for the cold start alone');
      assert.deepEqual(answers.map((r) => r.json().n), Array.from({ length: 20 }, (_, n) => n));
      const state = await live('zero');
      assert.equal(state.scaling?.coldStarts, 1, 'the burst started one worker, once');
      assert.ok((state.scaling?.lastColdStartMs ?? 0) > 0);
      const metrics = (await h.app.inject({ method: 'GET', url: '/metrics' })).body;
      assert.match(metrics, /capstan_endpoint_cold_start_seconds_count\{endpoint="zero",variant="primary"\} 1/);
    });

    it('answers 503 with Retry-After past the cold-start queue bound, and the start it triggered serves the retry', async () => {
      await h.platform.serving.create('tight', { variants: [{ model: 'models:/sleepy/1', scaling: { min: 0, max: 1, idleTimeoutMs: 200, queueSize: 0 } }] });
      await until('the variant scales to zero', async () => (await live('tight')).workers === 0);
      const res = await h.invoke('tight', { n: 1 });
      assert.equal(res.statusCode, 503, res.body);
      assert.equal(res.json().code, 'CAPSTAN_SERVING_COLD_START_QUEUE_FULL');
      assert.match(String(res.headers['retry-after']), /^\d+$/);
      await until('the worker the refused request started is up', async () => (await live('tight')).workers === 1);
      assert.equal((await h.invoke('tight', { n: 2 })).statusCode, 200);
    });

    it('adds workers when concurrency passes the target per worker, seen in the state and on /metrics', async () => {
      await h.platform.serving.create('busy', { variants: [{ model: 'models:/sleepy/1', scaling: { min: 1, max: 3, targetInFlight: 1, scaleUpCooldownMs: 0, scaleDownCooldownMs: 600_000 } }] });
      assert.equal((await live('busy')).workers, 1);
      const answers = await Promise.all(Array.from({ length: 6 }, () => h.invoke('busy', { sleep: 400 })));
      assert.deepEqual(answers.map((r) => r.statusCode), Array(6).fill(200));
      await until('the variant scaled up', async () => (await live('busy')).workers >= 2);
      const state = await live('busy');
      assert.ok(state.workers <= 3, `at most max workers, got ${state.workers}`);
      const metrics = (await h.app.inject({ method: 'GET', url: '/metrics' })).body;
      const gauge = Number(/capstan_endpoint_workers\{endpoint="busy",variant="primary"\} (\d+)/.exec(metrics)?.[1]);
      assert.equal(gauge, state.workers);
    });

    it('after a failed start from zero, refuses requests with 503 and Retry-After instead of loading the model again for each, and starts again once the wait is over', async () => {
      const dir = mkdtempSync(path.join(os.tmpdir(), 'capstan-flaky-load-'));
      const broken = path.join(dir, 'broken');
      const loads = path.join(dir, 'loads');
      // Counts every load; fails to load while the flag file exists.
      await h.registerJs('flaky', `import { appendFileSync, existsSync } from 'node:fs';
appendFileSync(${JSON.stringify(loads)}, 'x');
if (existsSync(${JSON.stringify(broken)})) throw new Error('the weights are missing');
export function predict(m, input) { return { n: input.n ?? 0 }; }`);
      await h.platform.serving.create('flaky', { variants: [{ model: 'models:/flaky/1', scaling: { min: 0, max: 1, idleTimeoutMs: 200, queueSize: 10 } }] });
      await until('the variant scales to zero', async () => (await live('flaky')).workers === 0);
      writeFileSync(broken, '');
      const loadsBefore = readFileSync(loads, 'utf8').length;
      const first = await h.invoke('flaky', { n: 1 });
      assert.equal(first.statusCode, 500, first.body);
      const refused = await Promise.all(Array.from({ length: 5 }, () => h.invoke('flaky', { n: 2 })));
      for (const r of refused) {
        assert.equal(r.statusCode, 503, r.body);
        assert.equal(r.json().code, 'CAPSTAN_SERVING_COLD_START_FAILED');
        assert.match(r.json().detail, /last start from zero workers failed .*the next try is in 1 s/);
        assert.equal(r.headers['retry-after'], '1');
      }
      assert.equal(readFileSync(loads, 'utf8').length - loadsBefore, 1, 'the refused requests loaded nothing');
      rmSync(broken);
      await new Promise((r) => setTimeout(r, 1100));
      const healed = await h.invoke('flaky', { n: 3 });
      assert.equal(healed.statusCode, 200, healed.body);
      assert.equal(healed.json().n, 3);
      rmSync(dir, { recursive: true, force: true });
    });

    it('refuses min greater than max naming both, and creates nothing', async () => {
      const err = await h.platform.serving.create('wrong', { variants: [{ model: 'models:/sleepy/1', scaling: { min: 3, max: 2 } }] }).catch((e: unknown) => e);
      assert.ok(isCapstanError(err, 'CAPSTAN_SERVING_ENDPOINT_CONFIG_INVALID'), String(err));
      assert.match(err.message, /variants\[0\]\.scaling\.min \(3\) is greater than variants\[0\]\.scaling\.max \(2\)/);
      assert.equal((await h.platform.serving.list()).some((e) => e.name === 'wrong'), false);
    });
  });
}
