import { CapstanError, isCapstanError } from '../../core/errors.js';

const MAX_ERROR_LENGTH = 4000;

/**
 * Full-jitter exponential backoff: a uniform delay in [0, min(maxMs, baseMs · 2^(attempt−1))).
 * Full jitter spreads the retries of jobs that failed together (an outage) instead of bunching them.
 */
export function backoffDelay(attempt: number, baseMs: number, maxMs: number, random: () => number = Math.random): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.floor(random() * ceiling);
}

/**
 * The delay a failure asks for itself, in ms: a CapstanError's `retryAfterSeconds` field (the value of
 * the Retry-After it answers over HTTP), else undefined. A server that promised to be ready by then is
 * better trusted than a blind exponential guess, which can overshoot the window the promise holds.
 */
export function retryHintMs(error: unknown): number | undefined {
  if (!isCapstanError(error)) return undefined;
  const s = error.fields.retryAfterSeconds;
  return typeof s === 'number' && Number.isFinite(s) && s >= 0 ? s * 1000 : undefined;
}

/** The text stored as `last_error`: the message (with its catalogue code, if any), bounded in length. */
export function describeError(error: unknown): string {
  let text: string;
  if (error instanceof CapstanError) text = `${error.code}: ${error.message}`;
  else if (error instanceof Error) text = error.name && error.name !== 'Error' ? `${error.name}: ${error.message}` : error.message;
  else text = typeof error === 'string' ? error : JSON.stringify(error) ?? String(error);
  return text.length > MAX_ERROR_LENGTH ? `${text.slice(0, MAX_ERROR_LENGTH - 1)}…` : text;
}
