import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as k8s from '@kubernetes/client-node';
import { compileConfig } from '../src/core/config.js';
import { KubernetesExecutor } from '../src/pipelines/executor/kubernetes/kubernetes-executor.js';
import { createArtifactStore } from '../src/storage/artifacts/index.js';

// A REAL cluster, outside CI's mandatory set: runs only when KUBECONFIG is set (docs/scale.md lists
// what else it needs: CAPSTAN_K8S_NAMESPACE, CAPSTAN_K8S_STEP_IO_IMAGE, an s3:// CAPSTAN_ARTIFACTS the
// cluster can reach and CAPSTAN_K8S_STORE_SECRET holding its credentials). Skipped otherwise.
const env = process.env;
const skip = !env.KUBECONFIG ? 'KUBECONFIG is not set (no real cluster)' : !env.CAPSTAN_K8S_NAMESPACE || !env.CAPSTAN_K8S_STEP_IO_IMAGE ? 'CAPSTAN_K8S_NAMESPACE and CAPSTAN_K8S_STEP_IO_IMAGE are needed' : false;

describe('Kubernetes Job executor on a real cluster (KUBECONFIG)', { skip }, () => {
  it('runs a step as a Job: staged input, streamed log, uploaded output', async () => {
    const config = compileConfig({ env });
    const store = await createArtifactStore(config);
    const kubeConfig = new k8s.KubeConfig();
    kubeConfig.loadFromFile(env.KUBECONFIG!);
    const executor = new KubernetesExecutor(store, {
      kubeConfig,
      namespace: env.CAPSTAN_K8S_NAMESPACE!,
      capstanImage: env.CAPSTAN_K8S_STEP_IO_IMAGE!,
      storeEnv: [{ name: 'CAPSTAN_ARTIFACTS', value: config.artifacts }, ...(config.s3.endpoint ? [{ name: 'CAPSTAN_S3_ENDPOINT', value: config.s3.endpoint }] : [])],
      storeSecret: env.CAPSTAN_K8S_STORE_SECRET,
    });
    const id = `e2e-${Date.now()}`;
    await store.put(`e2e/${id}/rows.csv`, 'a,b\n1,2\n');
    const lines: string[] = [];
    const result = await executor.run(
      {
        executionId: id,
        pipeline: 'e2e',
        step: 'copy',
        attempt: 1,
        command: ['sh', '-c', 'echo "loss=0.1;"; cp "$CAPSTAN_INPUT_DIR/data/rows.csv" "$CAPSTAN_OUTPUT_DIR/out/rows.csv"'],
        hyperparameters: {},
        env: {},
        inputs: { data: `e2e/${id}/` },
        outputs: ['out'],
        modelOutput: false,
        codePrefix: null,
        outputPrefix: `e2e/${id}/outputs/`,
        propertyFiles: [],
        timeoutMs: 600_000,
        kubernetes: { image: env.CAPSTAN_E2E_STEP_IMAGE ?? 'busybox:1.36', activeDeadlineSeconds: 600 },
      },
      { signal: new AbortController().signal, log: (_s, l) => lines.push(l) },
    );
    assert.ok(lines.includes('loss=0.1;'), lines.join('\n'));
    assert.equal((await store.get(`e2e/${id}/outputs/out/rows.csv`)).toString(), 'a,b\n1,2\n');
    assert.match(result.outputs.out.digest, /^sha256:/);
  });
});
