/**
 * Thrown by a job handler when trying again cannot help (bad payload, missing model): the job goes
 * straight to `dead` instead of being retried. Any error with `retryable === false` counts too, so
 * handlers need not import this class.
 */
export class NonRetryableError extends Error {
  readonly retryable = false;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'NonRetryableError';
  }
}

/** True when a handler's error asks not to be retried. */
export function isNonRetryable(error: unknown): boolean {
  return error instanceof NonRetryableError || (typeof error === 'object' && error !== null && (error as { retryable?: unknown }).retryable === false);
}
