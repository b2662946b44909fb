import { CapstanError } from '../core/errors.js';
import type { AsyncEndpointConfigInput, AsyncInvocationRequest } from './async-service.js';
import { compileNotification, type NotificationSettings } from './notification-settings.js';

/** SageMaker's limits on the request TTL (60 s to 6 h, default 6 h) and the invocation timeout (1 s to 1 h, default 15 min). */
export const ASYNC_LIMITS = { ttl: { min: 60, max: 21_600, default: 21_600 }, timeout: { min: 1, max: 3_600, default: 900 } } as const;

/** A request with its defaults filled. */
export interface CompiledAsyncRequest {
  contentType: string;
  accept: string | null;
  customAttributes: string | null;
  inferenceId: string | null;
  ttlMs: number;
  timeoutMs: number;
}

function bad(detail: string, field: string): CapstanError {
  return new CapstanError('CAPSTAN_ASYNC_OPTIONS_INVALID', detail, { fields: { field }, retryable: false });
}

function seconds(value: unknown, field: string, limits: { min: number; max: number; default: number }): number {
  if (value === undefined) return limits.default;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < limits.min || value > limits.max) {
    throw bad(`${field} must be an integer from ${limits.min} to ${limits.max} seconds, got ${JSON.stringify(value)}`, field);
  }
  return value;
}

/** Validates a request's options (not its input, which needs the store). */
export function compileAsyncRequest(request: AsyncInvocationRequest): CompiledAsyncRequest {
  const id = request.inferenceId;
  if (id !== undefined && (typeof id !== 'string' || !/^[\x21-\x7e]{1,64}$/.test(id))) throw bad('inferenceId must be 1-64 printable ASCII characters', 'inferenceId');
  return {
    contentType: request.contentType ?? 'application/json',
    accept: request.accept ?? null,
    customAttributes: request.customAttributes ?? null,
    inferenceId: id ?? null,
    ttlMs: seconds(request.requestTtlSeconds, 'requestTtlSeconds', ASYNC_LIMITS.ttl) * 1000,
    timeoutMs: seconds(request.invocationTimeoutSeconds, 'invocationTimeoutSeconds', ASYNC_LIMITS.timeout) * 1000,
  };
}

/** An endpoint's asynchronous settings, validated (prefixes are checked against the store by the caller). */
export function compileAsyncConfig(input: AsyncEndpointConfigInput): { maxConcurrency: number; outputPrefix?: string; failurePrefix?: string; notification?: NotificationSettings } {
  if (!input || typeof input !== 'object' || Array.isArray(input)) throw bad('the asynchronous settings must be an object', 'body');
  for (const k of Object.keys(input)) if (!['maxConcurrency', 'outputPrefix', 'failurePrefix', 'notification'].includes(k)) throw bad(`unknown field ${JSON.stringify(k)}`, k);
  const max = input.maxConcurrency ?? 4;
  if (typeof max !== 'number' || !Number.isInteger(max) || max < 1 || max > 1000) throw bad(`maxConcurrency must be an integer from 1 to 1000, got ${JSON.stringify(max)}`, 'maxConcurrency');
  for (const f of ['outputPrefix', 'failurePrefix'] as const) if (input[f] !== undefined && typeof input[f] !== 'string') throw bad(`${f} must be a URI in the artifact store`, f);
  return {
    maxConcurrency: max,
    ...(input.outputPrefix ? { outputPrefix: input.outputPrefix } : {}),
    ...(input.failurePrefix ? { failurePrefix: input.failurePrefix } : {}),
    ...(input.notification !== undefined ? { notification: compileNotification(input.notification) } : {}),
  };
}
