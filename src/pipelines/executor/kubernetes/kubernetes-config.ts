import * as k8s from '@kubernetes/client-node';
import type { CapstanConfig } from '../../../core/config.js';
import type { ArtifactStore } from '../../../storage/artifacts/artifact-store.js';
import { KubernetesExecutor } from './kubernetes-executor.js';

/** The settings a Kubernetes executor still lacks (empty when it can be built), by environment variable. */
export function missingKubernetesSettings(config: CapstanConfig): string[] {
  const k = config.pipelines.kubernetes;
  const missing: string[] = [];
  if (!k.namespace) missing.push('CAPSTAN_K8S_NAMESPACE');
  if (!k.stepIoImage) missing.push('CAPSTAN_K8S_STEP_IO_IMAGE');
  if (!k.kubeconfig && !k.inCluster) missing.push('CAPSTAN_K8S_KUBECONFIG or CAPSTAN_K8S_IN_CLUSTER=true');
  return missing;
}

/** The Kubernetes Job executor the configuration describes, or undefined when it is not configured. */
export function kubernetesExecutorFromConfig(config: CapstanConfig, artifacts: ArtifactStore): KubernetesExecutor | undefined {
  if (missingKubernetesSettings(config).length) return undefined;
  const k = config.pipelines.kubernetes;
  const kubeConfig = new k8s.KubeConfig();
  if (k.kubeconfig) kubeConfig.loadFromFile(k.kubeconfig);
  else kubeConfig.loadFromCluster();
  // The step-io containers reach the same store as this process; credentials come from the Secret, never from here.
  const storeEnv = [{ name: 'CAPSTAN_ARTIFACTS', value: config.artifacts }];
  if (config.s3.endpoint) storeEnv.push({ name: 'CAPSTAN_S3_ENDPOINT', value: config.s3.endpoint });
  storeEnv.push({ name: 'CAPSTAN_S3_REGION', value: config.s3.region }, { name: 'CAPSTAN_S3_FORCE_PATH_STYLE', value: String(config.s3.forcePathStyle) });
  return new KubernetesExecutor(artifacts, { kubeConfig, namespace: k.namespace!, capstanImage: k.stepIoImage!, storeEnv, storeSecret: k.storeSecret });
}
