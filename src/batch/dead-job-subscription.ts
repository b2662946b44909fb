import type { OutboxSubscription } from '../storage/context-module.js';
import { deadJobSubscription, jobDeath, type JobDeadData } from '../storage/queue/job-dead-event.js';
import { failLostInvocation, type AsyncJobDeps } from './async-job-handler.js';
import { endJob, type BatchJobDeps } from './batch-job-handlers.js';
import { ASSEMBLE_JOB, PLAN_JOB, SHARD_JOB } from './batch-queue.js';
import { ASYNC_JOB } from './local-async-service.js';

/** The subscription's durable name. */
export const DEAD_JOBS_SUBSCRIPTION = 'batch.dead-jobs';

// The outbox retries a failing delivery; from this attempt on a lost invocation ends even without its failure file.
const LAST_FILE_TRY = 3;

/**
 * Ends what a dead job of this context worked for: a queue job whose lease expired on its final
 * attempt goes dead without its handler running, which left its asynchronous invocation `InProgress`
 * (and its batch job `InProgress`) for ever. Both now end `Failed` with their usual event; an
 * invocation or batch job that already ended is left as it is, so redelivery changes nothing.
 */
export function batchDeadJobs(asyncDeps: Pick<AsyncJobDeps, 'store' | 'artifacts'>, batchDeps: BatchJobDeps): OutboxSubscription {
  const failBatchJob = async (job: JobDeadData) => {
    if (typeof job.refs.jobId === 'string') await endJob(batchDeps, job.refs.jobId, 'Failed', `its ${job.type} job ${jobDeath(job)}`);
  };
  return deadJobSubscription(DEAD_JOBS_SUBSCRIPTION, batchDeps.queue, {
    [ASYNC_JOB]: async (job, attempt) => {
      if (typeof job.refs.id === 'string') await failLostInvocation(asyncDeps, job.refs.id, job.error, attempt >= LAST_FILE_TRY);
    },
    [PLAN_JOB]: failBatchJob,
    [SHARD_JOB]: failBatchJob,
    [ASSEMBLE_JOB]: failBatchJob,
  });
}
