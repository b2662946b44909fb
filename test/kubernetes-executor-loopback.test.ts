import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as k8s from '@kubernetes/client-node';
import { compileConfig } from '../src/core/config.js';
import { CapstanError } from '../src/core/errors.js';
import { buildJob } from '../src/pipelines/executor/kubernetes/job-manifest.js';
import { kubernetesExecutorFromConfig } from '../src/pipelines/executor/kubernetes/kubernetes-config.js';
import { KubernetesExecutor } from '../src/pipelines/executor/kubernetes/kubernetes-executor.js';
import { LoopbackKubernetesApi } from '../src/pipelines/executor/kubernetes/test-support/loopback-kubernetes-api.js';
import type { StepRunContext, StepTask } from '../src/pipelines/executor/step-executor.js';
import { FileArtifactStore } from '../src/storage/artifacts/file-artifact-store.js';

// These tests run against a LOOPBACK Kubernetes API server (an in-memory Job/Pod store with a
// simulated kubelet running the containers as local processes), not against a cluster; the
// real-cluster test is test/kubernetes-executor-cluster.test.ts (runs only with KUBECONFIG).
const settings = { namespace: 'capstan-steps', capstanImage: 'capstan:test', storeEnv: [{ name: 'CAPSTAN_ARTIFACTS', value: 's3://bucket/root' }] };

function task(step: string, script: string, over: Partial<StepTask> = {}): StepTask {
  return {
    executionId: `exec-${step}`,
    pipeline: 'p',
    step,
    attempt: 1,
    command: ['sh', '-c', script],
    hyperparameters: { lr: 0.1 },
    env: { GREETING: 'hello' },
    inputs: {},
    outputs: ['out'],
    modelOutput: false,
    codePrefix: null,
    outputPrefix: `pipelines/p/executions/exec-${step}/${step}/attempt-1/`,
    propertyFiles: [],
    kubernetes: { image: 'python:3.12-slim' },
    ...over,
  };
}

function context(signal = new AbortController().signal): StepRunContext & { lines: string[] } {
  const lines: string[] = [];
  return { signal, lines, log: (_s, l) => lines.push(l) };
}

async function rejectsWith(p: Promise<unknown>, code: string): Promise<CapstanError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof CapstanError, String(err));
    assert.equal(err.code, code, err.message);
    return err;
  }
  assert.fail(`expected ${code}`);
}

describe('Kubernetes Job executor against the loopback Kubernetes API server (no cluster)', () => {
  let dir: string;
  let store: FileArtifactStore;
  let api: LoopbackKubernetesApi;
  let executor: KubernetesExecutor;

  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'k8s-exec-'));
    store = await FileArtifactStore.open(path.join(dir, 'artifacts'));
    api = await new LoopbackKubernetesApi(store).start();
    executor = new KubernetesExecutor(store, { ...settings, kubeConfig: api.kubeConfig(), pollMs: 20, logDrainMs: 2000 });
  });
  after(async () => {
    await api.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('builds a Job with the image, resources incl. nvidia.com/gpu, secret env, node selector, tolerations, service account and deadline', () => {
    const job = buildJob(
      task('train', 'true', {
        kubernetes: {
          image: 'ghcr.io/acme/train:1',
          resources: { cpu: '2', memory: '8Gi', gpu: 1 },
          secretEnv: { API_TOKEN: 'acme-secrets/token' },
          nodeSelector: { pool: 'gpu' },
          tolerations: [{ key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' }],
          serviceAccount: 'trainer',
          activeDeadlineSeconds: 3600,
        },
      }),
      settings,
    );
    const pod = job.spec!.template.spec!;
    const main = pod.containers.find((c) => c.name === 'step')!;
    assert.equal(main.image, 'ghcr.io/acme/train:1');
    assert.deepEqual(main.resources?.limits, { cpu: '2', memory: '8Gi', 'nvidia.com/gpu': '1' });
    assert.deepEqual(main.env?.find((e) => e.name === 'API_TOKEN')?.valueFrom, { secretKeyRef: { name: 'acme-secrets', key: 'token' } });
    assert.deepEqual(pod.nodeSelector, { pool: 'gpu' });
    assert.equal(pod.tolerations?.[0].key, 'nvidia.com/gpu');
    assert.equal(pod.serviceAccountName, 'trainer');
    assert.equal(job.spec!.activeDeadlineSeconds, 3600);
    assert.equal(job.spec!.backoffLimit, 0);
    assert.deepEqual(pod.initContainers?.[0].args, ['step-io', 'download', '--dir', '/capstan']);
    assert.deepEqual(pod.containers.find((c) => c.name === 'stage-out')?.args, ['step-io', 'upload', '--dir', '/capstan']);
    assert.equal(pod.containers.find((c) => c.name === 'stage-out')?.image, 'capstan:test');
  });

  it('runs a step: inputs staged by the init container, log lines streamed, outputs uploaded by the finishing container', async () => {
    await store.put('datasets/d/rows.csv', 'a,b\n1,2\n');
    const ctx = context();
    const script = 'echo "greeting=$GREETING args=$0 $*"; echo "loss=0.25"; cat "$CAPSTAN_INPUT_DIR/data/rows.csv" > "$CAPSTAN_OUTPUT_DIR/out/copy.csv"; echo "{\\"acc\\": 0.9}" > "$CAPSTAN_OUTPUT_DIR/out/eval.json"';
    const result = await executor.run(task('ok', script, { inputs: { data: 'datasets/d/' }, propertyFiles: [{ name: 'evaluation', output: 'out', path: 'eval.json' }] }), ctx);
    assert.ok(ctx.lines.includes('greeting=hello args=--lr 0.1'), ctx.lines.join('\n'));
    assert.ok(ctx.lines.includes('loss=0.25'));
    assert.match(result.outputs.out.uri, /attempt-1\/out$/);
    assert.match(result.outputs.out.digest, /^sha256:/);
    assert.equal((await store.get('pipelines/p/executions/exec-ok/ok/attempt-1/out/copy.csv')).toString(), 'a,b\n1,2\n');
    assert.deepEqual(result.properties.evaluation, { acc: 0.9 });
  });

  it('a non-zero exit fails the step; exit 86 is not retried', async () => {
    const err = await rejectsWith(executor.run(task('exit86', 'echo bad input; exit 86'), context()), 'CAPSTAN_PIPELINE_STEP_EXIT');
    assert.equal(err.retryable, false);
    assert.match(err.message, /exited with code 86/);
    const e2 = await rejectsWith(executor.run(task('exit3', 'exit 3'), context()), 'CAPSTAN_PIPELINE_STEP_EXIT');
    assert.equal(e2.retryable, true);
  });

  it('an image pull failure fails the step with Kubernetes reason (no hang) and deletes the Job', async () => {
    api.behaviour = () => 'image-pull-failure';
    try {
      const err = await rejectsWith(executor.run(task('pull', 'true', { kubernetes: { image: 'nope/missing:1' } }), context()), 'CAPSTAN_K8S_POD_FAILED');
      assert.match(err.message, /cannot start: (ErrImagePull|ImagePullBackOff)/);
      assert.equal(err.retryable, false);
      assert.equal([...api.jobs.keys()].some((n) => n.startsWith('capstan-pull-')), false);
    } finally {
      api.behaviour = () => 'run';
    }
  });

  it('an unschedulable pod fails the step with the scheduler message', async () => {
    api.behaviour = () => 'unschedulable';
    try {
      const err = await rejectsWith(executor.run(task('gpu', 'true'), context()), 'CAPSTAN_K8S_POD_UNSCHEDULABLE');
      assert.match(err.message, /Insufficient nvidia.com\/gpu/);
    } finally {
      api.behaviour = () => 'run';
    }
  });

  it('an evicted pod fails retryably (the retry policy decides)', async () => {
    api.behaviour = () => 'evict-when-running';
    try {
      const err = await rejectsWith(executor.run(task('evict', 'echo started; sleep 30'), context()), 'CAPSTAN_K8S_POD_EVICTED');
      assert.equal(err.retryable, true);
      assert.match(err.message, /low on resource/);
    } finally {
      api.behaviour = () => 'run';
    }
  });

  it('cancellation and the step timeout delete the Job', async () => {
    const ac = new AbortController();
    const ctx = context(ac.signal);
    const running = executor.run(task('cancel', 'echo up; sleep 30'), ctx);
    while (!ctx.lines.includes('up')) await new Promise((r) => setTimeout(r, 20));
    ac.abort();
    await rejectsWith(running, 'CAPSTAN_PIPELINE_STEP_CANCELLED');
    assert.equal([...api.jobs.keys()].some((n) => n.startsWith('capstan-cancel-')), false);
    await rejectsWith(executor.run(task('slow', 'sleep 30', { timeoutMs: 300 }), context()), 'CAPSTAN_PIPELINE_STEP_TIMEOUT');
    assert.equal([...api.jobs.keys()].some((n) => n.startsWith('capstan-slow-')), false);
  });

  it('a later attempt re-attaches to the Job a dead worker left running instead of creating a second', async () => {
    const first = task('reattach', 'sleep 0.3; echo done; echo x > "$CAPSTAN_OUTPUT_DIR/out/x"');
    // The dead worker's Job: created, then nobody watched it.
    await api.kubeConfig().makeApiClient(k8s.BatchV1Api).createNamespacedJob({ namespace: settings.namespace, body: buildJob(first, settings) });
    const before = api.created.length;
    const ctx = context();
    const result = await executor.run({ ...first, attempt: 2, outputPrefix: first.outputPrefix.replace('attempt-1', 'attempt-2') }, ctx);
    assert.equal(api.created.length, before, 'no second Job');
    assert.ok(ctx.lines.some((l) => /re-attached to Kubernetes Job capstan-reattach-\w+-1/.test(l)), ctx.lines.join('\n'));
    assert.match(result.outputs.out.uri, /attempt-1\/out$/, 'the outputs the adopted Job uploaded');
  });

  it('refuses a step without an image, naming the setting', async () => {
    const err = await rejectsWith(executor.run(task('noimage', 'true', { kubernetes: {} }), context()), 'CAPSTAN_K8S_STEP_INVALID');
    assert.match(err.message, /kubernetes\.image/);
  });

  it('the configured executor reads the kubeconfig file when its first step runs, and runs the step there', async () => {
    const kubeconfig = path.join(dir, 'kubeconfig.json');
    const env = { CAPSTAN_K8S_NAMESPACE: 'capstan-steps', CAPSTAN_K8S_STEP_IO_IMAGE: 'capstan:test', CAPSTAN_K8S_KUBECONFIG: kubeconfig };
    const configured = kubernetesExecutorFromConfig(compileConfig({ env, cwd: dir }), store);
    assert.equal(configured?.name, 'kubernetes');
    // Written after the executor was built: nothing was read at start.
    await writeFile(kubeconfig, api.kubeConfig().exportConfig());
    const ctx = context();
    const result = await configured!.run(task('from-config', 'echo "from config"; echo x > "$CAPSTAN_OUTPUT_DIR/out/x"'), ctx);
    assert.ok(ctx.lines.includes('from config'), ctx.lines.join('\n'));
    assert.match(result.outputs.out.uri, /attempt-1\/out$/);
  });

  it('a kubeconfig that cannot be read fails the step with CAPSTAN_K8S_NOT_CONFIGURED naming the setting, and is read again by the next step', async () => {
    const kubeconfig = path.join(dir, 'later-kubeconfig.json');
    const env = { CAPSTAN_K8S_NAMESPACE: 'capstan-steps', CAPSTAN_K8S_STEP_IO_IMAGE: 'capstan:test', CAPSTAN_K8S_KUBECONFIG: kubeconfig };
    const configured = kubernetesExecutorFromConfig(compileConfig({ env, cwd: dir }), store)!;
    const err = await rejectsWith(configured.run(task('no-config', 'true'), context()), 'CAPSTAN_K8S_NOT_CONFIGURED');
    assert.match(err.message, /cannot read the Kubernetes configuration \(CAPSTAN_K8S_KUBECONFIG\)/);
    await writeFile(kubeconfig, api.kubeConfig().exportConfig());
    const result = await configured.run(task('fixed-config', 'echo x > "$CAPSTAN_OUTPUT_DIR/out/x"'), context());
    assert.match(result.outputs.out.uri, /attempt-1\/out$/);
  });

  it('is not configured without a namespace, an image and a cluster', () => {
    assert.equal(kubernetesExecutorFromConfig(compileConfig({ env: { CAPSTAN_K8S_NAMESPACE: 'steps' }, cwd: dir }), store), undefined);
  });
});
