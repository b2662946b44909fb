import type { OutboxSubscription } from '../storage/context-module.js';
import type { JobDeadData } from '../storage/queue/job-dead-event.js';
import { JOB_DEAD_EVENT } from '../storage/queue/job-dead-event.js';
import { failLostInvocation, type AsyncJobDeps } from './async-job-handler.js';
import { endJob, type BatchJobDeps } from './batch-job-handlers.js';
import { ASSEMBLE_JOB, PLAN_JOB, SHARD_JOB } from './batch-queue.js';
import { ASYNC_JOB } from './local-async-service.js';

/** The subscription's durable name. */
export const DEAD_JOBS_SUBSCRIPTION = 'batch.dead-jobs';

const BATCH_JOBS = new Set([PLAN_JOB, SHARD_JOB, ASSEMBLE_JOB]);
// The outbox retries a failing delivery; from this attempt on a lost invocation ends even without its failure file.
const LAST_FILE_TRY = 3;

/**
 * Ends what a dead job of this context worked for: a queue job whose lease expired on its final
 * attempt goes dead without its handler running, which left its asynchronous invocation `InProgress`
 * (and its batch job `InProgress`) for ever. Both now end `Failed` with their usual event; an
 * invocation or batch job that already ended is left as it is, so redelivery changes nothing.
 */
export function deadJobSubscription(asyncDeps: Pick<AsyncJobDeps, 'store' | 'artifacts'>, batchDeps: BatchJobDeps): OutboxSubscription {
  return {
    name: DEAD_JOBS_SUBSCRIPTION,
    patterns: [JOB_DEAD_EVENT],
    handler: async (event, delivery) => {
      const data = event.data as unknown as JobDeadData;
      const refs = data.refs ?? {};
      if (data.type === ASYNC_JOB && typeof refs.id === 'string') {
        await failLostInvocation(asyncDeps, refs.id, data.error, delivery.attempt >= LAST_FILE_TRY);
      } else if (BATCH_JOBS.has(data.type) && typeof refs.jobId === 'string') {
        await endJob(batchDeps, refs.jobId, 'Failed', `its ${data.type} job died after ${data.attempts} attempts: ${data.error ?? 'no error recorded'}`);
      }
    },
  };
}
