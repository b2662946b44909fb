import { CapstanError } from '../../core/errors.js';
import { inputKey } from '../artifact-digest.js';
import type { CommandStep, StepFeatures } from '../definition.js';
import { MetricsFromLogs } from '../metrics-from-logs.js';
import { CLIENT_LINE_PREFIX, LiveRun, RUN_ID_ENV } from './live-run.js';
import type { StepHandler, StepInvocation, StepServices, StepTrainingSet } from './step-handler.js';

/** Builds the step's point-in-time training set with the feature store into the attempt's prefix. */
async function buildStepTrainingSet(inv: StepInvocation, services: StepServices, spec: StepFeatures): Promise<StepTrainingSet> {
  const provider = services.features?.();
  if (!provider) throw new CapstanError('CAPSTAN_CONFIG_CONTEXT_MISSING', `step "${inv.step.name}" has a features: input but no feature store is installed`, { retryable: false });
  const outKey = `pipelines/${inv.work.pipeline}/executions/${inv.work.id}/${inv.step.name}/attempt-${inv.attempt}/features/${spec.channel}/training-set.${spec.format}`;
  inv.log('system', `building training set ${spec.channel} from ${spec.features.join(', ')}`);
  const set = await provider.trainingSet({ entities: spec.entities, features: spec.features, outKey, format: spec.format, asOfKnownTime: spec.asOfKnownTime, timestampColumn: spec.timestampColumn });
  inv.log('system', `training set ${spec.channel}: ${set.rows} rows, ${set.digest}; ${set.features.map((f) => `${f.feature} nulls=${f.nulls} expired=${f.expired}`).join(', ')}`);
  return set;
}

/**
 * processing / training / evaluation: runs the command or built-in on the step's executor under
 * the step contract, turns log lines into metrics as they stream, and keeps a registry run current
 * while it runs (params = hyperparameters, metric series) when a registry is installed.
 */
export const runCommandStep: StepHandler = async (inv, services) => {
  const step = inv.step as CommandStep;
  const executor = services.executors.get(step.executor);
  if (!executor) {
    throw new CapstanError('CAPSTAN_PIPELINE_EXECUTOR_UNKNOWN', `step "${step.name}" names executor "${step.executor}"; known: ${[...services.executors.keys()].join(', ')}`, { retryable: false });
  }
  const registry = services.registry?.();
  // Compiled before the live run exists: a metric regex RE2 refuses (from a definition applied before
  // validation used RE2) fails the step without leaving a run open in the registry.
  const metrics = new MetricsFromLogs(step.metricDefinitions, (p) => run?.add(p));
  const run =
    registry && (step.metricDefinitions.length > 0 || Object.keys(step.hyperparameters).length > 0)
      ? await LiveRun.start(
          registry,
          { experiment: inv.work.pipeline, name: `${inv.work.id}/${step.name}`, params: step.hyperparameters, pipelineExecutionId: inv.work.id, pipelineStep: step.name },
          { actor: `system:pipeline/${inv.work.pipeline}` },
          services.logger,
        )
      : undefined;
  if (run) await inv.onRun?.(run.id);
  const inputs = Object.fromEntries(Object.entries(step.inputs).map(([k, v]) => [k, inputKey(services.artifacts, v)]));
  const featureSet = step.features ? await buildStepTrainingSet(inv, services, step.features) : undefined;
  if (featureSet && step.features) inputs[step.features.channel] = featureSet.key;
  const task = {
    executionId: inv.work.id,
    pipeline: inv.work.pipeline,
    step: step.name,
    attempt: inv.attempt,
    command: step.command,
    builtin: step.builtin,
    hyperparameters: step.hyperparameters,
    // The Python client inside the step attaches to this run (docs/python.md).
    env: run ? { ...step.env, [RUN_ID_ENV]: run.id } : step.env,
    inputs,
    outputs: step.outputs.filter((o) => !(step.type === 'training' && o === 'model')),
    modelOutput: step.type === 'training',
    codePrefix: inv.work.codePrefix,
    outputPrefix: `pipelines/${inv.work.pipeline}/executions/${inv.work.id}/${step.name}/attempt-${inv.attempt}/`,
    timeoutMs: step.timeoutMs,
    propertyFiles: step.propertyFiles,
    kubernetes: step.kubernetes,
  };
  let result: Awaited<ReturnType<typeof executor.run>>;
  try {
    result = await executor.run(task, {
      signal: inv.signal,
      onSpawn: inv.onSpawn,
      log: (stream, line) => {
        inv.log(stream, line);
        if (stream === 'stdout' && run && line.startsWith(CLIENT_LINE_PREFIX)) run.clientLine(line);
        else if (stream !== 'system') metrics.line(line);
      },
    });
    // A run is closed `finished` only by the attempt that still owns the step: an attempt that lost
    // its lease throws here, and its run is closed `failed` below (or by the restart that resets it).
    await inv.stillCurrent?.();
  } catch (err) {
    await run?.finish('failed');
    throw err;
  }
  await run?.finish('finished');
  const properties: Record<string, unknown> = { ...result.properties };
  if (run || featureSet) properties._capstan = { ...(run ? { runId: run.id } : {}), ...(featureSet && step.features ? { features: { [step.features.channel]: featureSet } } : {}) };
  return { outputs: result.outputs, properties, metrics: metrics.latest(), warnings: metrics.warnings() };
};
