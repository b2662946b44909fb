import type { Kysely } from 'kysely';

/** Life of a job: queued → running → succeeded | (queued again with backoff) → dead; or cancelled. */
export type JobState = 'queued' | 'running' | 'succeeded' | 'dead' | 'cancelled';

/** A job as stored and shown by the API. */
export interface Job<P = unknown> {
  id: string;
  queue: string;
  type: string;
  payload: P;
  state: JobState;
  priority: number;
  /** ISO time at or after which the job may run. */
  runAt: string;
  /** Attempts started so far (a lease counts as an attempt). */
  attempts: number;
  maxAttempts: number;
  idempotencyKey: string | null;
  leaseOwner: string | null;
  leaseExpiresAt: string | null;
  lastError: string | null;
  result: unknown;
  createdAt: string;
  updatedAt: string;
  startedAt: string | null;
  finishedAt: string | null;
}

/** Options for enqueueing; every field has a default. */
export interface EnqueueOptions {
  /** Queue name; default `default`. */
  queue?: string;
  /** A second enqueue with the same key on the same queue returns the first job instead of a new one. */
  idempotencyKey?: string;
  /** Higher runs first; default 0. */
  priority?: number;
  /** Epoch ms before which the job does not run; default now. */
  runAt?: number;
  /** Attempts before the job is dead; default the configured `queue.maxAttempts`. */
  maxAttempts?: number;
}

/** What a handler gets besides the job: cancellation, lease extension and fencing. */
export interface JobContext {
  /** Aborted when the worker stops or the lease is lost; long handlers should stop promptly. */
  signal: AbortSignal;
  /** Extends the lease now (the worker also heartbeats on its own interval). */
  heartbeat(): Promise<void>;
  /** The id of the worker running the job. */
  workerId: string;
  /**
   * Throws CAPSTAN_QUEUE_LEASE_LOST unless this worker still holds the job's lease. Called inside the
   * handler's own metadata-DB transaction (`into`), the check and the handler's writes commit together,
   * so a worker that stalled past its lease cannot commit after another worker took the job (fencing).
   */
  assertLease(into?: Kysely<any>): Promise<void>;
}

/** Runs one job type. Its return value is stored as the job's result; a throw schedules a retry. */
export type JobHandler<P = any> = (job: Job<P>, context: JobContext) => Promise<unknown>;
