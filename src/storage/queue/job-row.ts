import type { Job, JobState } from './job.js';

/** A `jobs` row as stored (timestamps in epoch ms, JSON as text). */
export interface JobRow {
  id: string;
  queue: string;
  type: string;
  payload: string;
  state: JobState;
  priority: number;
  run_at: number;
  attempts: number;
  max_attempts: number;
  idempotency_key: string | null;
  lease_owner: string | null;
  lease_expires_at: number | null;
  last_error: string | null;
  result: string | null;
  created_at: number;
  updated_at: number;
  started_at: number | null;
  finished_at: number | null;
}

/** The queue's tables, for a typed Kysely view. */
export interface JobsTables {
  jobs: JobRow;
}

const iso = (ms: number | null): string | null => (ms == null ? null : new Date(ms).toISOString());

/** The API form of a row: JSON parsed, timestamps as ISO strings. */
export function toJob<P>(row: JobRow): Job<P> {
  return {
    id: row.id,
    queue: row.queue,
    type: row.type,
    payload: JSON.parse(row.payload) as P,
    state: row.state,
    priority: row.priority,
    runAt: iso(row.run_at)!,
    attempts: row.attempts,
    maxAttempts: row.max_attempts,
    idempotencyKey: row.idempotency_key,
    leaseOwner: row.lease_owner,
    leaseExpiresAt: iso(row.lease_expires_at),
    lastError: row.last_error,
    result: row.result == null ? null : JSON.parse(row.result),
    createdAt: iso(row.created_at)!,
    updatedAt: iso(row.updated_at)!,
    startedAt: iso(row.started_at),
    finishedAt: iso(row.finished_at),
  };
}

/** Lease order: priority descending, then run-at, then id. */
export function byPriority(a: JobRow, b: JobRow): number {
  return b.priority - a.priority || a.run_at - b.run_at || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}
