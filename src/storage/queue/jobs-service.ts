import type { Job, JobState } from './job.js';

/** Every job state, in life-cycle order. */
export const JOB_STATES: readonly JobState[] = ['queued', 'running', 'succeeded', 'dead', 'cancelled'];

/** Filters for listing jobs; every field optional. */
export interface JobListFilter {
  state?: JobState;
  queue?: string;
  type?: string;
  /** Page size; default 50, at most 500. */
  limit?: number;
  /** `nextCursor` of the previous page. */
  cursor?: string;
}

/** One page of jobs, newest first; `nextCursor` is null on the last page. */
export interface JobPage {
  jobs: Job[];
  nextCursor: string | null;
}

/** Number of jobs in each state. */
export type JobStats = Record<JobState, number>;

/**
 * What operators do with jobs: inspect, retry, cancel. The local `JobQueue` and the HTTP
 * `JobsClient` both implement it, so `capstan jobs` works embedded and against a server.
 */
export interface JobsService {
  /** Lists jobs matching `filter`, newest first. */
  list(filter?: JobListFilter): Promise<JobPage>;
  /** One job; throws CAPSTAN_QUEUE_JOB_NOT_FOUND. */
  get(id: string): Promise<Job>;
  /** Puts a dead or cancelled job back in the queue with a fresh set of attempts. */
  retry(id: string): Promise<Job>;
  /** Cancels a queued job. */
  cancel(id: string): Promise<Job>;
  /** Counts by state. */
  stats(): Promise<JobStats>;
}
