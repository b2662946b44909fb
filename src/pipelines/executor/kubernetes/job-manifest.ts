import { createHash } from 'node:crypto';
import type { V1EnvVar, V1Job } from '@kubernetes/client-node';
import { NO_RETRY_EXIT_CODE, type StepTask } from '../step-executor.js';
import { EXIT_FILE, STEP_IO_ENV, stepDirs, type StepIoSpec } from './step-io.js';

/** Labels every Capstan step Job and pod carries; the executor finds Jobs of a step by them. */
export const LABELS = { managed: 'app.kubernetes.io/managed-by', execution: 'capstan.dev/execution', step: 'capstan.dev/step', attempt: 'capstan.dev/attempt' } as const;
/** Container names inside a step pod. */
export const CONTAINERS = { stageIn: 'stage-in', step: 'step', stageOut: 'stage-out' } as const;
/** Where the shared emptyDir is mounted in every container. */
export const WORK_MOUNT = '/capstan';

/** What the Job needs besides the task: where Capstan's own image is and how it reaches the store. */
export interface JobSettings {
  namespace: string;
  /** Image holding the `capstan` CLI (runs step-io). */
  capstanImage: string;
  /** Environment of the step-io containers (CAPSTAN_ARTIFACTS, S3 credentials as secret refs). */
  storeEnv: V1EnvVar[];
  /** Secret whose keys the step-io containers get as environment (store credentials); default none. */
  storeSecret?: string;
}

/**
 * The Job name of one attempt: deterministic, so a worker that re-runs the same attempt finds the
 * Job it created before instead of creating a second; within the 63 characters of a DNS label.
 */
export function jobName(task: Pick<StepTask, 'executionId' | 'step' | 'attempt'>): string {
  const hash = createHash('sha256').update(`${task.executionId}/${task.step}/${task.attempt}`).digest('hex').slice(0, 12);
  const step = task.step.toLowerCase().replace(/[^a-z0-9-]/g, '-').slice(0, 30).replace(/-+$/, '');
  return `capstan-${step}-${hash}-${task.attempt}`;
}

/** A label value (at most 63 characters of [A-Za-z0-9._-]). */
export function labelValue(v: string): string {
  return v.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 63).replace(/^[^A-Za-z0-9]+|[^A-Za-z0-9]+$/g, '') || 'x';
}

/** Turns `secret-name/key` references into secretKeyRef variables. */
function secretEnv(refs: Record<string, string>): V1EnvVar[] {
  return Object.entries(refs).map(([name, ref]) => {
    const [secret, key] = ref.split('/', 2);
    return { name, valueFrom: { secretKeyRef: { name: secret, key } } };
  });
}

/**
 * Builds the Job of one attempt: an init container stages inputs into an emptyDir, the step
 * container runs the user's image (wrapped by /bin/sh so its exit code lands in a file), and a
 * finishing container uploads the outputs once that file says 0. backoffLimit 0: retries belong to
 * the step's retry policy, not to Kubernetes.
 */
export function buildJob(task: StepTask, s: JobSettings): V1Job {
  const k = task.kubernetes ?? {};
  const dirs = stepDirs(WORK_MOUNT);
  const spec: StepIoSpec = { codePrefix: task.codePrefix, inputs: task.inputs, outputs: task.outputs, modelOutput: task.modelOutput, outputPrefix: task.outputPrefix, hyperparameters: task.hyperparameters };
  const ioEnv: V1EnvVar[] = [...s.storeEnv, { name: STEP_IO_ENV, value: JSON.stringify(spec) }];
  const hpArgs = Object.entries(task.hyperparameters).flatMap(([n, v]) => [`--${n}`, String(v)]);
  const argv = [...(task.command ?? []), ...hpArgs];
  const env: V1EnvVar[] = [
    ...Object.entries(task.env).map(([name, value]) => ({ name, value })),
    ...secretEnv(k.secretEnv ?? {}),
    { name: 'CAPSTAN_INPUT_DIR', value: dirs.input },
    { name: 'CAPSTAN_OUTPUT_DIR', value: dirs.output },
    { name: 'CAPSTAN_MODEL_DIR', value: dirs.model },
    { name: 'CAPSTAN_HYPERPARAMETERS', value: dirs.hyperparameters },
    { name: 'CAPSTAN_EXECUTION_ID', value: task.executionId },
    { name: 'CAPSTAN_PIPELINE', value: task.pipeline },
    { name: 'CAPSTAN_STEP', value: task.step },
    { name: 'CAPSTAN_ATTEMPT', value: String(task.attempt) },
    { name: 'CAPSTAN_NO_RETRY_EXIT_CODE', value: String(NO_RETRY_EXIT_CODE) },
    { name: 'PYTHONUNBUFFERED', value: task.env.PYTHONUNBUFFERED ?? '1' },
  ];
  const quantities: Record<string, string> = {};
  if (k.resources?.cpu) quantities.cpu = k.resources.cpu;
  if (k.resources?.memory) quantities.memory = k.resources.memory;
  if (k.resources?.gpu) quantities['nvidia.com/gpu'] = String(k.resources.gpu);
  const labels = { [LABELS.managed]: 'capstan', [LABELS.execution]: labelValue(task.executionId), [LABELS.step]: labelValue(task.step), [LABELS.attempt]: String(task.attempt) };
  const mount = [{ name: 'work', mountPath: WORK_MOUNT }];
  const envFrom = s.storeSecret ? { envFrom: [{ secretRef: { name: s.storeSecret } }] } : {};
  const wrapper = `"$@"; c=$?; echo "$c" > ${WORK_MOUNT}/${EXIT_FILE}; exit "$c"`;
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name: jobName(task), namespace: s.namespace, labels, annotations: { 'capstan.dev/execution-id': task.executionId, 'capstan.dev/step-name': task.step } },
    spec: {
      backoffLimit: 0,
      ttlSecondsAfterFinished: 3600,
      ...(k.activeDeadlineSeconds ? { activeDeadlineSeconds: k.activeDeadlineSeconds } : {}),
      template: {
        metadata: { labels },
        spec: {
          restartPolicy: 'Never',
          ...(k.serviceAccount ? { serviceAccountName: k.serviceAccount } : {}),
          ...(k.nodeSelector ? { nodeSelector: k.nodeSelector } : {}),
          ...(k.tolerations ? { tolerations: k.tolerations } : {}),
          volumes: [{ name: 'work', emptyDir: {} }],
          initContainers: [{ name: CONTAINERS.stageIn, image: s.capstanImage, args: ['step-io', 'download', '--dir', WORK_MOUNT], env: ioEnv, ...envFrom, volumeMounts: mount }],
          containers: [
            {
              name: CONTAINERS.step,
              image: k.image,
              command: ['/bin/sh', '-c', wrapper, 'capstan-step', ...argv],
              workingDir: dirs.code,
              env,
              volumeMounts: mount,
              ...(Object.keys(quantities).length ? { resources: { requests: quantities, limits: quantities } } : {}),
            },
            { name: CONTAINERS.stageOut, image: s.capstanImage, args: ['step-io', 'upload', '--dir', WORK_MOUNT], env: ioEnv, ...envFrom, volumeMounts: mount },
          ],
        },
      },
    },
  };
}
