import { Type } from 'typebox';
import type { DeployOptions, UpdateEndpointInput } from '../endpoint-service.js';
import type { EndpointConfigInput } from '../endpoint-config.js';
import { actorOf } from '../../auth/index.js';
import type { ContextRoutes } from '../../storage/context-module.js';
import type { ServingContext } from '../serving-context.js';

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
  handlerOptions: Type.Optional(Type.Record(Type.String(), Type.Unknown(), { description: 'e.g. {"unknownIds":"popularity"}' })),
};

const Variant = Type.Object(
  {
    name: Type.Optional(Type.String({ description: 'Default primary, variant-2, …' })),
    model: Type.String({ description: 'models:/ncf/3 or models:/ncf@champion' }),
    weight: Type.Optional(Type.Number({ minimum: 0, description: 'Relative traffic share; default 1' })),
    ...variantSettings,
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

/** Endpoint administration under `/api/v1/endpoints` (create, update, describe, list, delete, deploy). */
export const endpointsRoutes: ContextRoutes<ServingContext> = async (app, { service }) => {
  const serving = () => service;
  app.post(
    '/api/v1/endpoints',
    {
      config: { access: 'editor' },
      schema: {
        tags: ['endpoints'],
        summary: 'Create an endpoint; answers once its variants loaded (status InService) or failed (status Failed with a reason)',
        body: Type.Object({ name: Type.String(), variants: Type.Array(Variant, { minItems: 1 }), dataCapture: Type.Optional(DataCapture) }, { additionalProperties: false }),
      },
    },
    async (request, reply) => {
      const { name, ...config } = request.body as EndpointConfigInput & { name: string };
      return reply.code(201).send(await serving().create(name, config, { actor: actorOf(request) }));
    },
  );
  app.get('/api/v1/endpoints', { config: { access: 'viewer' }, schema: { tags: ['endpoints'], summary: 'List endpoints' } }, async () => ({ items: await serving().list() }));
  app.get(
    '/api/v1/endpoints/:name',
    { config: { access: 'viewer' }, schema: { tags: ['endpoints'], summary: "Describe an endpoint: status, variants with pinned versions, live weights and workers", params: Name } },
    async (request) => serving().describe((request.params as { name: string }).name),
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
            variants: Type.Optional(Type.Array(Variant, { minItems: 1 })),
            weights: Type.Optional(Type.Record(Type.String(), Type.Number({ minimum: 0 }))),
            dataCapture: Type.Optional(DataCapture),
          },
          { additionalProperties: false },
        ),
      },
    },
    async (request) => serving().update((request.params as { name: string }).name, request.body as UpdateEndpointInput, { actor: actorOf(request) }),
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
        body: Type.Object({ model: Type.String(), variant: Type.Optional(Type.String()), dataCapture: Type.Optional(DataCapture), ...variantSettings }, { additionalProperties: false }),
      },
    },
    async (request) => {
      const { model, ...options } = request.body as DeployOptions & { model: string };
      return serving().deploy((request.params as { name: string }).name, model, options, { actor: actorOf(request) });
    },
  );
};
