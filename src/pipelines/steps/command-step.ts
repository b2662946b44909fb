import { CapstanError } from '../../core/errors.js';
import { inputKey } from '../artifact-digest.js';
import type { CommandStep } from '../definition.js';
import { MetricsFromLogs, type MetricPoint } from '../metrics-from-logs.js';
import type { StepHandler } from './step-handler.js';

/**
 * processing / training / evaluation: runs the command or built-in on the step's executor under
 * the step contract, turns log lines into metrics as they stream, and records a registry run
 * (params = hyperparameters, metric series) when a registry is installed.
 */
export const runCommandStep: StepHandler = async (inv, services) => {
  const step = inv.step as CommandStep;
  const executor = services.executors.get(step.executor);
  if (!executor) {
    throw new CapstanError('CAPSTAN_PIPELINE_EXECUTOR_UNKNOWN', `step "${step.name}" names executor "${step.executor}"; known: ${[...services.executors.keys()].join(', ')}`, { fields: { retryable: false } });
  }
  const points: MetricPoint[] = [];
  const metrics = new MetricsFromLogs(step.metricDefinitions, (p) => points.push(p));
  const inputs = Object.fromEntries(Object.entries(step.inputs).map(([k, v]) => [k, inputKey(services.artifacts, v)]));
  const result = await executor.run(
    {
      executionId: inv.work.id,
      pipeline: inv.work.pipeline,
      step: step.name,
      attempt: inv.attempt,
      command: step.command,
      builtin: step.builtin,
      hyperparameters: step.hyperparameters,
      env: step.env,
      inputs,
      outputs: step.outputs.filter((o) => !(step.type === 'training' && o === 'model')),
      modelOutput: step.type === 'training',
      codePrefix: inv.work.codePrefix,
      outputPrefix: `pipelines/${inv.work.pipeline}/executions/${inv.work.id}/${step.name}/attempt-${inv.attempt}/`,
      timeoutMs: step.timeoutMs,
      propertyFiles: step.propertyFiles,
    },
    {
      signal: inv.signal,
      log: (stream, line) => {
        inv.log(stream, line);
        if (stream !== 'system') metrics.line(line);
      },
    },
  );
  const properties: Record<string, unknown> = { ...result.properties };
  const latest = metrics.latest();
  const registry = services.registry?.();
  if (registry && (points.length > 0 || Object.keys(step.hyperparameters).length > 0)) {
    // The run is bookkeeping: losing it must not fail a step whose outputs are already uploaded.
    try {
      const run = await registry.createRun(
        { experiment: inv.work.pipeline, name: `${inv.work.id}/${step.name}`, params: step.hyperparameters, pipelineExecutionId: inv.work.id, pipelineStep: step.name },
        { actor: `system:pipeline/${inv.work.pipeline}` },
      );
      if (points.length) await registry.logMetrics(run.id, points.map((p) => ({ key: p.name, value: p.value, step: p.step, timestamp: p.at })));
      await registry.updateRun(run.id, { status: 'finished' });
      properties._capstan = { runId: run.id };
    } catch (err) {
      services.logger.warn({ err, step: step.name }, 'could not record the registry run');
    }
  }
  return { outputs: result.outputs, properties, metrics: latest, warnings: metrics.warnings() };
};
