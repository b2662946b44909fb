import type { Kysely } from 'kysely';
import type { Clock } from '../../core/clock.js';
import { isCapstanError } from '../../core/errors.js';
import type { OutboxSubscription } from '../context-module.js';
import { appendEvent } from '../outbox/index.js';
import type { JobRow } from './job-row.js';
import type { JobsService } from './jobs-service.js';

/** The domain event raised, in the same transaction, when a job goes to `dead`. */
export const JOB_DEAD_EVENT = 'job.dead';

/** Longer strings are left out of the event's refs: ids are short. */
const MAX_REF_LENGTH = 200;

/** The `job.dead` event's data: which job, why, and the payload's ids, so its owner can end what it stood for. */
export interface JobDeadData {
  jobId: string;
  type: string;
  queue: string;
  attempts: number;
  maxAttempts: number;
  error: string | null;
  /**
   * The payload's top-level scalar fields (strings up to 200 characters, numbers, booleans): the ids
   * its owner finds its record by. Nested values are left out: they may carry a request's data, which
   * notification subscribers of `job.dead` have no business receiving.
   */
  refs: Record<string, string | number | boolean>;
}

/** The payload's top-level scalar fields; see JobDeadData.refs. */
export function payloadRefs(payload: string): Record<string, string | number | boolean> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(payload);
  } catch {
    return {};
  }
  const refs: Record<string, string | number | boolean> = {};
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) return refs;
  for (const [key, value] of Object.entries(parsed)) {
    if ((typeof value === 'string' && value.length <= MAX_REF_LENGTH) || typeof value === 'number' || typeof value === 'boolean') refs[key] = value;
  }
  return refs;
}

/**
 * Appends one `job.dead` event per row through `trx`: a job that dies records its death with the same
 * commit, so whoever the job worked for (an asynchronous invocation, a batch job, a queued decision)
 * can end that record even when the job died without its handler running (a lease expired on the final attempt).
 */
export async function appendJobDeadEvents(trx: Kysely<any>, rows: readonly JobRow[], clock: Clock): Promise<void> {
  for (const row of rows) {
    const data: JobDeadData = { jobId: row.id, type: row.type, queue: row.queue, attempts: row.attempts, maxAttempts: row.max_attempts, error: row.last_error, refs: payloadRefs(row.payload) };
    await appendEvent(trx, { type: JOB_DEAD_EVENT, subject: `jobs/${row.id}`, data: data as unknown as Record<string, unknown> }, clock);
  }
}

/** How a dead job ended, to finish a sentence naming it: `died after 5 attempts: <last error>`. */
export function jobDeath(job: JobDeadData): string {
  return `died after ${job.attempts} attempts: ${job.error ?? 'no error recorded'}`;
}

/** What a context does with a dead job of one of its types; `attempt` counts this event's deliveries. */
export type DeadJobOwner = (job: JobDeadData, attempt: number) => Promise<unknown>;

/**
 * A context's durable subscription to `job.dead`, handing each dead job of a type it owns to that
 * type's owner (which ends the record the job stood for) and ignoring every other type. A job that is
 * no longer dead when its death is delivered (an operator retried it, and its handler owns the record
 * again) is skipped: delivery can lag, or repeat, well after the retry.
 */
export function deadJobSubscription(name: string, jobs: Pick<JobsService, 'get'>, owners: Readonly<Record<string, DeadJobOwner>>): OutboxSubscription {
  return {
    name,
    patterns: [JOB_DEAD_EVENT],
    handler: async (event, delivery) => {
      const job = event.data as unknown as JobDeadData;
      const owner = owners[job.type];
      if (!owner || !(await stillDead(jobs, job.jobId))) return;
      await owner(job, delivery.attempt);
    },
  };
}

/** Whether the job is dead now; a job gone from the table (purged) still counts, its record may be open. */
async function stillDead(jobs: Pick<JobsService, 'get'>, id: string): Promise<boolean> {
  try {
    return (await jobs.get(id)).state === 'dead';
  } catch (err) {
    if (isCapstanError(err, 'CAPSTAN_QUEUE_JOB_NOT_FOUND')) return true;
    throw err;
  }
}
