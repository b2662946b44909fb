import type { FastifyReply } from 'fastify';
import type { CapstanError } from '../../core/errors.js';

/** A Capstan error as SageMaker Runtime states it: the `X-Amzn-ErrorType`, status and JSON body. */
export interface SageMakerError {
  type: string;
  status: number;
  body: { message: string; OriginalStatusCode?: number; OriginalMessage?: string };
}

const AUTH_TYPES: Partial<Record<string, string>> = {
  CAPSTAN_AUTH_SIGNATURE_INVALID: 'InvalidSignatureException',
  CAPSTAN_AUTH_SIGNATURE_EXPIRED: 'InvalidSignatureException',
  CAPSTAN_AUTH_ACCESS_KEY_UNKNOWN: 'UnrecognizedClientException',
  CAPSTAN_AUTH_FORBIDDEN: 'AccessDeniedException',
  CAPSTAN_AUTH_REQUIRED: 'MissingAuthenticationTokenException',
  CAPSTAN_AUTH_INVALID_KEY: 'UnrecognizedClientException',
};

/**
 * Maps an error to SageMaker's shape for clients that sign with SigV4. A failure of the model (or of
 * its worker, timeout or upstream) is `ModelError` 424 carrying the original status and message, never
 * a 5xx: AWS SDKs re-send 5xx answers, which would run a failing model again several times.
 */
export function toSageMakerError(error: CapstanError): SageMakerError {
  const message = error.message;
  const authType = AUTH_TYPES[error.code];
  if (authType) return { type: authType, status: 403, body: { message } };
  if (error.status === 429) return { type: 'ModelNotReadyException', status: 429, body: { message } };
  if (error.status === 503) return { type: 'ServiceUnavailable', status: 503, body: { message } };
  const fromModel = error.code.startsWith('CAPSTAN_SERVING_') && (error.status >= 500 || error.status === 424);
  if (fromModel) return { type: 'ModelError', status: 424, body: { message: `Received server error (${error.status}) from model with message "${message}"`, OriginalStatusCode: error.status, OriginalMessage: message } };
  if (error.status >= 500) return { type: 'InternalFailure', status: 500, body: { message } };
  return { type: 'ValidationError', status: 400, body: { message } };
}

/** Answers an error in SageMaker's shape (`X-Amzn-ErrorType`, JSON `{"message"}`), keeping headers such as `Retry-After`. */
export function sendSageMakerError(reply: FastifyReply, error: CapstanError): FastifyReply {
  const mapped = toSageMakerError(error);
  for (const [k, v] of Object.entries(error.headers)) reply.header(k, v);
  const variant = error.headers['X-Capstan-Invoked-Variant'];
  if (variant) reply.header('x-amzn-invoked-production-variant', variant);
  return reply.code(mapped.status).header('x-amzn-errortype', mapped.type).type('application/json').send(JSON.stringify(mapped.body));
}
