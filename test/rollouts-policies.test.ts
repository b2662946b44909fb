import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { compileConfig } from '../src/core/config.js';
import { isCapstanError, type ErrorCode } from '../src/core/errors.js';
import { silentLogger } from '../src/core/logger.js';
import { pollUntil } from '../src/core/test-support/poll-until.js';
import { openPlatform, type Platform } from '../src/platform/platform.js';
import { DeploymentDriver } from '../src/rollouts/deployment-driver.js';
import type { RolloutService, StartDeploymentInput } from '../src/rollouts/index.js';
import { LocalRolloutService } from '../src/rollouts/rollout-service.js';
import { SqlDeploymentStore } from '../src/rollouts/sql-deployment-store.js';
import { writeAdderPackage } from '../src/rollouts/test-support/rollout-fixtures.js';
import { registerApproved } from '../src/serving/test-support/serving-test-platform.js';
import { testDatabases, type TestDatabase } from '../src/storage/test-support/test-databases.js';

const BODY = JSON.stringify({ a: 1, b: 2 });

function rejectsWith(code: ErrorCode, message: RegExp) {
  return (err: Error & { code?: string }) => {
    assert.equal(err.code, code, err.message);
    assert.match(err.message, message);
    return true;
  };
}

for (const factory of await testDatabases()) {
  describe(`deployment policies, alarms and history (${factory.name})`, { skip: factory.skip }, () => {
    let db: TestDatabase;
    let dir: string;
    let platform: Platform;
    let rollouts: RolloutService;
    let n = 0;
    let endpoint: string;

    const controller = () => platform.background.find((s) => s.name === 'rollout-controller')!;
    const generation = async () => (await platform.serving.describe(endpoint)).generation;

    /** Asserts that a refused start changed nothing: same endpoint generation, no deployment. */
    async function refused(input: StartDeploymentInput, code: ErrorCode, message: RegExp, name = endpoint) {
      const before = await generation();
      await assert.rejects(rollouts.start(name, input), rejectsWith(code, message));
      assert.equal(await generation(), before, 'the endpoint did not change');
      assert.deepEqual(await rollouts.list(endpoint), [], 'no deployment was recorded');
    }

    before(async () => {
      db = await factory.create();
      await db.db.close();
      dir = mkdtempSync(path.join(os.tmpdir(), 'capstan-rollout-policies-'));
      platform = await openPlatform({
        config: compileConfig({ flags: { home: dir, databaseUrl: db.url, 'serving.statsFlushMs': 200, 'rollouts.tickMs': 100 }, env: {}, cwd: dir }),
        logger: silentLogger(),
      });
      rollouts = platform.context<RolloutService>('rollouts');
      await registerApproved(platform.registry, 'adder', { packageDir: writeAdderPackage(path.join(dir, 'v1')) });
      await registerApproved(platform.registry, 'adder', { packageDir: writeAdderPackage(path.join(dir, 'v2'), 30) });
      await registerApproved(platform.registry, 'adder', { packageDir: writeAdderPackage(path.join(dir, 'v3'), 0, 50) });
      await controller().start();
    });
    after(async () => {
      await controller().stop();
      await platform?.close();
      await db?.dispose().catch(() => {});
      rmSync(dir, { recursive: true, force: true });
    });
    beforeEach(async () => {
      endpoint = `calc-${++n}`;
      await platform.serving.create(endpoint, { variants: [{ name: 'primary', model: 'models:/adder/1', weight: 3 }] });
    });

    it('refuses percentages and times outside SageMaker\'s ranges, naming the field, before anything changes', async () => {
      await refused({ model: 'models:/adder/2', policy: { strategy: 'canary', canaryPercent: 60 } }, 'CAPSTAN_ROLLOUT_POLICY_INVALID', /canaryPercent must be an integer from 1 to 50 %, got 60/);
      await refused({ model: 'models:/adder/2', policy: { strategy: 'canary', canaryPercent: 0 } }, 'CAPSTAN_ROLLOUT_POLICY_INVALID', /canaryPercent must be an integer from 1 to 50 %/);
      await refused({ model: 'models:/adder/2', policy: { strategy: 'linear', linearStepPercent: 5 } }, 'CAPSTAN_ROLLOUT_POLICY_INVALID', /linearStepPercent must be an integer from 10 to 50 %, got 5/);
      await refused({ model: 'models:/adder/2', policy: { strategy: 'linear', linearStepPercent: 55 } }, 'CAPSTAN_ROLLOUT_POLICY_INVALID', /linearStepPercent must be an integer from 10 to 50 %/);
      await refused({ model: 'models:/adder/2', policy: { strategy: 'canary', waitSeconds: 3601 } }, 'CAPSTAN_ROLLOUT_POLICY_INVALID', /waitSeconds must be an integer from 0 to 3600 s/);
      await refused({ model: 'models:/adder/2', policy: { strategy: 'canary', terminationWaitSeconds: -1 } }, 'CAPSTAN_ROLLOUT_POLICY_INVALID', /terminationWaitSeconds must be an integer from 0 to 3600 s/);
      await refused({ model: 'models:/adder/2', policy: { strategy: 'canary', maxExecutionSeconds: 100 } }, 'CAPSTAN_ROLLOUT_POLICY_INVALID', /maxExecutionSeconds must be an integer from 600 to 14400 s/);
      await refused({ model: 'models:/adder/2', policy: { strategy: 'blue-green' as never } }, 'CAPSTAN_ROLLOUT_POLICY_INVALID', /strategy must be one of all-at-once, canary, linear/);
      await refused({ model: 'models:/adder/2', policy: { strategy: 'canary', onAlarm: 'ignore' as never } }, 'CAPSTAN_ROLLOUT_POLICY_INVALID', /onAlarm must be one of rollback, pause/);
    });

    it('refuses an alarm expression that does not compile, or is not a condition, before anything changes', async () => {
      await refused({ model: 'models:/adder/2', policy: { strategy: 'canary', alarms: [{ type: 'cel', expression: 'green.errorRate >' }] } }, 'CAPSTAN_ROLLOUT_ALARM_INVALID', /alarms\[0\]\.expression is not valid CEL/);
      await refused({ model: 'models:/adder/2', policy: { strategy: 'canary', alarms: [{ type: 'cel', expression: 'green.requests + 1.0' }] } }, 'CAPSTAN_ROLLOUT_ALARM_INVALID', /must be a condition \(bool\), not double/);
      await refused({ model: 'models:/adder/2', policy: { strategy: 'canary', alarms: [{ type: 'error-rate', threshold: 5 }] } }, 'CAPSTAN_ROLLOUT_ALARM_INVALID', /is a fraction from 0 to 1/);
      await refused({ model: 'models:/adder/2', policy: { strategy: 'canary', alarms: [{ type: 'p99' }] } }, 'CAPSTAN_ROLLOUT_ALARM_INVALID', /alarms\[0\]\.threshold must be a number >= 0/);
    });

    it('refuses a strategy on an endpoint without a previous version', async () => {
      await assert.rejects(rollouts.start('nowhere', { model: 'models:/adder/2', policy: { strategy: 'canary' } }), rejectsWith('CAPSTAN_ROLLOUT_NO_PREVIOUS_VERSION', /endpoint nowhere does not exist/));
      await assert.rejects(platform.serving.describe('nowhere'), /no endpoint nowhere/);
      assert.deepEqual(await rollouts.list('nowhere'), []);
    });

    it('answers 409 to a second deployment while one runs; force rolls the running one back first', async () => {
      const first = await rollouts.start(endpoint, { model: 'models:/adder/1', policy: { strategy: 'canary', canaryPercent: 10, waitSeconds: 3600 } });
      assert.equal(first.status, 'Running');
      const generationBefore = await generation();
      await assert.rejects(rollouts.start(endpoint, { model: 'models:/adder/2', policy: { strategy: 'canary' } }), rejectsWith('CAPSTAN_ROLLOUT_IN_PROGRESS', /already has a deployment running/));
      assert.equal(await generation(), generationBefore, 'the refused second deployment changed nothing');
      const second = await rollouts.start(endpoint, { model: 'models:/adder/2', force: true, policy: { strategy: 'canary', canaryPercent: 10, waitSeconds: 3600 } });
      const [latest, older] = await rollouts.list(endpoint);
      assert.equal(latest.id, second.id);
      assert.equal(older.status, 'RolledBack');
      assert.equal(older.reason, 'superseded by a forced deployment');
      const ep = await platform.serving.describe(endpoint);
      assert.deepEqual(ep.variants.map((v) => [v.name, v.resolved.version, v.weight]), [['primary', 1, 90], ['primary-d2', 2, 10]]);
      await rollouts.rollback(endpoint);
      assert.deepEqual((await platform.serving.describe(endpoint)).variants.map((v) => [v.name, v.weight]), [['primary', 3]], 'blue is back at its own weight');
    });

    it('rolls back on an alarm relative to blue, recording the alarm, its values and the time, with outbox events', async () => {
      const d = await rollouts.start(endpoint, {
        model: 'models:/adder/2',
        policy: { strategy: 'canary', canaryPercent: 50, waitSeconds: 3600, evaluationIntervalSeconds: 1, alarms: [{ type: 'error-rate', threshold: 0.1, relativeToBlue: true, minRequests: 40 }] },
      });
      const green = d.green[0].name!;
      assert.match(d.green[0].model, /^models:\/adder\/2$/);
      for (let i = 0; i < 60; i++) {
        await platform.serving.invoke(endpoint, BODY, { targetVariant: 'primary' });
        await platform.serving.invoke(endpoint, BODY, { targetVariant: green }).catch(() => {});
      }
      const done = await pollUntil('the alarm rolled back', async () => {
        const x = await rollouts.get(endpoint, d.id);
        return x.status === 'Running' ? undefined : x;
      });
      assert.equal(done.status, 'RolledBack');
      assert.equal(done.alarm?.alarm, 'error-rate>blue+0.1');
      assert.ok(done.alarm!.evaluation.value! > 0.1, JSON.stringify(done.alarm));
      assert.equal(done.alarm!.evaluation.blue.errorRate, 0);
      assert.ok(Date.parse(done.alarm!.at) >= Date.parse(done.startedAt));
      assert.ok(done.evaluations.some((e) => e.fired === true));
      const events = (await platform.outboxStore.events()).filter((e) => e.subject === `endpoints/${endpoint}/deployments/${d.id}`).map((e) => e.type);
      assert.deepEqual(events, ['deployment.started', 'deployment.rolled_back']);
    });

    it('rolls back when green\'s output scores drift from blue\'s (model-quality alarm, KS over the window)', async () => {
      const d = await rollouts.start(endpoint, {
        model: 'models:/adder/3',
        policy: { strategy: 'canary', canaryPercent: 50, waitSeconds: 3600, evaluationIntervalSeconds: 1, alarms: [{ type: 'quality', statistic: 'ks', threshold: 0.5, minRequests: 20 }] },
      });
      for (let i = 0; i < 30; i++) {
        await platform.serving.invoke(endpoint, JSON.stringify({ a: i, b: 0 }), { targetVariant: 'primary' });
        try {
          await platform.serving.invoke(endpoint, JSON.stringify({ a: i, b: 0 }), { targetVariant: d.green[0].name });
        } catch (err) {
          // On a slow machine the alarm may already have fired (after minRequests) and removed green.
          if (isCapstanError(err, 'CAPSTAN_SERVING_VARIANT_NOT_FOUND')) break;
          throw err;
        }
      }
      const done = await pollUntil('the quality alarm rolled back', async () => {
        const x = await rollouts.get(endpoint, d.id);
        return x.status === 'Running' ? undefined : x;
      });
      assert.equal(done.status, 'RolledBack');
      assert.equal(done.alarm?.alarm, 'quality-ks>0.5');
      assert.equal(done.alarm?.evaluation.value, 1);
    });

    it('lets a request in flight on green finish there when the deployment rolls back', async () => {
      const d = await rollouts.start(endpoint, { model: 'models:/adder/1', settings: { handlerOptions: { holdable: true } }, policy: { strategy: 'canary', canaryPercent: 50, waitSeconds: 3600 } });
      const flag = path.join(dir, `release-${endpoint}`);
      const held = platform.serving.invoke(endpoint, JSON.stringify({ a: 1, b: 1, waitFor: flag }), { targetVariant: d.green[0].name });
      await pollUntil('the request is in flight on green', async () => ((await platform.serving.describe(endpoint)).variants.find((v) => v.name === d.green[0].name)?.live?.inFlight === 1 ? true : undefined));
      const rolled = rollouts.rollback(endpoint);
      await pollUntil('blue serves alone', async () => ((await platform.serving.describe(endpoint)).variants.length === 1 ? true : undefined));
      writeFileSync(flag, '');
      const out = await held;
      assert.equal(out.variant, d.green[0].name, 'green answered the request it took');
      assert.deepEqual(JSON.parse(out.body), { sum: 2, score: 0.2 });
      assert.equal((await rolled).status, 'RolledBack');
    });

    it('pauses on an alarm when asked, holding the shares; resume and a manual rollback follow', async () => {
      const d = await rollouts.start(endpoint, {
        model: 'models:/adder/1',
        policy: { strategy: 'linear', linearStepPercent: 20, waitSeconds: 3600, evaluationIntervalSeconds: 1, onAlarm: 'pause', alarms: [{ name: 'any-traffic', type: 'cel', expression: 'green.requests >= 5.0 && green.errorRate <= blue.errorRate', minRequests: 5 }] },
      });
      for (let i = 0; i < 10; i++) await platform.serving.invoke(endpoint, BODY, { targetVariant: d.green[0].name });
      const paused = await pollUntil('the alarm paused', async () => {
        const x = await rollouts.get(endpoint, d.id);
        return x.status === 'Paused' ? x : undefined;
      });
      assert.equal(paused.alarm?.alarm, 'any-traffic');
      assert.deepEqual((await platform.serving.describe(endpoint)).variants.map((v) => v.weight), [80, 20], 'the shares are held');
      await assert.rejects(rollouts.start(endpoint, { model: 'models:/adder/2', policy: { strategy: 'canary' } }), rejectsWith('CAPSTAN_ROLLOUT_IN_PROGRESS', /already has a deployment running/));
      const resumed = await rollouts.resume(endpoint);
      assert.equal(resumed.status, 'Running');
      await assert.rejects(rollouts.resume(endpoint), rejectsWith('CAPSTAN_ROLLOUT_NOT_PAUSED', /is Running, not Paused/));
      const rolled = await rollouts.rollback(endpoint, { actor: 'local:tester' });
      assert.equal(rolled.status, 'RolledBack');
      assert.equal(rolled.reason, 'rolled back by local:tester');
      const events = (await platform.outboxStore.events()).filter((e) => e.subject === `endpoints/${endpoint}/deployments/${d.id}`).map((e) => e.type);
      assert.deepEqual(events, ['deployment.started', 'deployment.paused', 'deployment.step', 'deployment.rolled_back']);
    });

    it('completes all-at-once with baking and termination wait, emitting step and succeeded events', async () => {
      const d = await rollouts.start(endpoint, { model: 'models:/adder/2', policy: { strategy: 'all-at-once', bakeSeconds: 1, terminationWaitSeconds: 1 } });
      assert.deepEqual((await platform.serving.describe(endpoint)).variants.map((v) => v.weight), [0, 100], 'green takes everything at once, blue stays loaded');
      const done = await pollUntil('all-at-once finished', async () => {
        const x = await rollouts.get(endpoint, d.id);
        return x.status === 'Running' ? undefined : x;
      });
      assert.equal(done.status, 'Succeeded');
      assert.deepEqual(done.steps.map((s) => s.phase), ['baking', 'terminating', 'done']);
      assert.deepEqual((await platform.serving.describe(endpoint)).variants.map((v) => [v.resolved.version, v.weight]), [[2, 1]]);
      const events = (await platform.outboxStore.events()).filter((e) => e.subject === `endpoints/${endpoint}/deployments/${d.id}`).map((e) => e.type);
      assert.deepEqual(events, ['deployment.started', 'deployment.succeeded']);
    });

    it('rolls back a deployment that outlives its maximum execution time', async () => {
      let now = Date.now();
      const clock = { now: () => now };
      const store = new SqlDeploymentStore(platform.db);
      const driver = new DeploymentDriver({ store, serving: () => platform.serving, logger: silentLogger(), clock });
      const local = new LocalRolloutService({ store, driver, serving: () => platform.serving, logger: silentLogger(), clock });
      await controller().stop();
      try {
        const d = await local.start(endpoint, { model: 'models:/adder/2', policy: { strategy: 'linear', waitSeconds: 3600, maxExecutionSeconds: 600 } });
        now += 601_000;
        assert.ok(await store.claim(d.id, 'test', 10_000, Date.now()));
        await driver.tick(await store.get(d.id), 'test');
        const done = await local.get(endpoint, d.id);
        assert.equal(done.status, 'RolledBack');
        assert.match(done.reason!, /longer than its maximum execution time of 600 s/);
        assert.deepEqual((await platform.serving.describe(endpoint)).variants.map((v) => v.name), ['primary']);
      } finally {
        await controller().start();
      }
    });
  });
}
