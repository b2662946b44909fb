import type { NotificationInput } from './notification-settings.js';

/** Life of an asynchronous invocation. */
export type AsyncInvocationState = 'Queued' | 'InProgress' | 'Completed' | 'Failed' | 'Expired';

/** A request to invoke an endpoint asynchronously (the SageMaker headers, parsed). */
export interface AsyncInvocationRequest {
  /** The payload inline; exactly one of `body` and `inputLocation`. */
  body?: string;
  /** A URI in the artifact store holding the payload (`X-Amzn-SageMaker-InputLocation`). */
  inputLocation?: string;
  /** Content type of the payload; default `application/json`. */
  contentType?: string;
  /** Desired content type of the answer, passed to the model as-is; default none. */
  accept?: string;
  customAttributes?: string;
  /** Client identifier; a second request with the same id on the same endpoint returns the first. Default a new id. */
  inferenceId?: string;
  /** How long the request may wait in the queue, 60-21600 s; default 21600. */
  requestTtlSeconds?: number;
  /** How long the model may take once started, 1-3600 s; default 900. */
  invocationTimeoutSeconds?: number;
}

/** What a queued request answers (HTTP 202). */
export interface AsyncAccepted {
  id: string;
  inferenceId: string;
  outputLocation: string;
  failureLocation: string;
}

/** An asynchronous invocation as the status route shows it. */
export interface AsyncInvocation extends AsyncAccepted {
  endpoint: string;
  state: AsyncInvocationState;
  failureReason: string | null;
  createdAt: string;
  expiresAt: string;
  finishedAt: string | null;
}

/** Per-endpoint asynchronous settings (SageMaker's AsyncInferenceConfig); every field has a default. */
export interface AsyncEndpointConfigInput {
  /** Requests of this endpoint run at once in each worker process, 1-1000; default 4. */
  maxConcurrency?: number;
  /** Where outputs go; default `<store>/async/<endpoint>/output`. */
  outputPrefix?: string;
  /** Where failures go; default `<store>/async/<endpoint>/failure`. */
  failurePrefix?: string;
  /** Success and error notifications; default none. */
  notification?: NotificationInput;
}

/** Settings as stored, with defaults filled (the webhook secret is never shown). */
export interface AsyncEndpointConfig {
  endpoint: string;
  maxConcurrency: number;
  outputPrefix: string;
  failurePrefix: string;
  notification: { webhookUrl?: string; natsSubject?: string; includeResult: boolean } | null;
}

/** Asynchronous inference: queue requests, follow them, configure an endpoint. */
export interface AsyncInvocationService {
  /** Queues a request; CAPSTAN_SERVING_ENDPOINT_NOT_FOUND, CAPSTAN_ASYNC_OPTIONS_INVALID or CAPSTAN_ASYNC_INPUT_INVALID leave nothing queued. */
  invoke(endpoint: string, request: AsyncInvocationRequest): Promise<AsyncAccepted>;
  /** One request's state; CAPSTAN_ASYNC_INVOCATION_NOT_FOUND when unknown. */
  get(id: string): Promise<AsyncInvocation>;
  /** Sets an endpoint's asynchronous settings. */
  configure(endpoint: string, input: AsyncEndpointConfigInput): Promise<AsyncEndpointConfig>;
  /** An endpoint's asynchronous settings (defaults when never set). */
  config(endpoint: string): Promise<AsyncEndpointConfig>;
}
