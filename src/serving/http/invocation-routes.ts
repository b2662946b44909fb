import { performance } from 'node:perf_hooks';
import type { FastifyError } from 'fastify';
import { Type } from 'typebox';
import { CapstanError, isCapstanError } from '../../core/errors.js';
import { compileContentTypeCheck } from '../request-validation.js';
import { decodeOipRequest, encodeOipResponse } from '../oip-codec.js';
import { errorFromRequest, sendProblem } from '../../core/problem.js';
import type { ContextRoutes } from '../../storage/context-module.js';
import type { ServingContext } from '../serving-context.js';
import { isSigV4Request } from '../../auth/index.js';
import { sendSageMakerError } from './sagemaker-error.js';

const Name = Type.Object({ name: Type.String() });

/** The Open Inference Protocol's JSON body. */
const checkOipContentType = compileContentTypeCheck();

function header(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** A parsed body: the exact bytes received (every content type), or nothing. */
function rawBody(body: unknown): Buffer {
  return Buffer.isBuffer(body) ? body : EMPTY;
}

const EMPTY = Buffer.alloc(0);

/**
 * The data plane: `POST /endpoints/{name}/invocations` (SageMaker-compatible headers) and the Open
 * Inference Protocol v2. Bodies of any content type arrive as raw bytes and go to the model worker
 * untouched (a SigV4 signature is checked over those same bytes), so the gateway never parses or
 * re-encodes a request; the invocation body limit (default 6 MiB) answers 413.
 */
export const invocationRoutes: ContextRoutes<ServingContext> = async (app, { service: serving, config }) => {
  const limit = config.server.invocationBodyLimit;
  const host = () => serving.host;

  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: limit }, (_request, body, done) => done(null, body));
  app.setErrorHandler((err: FastifyError, request, reply) => {
    let error = errorFromRequest(err);
    if (error.code === 'CAPSTAN_REQUEST_TOO_LARGE') {
      error = new CapstanError('CAPSTAN_SERVING_PAYLOAD_TOO_LARGE', `the body is larger than the invocation limit of ${limit} bytes`, { fields: { limit } });
    } else if (error.code === 'CAPSTAN_REQUEST_MALFORMED_JSON') {
      error = new CapstanError('CAPSTAN_SERVING_MALFORMED_JSON', error.message);
    }
    if (error.status >= 500) request.log.error({ err }, 'invocation failed');
    // SageMaker Runtime SDKs sign with SigV4 and read X-Amzn-ErrorType; Capstan clients keep problem+json.
    if (isSigV4Request(request.headers)) return sendSageMakerError(reply, error);
    return sendProblem(reply, request, error);
  });

  app.post(
    '/endpoints/:name/invocations',
    {
      config: { access: 'invoker', sigv4: true },
      bodyLimit: limit,
      schema: {
        tags: ['invocations'],
        summary:
          'Invoke an endpoint (SageMaker InvokeEndpoint). Headers: X-Capstan-Target-Variant, X-Capstan-Target-Model (the model of a multi-model variant), X-Capstan-Sticky-Key, X-Capstan-Inference-Id, X-Capstan-Custom-Attributes, or their X-Amzn-SageMaker-* aliases; the answer carries X-Capstan-Invoked-Variant, X-Amzn-Invoked-Production-Variant and, from a multi-model variant, X-Capstan-Invoked-Model (429 with Retry-After while the target model loads)',
        params: Name,
      },
    },
    async (request, reply) => {
      const startedAt = performance.now();
      const h = request.headers;
      const name = (request.params as { name: string }).name;
      const targetModel = header(h['x-capstan-target-model'] ?? h['x-amzn-sagemaker-target-model']);
      const inferenceId = header(h['x-capstan-inference-id'] ?? h['x-amzn-sagemaker-inference-id']);
      const customAttributes = header(h['x-capstan-custom-attributes'] ?? h['x-amzn-sagemaker-custom-attributes']);
      const out = await host().invoke(name, {
        body: rawBody(request.body),
        contentType: header(h['content-type']) ?? 'application/json',
        accept: header(h.accept),
        targetVariant: header(h['x-capstan-target-variant'] ?? h['x-amzn-sagemaker-target-variant']),
        ...(targetModel !== undefined ? { targetModel } : {}),
        stickyKey: header(h['x-capstan-sticky-key']),
        inferenceId,
        customAttributes,
        startedAt,
        // Shadow copies start once the answer is handed to the socket, so they never compete with sending it.
        afterAnswer: (work) => reply.raw.once('finish', () => setImmediate(work)),
      });
      reply.header('x-capstan-invoked-variant', out.variant).header('x-amzn-invoked-production-variant', out.variant).header('content-type', out.contentType);
      if (out.model !== undefined) reply.header('x-capstan-invoked-model', out.model);
      if (inferenceId) reply.header('x-capstan-inference-id', inferenceId);
      // SageMaker returns the custom attributes the container answers; handlers here get them but answer none, so they are echoed.
      if (customAttributes !== undefined) reply.header('x-amzn-sagemaker-custom-attributes', customAttributes);
      return reply.send(out.body);
    },
  );

  app.get('/v2/health/live', { config: { access: 'public' }, schema: { tags: ['invocations'], summary: 'Open Inference Protocol: liveness' } }, async () => ({ live: true }));
  app.get('/v2/health/ready', { config: { access: 'public' }, schema: { tags: ['invocations'], summary: 'Open Inference Protocol: readiness (the metadata database answers)' } }, async () => {
    await serving.ready();
    return { ready: true };
  });

  app.get(
    '/v2/models/:name',
    { config: { access: 'invoker' }, schema: { tags: ['invocations'], summary: 'Open Inference Protocol: model metadata (the endpoint is the model)', params: Name } },
    async (request) => {
      return serving.modelMetadata((request.params as { name: string }).name, header(request.headers['x-capstan-target-variant']));
    },
  );

  app.get(
    '/v2/models/:name/ready',
    { config: { access: 'invoker' }, schema: { tags: ['invocations'], summary: 'Open Inference Protocol: model readiness', params: Name } },
    async (request) => {
      const name = (request.params as { name: string }).name;
      await host().ensure(name);
      return { name, ready: true };
    },
  );

  app.post(
    '/v2/models/:name/infer',
    { config: { access: 'invoker' }, bodyLimit: limit, schema: { tags: ['invocations'], summary: 'Open Inference Protocol: inference on JSON tensors', params: Name } },
    async (request, reply) => {
      const name = (request.params as { name: string }).name;
      checkOipContentType(header(request.headers['content-type']) ?? 'application/json');
      const decoded = decodeOipRequest(rawBody(request.body).toString('utf8'));
      try {
        const stickyKey = header(request.headers['x-capstan-sticky-key']);
        const { variant, outputs } = await host().infer(name, decoded.inputs, header(request.headers['x-capstan-target-variant']), stickyKey === undefined ? undefined : { stickyKey });
        reply.header('x-capstan-invoked-variant', variant.name).header('content-type', 'application/json');
        return reply.send(encodeOipResponse(name, String(variant.config.resolved.version), decoded.id, outputs, decoded.outputs));
      } catch (err) {
        if (isCapstanError(err)) throw err;
        throw new CapstanError('CAPSTAN_SERVING_MODEL_ERROR', undefined, { cause: err });
      }
    },
  );
};
