import type { ContextParts, OutboxSubscription } from '../storage/context-module.js';
import { notificationSubscriptions } from './notifier.js';
import type { TransformRequest } from '../pipelines/index.js';
import type { RegistryService } from '../registry/index.js';
import type { ServingContext } from '../serving/index.js';
import type { JobHandler } from '../storage/queue/job.js';
import { batchJobHandlers } from './batch-job-handlers.js';
import type { BatchService } from './batch-service.js';
import { LocalBatchService } from './local-batch-service.js';
import { RunnerCache } from './runner-cache.js';
import { SqlBatchStore } from './sql-batch-store.js';
import path from 'node:path';
import { SecretBox } from '../core/secret-box.js';
import { asyncJobHandler } from './async-job-handler.js';
import type { AsyncInvocationService } from './async-service.js';
import { EndpointSlots } from './endpoint-slots.js';
import { ASYNC_JOB, LocalAsyncService } from './local-async-service.js';
import { SqlAsyncStore } from './sql-async-store.js';
import { runTransform } from './transform-runner.js';
import { batchDeadJobs } from './dead-job-subscription.js';

/** The batch context's service: batch transform jobs (and, through `async`, asynchronous invocations). */
export interface BatchContext {
  batch: BatchService;
  /** Asynchronous invocations of real-time endpoints. */
  async: AsyncInvocationService;
  /** Runs a pipeline transform step's batch job to its end (the pipelines' transformer). */
  transform(request: TransformRequest): Promise<Record<string, unknown>>;
}

/** The built context: service, job handlers and cleanup. */
export interface BatchContextInstance {
  service: BatchContext;
  jobHandlers: Map<string, JobHandler>;
  subscriptions: OutboxSubscription[];
  close(): Promise<void>;
}

/** Builds the batch context on the platform's parts. */
export function createBatch(parts: ContextParts): BatchContextInstance {
  const store = new SqlBatchStore(parts.db);
  const runners = new RunnerCache(() => parts.use<ServingContext>('serving'));
  const box = new SecretBox({ secretKey: parts.config.secretKey, keyFile: path.join(parts.config.home, 'secret.key') });
  const batch = new LocalBatchService({
    box,
    store,
    queue: parts.queue,
    artifacts: parts.artifacts,
    registry: () => parts.use<RegistryService>('registry'),
    outbound: parts.config.outbound,
  });
  const serving = () => parts.use<ServingContext>('serving');
  const asyncStore = new SqlAsyncStore(parts.db, (key) => parts.artifacts.uriFor(key));
  const asyncService = new LocalAsyncService({ store: asyncStore, queue: parts.queue, artifacts: parts.artifacts, serving, outbound: parts.config.outbound, box });
  const batchDeps = { store, queue: parts.queue, artifacts: parts.artifacts, runners, logger: parts.logger };
  const jobHandlers = batchJobHandlers(batchDeps);
  jobHandlers.set(ASYNC_JOB, asyncJobHandler({ store: asyncStore, service: asyncService, artifacts: parts.artifacts, serving, slots: new EndpointSlots() }) as JobHandler);
  const transform = (request: TransformRequest) => runTransform({ batch, queue: parts.queue, handlers: jobHandlers, logger: parts.logger }, request);
  const notifier = notificationSubscriptions({ batchStore: store, asyncStore, artifacts: parts.artifacts, box, outbound: parts.config.outbound, notifications: parts.config.notifications });
  return {
    service: { batch, async: asyncService, transform },
    jobHandlers,
    subscriptions: [...notifier.subscriptions, batchDeadJobs({ store: asyncStore, artifacts: parts.artifacts }, batchDeps)],
    async close() {
      await runners.close();
      await notifier.close();
    },
  };
}
