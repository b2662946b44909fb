import type { V1ContainerStatus, V1Job, V1Pod } from '@kubernetes/client-node';
import { CapstanError, type ErrorCode } from '../../../core/errors.js';
import { NO_RETRY_EXIT_CODE, type StepTask } from '../step-executor.js';
import { CONTAINERS } from './job-manifest.js';

/** What one read of the Job and its pod says about the attempt. */
export type PodVerdict =
  | { kind: 'running'; stepStarted: boolean }
  | { kind: 'succeeded'; stepStarted: true; exitCode: number }
  | { kind: 'failed'; stepStarted: boolean; error: CapstanError };

/** Waiting reasons that will not resolve by themselves: the step fails with Kubernetes' own reason. */
const STUCK = new Set(['ErrImagePull', 'ImagePullBackOff', 'InvalidImageName', 'CreateContainerConfigError', 'CreateContainerError', 'ErrImageNeverPull']);

/**
 * Reads the verdict of an attempt from its Job and pod: image pull failures and unschedulable pods
 * fail with Kubernetes' reason instead of hanging, an evicted pod fails retryably (the step's retry
 * policy decides), the Job's active deadline fails as a timeout, and the step container's exit
 * code decides the rest (86 = do not retry, as on the local executor).
 */
export function podVerdict(task: StepTask, job: V1Job, pod: V1Pod | undefined): PodVerdict {
  const fail = (code: ErrorCode, message: string, retryable: boolean, stepStarted: boolean, fields: Record<string, unknown> = {}): PodVerdict => ({
    kind: 'failed',
    stepStarted,
    error: new CapstanError(code, `step "${task.step}": ${message}`, { retryable, fields: { step: task.step, job: job.metadata?.name, ...fields } }),
  });
  const jobFailed = (job.status?.conditions ?? []).find((c) => c.type === 'Failed' && c.status === 'True');
  const statuses: V1ContainerStatus[] = [...(pod?.status?.initContainerStatuses ?? []), ...(pod?.status?.containerStatuses ?? [])];
  const stepStatus = pod?.status?.containerStatuses?.find((c) => c.name === CONTAINERS.step);
  const stepStarted = !!(stepStatus?.state?.running || stepStatus?.state?.terminated);
  if (jobFailed?.reason === 'DeadlineExceeded') {
    return fail('CAPSTAN_PIPELINE_STEP_TIMEOUT', `the Job's active deadline passed (${jobFailed.message ?? 'DeadlineExceeded'})`, true, stepStarted, { reason: 'DeadlineExceeded' });
  }
  if (!pod) {
    if (jobFailed) return fail('CAPSTAN_K8S_POD_FAILED', `the Job failed: ${jobFailed.reason ?? ''} ${jobFailed.message ?? ''}`.trim(), true, false, { reason: jobFailed.reason });
    return { kind: 'running', stepStarted: false };
  }
  const evicted = pod.status?.reason === 'Evicted' || (pod.status?.conditions ?? []).some((c) => c.type === 'DisruptionTarget' && c.status === 'True');
  if (evicted && pod.status?.phase !== 'Succeeded') {
    return fail('CAPSTAN_K8S_POD_EVICTED', `pod ${pod.metadata?.name} was evicted: ${pod.status?.message ?? pod.status?.reason ?? 'DisruptionTarget'}`, true, stepStarted, { reason: 'Evicted' });
  }
  const unschedulable = (pod.status?.conditions ?? []).find((c) => c.type === 'PodScheduled' && c.status === 'False' && c.reason === 'Unschedulable');
  if (unschedulable) return fail('CAPSTAN_K8S_POD_UNSCHEDULABLE', `pod ${pod.metadata?.name} cannot be scheduled: ${unschedulable.message ?? 'Unschedulable'}`, false, false, { reason: 'Unschedulable' });
  for (const s of statuses) {
    const w = s.state?.waiting;
    if (w?.reason && STUCK.has(w.reason)) {
      return fail('CAPSTAN_K8S_POD_FAILED', `container ${s.name} (${s.image}) cannot start: ${w.reason}${w.message ? `: ${w.message}` : ''}`, false, stepStarted, { reason: w.reason, container: s.name });
    }
  }
  const stageIn = pod.status?.initContainerStatuses?.find((c) => c.name === CONTAINERS.stageIn)?.state?.terminated;
  if (stageIn && stageIn.exitCode !== 0) return fail('CAPSTAN_K8S_POD_FAILED', `staging the inputs failed (exit ${stageIn.exitCode}${stageIn.message ? `: ${stageIn.message}` : ''})`, true, false, { container: CONTAINERS.stageIn });
  const step = stepStatus?.state?.terminated;
  if (step && step.exitCode !== 0) {
    const retryable = step.exitCode !== NO_RETRY_EXIT_CODE;
    const why = step.reason && step.reason !== 'Error' ? ` (${step.reason})` : '';
    return fail('CAPSTAN_PIPELINE_STEP_EXIT', `exited with code ${step.exitCode}${why}${retryable ? '' : ' (do not retry)'} (the whole log: capstan logs ${task.executionId} --step ${task.step})`, retryable, true, { exitCode: step.exitCode });
  }
  if (pod.status?.phase === 'Succeeded') return { kind: 'succeeded', stepStarted: true, exitCode: 0 };
  if (pod.status?.phase === 'Failed') {
    const stageOut = pod.status.containerStatuses?.find((c) => c.name === CONTAINERS.stageOut)?.state?.terminated;
    const detail = stageOut && stageOut.exitCode !== 0 ? `uploading the outputs failed (exit ${stageOut.exitCode})` : `pod failed: ${pod.status.reason ?? ''} ${pod.status.message ?? ''}`.trim();
    return fail('CAPSTAN_K8S_POD_FAILED', detail, true, stepStarted, { reason: pod.status.reason });
  }
  return { kind: 'running', stepStarted };
}
