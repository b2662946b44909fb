import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { CapstanError, toCapstanError, type ErrorCode } from './errors.js';

/** Maps Fastify's own error codes onto catalogue codes. */
const FASTIFY_CODES: Record<string, ErrorCode> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'CAPSTAN_REQUEST_TOO_LARGE',
  FST_ERR_CTP_INVALID_JSON_BODY: 'CAPSTAN_REQUEST_MALFORMED_JSON',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'CAPSTAN_REQUEST_MALFORMED_JSON',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'CAPSTAN_REQUEST_UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'CAPSTAN_REQUEST_INVALID',
  FST_ERR_BAD_URL: 'CAPSTAN_REQUEST_URL_INVALID',
  FST_ERR_MAX_PARAM_LENGTH: 'CAPSTAN_REQUEST_URL_TOO_LONG',
  FST_ERR_ASYNC_CONSTRAINT: 'CAPSTAN_INTERNAL',
};

/** Client-safe details for Fastify codes whose own message would echo the raw input back. */
const FASTIFY_DETAILS: Record<string, string> = {
  FST_ERR_BAD_URL: 'the URL has malformed percent-encoding',
  FST_ERR_MAX_PARAM_LENGTH: 'a path segment is longer than the router accepts',
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
    return new CapstanError(code, code === 'CAPSTAN_REQUEST_MALFORMED_JSON' ? 'the request body is not valid JSON' : FASTIFY_DETAILS[fe.code], { cause: err });
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

/**
 * Fastify's `frameworkErrors` hook: errors the router raises before any route runs (malformed
 * percent-encoding, an over-long parameter) answer problem+json like every other error.
 */
export function frameworkErrorHandler(err: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  const error = errorFromRequest(err);
  request.log.debug({ code: error.code, detail: error.message }, 'request rejected by the router');
  void sendProblem(reply, request, error);
}

/**
 * Node's `clientError` hook: a request too malformed to reach Fastify (bad header syntax, headers too
 * large, a client too slow) still gets a problem+json answer before the socket closes.
 */
export function clientErrorHandler(err: NodeJS.ErrnoException, socket: Socket): void {
  // A reset connection is gone already; there is no one to answer.
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const error =
    err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? new CapstanError('CAPSTAN_REQUEST_TIMEOUT')
      : err.code === 'HPE_HEADER_OVERFLOW'
        ? new CapstanError('CAPSTAN_REQUEST_HEADERS_TOO_LARGE')
        : new CapstanError('CAPSTAN_REQUEST_INVALID', 'the request is not well-formed HTTP');
  if (socket.writable) {
    const body = JSON.stringify(error.toProblem());
    socket.write(
      `HTTP/1.1 ${error.status} ${STATUS_CODES[error.status] ?? 'Error'}\r\nContent-Type: application/problem+json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy(err);
}
