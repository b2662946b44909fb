import type { CapstanConfig } from '../../../core/config.js';
import { CapstanError } from '../../../core/errors.js';
import type { ArtifactStore } from '../../../storage/artifacts/artifact-store.js';
import type { StepExecutor, StepRunContext, StepRunResult, StepTask } from '../step-executor.js';
import type { KubernetesExecutor } from './kubernetes-executor.js';

/** The settings a Kubernetes executor still lacks (empty when it can be built), by environment variable. */
export function missingKubernetesSettings(config: CapstanConfig): string[] {
  const k = config.pipelines.kubernetes;
  const missing: string[] = [];
  if (!k.namespace) missing.push('CAPSTAN_K8S_NAMESPACE');
  if (!k.stepIoImage) missing.push('CAPSTAN_K8S_STEP_IO_IMAGE');
  if (!k.kubeconfig && !k.inCluster) missing.push('CAPSTAN_K8S_KUBECONFIG or CAPSTAN_K8S_IN_CLUSTER=true');
  return missing;
}

/**
 * The Kubernetes Job executor the configuration describes, or undefined when it is not configured.
 * The Kubernetes client (~840 modules) is loaded when the first step runs on it, not when a process
 * starts: every CLI command and server opens the pipelines context, and few of them run steps there.
 */
export function kubernetesExecutorFromConfig(config: CapstanConfig, artifacts: ArtifactStore): StepExecutor | undefined {
  if (missingKubernetesSettings(config).length) return undefined;
  const k = config.pipelines.kubernetes;
  // The step-io containers reach the same store as this process; credentials come from the Secret, never from here.
  const storeEnv = [{ name: 'CAPSTAN_ARTIFACTS', value: config.artifacts }];
  if (config.s3.endpoint) storeEnv.push({ name: 'CAPSTAN_S3_ENDPOINT', value: config.s3.endpoint });
  storeEnv.push({ name: 'CAPSTAN_S3_REGION', value: config.s3.region }, { name: 'CAPSTAN_S3_FORCE_PATH_STYLE', value: String(config.s3.forcePathStyle) });
  let executor: Promise<KubernetesExecutor> | undefined;
  const load = (): Promise<KubernetesExecutor> => {
    executor ??= (async () => {
      const [k8s, { KubernetesExecutor }] = await Promise.all([import('@kubernetes/client-node'), import('./kubernetes-executor.js')]);
      const kubeConfig = new k8s.KubeConfig();
      if (k.kubeconfig) kubeConfig.loadFromFile(k.kubeconfig);
      else kubeConfig.loadFromCluster();
      return new KubernetesExecutor(artifacts, { kubeConfig, namespace: k.namespace!, capstanImage: k.stepIoImage!, storeEnv, storeSecret: k.storeSecret });
    })().catch((err: unknown) => {
      // A kubeconfig fixed after a failed attempt is read again by the next one.
      executor = undefined;
      throw new CapstanError('CAPSTAN_K8S_NOT_CONFIGURED', `cannot read the Kubernetes configuration (${k.kubeconfig ? 'CAPSTAN_K8S_KUBECONFIG' : 'in-cluster service account'}): ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    });
    return executor;
  };
  return {
    name: 'kubernetes',
    run: async (task: StepTask, ctx: StepRunContext): Promise<StepRunResult> => (await load()).run(task, ctx),
  };
}
