import { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import * as k8s from '@kubernetes/client-node';
import { CapstanError } from '../../../core/errors.js';
import type { ArtifactStore } from '../../../storage/artifacts/artifact-store.js';
import { digestOf } from '../../artifact-digest.js';
import type { StepOutput } from '../../execution.js';
import { type StepExecutor, type StepRunContext, type StepRunResult, type StepTask } from '../step-executor.js';
import { buildJob, CONTAINERS, jobName, LABELS, labelValue, type JobSettings } from './job-manifest.js';
import { podVerdict } from './pod-verdict.js';
import { STEP_IO_ENV } from './step-io.js';

/** Options of the Kubernetes Job executor. */
export interface KubernetesExecutorOptions extends JobSettings {
  /** How the cluster is reached (kubeconfig file, in-cluster, or built by a test). */
  kubeConfig: k8s.KubeConfig;
  /** Interval between status reads of the Job's pod, ms; default 1000. */
  pollMs?: number;
  /** How long the executor waits for the log stream to drain after the pod finished, ms; default 5000. */
  logDrainMs?: number;
}

/**
 * Runs command steps as Kubernetes Jobs (one Job per attempt, named deterministically). Inputs and
 * outputs move through the Capstan image's `step-io` containers; the executor streams the step
 * container's log, reads the pod's status for the verdict, deletes the Job on cancel, timeout and
 * failure, and re-attaches to a Job an earlier worker left running instead of starting a second.
 */
export class KubernetesExecutor implements StepExecutor {
  readonly name = 'kubernetes';
  private readonly batch: k8s.BatchV1Api;
  private readonly core: k8s.CoreV1Api;
  private readonly logApi: k8s.Log;
  private readonly pollMs: number;
  private readonly logDrainMs: number;

  constructor(private readonly artifacts: ArtifactStore, private readonly o: KubernetesExecutorOptions) {
    this.batch = o.kubeConfig.makeApiClient(k8s.BatchV1Api);
    this.core = o.kubeConfig.makeApiClient(k8s.CoreV1Api);
    this.logApi = new k8s.Log(o.kubeConfig);
    this.pollMs = o.pollMs ?? 1000;
    this.logDrainMs = o.logDrainMs ?? 5000;
  }

  /** Runs one attempt as a Job; resolves with the uploaded outputs or rejects with a CapstanError. */
  async run(task: StepTask, ctx: StepRunContext): Promise<StepRunResult> {
    if (task.builtin) throw new CapstanError('CAPSTAN_K8S_STEP_INVALID', `step "${task.step}": built-in functions run on the local executor only`, { retryable: false, fields: { step: task.step } });
    if (!task.kubernetes?.image) throw new CapstanError('CAPSTAN_K8S_STEP_INVALID', `step "${task.step}" runs on kubernetes but names no image (kubernetes.image)`, { retryable: false, fields: { step: task.step } });
    if (ctx.signal.aborted) throw cancelled(task);
    const { name, outputPrefix } = await this.startOrAttach(task, ctx);
    let stop: 'cancel' | 'timeout' | undefined;
    const onAbort = () => (stop ??= 'cancel');
    ctx.signal.addEventListener('abort', onAbort, { once: true });
    const timer = task.timeoutMs ? setTimeout(() => (stop ??= 'timeout'), task.timeoutMs) : undefined;
    let logs: { done: Promise<void>; abort(): void } | undefined;
    try {
      for (;;) {
        if (stop) {
          await this.deleteJob(name, ctx);
          if (stop === 'cancel') throw cancelled(task);
          throw new CapstanError('CAPSTAN_PIPELINE_STEP_TIMEOUT', `step "${task.step}" ran longer than ${task.timeoutMs} ms; its Job ${name} was deleted`, { fields: { step: task.step, job: name } });
        }
        const job = await this.batch.readNamespacedJob({ name, namespace: this.o.namespace });
        const pods = await this.core.listNamespacedPod({ namespace: this.o.namespace, labelSelector: `job-name=${name}` });
        const pod = pods.items[0];
        const verdict = podVerdict(task, job, pod);
        if (!logs && pod?.metadata?.name && verdict.stepStarted) logs = this.streamLogs(pod.metadata.name, ctx);
        if (verdict.kind === 'running') {
          await sleep(this.pollMs, undefined, { signal: ctx.signal }).catch(() => undefined);
          continue;
        }
        if (logs) await Promise.race([logs.done, sleep(this.logDrainMs)]);
        if (verdict.kind === 'failed') {
          await this.deleteJob(name, ctx);
          throw verdict.error;
        }
        // An adopted Job uploaded under the prefix of the attempt that created it.
        return await this.collect({ ...task, outputPrefix }, verdict.exitCode);
      }
    } finally {
      logs?.abort();
      if (timer) clearTimeout(timer);
      ctx.signal.removeEventListener('abort', onAbort);
    }
  }

  /**
   * Creates this attempt's Job, or adopts one already there: the same attempt's (a restarted worker
   * re-running it) or a still-active Job of an earlier attempt whose worker died (its lease passed).
   */
  private async startOrAttach(task: StepTask, ctx: StepRunContext): Promise<{ name: string; outputPrefix: string }> {
    const selector = `${LABELS.managed}=capstan,${LABELS.execution}=${labelValue(task.executionId)},${LABELS.step}=${labelValue(task.step)}`;
    const existing = await this.batch.listNamespacedJob({ namespace: this.o.namespace, labelSelector: selector });
    const live = existing.items.find((j) => !j.metadata?.deletionTimestamp && !(j.status?.conditions ?? []).some((c) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True'));
    if (live?.metadata?.name) {
      ctx.log('system', `re-attached to Kubernetes Job ${live.metadata.name} (attempt ${live.metadata.labels?.[LABELS.attempt] ?? '?'}) instead of starting a second one`);
      return { name: live.metadata.name, outputPrefix: jobOutputPrefix(live) ?? task.outputPrefix };
    }
    const job = buildJob(task, this.o);
    try {
      await this.batch.createNamespacedJob({ namespace: this.o.namespace, body: job });
      ctx.log('system', `created Kubernetes Job ${job.metadata!.name} in namespace ${this.o.namespace} (image ${task.kubernetes!.image})`);
    } catch (err) {
      if ((err as { code?: number }).code !== 409) throw apiError(task, 'create the Job', err);
      ctx.log('system', `re-attached to Kubernetes Job ${job.metadata!.name}`);
    }
    return { name: jobName(task), outputPrefix: task.outputPrefix };
  }

  private streamLogs(pod: string, ctx: StepRunContext): { done: Promise<void>; abort(): void } {
    let rest = '';
    let resolveDone!: () => void;
    const done = new Promise<void>((r) => (resolveDone = r));
    const sink = new Writable({
      write(chunk: Buffer, _enc, cb) {
        const parts = (rest + chunk.toString('utf8')).split('\n');
        rest = parts.pop() ?? '';
        for (const l of parts) ctx.log('stdout', l.replace(/\r$/, ''));
        cb();
      },
      final(cb) {
        if (rest) ctx.log('stdout', rest);
        rest = '';
        cb();
      },
    });
    sink.on('finish', resolveDone);
    sink.on('error', resolveDone);
    let controller: AbortController | undefined;
    this.logApi
      .log(this.o.namespace, pod, CONTAINERS.step, sink, { follow: true })
      .then((c) => (controller = c))
      .catch((err: Error) => {
        ctx.log('system', `log stream of pod ${pod} ended: ${err.message}`);
        resolveDone();
      });
    return { done, abort: () => controller?.abort() };
  }

  /** Reads what the finishing container uploaded; a declared output with nothing in it fails the step. */
  private async collect(task: StepTask, exitCode: number): Promise<StepRunResult> {
    const names = [...task.outputs, ...(task.modelOutput ? ['model'] : [])];
    const outputs: Record<string, StepOutput> = {};
    for (const n of names) {
      const prefix = `${task.outputPrefix}${n}/`;
      const infos = await this.artifacts.list(prefix);
      if (infos.length === 0) throw new CapstanError('CAPSTAN_PIPELINE_OUTPUT_MISSING', `step "${task.step}" wrote nothing to its declared output "${n}"`, { retryable: false, fields: { step: task.step, output: n } });
      outputs[n] = { uri: this.artifacts.uriFor(prefix.slice(0, -1)), digest: digestOf(infos, prefix) };
    }
    const properties: Record<string, unknown> = {};
    for (const f of task.propertyFiles) {
      const key = `${task.outputPrefix}${f.output}/${f.path}`;
      try {
        properties[f.name] = JSON.parse((await this.artifacts.get(key)).toString('utf8'));
      } catch (err) {
        throw new CapstanError('CAPSTAN_PIPELINE_PROPERTY_FILE_INVALID', `step "${task.step}": property file "${f.name}" (${f.output}/${f.path}) is missing or not JSON`, { retryable: false, cause: err, fields: { step: task.step, property: f.name } });
      }
    }
    return { outputs, properties, exitCode };
  }

  private async deleteJob(name: string, ctx: StepRunContext): Promise<void> {
    try {
      await this.batch.deleteNamespacedJob({ name, namespace: this.o.namespace, propagationPolicy: 'Background' });
      ctx.log('system', `deleted Kubernetes Job ${name}`);
    } catch (err) {
      if ((err as { code?: number }).code !== 404) ctx.log('system', `could not delete Kubernetes Job ${name}: ${(err as Error).message}`);
    }
  }
}

/** The output prefix a Job's step-io containers upload under (from its spec), if readable. */
function jobOutputPrefix(job: k8s.V1Job): string | undefined {
  const raw = job.spec?.template.spec?.initContainers?.[0]?.env?.find((e) => e.name === STEP_IO_ENV)?.value;
  try {
    return raw ? (JSON.parse(raw) as { outputPrefix?: string }).outputPrefix : undefined;
  } catch {
    return undefined;
  }
}

function cancelled(task: StepTask): CapstanError {
  return new CapstanError('CAPSTAN_PIPELINE_STEP_CANCELLED', `step "${task.step}" was cancelled`, { retryable: false, fields: { step: task.step } });
}

function apiError(task: StepTask, what: string, err: unknown): CapstanError {
  return new CapstanError('CAPSTAN_K8S_API_ERROR', `step "${task.step}": could not ${what}: ${(err as Error).message}`, { cause: err, fields: { step: task.step } });
}

