/**
 * Thrown by a job handler when trying again cannot help (bad payload, missing model): the job goes
 * straight to `dead` instead of being retried. It carries the one signal `isRetryable` (core/errors) reads
 * (`retryable === false`), as a CapstanError built with `retryable: false` does.
 */
export class NonRetryableError extends Error {
  readonly retryable = false;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'NonRetryableError';
  }
}
