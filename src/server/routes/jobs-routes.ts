import { Type } from 'typebox';
import { actorOf } from '../../auth/index.js';
import type { JobListFilter } from '../../storage/queue/jobs-service.js';
import type { RoutePlugin } from './index.js';

const Nullable = <T extends ReturnType<typeof Type.String>>(t: T) => Type.Union([t, Type.Null()]);

const JobStateSchema = Type.Union(
  [Type.Literal('queued'), Type.Literal('running'), Type.Literal('succeeded'), Type.Literal('dead'), Type.Literal('cancelled')],
  { description: 'queued → running → succeeded | queued again (retry with backoff) | dead; or cancelled' },
);

/** A job as the API shows it (timestamps in ISO 8601). */
export const JobSchema = Type.Object(
  {
    id: Type.String(),
    queue: Type.String(),
    type: Type.String(),
    payload: Type.Unknown(),
    state: JobStateSchema,
    priority: Type.Integer(),
    runAt: Type.String({ description: 'Time at or after which the job may run' }),
    attempts: Type.Integer({ description: 'Attempts started so far; each lease counts one' }),
    maxAttempts: Type.Integer(),
    idempotencyKey: Nullable(Type.String()),
    leaseOwner: Nullable(Type.String({ description: 'Worker holding (or that last held) the lease' })),
    leaseExpiresAt: Nullable(Type.String()),
    lastError: Nullable(Type.String()),
    result: Type.Unknown(),
    createdAt: Type.String(),
    updatedAt: Type.String(),
    startedAt: Nullable(Type.String()),
    finishedAt: Nullable(Type.String()),
  },
  { description: 'A job of the durable queue' },
);

const JobIdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 100 }) });

const ListQuery = Type.Object({
  state: Type.Optional(JobStateSchema),
  queue: Type.Optional(Type.String({ maxLength: 63 })),
  type: Type.Optional(Type.String({ maxLength: 63 })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 50 })),
  cursor: Type.Optional(Type.String({ maxLength: 100, description: 'nextCursor of the previous page' })),
});

const JobPageSchema = Type.Object({ jobs: Type.Array(JobSchema), nextCursor: Nullable(Type.String()) });

/** Inspect, retry and cancel jobs of the durable queue: `/api/v1/jobs`. */
export const jobsRoutes: RoutePlugin = async (app, { platform }) => {
  const { queue, logger } = platform;
  const tags = ['jobs'];

  app.get(
    '/api/v1/jobs',
    {
      config: { access: 'viewer' },
      schema: { tags, summary: 'List jobs, newest first', querystring: ListQuery, response: { 200: JobPageSchema } },
    },
    async (request) => queue.list(request.query as JobListFilter),
  );

  app.get(
    '/api/v1/jobs/stats',
    {
      config: { access: 'viewer' },
      schema: {
        tags,
        summary: 'Number of jobs in each state',
        response: { 200: Type.Object({ queued: Type.Integer(), running: Type.Integer(), succeeded: Type.Integer(), dead: Type.Integer(), cancelled: Type.Integer() }) },
      },
    },
    async () => queue.stats(),
  );

  app.get(
    '/api/v1/jobs/:id',
    { config: { access: 'viewer' }, schema: { tags, summary: 'Show one job', params: JobIdParams, response: { 200: JobSchema } } },
    async (request) => queue.get((request.params as { id: string }).id),
  );

  app.post(
    '/api/v1/jobs/:id/retry',
    {
      config: { access: 'editor' },
      schema: { tags, summary: 'Queue a dead or cancelled job again with a fresh set of attempts', params: JobIdParams, response: { 200: JobSchema } },
    },
    async (request) => {
      const job = await queue.retry((request.params as { id: string }).id);
      logger.info({ actor: actorOf(request), jobId: job.id }, 'job retried');
      return job;
    },
  );

  app.post(
    '/api/v1/jobs/:id/cancel',
    {
      config: { access: 'editor' },
      schema: { tags, summary: 'Cancel a queued job', params: JobIdParams, response: { 200: JobSchema } },
    },
    async (request) => {
      const job = await queue.cancel((request.params as { id: string }).id);
      logger.info({ actor: actorOf(request), jobId: job.id }, 'job cancelled');
      return job;
    },
  );
};
