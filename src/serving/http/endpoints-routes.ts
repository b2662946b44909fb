import type { FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { CapstanError } from '../../core/errors.js';
import type { DeployOptions, ServingActionContext, UpdateEndpointInput } from '../endpoint-service.js';
import { TRAFFIC_POLICY_KINDS } from '../traffic-policy.js';
import type { EndpointConfigInput } from '../endpoint-config.js';
import { actorOf } from '../../auth/index.js';
import type { ContextRoutes } from '../../storage/context-module.js';
import type { CaptureSampleQuery } from '../capture-samples.js';
import type { ServingContext } from '../serving-context.js';
import { PipelineSchema, ScalingSchema } from './hosting-schemas.js';

// The count is the endpoint config's rule, not the schema's: an empty list then answers
// CAPSTAN_SERVING_ENDPOINT_CONFIG_INVALID here as it does embedded, not a generic request error.
const VARIANTS_DOC = { description: '1 to 10 production variants (CAPSTAN_SERVING_ENDPOINT_CONFIG_INVALID otherwise)' };

const Batching = Type.Object(
  {
    maxBatchSize: Type.Optional(Type.Integer({ minimum: 1, description: 'Rows merged into one model call; default 1 (off)' })),
    maxDelayMs: Type.Optional(Type.Integer({ minimum: 0, description: 'How long a request waits for company; default 0' })),
  },
  { additionalProperties: false },
);

const variantSettings = {
  instances: Type.Optional(Type.Integer({ minimum: 1, description: 'Worker threads; default 1' })),
  batching: Type.Optional(Batching),
  intraOpThreads: Type.Optional(Type.Integer({ minimum: 1, description: 'ONNX Runtime intra-op threads; default 1' })),
  interOpThreads: Type.Optional(Type.Integer({ minimum: 1, description: 'ONNX Runtime inter-op threads; default 1' })),
  timeoutMs: Type.Optional(Type.Integer({ minimum: 10, description: 'Model timeout (504 after); default 60000' })),
  url: Type.Optional(Type.String({ description: 'External server URL for http models' })),
  interpreter: Type.Optional(Type.String({ description: 'Python interpreter for python models (default python3)' })),
  handlerOptions: Type.Optional(Type.Record(Type.String(), Type.Unknown(), { description: 'e.g. {"unknownIds":"popularity"}' })),
  features: Type.Optional(
    Type.Object(
      {
        features: Type.Array(Type.String(), { description: 'group:feature references added to each JSON instance' }),
        entityKeys: Type.Optional(Type.Record(Type.String(), Type.String(), { description: 'join key → request field; default the same name' })),
        as: Type.Optional(Type.Record(Type.String(), Type.String(), { description: 'feature reference → model input field; default the feature name' })),
        keepEntityFields: Type.Optional(Type.Boolean({ description: 'keep the entity id fields in the model input; default false (removed after the lookup)' })),
      },
      { description: 'Online feature values added to the model input in-process (docs/features.md)' },
    ),
  ),
};

const MultiModel = Type.Object(
  {
    source: Type.String({ description: 'models:/<group> (targets <group>/<version>, <group>@<alias>) or artifacts:/<prefix> (targets: its sub-folder names)' }),
    memoryBudgetBytes: Type.Optional(Type.Integer({ minimum: 1024, description: 'Estimated bytes (package size) of resident models before the least recently used is unloaded; default 1 GiB' })),
    maxModels: Type.Optional(Type.Integer({ minimum: 1, description: 'Resident models at most; default 32' })),
    loadWaitMs: Type.Optional(Type.Integer({ minimum: 0, description: 'Longest a request waits for its model to load before 429 + Retry-After; default 5000' })),
    failedRetryMs: Type.Optional(Type.Integer({ minimum: 0, description: 'How long a failed load answers its error before loading again; default 5000' })),
  },
  { additionalProperties: false, description: 'A multi-model variant: the model is chosen per request with X-Capstan-Target-Model and loaded on first use (docs/serving.md)' },
);

const Variant = Type.Object(
  {
    name: Type.Optional(Type.String({ description: 'Default primary, variant-2, …' })),
    model: Type.Optional(Type.String({ description: 'models:/ncf/3 or models:/ncf@champion; left out on a multi-model variant, and a pipeline variant may omit it (its first model stage)' })),
    multiModel: Type.Optional(MultiModel),
    weight: Type.Optional(Type.Number({ minimum: 0, description: 'Relative traffic share; default 1' })),
    shadowPercent: Type.Optional(Type.Number({ description: 'A shadow variant: answers no user; this share (0-100) of requests is also sent to it after the answer; default 0' })),
    ...variantSettings,
    pipeline: Type.Optional(PipelineSchema),
    scaling: Type.Optional(ScalingSchema),
  },
  { additionalProperties: false },
);

const DataCapture = Type.Object(
  {
    enabled: Type.Optional(Type.Boolean()),
    samplingPercent: Type.Optional(Type.Number({ minimum: 0, maximum: 100 })),
    rotateBytes: Type.Optional(Type.Integer({ minimum: 1024 })),
    rotateMs: Type.Optional(Type.Integer({ minimum: 100 })),
  },
  { additionalProperties: false },
);

const Name = Type.Object({ name: Type.String() });

const TrafficPolicy = Type.Object(
  {
    kind: Type.Union(TRAFFIC_POLICY_KINDS.map((k) => Type.Literal(k)), { description: 'weighted-random (default), sticky (same X-Capstan-Sticky-Key, same variant) or thompson (weights follow feedback)' }),
    keyField: Type.Optional(Type.String({ description: 'sticky: a JSON body field (user, context.userId) used as the key when the header is absent' })),
  },
  { additionalProperties: false },
);

const AllowUnapproved = Type.Optional(
  Type.Object({ reason: Type.String({ minLength: 1, maxLength: 500 }) }, { additionalProperties: false, description: 'Admin only: deploy versions that are not Approved; recorded in the endpoint' }),
);

/** Who acts, and the unapproved-deploy override when the body asks for it: admin keys only. */
function actionContext(request: FastifyRequest, allowUnapproved: { reason: string } | undefined): ServingActionContext {
  const ctx: ServingActionContext = { actor: actorOf(request) };
  if (allowUnapproved === undefined) return ctx;
  const role = request.principal?.role;
  // Without API keys (a loopback server) every caller is trusted as an admin.
  if (role !== undefined && role !== 'admin') {
    throw new CapstanError('CAPSTAN_AUTH_FORBIDDEN', `deploying an unapproved version needs role admin; the key has role ${role}`, { fields: { requiredRole: 'admin', role } });
  }
  return { ...ctx, allowUnapproved };
}

/** Endpoint administration under `/api/v1/endpoints` (create, update, describe, list, delete, deploy). */
export const endpointsRoutes: ContextRoutes<ServingContext> = async (app, { service }) => {
  const serving = () => service;
  app.post(
    '/api/v1/endpoints',
    {
      config: { access: 'editor' },
      schema: {
        tags: ['endpoints'],
        summary: 'Create an endpoint; answers once its variants loaded (status InService); a model that does not load answers the error and leaves no endpoint',
        body: Type.Object({ name: Type.String(), variants: Type.Array(Variant, VARIANTS_DOC), dataCapture: Type.Optional(DataCapture), trafficPolicy: Type.Optional(TrafficPolicy), allowUnapproved: AllowUnapproved }, { additionalProperties: false }),
      },
    },
    async (request, reply) => {
      const { name, allowUnapproved, ...config } = request.body as EndpointConfigInput & { name: string; allowUnapproved?: { reason: string } };
      return reply.code(201).send(await serving().create(name, config, actionContext(request, allowUnapproved)));
    },
  );
  app.get('/api/v1/endpoints', { config: { access: 'viewer' }, schema: { tags: ['endpoints'], summary: 'List endpoints' } }, async () => ({ items: await serving().list() }));
  app.get(
    '/api/v1/endpoints/:name',
    { config: { access: 'viewer' }, schema: { tags: ['endpoints'], summary: "Describe an endpoint: status, variants with pinned versions, live weights and workers", params: Name } },
    async (request) => serving().describe((request.params as { name: string }).name),
  );
  app.get(
    '/api/v1/endpoints/:name/stats',
    {
      config: { access: 'viewer' },
      schema: {
        tags: ['endpoints'],
        summary: "Each variant's requests, errors and latency percentiles over a recent window, summed over every serving process",
        params: Name,
        querystring: Type.Object({ windowMs: Type.Optional(Type.Integer({ description: 'How far back; default 300000 (5 min), 1000 to the retention (default 3600000)' })) }, { additionalProperties: false }),
      },
    },
    async (request) => serving().variantStats((request.params as { name: string }).name, request.query as { windowMs?: number }),
  );
  app.get(
    '/api/v1/endpoints/:name/models',
    { config: { access: 'viewer' }, schema: { tags: ['endpoints'], summary: 'What each multi-model variant has loaded in this server process, with its cache counters', params: Name } },
    async (request) => serving().models((request.params as { name: string }).name),
  );

  app.get(
    '/api/v1/endpoints/:name/data-capture',
    {
      config: { access: 'viewer' },
      schema: {
        tags: ['endpoints'],
        summary: "The endpoint's captured request/response pairs, newest first, a page at a time",
        params: Name,
        querystring: Type.Object(
          { limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, description: 'Records per page; default 20' })), cursor: Type.Optional(Type.String({ description: 'The nextCursor of the previous page' })) },
          { additionalProperties: false },
        ),
      },
    },
    async (request) => serving().captureSamples((request.params as { name: string }).name, request.query as CaptureSampleQuery),
  );
  app.patch(
    '/api/v1/endpoints/:name',
    {
      config: { access: 'editor' },
      schema: {
        tags: ['endpoints'],
        summary: 'Update variants, weights or data capture blue/green',
        params: Name,
        body: Type.Object(
          {
            variants: Type.Optional(Type.Array(Variant, VARIANTS_DOC)),
            weights: Type.Optional(Type.Record(Type.String(), Type.Number({ minimum: 0 }))),
            dataCapture: Type.Optional(DataCapture),
            trafficPolicy: Type.Optional(TrafficPolicy),
            allowUnapproved: AllowUnapproved,
          },
          { additionalProperties: false },
        ),
      },
    },
    async (request) => {
      const { allowUnapproved, ...input } = request.body as UpdateEndpointInput & { allowUnapproved?: { reason: string } };
      return serving().update((request.params as { name: string }).name, input, actionContext(request, allowUnapproved));
    },
  );
  app.delete(
    '/api/v1/endpoints/:name',
    { config: { access: 'editor' }, schema: { tags: ['endpoints'], summary: 'Delete an endpoint; in-flight requests finish first', params: Name } },
    async (request, reply) => {
      await serving().delete((request.params as { name: string }).name, { actor: actorOf(request) });
      return reply.code(204).send();
    },
  );
  app.post(
    '/api/v1/endpoints/:name/deploy',
    {
      config: { access: 'editor' },
      schema: {
        tags: ['endpoints'],
        summary: 'Create the endpoint serving a model, or switch it to that model blue/green',
        params: Name,
        body: Type.Object({ model: Type.String(), variant: Type.Optional(Type.String()), dataCapture: Type.Optional(DataCapture), allowUnapproved: AllowUnapproved, ...variantSettings }, { additionalProperties: false }),
      },
    },
    async (request) => {
      const { model, allowUnapproved, ...options } = request.body as DeployOptions & { model: string; allowUnapproved?: { reason: string } };
      return serving().deploy((request.params as { name: string }).name, model, options, actionContext(request, allowUnapproved));
    },
  );
};
