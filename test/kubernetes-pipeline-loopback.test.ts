import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CapstanError } from '../src/core/errors.js';
import { KubernetesExecutor } from '../src/pipelines/executor/kubernetes/kubernetes-executor.js';
import { LoopbackKubernetesApi } from '../src/pipelines/executor/kubernetes/test-support/loopback-kubernetes-api.js';
import { parsePipelineYaml } from '../src/pipelines/pipeline-source.js';
import { testDatabases } from '../src/storage/test-support/test-databases.js';
import { pipelinesFixture, type PipelinesFixture } from './pipelines-support.js';

const step = (exec: { steps: { name: string }[] }, name: string) => exec.steps.find((s) => s.name === name)! as any;

const YAML = `name: on-k8s
defaults:
  executor: kubernetes
  kubernetes:
    image: python:3.12-slim
    resources: { cpu: 500m, memory: 1Gi }
steps:
  - name: prepare
    type: processing
    command: [sh, -c, 'echo rows > "$CAPSTAN_OUTPUT_DIR/data/rows.txt"; echo "loss=0.5;"']
    outputs: [data]
    retry: { attempts: 2, backoff: 10ms }
    metric_definitions: [{ name: loss, regex: "loss=([0-9.]+);" }]
  - name: train
    type: training
    command: [sh, -c, 'cp "$CAPSTAN_INPUT_DIR/data/rows.txt" "$CAPSTAN_MODEL_DIR/model.bin"']
    inputs:
      data: \${steps.prepare.outputs.data}
    kubernetes: { resources: { gpu: 1 }, node_selector: { pool: gpu } }
  - name: local-check
    type: evaluation
    executor: local
    command: [sh, -c, 'echo ok > "$CAPSTAN_OUTPUT_DIR/r/x"']
    outputs: [r]
    depends_on: [train]
`;

for (const factory of await testDatabases()) {
  describe(`pipelines with kubernetes steps against the loopback Kubernetes API server (${factory.name})`, { skip: factory.skip }, () => {
    let fx: PipelinesFixture;
    let bare: PipelinesFixture;
    let api: LoopbackKubernetesApi;
    before(async () => {
      fx = await pipelinesFixture(factory);
      bare = await pipelinesFixture(factory, { kubernetesMissing: ['CAPSTAN_K8S_NAMESPACE', 'CAPSTAN_K8S_STEP_IO_IMAGE'] });
      api = await new LoopbackKubernetesApi(fx.artifacts).start();
      fx.service.registerExecutor(new KubernetesExecutor(fx.artifacts, { namespace: 'steps', capstanImage: 'capstan:test', storeEnv: [], kubeConfig: api.kubeConfig(), pollMs: 20 }));
    });
    after(async () => {
      await api?.close();
      await fx?.dispose();
      await bare?.dispose();
    });

    it('runs steps as Jobs with per-pipeline defaults and per-step overrides; an evicted pod is retried per the retry policy; local stays available', async () => {
      let evictions = 0;
      api.behaviour = (job) => (job.metadata.labels['capstan.dev/step'] === 'prepare' && evictions++ === 0 ? 'evict-when-running' : 'run');
      const exec = await fx.run(YAML);
      assert.equal(exec.state, 'succeeded', JSON.stringify(exec, null, 1));
      assert.equal(step(exec, 'prepare').attempts, 2);
      assert.deepEqual(step(exec, 'prepare').metrics, { loss: 0.5 });
      const trainJob = [...api.jobs.values()].find((j) => j.metadata.labels['capstan.dev/step'] === 'train')!;
      const main = trainJob.spec.template.spec.containers[0];
      assert.deepEqual(main.resources.limits, { cpu: '500m', memory: '1Gi', 'nvidia.com/gpu': '1' }, 'defaults merged with the step override');
      assert.deepEqual(trainJob.spec.template.spec.nodeSelector, { pool: 'gpu' });
      assert.equal([...api.jobs.values()].some((j) => j.metadata.labels['capstan.dev/step'] === 'local-check'), false);
      assert.equal((await fx.artifacts.get(`${step(exec, 'train').outputs.model.uri.replace(/^.*?artifacts\//, '')}/model.bin`)).toString(), 'rows\n');
    });

    it('refuses at apply a kubernetes step on a platform without cluster configuration, naming what is missing; nothing is stored', async () => {
      try {
        await bare.service.apply(parsePipelineYaml(YAML, 'k8s.yaml'));
        assert.fail('applied');
      } catch (err) {
        assert.ok(err instanceof CapstanError);
        assert.equal(err.code, 'CAPSTAN_K8S_NOT_CONFIGURED');
        assert.match(err.message, /step "prepare" runs on kubernetes, but this platform has no cluster configured; missing: CAPSTAN_K8S_NAMESPACE, CAPSTAN_K8S_STEP_IO_IMAGE/);
      }
      assert.deepEqual(await bare.service.list(), []);
    });

    it('refuses a kubernetes step without an image and bad Kubernetes settings at validation', async () => {
      const bad = `name: bad-k8s
steps:
  - name: s
    type: processing
    executor: kubernetes
    command: [echo]
    kubernetes: { resources: { gpu: 0.5, memory: lots }, secret_env: { TOKEN: nope } }
`;
      try {
        await fx.service.apply(parsePipelineYaml(bad, 'bad.yaml'));
        assert.fail('applied');
      } catch (err) {
        assert.ok(err instanceof CapstanError);
        assert.equal(err.code, 'CAPSTAN_PIPELINE_INVALID');
        assert.match(err.message, /resources\.gpu.*whole number/);
        assert.match(err.message, /resources\.memory.*quantity/);
        assert.match(err.message, /secret_env\.TOKEN.*secret-name\/key/);
        assert.match(err.message, /needs kubernetes\.image/);
      }
      assert.equal((await fx.service.list()).some((p) => p.name === 'bad-k8s'), false);
    });
  });
}
