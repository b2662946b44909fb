import type { OperationDocs } from './operation-doc.js';

const CREATE_ERRORS = [
  'CAPSTAN_BATCH_OPTIONS_INVALID',
  'CAPSTAN_BATCH_FILTER_INVALID',
  'CAPSTAN_BATCH_INPUT_INVALID',
  'CAPSTAN_BATCH_OUTPUT_INVALID',
  'CAPSTAN_BATCH_MODEL_NOT_FOUND',
  'CAPSTAN_NOTIFY_INVALID',
  'CAPSTAN_OUTBOUND_ADDRESS_BLOCKED',
  'CAPSTAN_OUTBOUND_URL_INVALID',
] as const;

/** Batch transform jobs (docs/batch.md). */
export const batchOperations: OperationDocs = {
  'POST /api/v1/batch-jobs': {
    operationId: 'createBatchJob',
    description:
      'Creates a batch transform job: the model (a registered version or alias) scores every record of the input (an object or prefix in the artifact store, JSON Lines or CSV) on worker threads of the job\'s own pool, without an endpoint. The model, the input and output locations, the filters and a notification URL are checked first; nothing is created when one is wrong. The job is split into shards (queue jobs on the `batch` queue) whose outputs are committed once each, so a crashed worker loses nothing and writes nothing twice. Outputs are `<output>/<input file>.out`, in input order; failed records go to `<output>/failures.jsonl` with their line number and reason.',
    errors: [...CREATE_ERRORS],
    requestExample: {
      model: 'ncf@champion',
      input: 's3://bucket/ranking/2026-12-01/',
      output: 's3://bucket/scores/2026-12-01',
      strategy: 'MultiRecord',
      maxPayloadMb: 6,
      concurrency: 2,
      joinSource: 'Input',
      inputFilter: '$.request',
      outputFilter: "$['id','SageMakerOutput']",
      failureThreshold: 0.05,
    },
  },
  'GET /api/v1/batch-jobs': {
    operationId: 'listBatchJobs',
    description: 'Batch jobs, newest first, with their state and progress (records done and failed, records per second, ETA).',
  },
  'GET /api/v1/batch-jobs/:id': {
    operationId: 'getBatchJob',
    description: 'One batch job: state (`Planning`, `InProgress`, `Completed`, `CompletedWithFailures`, `Failed`), shards and records done, records per second and ETA, and the failure file once it ended.',
    errors: ['CAPSTAN_BATCH_JOB_NOT_FOUND'],
  },
  'GET /api/v1/batch-jobs/:id/logs': {
    operationId: 'getBatchJobLogs',
    description: "A batch job's log, oldest first: planning, each committed shard with its attempt, the end.",
    errors: ['CAPSTAN_BATCH_JOB_NOT_FOUND'],
  },
  'POST /endpoints/:name/async-invocations': {
    operationId: 'invokeEndpointAsync',
    description:
      'Queues an invocation (SageMaker InvokeEndpointAsync) and answers 202 at once with `X-Amzn-SageMaker-OutputLocation` and `X-Amzn-SageMaker-FailureLocation` and `{"InferenceId": …}`. The payload is the body, or the object `X-Amzn-SageMaker-InputLocation` names in the artifact store. Headers: `X-Amzn-SageMaker-Content-Type`, `-Accept`, `-Custom-Attributes`, `-Inference-Id` (a repeated id on the same endpoint returns the first request), `-RequestTTLSeconds` (60-21600, default 21600: a request still queued after it fails with CAPSTAN_ASYNC_EXPIRED) and `-InvocationTimeoutSeconds` (1-3600, default 900: CAPSTAN_ASYNC_TIMEOUT). Queue workers run the requests, at most the endpoint\'s `maxConcurrency` at once per process; the answer lands in the output location, a failure as JSON `{InferenceId, code, message}` in the failure location.',
    errors: ['CAPSTAN_SERVING_ENDPOINT_NOT_FOUND', 'CAPSTAN_ASYNC_OPTIONS_INVALID', 'CAPSTAN_ASYNC_INPUT_INVALID'],
    requestBody: {
      description: 'The payload for the model, as the synchronous invocation takes it (or empty with X-Amzn-SageMaker-InputLocation)',
      content: {
        'application/json': { example: { user: 42, items: [7, 9, 12] } },
        'text/csv': { example: '5.1,3.5,1.4,0.2' },
      },
    },
    responseDescription: 'Queued',
    responseExample: { InferenceId: 'req-2026-12-01-0001', id: 'ai_01jf3m0000abcdefghjkmnpq' },
  },
  'GET /api/v1/async-invocations/:id': {
    operationId: 'getAsyncInvocation',
    description: 'The state of an asynchronous invocation (`Queued`, `InProgress`, `Completed`, `Failed`, `Expired`) with its output and failure locations and, once failed, the reason.',
    errors: ['CAPSTAN_ASYNC_INVOCATION_NOT_FOUND'],
  },
  'GET /api/v1/endpoints/:name/async-config': {
    operationId: 'getEndpointAsyncConfig',
    description: "An endpoint's asynchronous settings: requests run at once per worker process, output and failure prefixes, and notifications (the webhook secret is never shown).",
    errors: ['CAPSTAN_SERVING_ENDPOINT_NOT_FOUND'],
  },
  'PUT /api/v1/endpoints/:name/async-config': {
    operationId: 'setEndpointAsyncConfig',
    description:
      "Sets an endpoint's asynchronous settings (SageMaker's AsyncInferenceConfig): `maxConcurrency` (per worker process, default 4), `outputPrefix` and `failurePrefix` (in the artifact store), and `notification` — a Standard-Webhooks-signed webhook (`webhookUrl`, `webhookSecret`, checked by the outbound guard) and/or a NATS subject, sent through the event outbox on success and on error, with the result inline up to 128 KiB when `includeResult` is true. Requests already queued keep the settings they were queued with.",
    errors: ['CAPSTAN_SERVING_ENDPOINT_NOT_FOUND', 'CAPSTAN_ASYNC_OPTIONS_INVALID', 'CAPSTAN_NOTIFY_INVALID', 'CAPSTAN_OUTBOUND_ADDRESS_BLOCKED', 'CAPSTAN_OUTBOUND_URL_INVALID'],
    requestExample: { maxConcurrency: 8, notification: { webhookUrl: 'https://hooks.example.com/capstan', webhookSecret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', natsSubject: 'capstan.async.ranker', includeResult: true } },
  },
};
