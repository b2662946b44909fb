import type { Kysely } from 'kysely';
import type { Clock } from '../../core/clock.js';
import { appendEvent } from '../outbox/index.js';
import type { JobRow } from './job-row.js';

/** The domain event raised, in the same transaction, when a job goes to `dead`. */
export const JOB_DEAD_EVENT = 'job.dead';

/** Payloads larger than this (serialized) are left out of the event; the job keeps them. */
const MAX_EVENT_PAYLOAD = 8_192;

/** The `job.dead` event's data: which job, why, and (when small) its payload, so its owner can end what it stood for. */
export interface JobDeadData {
  jobId: string;
  type: string;
  queue: string;
  attempts: number;
  maxAttempts: number;
  error: string | null;
  /** The job's payload, absent when it is larger than 8 KiB serialized. */
  payload?: unknown;
}

/**
 * Appends one `job.dead` event per row through `trx`: a job that dies records its death with the same
 * commit, so whoever the job worked for (an asynchronous invocation, a batch job) can end that record
 * even when the job died without its handler running (a lease expired on the final attempt).
 */
export async function appendJobDeadEvents(trx: Kysely<any>, rows: readonly JobRow[], clock: Clock): Promise<void> {
  for (const row of rows) {
    const data: JobDeadData = { jobId: row.id, type: row.type, queue: row.queue, attempts: row.attempts, maxAttempts: row.max_attempts, error: row.last_error };
    if (row.payload.length <= MAX_EVENT_PAYLOAD) data.payload = JSON.parse(row.payload);
    await appendEvent(trx, { type: JOB_DEAD_EVENT, subject: `jobs/${row.id}`, data: data as unknown as Record<string, unknown> }, clock);
  }
}
