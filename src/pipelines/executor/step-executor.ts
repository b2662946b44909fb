import type { KubernetesStepSpec, PropertyFile } from '../definition.js';
import type { StepOutput } from '../execution.js';

/**
 * Exit code a step uses to say "this failure is permanent, do not retry" (bad input data, a
 * configuration error). Steps also see it as CAPSTAN_NO_RETRY_EXIT_CODE.
 */
export const NO_RETRY_EXIT_CODE = 86;

/** Everything an executor needs to run one attempt of a command step under the step contract (DESIGN §4). */
export interface StepTask {
  executionId: string;
  pipeline: string;
  step: string;
  attempt: number;
  /** Resolved argv; for built-ins the executor's built-in runner is used instead. */
  command?: string[];
  /** Built-in function name (`ncf.train`), exclusive with `command`. */
  builtin?: string;
  /** Resolved hyperparameters: a JSON file and `--name value` arguments. */
  hyperparameters: Record<string, string | number | boolean>;
  /** Declared environment variables, resolved. */
  env: Record<string, string>;
  /** Channel → artifact store key (an object or a prefix). */
  inputs: Record<string, string>;
  /** Output names (training steps: without `model`, which `modelOutput` covers). */
  outputs: string[];
  /** True for training steps: CAPSTAN_MODEL_DIR becomes the `model` output. */
  modelOutput: boolean;
  /** Store prefix of the pipeline's code snapshot, downloaded as the working directory. */
  codePrefix: string | null;
  /** Store prefix outputs are uploaded under (unique per attempt). */
  outputPrefix: string;
  timeoutMs?: number;
  propertyFiles: PropertyFile[];
  /** Pod settings for the Kubernetes executor; ignored by the local one. */
  kubernetes?: KubernetesStepSpec;
}

/** Callbacks and signals for one attempt. */
export interface StepRunContext {
  /** Aborted on cancel; the executor stops the step and rejects with CAPSTAN_PIPELINE_STEP_CANCELLED. */
  signal: AbortSignal;
  /** Receives every log line as it is produced. */
  log(stream: 'stdout' | 'stderr' | 'system', line: string): void;
  /** Told the process group id of a local child as soon as it started. */
  onSpawn?(pgid: number): void;
}

/** What a successful attempt produced. */
export interface StepRunResult {
  outputs: Record<string, StepOutput>;
  /** Parsed property files by name. */
  properties: Record<string, unknown>;
  exitCode: number;
}

/**
 * Runs command steps. The local executor runs subprocesses; a Kubernetes Job executor implements
 * the same interface by creating a Job whose pod stages inputs and outputs the same way. A failed
 * attempt rejects with a CapstanError; `retryable: false` in its fields stops the retry policy.
 */
export interface StepExecutor {
  readonly name: string;
  run(task: StepTask, ctx: StepRunContext): Promise<StepRunResult>;
  /** Releases resources (waits for running attempts to stop). */
  close?(): Promise<void>;
}
