import { CapstanError } from '../../core/errors.js';
import type { TransformStep } from '../definition.js';
import { emptyOutcome, type StepHandler } from './step-handler.js';

/**
 * transform: runs a batch transform job with a registered model over the step's input and waits
 * for its end (SageMaker's TransformStep). The job's shards run on the queue; a resumed attempt
 * follows the job it started instead of starting another. A job that ends `Failed` fails the step.
 */
export const runTransformStep: StepHandler = async (inv, services) => {
  const step = inv.step as TransformStep;
  const transformer = services.transformer?.();
  if (!transformer) {
    throw new CapstanError('CAPSTAN_CONFIG_CONTEXT_MISSING', `step "${step.name}" cannot run a transform: the batch context is not installed`, { retryable: false });
  }
  const version = step.version === undefined ? undefined : Number(step.version);
  if (version !== undefined && (!Number.isSafeInteger(version) || version < 1)) {
    throw new CapstanError('CAPSTAN_PIPELINE_REFERENCE_UNRESOLVED', `step "${step.name}": version ${JSON.stringify(step.version)} is not a positive integer`, { retryable: false });
  }
  const model = `models:/${step.model}${version ? `/${version}` : `@${step.alias}`}`;
  inv.log('system', `batch transform of ${step.input} with ${model} into ${step.output}`);
  const properties = await transformer.transform({
    model,
    input: step.input,
    output: step.output,
    config: step.config,
    actor: `system:pipeline/${inv.work.pipeline}`,
    clientToken: `${inv.work.id}:${step.name}:${inv.attempt}`,
    signal: inv.signal,
    log: (line) => inv.log('system', line),
  });
  return { ...emptyOutcome(), properties };
};
