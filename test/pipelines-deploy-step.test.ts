import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { buildApp, type CapstanApp } from '../src/server/app.js';
import { openTestPlatform, type TestPlatform } from '../src/platform/test-support/test-platform.js';
import { parsePipelineYaml } from '../src/pipelines/pipeline-source.js';
import { startPipeline } from './pipelines-support.js';
import { isCapstanError } from '../src/core/errors.js';

const step = (exec: { steps: { name: string }[] }, name: string) => exec.steps.find((s) => s.name === name)! as any;

/** A pipeline whose training step writes a js model package (adds `offset` to a + b), registers and deploys it. */
function pipeline(name: string, endpoint: string, opts: { approval: string; requireApproval?: boolean; offset: number }): string {
  const model = `export function predict(m, x) { return { sum: x.a + x.b + ${opts.offset} }; }`;
  return `name: ${name}
steps:
  - name: train
    type: training
    command: [sh, -c, 'echo "{\\"name\\":\\"adder\\",\\"framework\\":\\"js\\",\\"entry\\":\\"model.mjs\\"}" > "$CAPSTAN_MODEL_DIR/model.json"; echo "${model}" > "$CAPSTAN_MODEL_DIR/model.mjs"']
  - name: register
    type: register-model
    model: ${name}
    model_data: \${steps.train.outputs.model}
    approval: ${opts.approval}
  - name: deploy
    type: deploy
    endpoint: ${endpoint}
    model: ${name}
    version: \${steps.register.properties.version}
${opts.requireApproval === undefined ? '' : `    require_approval: ${opts.requireApproval}\n`}`;
}

describe('pipeline deploy step: the approval gate before anything is deployed', () => {
  let t: TestPlatform;
  let app: CapstanApp;
  const run = async (yaml: string) => (await startPipeline(t.platform.pipelines, yaml, t.home)).done;
  const invoke = (endpoint: string) =>
    app.inject({ method: 'POST', url: `/endpoints/${endpoint}/invocations`, headers: { 'content-type': 'application/json' }, payload: { a: 1, b: 2 } });

  before(async () => {
    t = await openTestPlatform();
    app = await buildApp(t.platform);
  });
  after(async () => {
    await app?.close();
    await t?.dispose();
  });

  it('refuses to deploy a version pending approval, names the commands that approve and deploy it, and creates no endpoint', async () => {
    const exec = await run(pipeline('pending', 'pending-ep', { approval: 'PendingManualApproval', offset: 0 }));
    assert.equal(exec.state, 'failed');
    assert.equal(step(exec, 'register').state, 'succeeded');
    const d = step(exec, 'deploy');
    assert.equal(d.state, 'failed');
    assert.equal(d.attempts, 1, 'retrying cannot approve the version');
    assert.equal(d.error.code, 'CAPSTAN_PIPELINE_DEPLOY_NOT_APPROVED');
    assert.equal(
      d.error.message,
      'step "deploy": pending/1 is PendingManualApproval, so it was not deployed; approve it (capstan models approve pending 1) and deploy it (capstan endpoints deploy pending-ep --model models:/pending/1)',
    );
    await assert.rejects(t.platform.serving.describe('pending-ep'), (err) => isCapstanError(err) && err.code === 'CAPSTAN_SERVING_ENDPOINT_NOT_FOUND');
  });

  it('deploys the version on the next run once a person approved it; the cached register step reports the approval as it is now', async () => {
    await t.platform.registry.setApproval('pending', 1, { status: 'Approved', comment: 'checked' }, { actor: 'reviewer' });
    const exec = await run(pipeline('pending', 'pending-ep', { approval: 'PendingManualApproval', offset: 0 }));
    assert.equal(exec.state, 'succeeded', exec.error ?? '');
    const register = step(exec, 'register');
    assert.equal(register.cached, true, 'the same model is not registered twice');
    assert.deepEqual([register.properties.version, register.properties.approval], [1, 'Approved']);
    assert.equal((await t.platform.serving.describe('pending-ep')).variants[0].resolved.version, 1);
    assert.deepEqual((await invoke('pending-ep')).json(), { sum: 3 });
  });

  it('deploys an approved version and serves it', async () => {
    const exec = await run(pipeline('approved', 'approved-ep', { approval: 'Approved', offset: 10 }));
    assert.equal(exec.state, 'succeeded', exec.error ?? '');
    const ep = await t.platform.serving.describe('approved-ep');
    assert.equal(ep.status, 'InService');
    assert.equal(ep.variants[0].resolved.version, 1);
    const res = await invoke('approved-ep');
    assert.equal(res.statusCode, 200, res.body);
    assert.deepEqual(res.json(), { sum: 13 });
  });

  it('refuses require_approval: false when the pipeline is applied: a pipeline cannot switch the serving gate off', async () => {
    await assert.rejects(
      t.platform.pipelines.apply(parsePipelineYaml(pipeline('ungated', 'ungated-ep', { approval: 'PendingManualApproval', requireApproval: false, offset: 100 }), 'test.yaml', t.home)),
      (err) => isCapstanError(err) && err.code === 'CAPSTAN_PIPELINE_INVALID' && /require_approval.*false is not supported: only Approved versions are deployed/.test(err.message),
    );
  });

  it('refuses a require_approval that is not a boolean when the pipeline is applied', async () => {
    const yaml = pipeline('bad-flag', 'x', { approval: 'Approved', offset: 0 }).replace('    version: ${steps.register.properties.version}', '    version: ${steps.register.properties.version}\n    require_approval: "yes"');
    await assert.rejects(
      t.platform.pipelines.apply(parsePipelineYaml(yaml, 'test.yaml', t.home)),
      (err) => isCapstanError(err) && err.code === 'CAPSTAN_PIPELINE_INVALID' && /require_approval.*must be true or false/.test(err.message),
    );
  });
});
