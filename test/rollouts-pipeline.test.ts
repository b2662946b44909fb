import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { pollUntil } from '../src/core/test-support/poll-until.js';
import { openTestPlatform, type TestPlatform } from '../src/platform/test-support/test-platform.js';
import type { RolloutService } from '../src/rollouts/index.js';
import type { ExecutionRecord } from '../src/pipelines/index.js';
import { startPipeline } from './pipelines-support.js';

/** Trains a js adder package, registers it approved, and deploys it; `policy` is the deploy step's YAML config lines. */
function pipeline(offset: number, policy = '', timeout = ''): string {
  const model = `export function predict(m, x) { return { sum: x.a + x.b + ${offset} }; }`;
  return `name: adder-${offset}
steps:
  - name: train
    type: training
    command: [sh, -c, 'echo "{\\"name\\":\\"adder\\",\\"framework\\":\\"js\\",\\"entry\\":\\"model.mjs\\"}" > "$CAPSTAN_MODEL_DIR/model.json"; echo "${model}" > "$CAPSTAN_MODEL_DIR/model.mjs"']
  - name: register
    type: register-model
    model: adder
    model_data: \${steps.train.outputs.model}
    approval: Approved
  - name: deploy
    type: deploy
${timeout}    endpoint: calc
    model: adder
    version: \${steps.register.properties.version}
${policy}`;
}

describe('pipeline deploy step with a deployment policy', () => {
  let t: TestPlatform;
  before(async () => {
    t = await openTestPlatform({ 'rollouts.tickMs': 100, 'serving.statsFlushMs': 200 });
    // The controller `capstan up` runs moves the deployments the steps start.
    await t.platform.background.find((s) => s.name === 'rollout-controller')!.start();
  });
  after(async () => {
    await t?.dispose();
  });

  const deployStep = (e: ExecutionRecord) => e.steps.find((s) => s.name === 'deploy') as unknown as { state: string; properties: Record<string, unknown>; error: { code: string; message: string } | null };

  it('starts a canary deployment from the YAML config instead of switching all at once, and ends at once with wait: false', async () => {
    const first = await (await startPipeline(t.platform.pipelines, pipeline(0), t.home)).done;
    assert.equal(first.state, 'succeeded');
    const policy = '    config:\n      wait: false\n      deploymentPolicy:\n        strategy: canary\n        canaryPercent: 20\n        waitSeconds: 3600\n        alarms:\n          - type: error-rate\n            threshold: 0.05\n';
    const second = await (await startPipeline(t.platform.pipelines, pipeline(100, policy), t.home)).done;
    assert.equal(second.state, 'succeeded', JSON.stringify(second.steps.map((s) => [s.name, s.state, (s as { error?: unknown }).error])));
    const deploy = second.steps.find((s) => s.name === 'deploy') as unknown as { properties: Record<string, unknown> };
    assert.equal(deploy.properties.action, 'deployment-started');
    assert.equal(deploy.properties.strategy, 'canary');
    const [d] = await t.platform.context<RolloutService>('rollouts').list('calc');
    assert.equal(d.id, deploy.properties.deploymentId);
    assert.deepEqual(d.policy.alarms, [{ type: 'error-rate', threshold: 0.05 }]);
    const ep = await t.platform.serving.describe('calc');
    assert.deepEqual(ep.variants.map((v) => [v.resolved.version, v.weight]), [[1, 80], [2, 20]]);
  });

  it('waits for the deployment to succeed and ends succeeded with green serving alone', async () => {
    const policy = '    config:\n      force: true\n      deploymentPolicy:\n        strategy: linear\n        linearStepPercent: 50\n        waitSeconds: 1\n        evaluationIntervalSeconds: 1\n';
    const run = await (await startPipeline(t.platform.pipelines, pipeline(200, policy), t.home)).done;
    assert.equal(run.state, 'succeeded', JSON.stringify(deployStep(run)));
    const deploy = deployStep(run);
    assert.equal(deploy.properties.action, 'deployment-succeeded');
    assert.equal((await t.platform.context<RolloutService>('rollouts').get('calc', String(deploy.properties.deploymentId))).status, 'Succeeded');
    const ep = await t.platform.serving.describe('calc');
    assert.deepEqual(ep.variants.map((v) => v.resolved.version), [3]);
  });

  it('fails the step naming the alarm when the deployment is rolled back', async () => {
    const policy = "    config:\n      deploymentPolicy:\n        strategy: canary\n        canaryPercent: 10\n        waitSeconds: 3600\n        evaluationIntervalSeconds: 1\n        alarms:\n          - type: cel\n            name: always\n            expression: 'green.requests >= 0.0'\n            minRequests: 0\n";
    const run = await (await startPipeline(t.platform.pipelines, pipeline(300, policy), t.home)).done;
    assert.equal(run.state, 'failed');
    const deploy = deployStep(run);
    assert.equal(deploy.state, 'failed');
    assert.equal(deploy.error?.code, 'CAPSTAN_PIPELINE_DEPLOYMENT_NOT_SUCCEEDED');
    assert.match(deploy.error!.message, /step "deploy": deployment dep\S+ of calc ended RolledBack: alarm always fired/);
    const [latest] = await t.platform.context<RolloutService>('rollouts').list('calc');
    assert.equal(latest.status, 'RolledBack');
    // The row turns RolledBack first, then blue is restored.
    await pollUntil('blue serves alone again', async () => ((await t.platform.serving.describe('calc')).variants.map((v) => v.resolved.version).join() === '3' ? true : undefined));
  });

  it('fails the step at its timeout and leaves the deployment running under its policy', async () => {
    const policy = '    config:\n      deploymentPolicy:\n        strategy: canary\n        canaryPercent: 10\n        waitSeconds: 3600\n';
    const run = await (await startPipeline(t.platform.pipelines, pipeline(400, policy, '    timeout: 2s\n'), t.home)).done;
    const deploy = deployStep(run);
    assert.equal(deploy.state, 'failed');
    assert.equal(deploy.error?.code, 'CAPSTAN_PIPELINE_STEP_TIMEOUT');
    assert.match(deploy.error!.message, /waited 2 s for deployment \S+ of calc, which is still running at 10 % green/);
    const [latest] = await t.platform.context<RolloutService>('rollouts').list('calc');
    assert.equal(latest.status, 'Running');
    await t.platform.context<RolloutService>('rollouts').rollback('calc');
  });
});
