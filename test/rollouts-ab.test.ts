import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { compileConfig } from '../src/core/config.js';
import { silentLogger } from '../src/core/logger.js';
import { openPlatform, type Platform } from '../src/platform/platform.js';
import type { RolloutService } from '../src/rollouts/index.js';
import { writeAdderPackage } from '../src/rollouts/test-support/rollout-fixtures.js';
import { FeedbackBook } from '../src/rollouts/feedback.js';
import { ThompsonBandit } from '../src/rollouts/thompson-bandit.js';
import { buildApp, type CapstanApp } from '../src/server/app.js';
import { registerApproved } from '../src/serving/test-support/serving-test-platform.js';
import { testDatabases, type TestDatabase } from '../src/storage/test-support/test-databases.js';

for (const factory of await testDatabases()) {
  describe(`sticky assignment by routing key, feedback and ab-report (${factory.name})`, { skip: factory.skip }, () => {
    let db: TestDatabase;
    let dir: string;
    let platform: Platform;
    let app: CapstanApp;
    let rollouts: RolloutService;
    const body = (user: string, a = 1) => JSON.stringify({ a, b: 2, user });

    before(async () => {
      db = await factory.create();
      await db.db.close();
      dir = mkdtempSync(path.join(os.tmpdir(), 'capstan-ab-'));
      platform = await openPlatform({ config: compileConfig({ flags: { home: dir, databaseUrl: db.url }, env: {}, cwd: dir }), logger: silentLogger() });
      rollouts = platform.context<RolloutService>('rollouts');
      app = await buildApp(platform);
      await registerApproved(platform.registry, 'adder', { packageDir: writeAdderPackage(path.join(dir, 'v1')) });
      await registerApproved(platform.registry, 'adder', { packageDir: writeAdderPackage(path.join(dir, 'v2'), 0, 1) });
      await platform.serving.create('ab', {
        variants: [
          { name: 'a', model: 'models:/adder/1' },
          { name: 'b', model: 'models:/adder/2' },
        ],
        trafficPolicy: { kind: 'sticky', keyField: 'user' },
      });
    });
    after(async () => {
      await app?.close();
      await platform?.close();
      await db?.dispose().catch(() => {});
      rmSync(dir, { recursive: true, force: true });
    });

    it('refuses a key field on a policy that is not sticky, or one that is not a field path', async () => {
      for (const tp of [{ kind: 'weighted-random' as const, keyField: 'user' }, { kind: 'sticky' as const, keyField: 'user[0]' }]) {
        await assert.rejects(
          platform.serving.update('ab', { trafficPolicy: tp }),
          (err: Error & { code?: string }) => err.code === 'CAPSTAN_SERVING_ENDPOINT_CONFIG_INVALID' && /trafficPolicy.keyField is a JSON field path/.test(err.message),
        );
      }
      assert.deepEqual((await platform.serving.describe('ab')).trafficPolicy, { kind: 'sticky', keyField: 'user' });
    });

    it('keeps each user on one variant by the user field of the body, spreading users over both', async () => {
      const seen = new Map<string, Set<string>>();
      for (let round = 0; round < 3; round++) {
        for (let u = 0; u < 40; u++) {
          const out = await platform.serving.invoke('ab', body(`user-${u}`, round));
          seen.set(`user-${u}`, (seen.get(`user-${u}`) ?? new Set()).add(out.variant));
        }
      }
      assert.ok([...seen.values()].every((s) => s.size === 1), 'every user stayed on one variant');
      const counts = [...seen.values()].map((s) => [...s][0]);
      assert.ok(counts.includes('a') && counts.includes('b'), 'users spread over both variants');
      // The header still wins over the body field.
      const byHeader = await platform.serving.invoke('ab', body('user-0'), { stickyKey: 'someone-else' });
      assert.equal(typeof byHeader.variant, 'string');
    });

    it('joins feedback to the variant that answered, refuses unknown ids storing nothing, and reports a significant winner', async () => {
      for (let i = 0; i < 120; i++) {
        const out = await platform.serving.invoke('ab', body(`shopper-${i}`), { inferenceId: `req-${i}` });
        // b converts every time, a one time in four.
        const converted = out.variant === 'b' || i % 4 === 0;
        await rollouts.feedback('ab', { inferenceId: `req-${i}`, ...(i % 2 ? { reward: converted ? 1 : 0 } : { label: converted ? 'converted' : 'bounced' }) });
      }
      const before = await rollouts.abReport('ab');
      await assert.rejects(rollouts.feedback('ab', { inferenceId: 'never-sent', reward: 1 }), (err: Error & { code?: string }) => err.code === 'CAPSTAN_ROLLOUT_INFERENCE_NOT_FOUND' && /answered no invocation with inference id "never-sent"/.test(err.message));
      await assert.rejects(rollouts.feedback('ab', { inferenceId: 'req-1' }), (err: Error & { code?: string }) => err.code === 'CAPSTAN_ROLLOUT_FEEDBACK_INVALID' && /give a reward or a label/.test(err.message));
      const res = await app.inject({ method: 'POST', url: '/api/v1/endpoints/ab/feedback', payload: { inferenceId: 'never-sent', reward: 1 } });
      assert.equal(res.statusCode, 404);
      assert.equal(res.json().code, 'CAPSTAN_ROLLOUT_INFERENCE_NOT_FOUND');
      const report = await rollouts.abReport('ab');
      assert.deepEqual(report, before, 'nothing was stored for the refused feedback');
      const [a, b] = report.variants;
      assert.equal(a.variant, 'a');
      assert.equal(a.feedback + b.feedback, 120);
      assert.equal(a.invocations + b.invocations, 120);
      assert.equal(b.mean, 1);
      assert.ok(a.mean! < 0.5 && a.ci95![0] <= a.mean! && a.mean! <= a.ci95![1]);
      assert.equal(report.test?.best, 'b');
      assert.equal(report.test?.significantAt95, true);
      const ok = await app.inject({ method: 'POST', url: '/api/v1/endpoints/ab/feedback', payload: { inferenceId: 'req-0', label: 'converted' } });
      assert.equal(ok.statusCode, 201, ok.body);
    });

    it('thompson sampling moves the weights toward the variant that converts, the same in every process', async () => {
      await platform.serving.update('ab', { trafficPolicy: { kind: 'thompson' } });
      const bandit = () => new ThompsonBandit({ serving: () => platform.serving, feedback: new FeedbackBook(platform.db, silentLogger()), logger: silentLogger() });
      const weights = await bandit().rebalance('ab');
      assert.ok(weights && weights.b > 90 && weights.a > 0, JSON.stringify(weights));
      assert.deepEqual(Object.fromEntries((await platform.serving.describe('ab')).variants.map((v) => [v.name, v.weight])), weights);
      assert.equal(await bandit().rebalance('ab'), undefined, 'a second process computes the same weights and writes nothing');
    });
  });
}
