import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { openTestPlatform, type TestPlatform } from '../src/platform/test-support/test-platform.js';
import type { RolloutService } from '../src/rollouts/index.js';
import { startPipeline } from './pipelines-support.js';

/** Trains a js adder package, registers it approved, and deploys it; `policy` is the deploy step's YAML config lines. */
function pipeline(offset: number, policy = ''): string {
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
    endpoint: calc
    model: adder
    version: \${steps.register.properties.version}
${policy}`;
}

describe('pipeline deploy step with a deployment policy', () => {
  let t: TestPlatform;
  before(async () => {
    t = await openTestPlatform();
  });
  after(async () => {
    await t?.dispose();
  });

  it('starts a canary deployment from the YAML config instead of switching all at once', async () => {
    const first = await (await startPipeline(t.platform.pipelines, pipeline(0), t.home)).done;
    assert.equal(first.state, 'succeeded');
    const policy = '    config:\n      deploymentPolicy:\n        strategy: canary\n        canaryPercent: 20\n        waitSeconds: 3600\n        alarms:\n          - type: error-rate\n            threshold: 0.05\n';
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
});
