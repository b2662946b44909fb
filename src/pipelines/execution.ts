import type { PipelineDefinition, StepType } from './definition.js';

/** Life of an execution: queued → running → succeeded | failed | cancelled. */
export type ExecutionState = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled';

/** Life of a step: pending → running → succeeded | failed | skipped | cancelled (waiting = retry backoff). */
export type StepState = 'pending' | 'waiting' | 'running' | 'succeeded' | 'failed' | 'skipped' | 'cancelled';

/** True for states that never change again. */
export function isFinalStepState(s: StepState): boolean {
  return s === 'succeeded' || s === 'failed' || s === 'skipped' || s === 'cancelled';
}

/** One output of a finished step: where it was uploaded and its content digest. */
export interface StepOutput {
  uri: string;
  /** `sha256:<hex>` over the output's files (the registry's package digest format). */
  digest: string;
}

/** A step's error, with its catalogue code. */
export interface StepError {
  code: string;
  message: string;
}

/** One step of an execution as stored and shown. */
export interface StepRecord {
  name: string;
  type: StepType;
  state: StepState;
  /** Attempts started (an attempt interrupted by a crash counts). */
  attempts: number;
  /** Failed attempts so far (an attempt cut short by a crash is not a failure); the retry policy counts these. */
  failures: number;
  /** Epoch ms of the next retry while `waiting`. */
  nextAttemptAt: number | null;
  /** The step's cache key (hash of resolved definition, input digests and code digest). */
  cacheKey: string | null;
  /** True when the result was taken from an earlier execution. */
  cached: boolean;
  /** The execution the cached result came from. */
  cachedFrom: string | null;
  outputs: Record<string, StepOutput>;
  properties: Record<string, unknown>;
  metrics: Record<string, number>;
  warnings: string[];
  error: StepError | null;
  startedAt: string | null;
  finishedAt: string | null;
  durationMs: number | null;
}

/** What started an execution. */
export interface ExecutionTrigger {
  /** `git`: a repository sync applied a commit that changed the pipeline (detail: repository, commit). */
  type: 'manual' | 'cron' | 'artifact' | 'webhook' | 'git';
  /** Who (`key:<name>`, `local:<user>`) or which trigger started it. */
  by: string;
  /** Trigger details: cron time, artifact key, webhook delivery. */
  detail?: Record<string, unknown>;
}

/** A pipeline execution with its steps. */
export interface ExecutionRecord {
  id: string;
  pipeline: string;
  pipelineVersion: number;
  params: Record<string, unknown>;
  state: ExecutionState;
  trigger: ExecutionTrigger;
  error: string | null;
  cancelRequested: boolean;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  durationMs: number | null;
  steps: StepRecord[];
}

/** An execution plus what the scheduler needs to run it. */
export interface ExecutionWork extends ExecutionRecord {
  definition: PipelineDefinition;
  codePrefix: string | null;
  codeDigest: string | null;
}

/** An applied pipeline. */
export interface PipelineRecord {
  name: string;
  /** Increments whenever an apply changes the definition or code. */
  version: number;
  definition: PipelineDefinition;
  /** The YAML text it was applied from, when it came from a file. */
  source: string | null;
  codePrefix: string | null;
  codeDigest: string | null;
  createdAt: string;
  updatedAt: string;
}

/** One stored log line. */
export interface LogLine {
  executionId: string;
  pipeline: string;
  step: string;
  attempt: number;
  seq: number;
  /** ISO time. */
  at: string;
  stream: 'stdout' | 'stderr' | 'system';
  line: string;
}
