/** An invocation a variant answered, as the endpoint host's invocation listeners see it. */
export interface AnsweredInvocation {
  endpoint: string;
  variant: string;
  inferenceId?: string;
  /** The response body. */
  body: string;
}
