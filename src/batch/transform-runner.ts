import { CapstanError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { TransformRequest } from '../pipelines/index.js';
import type { JobQueue } from '../storage/queue/job-queue.js';
import type { JobHandler } from '../storage/queue/job.js';
import { Worker } from '../storage/queue/worker.js';
import type { BatchJobInput } from './batch-options.js';
import { BATCH_QUEUE } from './batch-queue.js';
import { BATCH_TERMINAL_STATES, type BatchService } from './batch-service.js';

/**
 * Runs a transform step's batch job to its end. While it waits, this process also works the batch
 * queue (a private worker for the batch job types), so the step finishes where no `capstan worker`
 * runs (an embedded `capstan pipeline run`); elsewhere the shards are simply shared with other workers.
 */
export async function runTransform(
  deps: { batch: BatchService; queue: JobQueue; handlers: ReadonlyMap<string, JobHandler>; logger: Logger; pollMs?: number },
  request: TransformRequest,
): Promise<Record<string, unknown>> {
  const input = { ...request.config, model: request.model, input: request.input, output: request.output } as BatchJobInput;
  const created = await deps.batch.create(input, { actor: request.actor, clientToken: request.clientToken });
  request.log(`batch job ${created.id} (${created.state})`);
  const worker = new Worker({ queue: deps.queue, handlers: deps.handlers, queues: [BATCH_QUEUE], logger: deps.logger });
  await worker.start();
  let job = created;
  try {
    let lastDone = -1;
    while (!BATCH_TERMINAL_STATES.includes(job.state)) {
      if (request.signal.aborted) throw request.signal.reason ?? new Error('aborted');
      await new Promise((r) => setTimeout(r, deps.pollMs ?? 250));
      job = await deps.batch.get(created.id);
      if (job.records.done !== lastDone) request.log(`batch job ${job.id}: ${job.records.done}/${job.records.total} records, ${job.records.failed} failed`);
      lastDone = job.records.done;
    }
  } finally {
    await worker.stop();
  }
  const properties = { jobId: job.id, state: job.state, output: job.output, records: job.records.total, failed: job.records.failed, failureUri: job.failureUri };
  if (job.state === 'Failed') {
    throw new CapstanError('CAPSTAN_BATCH_JOB_FAILED', `batch job ${job.id} ended Failed: ${job.failureReason}`, { fields: { jobId: job.id }, retryable: false });
  }
  return properties;
}
