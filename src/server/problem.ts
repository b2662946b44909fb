import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { CapstanError, toCapstanError, type ErrorCode } from '../core/errors.js';

/** Maps Fastify's own error codes onto catalogue codes. */
const FASTIFY_CODES: Record<string, ErrorCode> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'CAPSTAN_REQUEST_TOO_LARGE',
  FST_ERR_CTP_INVALID_JSON_BODY: 'CAPSTAN_REQUEST_MALFORMED_JSON',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'CAPSTAN_REQUEST_MALFORMED_JSON',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'CAPSTAN_REQUEST_UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'CAPSTAN_REQUEST_INVALID',
};

/** Converts anything thrown in a handler into a CapstanError with a client-safe message. */
export function errorFromRequest(err: FastifyError | Error): CapstanError {
  if (err instanceof CapstanError) return err;
  const fe = err as FastifyError;
  if (fe.validation) {
    const details = fe.validation.map((v) => `${fe.validationContext ?? 'body'}${v.instancePath || ''} ${v.message ?? 'is not valid'}`.trim());
    return new CapstanError('CAPSTAN_REQUEST_INVALID', details.join('; '), { fields: { errors: details } });
  }
  if (fe.code && FASTIFY_CODES[fe.code]) {
    const code = FASTIFY_CODES[fe.code];
    return new CapstanError(code, code === 'CAPSTAN_REQUEST_MALFORMED_JSON' ? 'the request body is not valid JSON' : undefined, { cause: err });
  }
  if (err instanceof SyntaxError && /JSON/.test(err.message)) {
    return new CapstanError('CAPSTAN_REQUEST_MALFORMED_JSON', 'the request body is not valid JSON', { cause: err });
  }
  if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
    return new CapstanError('CAPSTAN_REQUEST_INVALID', undefined, { cause: err });
  }
  return toCapstanError(err);
}

/** Sends a CapstanError as `application/problem+json`. */
export function sendProblem(reply: FastifyReply, request: FastifyRequest, error: CapstanError): FastifyReply {
  for (const [k, v] of Object.entries(error.headers)) reply.header(k, v);
  return reply.code(error.status).type('application/problem+json').send(error.toProblem(request.url.split('?')[0]));
}

/** Installs the error and not-found handlers so every failure answers problem+json without stacks or paths. */
export function installProblemHandlers(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError, request, reply) => {
    const error = errorFromRequest(err);
    if (error.status >= 500) request.log.error({ err }, 'request failed');
    else request.log.debug({ code: error.code, detail: error.message }, 'request rejected');
    return sendProblem(reply, request, error);
  });
  app.setNotFoundHandler((request, reply) =>
    sendProblem(reply, request, new CapstanError('CAPSTAN_ROUTE_NOT_FOUND', `no route ${request.method} ${request.url.split('?')[0]}`)),
  );
}
