import type { BatchJobInput, BatchJobOptions } from './batch-options.js';

/** Life of a batch job: Planning → InProgress → Completed | CompletedWithFailures | Failed. */
export type BatchJobState = 'Planning' | 'InProgress' | 'Completed' | 'CompletedWithFailures' | 'Failed';

/** The terminal states. */
export const BATCH_TERMINAL_STATES: readonly BatchJobState[] = ['Completed', 'CompletedWithFailures', 'Failed'];

/** A batch transform job as the API shows it. */
export interface BatchJob {
  id: string;
  model: { ref: string; name: string | null; version: number | null };
  input: string;
  output: string;
  options: BatchJobOptions;
  state: BatchJobState;
  shards: { total: number; done: number };
  records: { total: number; done: number; failed: number };
  /** Records per second since the job started, and seconds left at that rate (null until known). */
  progress: { percent: number; recordsPerSecond: number | null; etaSeconds: number | null };
  /** The failure file, when some records failed and the job ended. */
  failureUri: string | null;
  failureReason: string | null;
  createdBy: string;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
}

/** One line of a batch job's log. */
export interface BatchLogLine {
  at: string;
  message: string;
}

/** Who acts, recorded on the job. */
export interface BatchActionContext {
  actor?: string;
  /** A second create with the same token returns the first job instead of starting another (pipelines' transform step). */
  clientToken?: string;
}

/** Batch transform jobs: create, inspect, follow. The local service and the HTTP client implement it alike. */
export interface BatchService {
  /** Checks the model, the input and output locations and the options, then queues the job; nothing is created on a bad input. */
  create(input: BatchJobInput, ctx?: BatchActionContext): Promise<BatchJob>;
  /** One job with its progress; CAPSTAN_BATCH_JOB_NOT_FOUND when unknown. */
  get(id: string): Promise<BatchJob>;
  /** Jobs, newest first. */
  list(options?: { limit?: number }): Promise<BatchJob[]>;
  /** The job's log lines, oldest first. */
  logs(id: string): Promise<BatchLogLine[]>;
}
