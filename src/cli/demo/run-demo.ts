import { fileURLToPath } from 'node:url';
import { CapstanError } from '../../core/errors.js';
import { sleep } from '../../core/clock.js';
import type { ExecutionRecord } from '../../pipelines/index.js';
import { readPipelineFile } from '../../pipelines/index.js';
import type { Platform } from '../../platform/platform.js';
import type { ModelVersion } from '../../registry/index.js';
import type { RunningServer } from '../../server/server.js';
import type { DemoDataset } from './demo-data.js';
import type { DemoReporter } from './demo-reporter.js';
import { StepChanges } from '../step-progress.js';
import { recommendFor, type UserRecommendations } from './demo-recommendations.js';

/** The pipeline `capstan demo` applies, shipped with the package. */
export const DEMO_PIPELINE_FILE = fileURLToPath(new URL('../../../examples/ncf-recommender/pipeline.yaml', import.meta.url));

/** The prefix the pipeline's artifact trigger watches. */
export const DEMO_PREFIX = 'datasets/interactions/';

/** Options of one demo run; every field has a default. */
export interface DemoOptions {
  /** HR@10 a version needs for the ncf group's auto-approval policy and the pipeline's gate; default the pipeline's (0.3). */
  hrThreshold?: number;
  /** Training epochs; default 10. */
  epochs?: number;
  /** Users to show recommendations for; default 3. */
  users?: number;
  /** Recommendations per user; default 5. */
  top?: number;
  /** Movie titles by raw item id, when `--movies` was given. */
  titles?: Map<string, string>;
  /** Give up after this many ms; default 15 minutes. */
  timeoutMs?: number;
}

/** The final summary `--json` prints. */
export interface DemoSummary {
  execution: { id: string; state: string; trigger: string; durationMs: number | null; steps: { name: string; state: string; cached: boolean; durationMs: number | null; runId?: string }[] };
  model_version: { name: string; version: number; approval: string; digest: string; metrics: Record<string, number>; newlyRegistered: boolean } | null;
  endpoint: { name: string; status: string; url: string; invocationsUrl: string; variants: { name: string; model: string; weight: number }[] } | null;
  recommendations: Record<string, UserRecommendations>;
  urls: { console: string; api: string; docs: string; metrics: string };
}

/**
 * Runs the recommendation story on a started platform and server: applies the example pipeline,
 * sets the ncf group's auto-approval policy, drops the dataset under the watched prefix so the
 * artifact trigger (not a direct call) starts the execution, follows it to the end, and asks the
 * deployed endpoint for recommendations over HTTP.
 */
export async function runDemo(platform: Platform, server: RunningServer, dataset: DemoDataset, reporter: DemoReporter, options: DemoOptions = {}): Promise<DemoSummary> {
  const { registry, pipelines } = platform;

  reporter.phase(`Applying pipeline ${DEMO_PIPELINE_FILE.replace(process.cwd() + '/', '')}`);
  const source = readPipelineFile(DEMO_PIPELINE_FILE);
  const params = (source.raw as { parameters: Record<string, { default?: unknown }> }).parameters;
  // A trigger-started execution takes the definition's defaults, so the demo's knobs become defaults;
  // the stored YAML text would then disagree with the definition, so it is not kept.
  if (options.hrThreshold !== undefined || options.epochs !== undefined) {
    if (options.hrThreshold !== undefined) params.hr_threshold.default = options.hrThreshold;
    if (options.epochs !== undefined) params.epochs.default = options.epochs;
    source.text = undefined;
  }
  const threshold = Number(params.hr_threshold.default);
  const applied = await pipelines.apply(source);
  reporter.info(`pipeline ${applied.pipeline.name} v${applied.pipeline.version}${applied.changed ? '' : ' (unchanged)'}; trigger: new objects under ${DEMO_PREFIX}`);

  try {
    await registry.getModel('ncf');
  } catch {
    await registry.createModel('ncf', { description: 'NeuMF recommender trained by the ncf-recommender pipeline' });
  }
  const policy = `metrics["hr@10"] >= ${threshold}`;
  await registry.setApprovalPolicy('ncf', { autoApprove: policy }, { actor: 'capstan-demo' });
  reporter.info(`model group ncf: auto-approve when ${policy}`);
  const versionsBefore = (await registry.listVersions('ncf')).map((v) => v.version);

  const key = `${DEMO_PREFIX}${new Date().toISOString().replace(/[:.]/g, '-')}/${dataset.fileName}`;
  reporter.phase(`Uploading ${dataset.description}`);
  const info = await platform.artifacts.put(key, dataset.content);
  reporter.info(`${platform.artifacts.uriFor(key)} (sha256 ${info.sha256.slice(0, 12)}…) — waiting for the trigger`);

  const deadline = Date.now() + (options.timeoutMs ?? 15 * 60_000);
  const execution = await waitForTriggeredExecution(platform, key, deadline);
  reporter.phase(`Execution ${execution.id} started by trigger ${execution.trigger.by}`);
  const finished = await followExecution(platform, execution.id, reporter, deadline);
  if (finished.state !== 'succeeded') {
    const failed = finished.steps.find((s) => s.state === 'failed');
    throw new CapstanError('CAPSTAN_DEMO_FAILED', `execution ${finished.id} ${finished.state}${failed ? ` at step ${failed.name}: ${failed.error?.message ?? ''}` : finished.error ? `: ${finished.error}` : ''}`, {
      fields: { execution: finished.id },
    });
  }

  const registerStep = finished.steps.find((s) => s.name === 'register');
  const versionNumber = Number(registerStep?.properties?.version);
  let version: ModelVersion | null = null;
  if (Number.isInteger(versionNumber)) {
    version = await registry.getVersion('ncf', versionNumber);
    const newly = !versionsBefore.includes(version.version);
    reporter.phase(`Model ncf/${version.version} ${newly ? 'registered' : 'reused (data and code unchanged)'} — ${metricText(version.metrics)}`);
    const approvals = (await registry.history('ncf')).filter((e) => e.version === version!.version && (e.action === 'approval.changed' || e.action === 'policy.evaluated'));
    for (const e of approvals) reporter.info(`audit ${e.action}: ${e.from ? `${e.from} → ` : ''}${e.to ?? 'not approved'} by ${e.actor}${e.comment ? ` (${e.comment})` : ''} at ${e.at}`);
  }

  const endpoint = await platform.serving.describe('ncf');
  const invocationsUrl = `${server.url}/endpoints/ncf/invocations`;
  reporter.phase(`Endpoint ncf ${endpoint.status}: ${invocationsUrl}`);
  for (const v of endpoint.variants) reporter.info(`variant ${v.name}: ${v.model} → ncf/${v.resolved.version}, weight ${v.weight}, ${v.instances} worker(s)`);

  const recommendations = await recommendFor(platform, server.url, {
    users: options.users ?? 3,
    top: options.top ?? 5,
    titles: options.titles,
    version,
  });
  reporter.recommendations(recommendations);

  return {
    execution: {
      id: finished.id,
      state: finished.state,
      trigger: finished.trigger.by,
      durationMs: finished.durationMs,
      // A step's registry run (params and metric series), where it has one: what `runs metric` draws.
      steps: finished.steps.map((s) => {
        const runId = ((s.properties?._capstan ?? {}) as { runId?: string }).runId;
        return { name: s.name, state: s.state, cached: s.cached, durationMs: s.durationMs, ...(runId ? { runId } : {}) };
      }),
    },
    model_version: version
      ? { name: version.name, version: version.version, approval: version.approval, digest: version.digest, metrics: version.metrics, newlyRegistered: !versionsBefore.includes(version.version) }
      : null,
    endpoint: {
      name: endpoint.name,
      status: endpoint.status,
      url: `${server.url}/api/v1/endpoints/ncf`,
      invocationsUrl,
      variants: endpoint.variants.map((v) => ({ name: v.name, model: `models:/${v.resolved.name}/${v.resolved.version}`, weight: v.weight })),
    },
    recommendations,
    urls: { console: `${server.url}/console/`, api: `${server.url}/api/v1`, docs: `${server.url}/docs`, metrics: `${server.url}/metrics` },
  };
}

function metricText(metrics: Record<string, number>): string {
  const shown = ['hr@10', 'ndcg@10', 'itempop_hr@10'].filter((k) => metrics[k] !== undefined);
  return shown.map((k) => `${k}=${metrics[k].toFixed(4)}`).join(' ');
}

/** Waits until the artifact trigger has started an execution for `key`. */
async function waitForTriggeredExecution(platform: Platform, key: string, deadline: number): Promise<ExecutionRecord> {
  while (Date.now() < deadline) {
    const recent = await platform.pipelines.executions({ pipeline: 'ncf-recommender', limit: 10 });
    const mine = recent.find((e) => (e.trigger.detail as { key?: string } | undefined)?.key === key);
    if (mine) return mine;
    await sleep(250);
  }
  throw new CapstanError('CAPSTAN_DEMO_FAILED', `no execution was triggered for ${key} in time`);
}

/** Polls the execution, reporting step changes and training epochs, until it ends. */
async function followExecution(platform: Platform, id: string, reporter: DemoReporter, deadline: number): Promise<ExecutionRecord> {
  const follower = platform.pipelines.follow(id);
  const changes = new StepChanges();
  while (Date.now() < deadline) {
    const exec = await platform.pipelines.execution(id);
    for (const line of await follower.next()) reporter.logLine(line.step, line.line);
    for (const step of changes.changed(exec)) reporter.step(step);
    if (exec.state === 'succeeded' || exec.state === 'failed' || exec.state === 'cancelled') {
      for (const line of await follower.next()) reporter.logLine(line.step, line.line);
      return exec;
    }
    await sleep(300);
  }
  throw new CapstanError('CAPSTAN_DEMO_FAILED', `execution ${id} did not finish in time`, { fields: { execution: id } });
}
