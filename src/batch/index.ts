/**
 * The batch context's public surface: batch transform jobs and asynchronous invocations, their
 * types, and the context module the platform installs.
 */
import { defineContext } from '../storage/context-module.js';
import { createBatch, type BatchContext } from './batch-context.js';
import { asyncApiRoutes, asyncInvocationRoutes } from './http/async-routes.js';
import { batchRoutes } from './http/batch-routes.js';
import { batchTables } from './migrations/0013-batch.js';

export type { BatchContext } from './batch-context.js';
export type * from './batch-service.js';
export type * from './async-service.js';
export type { BatchJobInput, BatchJobOptions, BatchContentType } from './batch-options.js';
export type { NotificationInput } from './notification-settings.js';
export { BATCH_TERMINAL_STATES } from './batch-service.js';
export { BATCH_QUEUE } from './batch-queue.js';
export { ASYNC_QUEUE } from './local-async-service.js';
export { ASYNC_LIMITS } from './async-request.js';

/** Batch transform and asynchronous inference: `/api/v1/batch-jobs`, the `batch.*` queue jobs. */
export const batchContext = defineContext<BatchContext>({
  name: 'batch',
  migrations: { '0013_batch': batchTables },
  create(parts) {
    const ctx = createBatch(parts);
    return { service: ctx.service, jobHandlers: ctx.jobHandlers, subscriptions: ctx.subscriptions, close: ctx.close };
  },
  routes: [batchRoutes, asyncApiRoutes, asyncInvocationRoutes],
});
