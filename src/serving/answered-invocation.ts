import type { InvocationBody } from './invocation-body.js';

/** An invocation a variant answered, as the endpoint host's invocation listeners see it. */
export interface AnsweredInvocation {
  endpoint: string;
  variant: string;
  inferenceId?: string;
  /** The response body: text from the JS runtimes, the exact bytes from a Python model. */
  body: InvocationBody;
}
