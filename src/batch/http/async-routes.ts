import type { FastifyError } from 'fastify';
import { Type } from 'typebox';
import { CapstanError } from '../../core/errors.js';
import { errorFromRequest, sendProblem } from '../../core/problem.js';
import type { ContextRoutes } from '../../storage/context-module.js';
import type { AsyncEndpointConfigInput, AsyncInvocationRequest } from '../async-service.js';
import type { BatchContext } from '../batch-context.js';

const Name = Type.Object({ name: Type.String() });
const PREFIX = 'x-amzn-sagemaker-';

function header(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function secondsHeader(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d{1,9}$/.test(value.trim())) throw new CapstanError('CAPSTAN_ASYNC_OPTIONS_INVALID', `${name} must be a whole number of seconds, got ${JSON.stringify(value)}`, { fields: { field: name } });
  return Number(value.trim());
}

/**
 * `POST /endpoints/{name}/async-invocations` (SageMaker InvokeEndpointAsync): the body arrives as raw
 * text, stored as the request's input unless X-Amzn-SageMaker-InputLocation names one in the store.
 */
export const asyncInvocationRoutes: ContextRoutes<BatchContext> = async (app, { service, config }) => {
  const limit = config.server.invocationBodyLimit;
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string', bodyLimit: limit }, (_request, body, done) => done(null, body));
  app.setErrorHandler((err: FastifyError, request, reply) => sendProblem(reply, request, errorFromRequest(err)));
  app.post(
    '/endpoints/:name/async-invocations',
    {
      config: { access: 'invoker' },
      bodyLimit: limit,
      schema: {
        tags: ['async'],
        summary: 'Queue an invocation (SageMaker InvokeEndpointAsync); answers 202 with X-Amzn-SageMaker-OutputLocation and -FailureLocation',
        params: Name,
      },
    },
    async (request, reply) => {
      const h = request.headers;
      const get = (name: string) => header(h[`${PREFIX}${name}`]);
      const input: AsyncInvocationRequest = {
        body: typeof request.body === 'string' ? request.body : undefined,
        inputLocation: get('inputlocation'),
        contentType: get('content-type') ?? header(h['content-type']),
        accept: get('accept'),
        customAttributes: get('custom-attributes'),
        inferenceId: get('inference-id'),
        requestTtlSeconds: secondsHeader(get('requestttlseconds'), 'X-Amzn-SageMaker-RequestTTLSeconds'),
        invocationTimeoutSeconds: secondsHeader(get('invocationtimeoutseconds'), 'X-Amzn-SageMaker-InvocationTimeoutSeconds'),
      };
      const out = await service.async.invoke((request.params as { name: string }).name, input);
      return reply
        .code(202)
        .header('x-amzn-sagemaker-outputlocation', out.outputLocation)
        .header('x-amzn-sagemaker-failurelocation', out.failureLocation)
        .header('content-type', 'application/json')
        .send(JSON.stringify({ InferenceId: out.inferenceId, id: out.id }));
    },
  );
};

const AsyncConfigBody = Type.Object({
  maxConcurrency: Type.Optional(Type.Integer({ description: 'Requests run at once per worker process; default 4' })),
  outputPrefix: Type.Optional(Type.String({ description: 'Where outputs go; default <store>/async/<endpoint>/output' })),
  failurePrefix: Type.Optional(Type.String({ description: 'Where failures go; default <store>/async/<endpoint>/failure' })),
  notification: Type.Optional(
    Type.Object({
      webhookUrl: Type.Optional(Type.String()),
      webhookSecret: Type.Optional(Type.String()),
      natsSubject: Type.Optional(Type.String()),
      includeResult: Type.Optional(Type.Boolean()),
    }),
  ),
});

/** `/api/v1/async-invocations/{id}` and an endpoint's asynchronous settings. */
export const asyncApiRoutes: ContextRoutes<BatchContext> = async (app, { service }) => {
  app.get(
    '/api/v1/async-invocations/:id',
    { config: { access: 'invoker' }, schema: { tags: ['async'], summary: 'The state of an asynchronous invocation', params: Type.Object({ id: Type.String() }) } },
    async (request) => service.async.get((request.params as { id: string }).id),
  );
  app.get('/api/v1/endpoints/:name/async-config', { config: { access: 'viewer' }, schema: { tags: ['async'], summary: "An endpoint's asynchronous settings", params: Name } }, async (request) =>
    service.async.config((request.params as { name: string }).name),
  );
  app.put(
    '/api/v1/endpoints/:name/async-config',
    { config: { access: 'editor' }, schema: { tags: ['async'], summary: "Set an endpoint's asynchronous settings", params: Name, body: AsyncConfigBody } },
    async (request) => service.async.configure((request.params as { name: string }).name, request.body as AsyncEndpointConfigInput),
  );
};
