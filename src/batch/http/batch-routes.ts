import { Type } from 'typebox';
import { actorOf } from '../../auth/index.js';
import type { ContextRoutes } from '../../storage/context-module.js';
import type { BatchJobInput } from '../batch-options.js';
import type { BatchContext } from '../batch-context.js';

const Id = Type.Object({ id: Type.String() });

const Notification = Type.Object({
  webhookUrl: Type.Optional(Type.String({ description: 'Standard-Webhooks-signed POST target (outbound guard applies)' })),
  webhookSecret: Type.Optional(Type.String({ description: 'whsec_… secret; required with webhookUrl' })),
  natsSubject: Type.Optional(Type.String({ description: 'NATS subject to publish on' })),
  includeResult: Type.Optional(Type.Boolean({ description: 'Include results up to 128 KiB; default false' })),
});

/** The body of `POST /api/v1/batch-jobs`; ranges are checked by the service (CAPSTAN_BATCH_OPTIONS_INVALID). */
export const BatchJobBody = Type.Object({
  model: Type.String({ description: 'ncf@champion, ncf/3 or models:/ncf/3' }),
  input: Type.String({ description: 'An object or prefix in the artifact store' }),
  output: Type.String({ description: 'A prefix in the artifact store' }),
  contentType: Type.Optional(Type.String({ description: 'application/jsonlines or text/csv; default by extension' })),
  splitType: Type.Optional(Type.String({ description: 'Line (default) or None' })),
  strategy: Type.Optional(Type.String({ description: 'MultiRecord (default) or SingleRecord' })),
  maxPayloadMb: Type.Optional(Type.Number({ description: 'Largest record and mini-batch in MiB; default 6' })),
  concurrency: Type.Optional(Type.Integer({ description: 'Worker threads of the job pool per process; default 2' })),
  joinSource: Type.Optional(Type.String({ description: 'Input or None (default)' })),
  inputFilter: Type.Optional(Type.String({ description: 'JSONPath; default $' })),
  outputFilter: Type.Optional(Type.String({ description: 'JSONPath; default $' })),
  failureThreshold: Type.Optional(Type.Number({ description: 'Failed share (0-1) above which the job is Failed; default 0.1' })),
  recordsPerShard: Type.Optional(Type.Integer({ description: 'Input lines per shard; default 10000' })),
  recordTimeoutMs: Type.Optional(Type.Integer({ description: 'Per-record model timeout; default 60000' })),
  notification: Type.Optional(Notification),
});

/** `/api/v1/batch-jobs`: create, list, show and follow batch transform jobs. */
export const batchRoutes: ContextRoutes<BatchContext> = async (app, { service }) => {
  app.post('/api/v1/batch-jobs', { config: { access: 'editor' }, schema: { tags: ['batch'], summary: 'Create a batch transform job', body: BatchJobBody } }, async (request, reply) =>
    reply.code(201).send(await service.batch.create(request.body as BatchJobInput, { actor: actorOf(request) })),
  );
  app.get(
    '/api/v1/batch-jobs',
    { config: { access: 'viewer' }, schema: { tags: ['batch'], summary: 'List batch jobs, newest first', querystring: Type.Object({ limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500 })) }) } },
    async (request) => ({ items: await service.batch.list(request.query as { limit?: number }) }),
  );
  app.get('/api/v1/batch-jobs/:id', { config: { access: 'viewer' }, schema: { tags: ['batch'], summary: 'One batch job with its progress', params: Id } }, async (request) =>
    service.batch.get((request.params as { id: string }).id),
  );
  app.get('/api/v1/batch-jobs/:id/logs', { config: { access: 'viewer' }, schema: { tags: ['batch'], summary: "A batch job's log lines", params: Id } }, async (request) => ({
    items: await service.batch.logs((request.params as { id: string }).id),
  }));
};
