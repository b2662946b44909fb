import type { ContextParts } from '../storage/context-module.js';
import type { RegistryService } from '../registry/index.js';
import type { ServingContext } from '../serving/index.js';
import type { JobHandler } from '../storage/queue/job.js';
import { batchJobHandlers } from './batch-job-handlers.js';
import type { BatchService } from './batch-service.js';
import { LocalBatchService } from './local-batch-service.js';
import { RunnerCache } from './runner-cache.js';
import { SqlBatchStore } from './sql-batch-store.js';
import { runTransform, type TransformStepRequest } from './transform-runner.js';

/** The batch context's service: batch transform jobs (and, through `async`, asynchronous invocations). */
export interface BatchContext {
  batch: BatchService;
  /** Runs a pipeline transform step's batch job to its end (the pipelines' transformer). */
  transform(request: TransformStepRequest): Promise<Record<string, unknown>>;
}

/** The built context: service, job handlers and cleanup. */
export interface BatchContextInstance {
  service: BatchContext;
  jobHandlers: Map<string, JobHandler>;
  close(): Promise<void>;
}

/** Builds the batch context on the platform's parts. */
export function createBatch(parts: ContextParts): BatchContextInstance {
  const store = new SqlBatchStore(parts.db);
  const runners = new RunnerCache(() => parts.use<ServingContext>('serving'));
  const batch = new LocalBatchService({
    store,
    queue: parts.queue,
    artifacts: parts.artifacts,
    registry: () => parts.use<RegistryService>('registry'),
    outbound: parts.config.outbound,
  });
  const jobHandlers = batchJobHandlers({ store, queue: parts.queue, artifacts: parts.artifacts, runners, logger: parts.logger });
  const transform = (request: TransformStepRequest) => runTransform({ batch, queue: parts.queue, handlers: jobHandlers, logger: parts.logger }, request);
  return { service: { batch, transform }, jobHandlers, close: () => runners.close() };
}
