import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pollUntil } from '../src/core/test-support/poll-until.js';
import type { RolloutService } from '../src/rollouts/index.js';
import { writeAdderPackage } from '../src/rollouts/test-support/rollout-fixtures.js';
import { openServingTestPlatform, registerApproved, type ServingTestPlatform } from '../src/serving/test-support/serving-test-platform.js';

describe('shadow variants: mirrored after the answer, captured in pairs, compared by shadow-report', () => {
  let t: ServingTestPlatform;
  let rollouts: RolloutService;

  before(async () => {
    t = await openServingTestPlatform();
    rollouts = t.platform.context<RolloutService>('rollouts');
    await registerApproved(t.registry, 'adder', { packageDir: writeAdderPackage(path.join(t.scratch, 'v1')) });
    await registerApproved(t.registry, 'adder', { packageDir: writeAdderPackage(path.join(t.scratch, 'v2'), 0, 1) });
    await t.platform.serving.create('mirror', {
      variants: [
        { name: 'primary', model: 'models:/adder/1' },
        { name: 'candidate', model: 'models:/adder/2', shadowPercent: 100, handlerOptions: { holdable: true } },
      ],
      dataCapture: { enabled: true, samplingPercent: 0, rotateMs: 100 },
    });
  });
  after(async () => {
    await t?.dispose();
  });

  it('refuses a shadow share outside 0-100 and an endpoint of shadows only, changing nothing', async () => {
    const before = (await t.platform.serving.describe('mirror')).generation;
    await assert.rejects(
      t.platform.serving.update('mirror', { variants: [{ name: 'primary', model: 'models:/adder/1' }, { name: 'candidate', model: 'models:/adder/2', shadowPercent: 150 }] }),
      (err: Error & { code?: string }) => err.code === 'CAPSTAN_SERVING_ENDPOINT_CONFIG_INVALID' && /variants\[1\]\.shadowPercent must be from 0 to 100/.test(err.message),
    );
    await assert.rejects(
      t.platform.serving.update('mirror', { variants: [{ name: 'candidate', model: 'models:/adder/2', shadowPercent: 50 }] }),
      (err: Error & { code?: string }) => err.code === 'CAPSTAN_SERVING_ENDPOINT_CONFIG_INVALID' && /at least one variant needs a weight above 0 \(shadow variants do not count\)/.test(err.message),
    );
    assert.equal((await t.platform.serving.describe('mirror')).generation, before);
  });

  it('answers every user from the production variant while the shadow is still working', async () => {
    const flag = path.join(t.scratch, 'release-shadow');
    const out = await t.platform.serving.invoke('mirror', JSON.stringify({ a: 1, b: 1, waitFor: flag }), { inferenceId: 'held-1' });
    assert.equal(out.variant, 'primary');
    assert.deepEqual(JSON.parse(out.body), { sum: 2, score: 0.2 });
    // The shadow copy of the same request is still held in its worker: the user did not wait for it.
    try {
      await pollUntil('the shadow copy in flight', async () => ((await t.platform.serving.describe('mirror')).variants.find((v) => v.name === 'candidate')!.live!.inFlight === 1 ? true : undefined));
    } finally {
      writeFileSync(flag, '');
    }
  });

  it('reports agreement, score deltas, latency and errors over the captured pairs', async () => {
    for (let i = 0; i < 20; i++) {
      const out = await t.platform.serving.invoke('mirror', JSON.stringify({ a: i, b: 1 }));
      assert.equal(out.variant, 'primary');
    }
    const report = await pollUntil('21 shadow pairs captured', async () => {
      const r = await rollouts.shadowReport('mirror');
      return r.shadows[0]?.pairs === 21 ? r : undefined;
    });
    const [c] = report.shadows;
    assert.equal(c.shadow, 'candidate');
    assert.equal(c.agreement, 0, 'the candidate adds one more');
    assert.equal(c.meanScoreDelta, 0.1);
    assert.equal(c.errors, 0);
    assert.ok(c.latencyMs.shadowMean > 0);
    const stats = await t.platform.serving.variantStats('mirror');
    assert.equal(stats.variants.find((v) => v.variant === 'candidate')!.requests, 21, 'shadow traffic is in the shared statistics');
  });

  it('promotes the shadow with a deployment policy: it serves users and stops being a shadow', async () => {
    await assert.rejects(rollouts.start('mirror', { fromShadow: 'primary', policy: { strategy: 'all-at-once' } }), (err: Error & { code?: string }) => err.code === 'CAPSTAN_SERVING_VARIANT_NOT_FOUND' && /no shadow variant primary/.test(err.message));
    const d = await rollouts.start('mirror', { fromShadow: 'candidate', policy: { strategy: 'canary', canaryPercent: 30, waitSeconds: 3600 } });
    assert.equal(d.green[0].model, 'models:/adder/2');
    assert.equal(d.green[0].shadowPercent, undefined);
    const ep = await t.platform.serving.describe('mirror');
    assert.deepEqual(ep.variants.map((v) => [v.name, v.weight, v.shadowPercent ?? 0]), [['primary', 70, 0], ['candidate', 1, 100], [d.green[0].name, 30, 0]]);
    await rollouts.rollback('mirror');
  });
});
