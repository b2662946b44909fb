/**
 * The pipeline definition model: what a YAML file or the TypeScript builder describes. Values that
 * may hold `${…}` references stay strings here; they are resolved when a step is about to run.
 */

/** Types a parameter may declare. */
export type ParameterType = 'string' | 'integer' | 'number' | 'boolean';

/** A declared pipeline parameter. */
export interface ParameterDefinition {
  type: ParameterType;
  /** Used when the run does not override it; a parameter without a default must be given. */
  default?: string | number | boolean;
  description?: string;
}

/** Retry policy of one step; defaults: 1 attempt, backoff 1s doubling up to 60s. */
export interface RetryPolicy {
  /** Total attempts including the first; default 1 (no retry). */
  attempts: number;
  /** Delay before the second attempt, in ms; default 1000. */
  backoffMs: number;
  /** Multiplier per further attempt; default 2. */
  backoffRate: number;
  /** Largest delay in ms; default 60000. */
  maxBackoffMs: number;
}

/** A regular expression applied to every log line; the first capture group is the metric value. */
export interface MetricDefinition {
  name: string;
  regex: string;
}

/** A JSON file a step writes into one of its outputs; later steps read it as `steps.<s>.properties.<name>`. */
export interface PropertyFile {
  name: string;
  /** The declared output that holds the file. */
  output: string;
  /** Path of the file inside that output. */
  path: string;
}

/** Fields every step type shares. */
export interface StepBase {
  name: string;
  description?: string;
  /** Extra ordering edges besides those implied by references. */
  dependsOn: string[];
  /** Default 1 attempt. */
  retry: RetryPolicy;
  /** Wall-clock limit per attempt in ms; default none for commands, 60000 for functions. */
  timeoutMs?: number;
  /** Reuse an earlier identical run's results; default true for command steps and register-model. */
  cache: boolean;
}

/** The three step types that run a command or built-in under the step contract (DESIGN §4). */
export type ContainerStepType = 'processing' | 'training' | 'evaluation';

/** A processing, training or evaluation step. */
export interface CommandStep extends StepBase {
  type: ContainerStepType;
  /** argv of the program to run (no shell); exclusive with `builtin`. */
  command?: string[];
  /** A built-in algorithm function (`ncf.train`); exclusive with `command`. */
  builtin?: string;
  /** Channel name → artifact URI or key (may hold references). */
  inputs: Record<string, string>;
  /** Names of the output directories the step writes; training steps also get `model`. */
  outputs: string[];
  /** Written as JSON to CAPSTAN_HYPERPARAMETERS and passed as `--name value` arguments. */
  hyperparameters: Record<string, string | number | boolean>;
  /** Environment variables the step sees (values may hold references); nothing else passes but PATH, HOME, LANG. */
  env: Record<string, string>;
  metricDefinitions: MetricDefinition[];
  propertyFiles: PropertyFile[];
  /** Executor name; default `local` (or the pipeline's `defaults.executor`). */
  executor: string;
  /** A point-in-time training set built from the feature store before the step runs, given to it as an input channel. */
  features?: StepFeatures;
  /** Pod settings when `executor` is `kubernetes`: the pipeline's `defaults.kubernetes` overlaid by the step's own. */
  kubernetes?: KubernetesStepSpec;
}

/** A step's `features:` input: the feature store builds this training set into the channel before the step runs. */
export interface StepFeatures {
  /** Input channel the set is downloaded into; default `features`. */
  channel: string;
  /** The entity table (join keys + timestamp): a URI or key in the artifact store; may hold references. */
  entities: string;
  /** Feature references, `group:feature` or `group@2:feature`. */
  features: string[];
  /** Default `parquet`. */
  format: 'parquet' | 'csv';
  /** Default true: values as known at each row's timestamp (created time ≤ timestamp too). */
  asOfKnownTime: boolean;
  /** The entity table's timestamp column; default `event_timestamp`. */
  timestampColumn: string;
}

/** How a step runs as a Kubernetes Job (docs/scale.md). */
export interface KubernetesStepSpec {
  /** The step's container image; required for a kubernetes step. */
  image?: string;
  /** CPU, memory and GPU requests (used as limits too). */
  resources?: { cpu?: string; memory?: string; gpu?: number };
  /** Environment variables read from Secrets: name → `secret-name/key`. */
  secretEnv?: Record<string, string>;
  nodeSelector?: Record<string, string>;
  tolerations?: { key?: string; operator?: string; value?: string; effect?: string }[];
  serviceAccount?: string;
  /** The Job's activeDeadlineSeconds; default none (the step's timeout still applies). */
  activeDeadlineSeconds?: number;
}

/** Branches on a CEL expression over `params` and `steps`. */
export interface ConditionStep extends StepBase {
  type: 'condition';
  /** CEL; must evaluate to a boolean. */
  if: string;
  then: string[];
  else: string[];
}

/** Registers a model version from an artifact. */
export interface RegisterModelStep extends StepBase {
  type: 'register-model';
  /** Model group name. */
  model: string;
  /** URI of the model package (usually `${steps.train.outputs.model}`). */
  modelData: string;
  /** Approval status of the new version; default `PendingManualApproval`. */
  approval: 'PendingManualApproval' | 'Approved';
  /** Steps whose metrics the version carries; default every upstream step. */
  metricsFrom?: string[];
  description?: string;
  /** Free-form metadata (may hold references). */
  metadata: Record<string, string>;
}

/** Creates or updates an endpoint; the deployer comes from the serving context. */
export interface DeployStep extends StepBase {
  type: 'deploy';
  endpoint: string;
  model: string;
  /** Exactly one of version / alias. */
  version?: string;
  alias?: string;
  /** Passed through to the deployer (instance count, variant, …). */
  config: Record<string, unknown>;
}

/** Runs a batch transform job with a registered model; the transformer comes from the batch context. */
export interface TransformStep extends StepBase {
  type: 'transform';
  model: string;
  /** Exactly one of version / alias. */
  version?: string;
  alias?: string;
  /** An object or prefix in the artifact store (may hold references). */
  input: string;
  /** A prefix in the artifact store (may hold references). */
  output: string;
  /** Passed to the batch job (strategy, concurrency, joinSource, filters, failureThreshold, …). */
  config: Record<string, unknown>;
}

/** Runs an exported function of a JS/TS module in-process. */
export interface FunctionStep extends StepBase {
  type: 'function';
  /** Path relative to the pipeline's code directory. */
  module: string;
  /** Export name; default `handler`. */
  handler: string;
  /** Arguments passed to the handler (may hold references). */
  args: Record<string, unknown>;
  /** Artifacts (URIs or references) downloaded before the call; the handler gets their local paths in `event.inputs`. */
  inputs: Record<string, string>;
}

/** Ends the execution as failed with a message. */
export interface FailStep extends StepBase {
  type: 'fail';
  message: string;
}

/** Any step. */
export type StepDefinition = CommandStep | ConditionStep | RegisterModelStep | DeployStep | TransformStep | FunctionStep | FailStep;

/** Every step type name. */
export const STEP_TYPES = ['processing', 'training', 'evaluation', 'condition', 'register-model', 'deploy', 'transform', 'function', 'fail'] as const;

/** A step type name. */
export type StepType = (typeof STEP_TYPES)[number];

/** Trigger kinds a pipeline may declare. */
export type TriggerDefinition =
  | { name: string; type: 'cron'; schedule: string; timezone: string; params: Record<string, unknown> }
  | { name: string; type: 'artifact'; prefix: string; parameter: string; params: Record<string, unknown> }
  | { name: string; type: 'webhook'; params: Record<string, unknown> };

/** A whole pipeline. */
export interface PipelineDefinition {
  name: string;
  description?: string;
  /** Directory (relative to the definition file) snapshotted as the steps' code; default none. */
  code?: string;
  parameters: Record<string, ParameterDefinition>;
  steps: StepDefinition[];
  triggers: TriggerDefinition[];
}

/** Default retry policy: one attempt. */
export const DEFAULT_RETRY: RetryPolicy = { attempts: 1, backoffMs: 1000, backoffRate: 2, maxBackoffMs: 60_000 };

/** True for the step types that run under the step contract. */
export function isCommandStep(step: StepDefinition): step is CommandStep {
  return step.type === 'processing' || step.type === 'training' || step.type === 'evaluation';
}

/** The outputs a step produces, including the implicit `model` of training steps. */
export function stepOutputs(step: StepDefinition): string[] {
  if (!isCommandStep(step)) return [];
  return step.type === 'training' && !step.outputs.includes('model') ? [...step.outputs, 'model'] : step.outputs;
}
