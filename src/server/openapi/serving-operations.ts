import { Type } from 'typebox';
import type { OperationDocs } from './operation-doc.js';
import {
  DeployResultSchema,
  EndpointListSchema,
  EndpointModelsSchema,
  EndpointSchema,
  EndpointStatsSchema,
  OipInferenceRequestSchema,
  OipInferenceResponseSchema,
  OipModelMetadataSchema,
} from './resource-schemas.js';

const CONFIG_ERRORS = [
  'CAPSTAN_NAME_INVALID',
  'CAPSTAN_SERVING_ENDPOINT_CONFIG_INVALID',
  'CAPSTAN_SERVING_MODEL_REF_UNRESOLVED',
  'CAPSTAN_SERVING_MODEL_PACKAGE_INVALID',
  'CAPSTAN_SERVING_MODEL_NOT_APPROVED',
  'CAPSTAN_SERVING_MODEL_LOAD_FAILED',
] as const;
const INVOKE_ERRORS = [
  'CAPSTAN_SERVING_ENDPOINT_NOT_FOUND',
  'CAPSTAN_SERVING_ENDPOINT_NOT_READY',
  'CAPSTAN_SERVING_VARIANT_NOT_FOUND',
  'CAPSTAN_SERVING_INVALID_INPUT',
  'CAPSTAN_SERVING_MALFORMED_JSON',
  'CAPSTAN_SERVING_PAYLOAD_TOO_LARGE',
  'CAPSTAN_SERVING_UNSUPPORTED_MEDIA_TYPE',
  'CAPSTAN_SERVING_MODEL_ERROR',
  'CAPSTAN_SERVING_MODEL_TIMEOUT',
] as const;

const anyJson = {};

/** Endpoint administration and the data plane (SageMaker-style invocations, Open Inference Protocol v2). */
export const servingOperations: OperationDocs = {
  'POST /api/v1/endpoints': {
    operationId: 'createEndpoint',
    description:
      'Creates a real-time endpoint from one or more variants, each serving a registered model version (`models:/ncf@champion` is resolved and pinned). Answers once the variants loaded (status `InService`) or failed to (status `Failed` with `statusReason`).',
    errors: [...CONFIG_ERRORS, 'CAPSTAN_SERVING_ENDPOINT_EXISTS'],
    requestExample: {
      name: 'ncf',
      variants: [
        { name: 'primary', model: 'models:/ncf@champion', weight: 9, instances: 2 },
        { name: 'challenger', model: 'models:/ncf/4', weight: 1, batching: { maxBatchSize: 32, maxDelayMs: 5 } },
      ],
      dataCapture: { enabled: true, samplingPercent: 10 },
    },
    responses: { 201: EndpointSchema },
  },
  'GET /api/v1/endpoints': { operationId: 'listEndpoints', description: 'Every endpoint with its status and variants.', responses: { 200: EndpointListSchema } },
  'GET /api/v1/endpoints/:name': {
    operationId: 'describeEndpoint',
    description: 'One endpoint: status, variants with their pinned model versions, and, where this server serves them, live traffic share, workers and in-flight requests.',
    errors: ['CAPSTAN_SERVING_ENDPOINT_NOT_FOUND'],
    responses: { 200: EndpointSchema },
  },
  'GET /api/v1/endpoints/:name/stats': {
    operationId: 'endpointStats',
    description:
      "Each variant's requests, 4xx/5xx/model errors, error rate (5xx / requests) and latency percentiles (p50/p95/p99, interpolated in fixed buckets) over the last `windowMs`, summed over every serving process: each process adds its counts to the metadata database every few seconds, in 10 s time buckets kept for an hour. Configured variants appear even without traffic; a removed variant appears while its traffic is in the window.",
    errors: ['CAPSTAN_SERVING_ENDPOINT_NOT_FOUND', 'CAPSTAN_SERVING_STATS_WINDOW_INVALID'],
    responses: { 200: EndpointStatsSchema },
  },
  'GET /api/v1/endpoints/:name/models': {
    operationId: 'endpointModels',
    description:
      "What each multi-model variant of the endpoint has loaded in the server process that answers: resident models (most recently used first) with their estimated bytes, load time, hits, invocations and errors, the targets loading now, and the variant's cache counters since it started in this process. Single-model variants are not listed. Other serving processes keep caches of their own; Prometheus (`/metrics`) has the same figures per process.",
    errors: ['CAPSTAN_SERVING_ENDPOINT_NOT_FOUND'],
    responses: { 200: EndpointModelsSchema },
  },
  'GET /api/v1/endpoints/:name/data-capture': {
    operationId: 'endpointCaptureSamples',
    description:
      'Captured request/response pairs of an endpoint with data capture on, newest first: each with the variant that answered, the inference id, the request and response bodies as sent, status and time. Records are read from the capture files in the artifact store, so a record shows once its file is written (`dataCapture.rotateMs`). Pass `nextCursor` back as `cursor` for the next, older page; null means no more.',
    errors: ['CAPSTAN_SERVING_ENDPOINT_NOT_FOUND', 'CAPSTAN_REQUEST_INVALID'],
    responseExample: {
      items: [{ endpoint: 'ncf', time: '2025-01-31T14:02:11.120Z', variant: 'primary', inferenceId: 'req-1', requestContentType: 'application/json', request: '{"user":3,"k":5}', responseContentType: 'application/json', response: '{"items":[7,2,9,1,4]}', status: 200 }],
      nextCursor: 'data-capture/ncf/2025/01/31/14/2025-01-31T14-02-11-100Z-1a2b3c4d.jsonl#1',
    },
  },
  'PATCH /api/v1/endpoints/:name': {
    operationId: 'updateEndpoint',
    description:
      'Blue/green update: `variants` replaces the variant list (references are resolved again, so a moved alias is picked up; unchanged variants keep their workers), `weights` only shifts traffic between existing variants, `dataCapture` replaces the capture settings. The old configuration serves until the new one loaded.',
    errors: ['CAPSTAN_SERVING_ENDPOINT_NOT_FOUND', 'CAPSTAN_SERVING_VARIANT_NOT_FOUND', ...CONFIG_ERRORS],
    requestExample: { weights: { primary: 1, challenger: 1 } },
    responses: { 200: EndpointSchema },
  },
  'DELETE /api/v1/endpoints/:name': {
    operationId: 'deleteEndpoint',
    description: 'Deletes an endpoint; requests in flight finish first.',
    errors: ['CAPSTAN_SERVING_ENDPOINT_NOT_FOUND'],
    responses: { 204: null },
    responseDescription: 'Deleted',
  },
  'POST /api/v1/endpoints/:name/deploy': {
    operationId: 'deployModel',
    description:
      'Creates the endpoint serving `model`, or switches its (single or named) variant to that model blue/green. Settings left out keep their current value. Answers what was done (`created`, `updated`, `unchanged`) and the version now served.',
    errors: [...CONFIG_ERRORS, 'CAPSTAN_SERVING_VARIANT_NOT_FOUND'],
    requestExample: { model: 'models:/ncf@champion', instances: 2 },
    responses: { 200: DeployResultSchema },
  },

  'POST /endpoints/:name/invocations': {
    operationId: 'invokeEndpoint',
    description:
      "Invokes an endpoint like SageMaker's InvokeEndpoint. The body is passed to the model as it is, with its `Content-Type` (JSON, CSV or binary, as the model's handler accepts), and the model's answer comes back with its own content type. Headers: `X-Capstan-Target-Variant` picks a variant (default: the endpoint's traffic policy), `X-Capstan-Sticky-Key` keeps a caller on one variant under the `sticky` policy, `X-Capstan-Inference-Id` is echoed back, `X-Capstan-Custom-Attributes` is passed to the handler; `X-Capstan-Target-Model` names the model of a multi-model variant (`ncf/3`, `ncf@champion`, or a folder under an artifact prefix; `X-Amzn-SageMaker-Target-Model` is its alias) — loaded on first use, answering 429 `CAPSTAN_SERVING_MODEL_NOT_READY` with `Retry-After` when the load would outlast the variant's `loadWaitMs`; `X-Capstan-Invoked-Variant` in the answer names the variant that served it (and `X-Capstan-Invoked-Model` the model, on a multi-model variant). Bodies over the invocation limit (default 6 MiB) answer 413.",
    errors: [...INVOKE_ERRORS, 'CAPSTAN_SERVING_TARGET_MODEL_NOT_FOUND', 'CAPSTAN_SERVING_TARGET_MODEL_REQUIRED', 'CAPSTAN_SERVING_MODEL_NOT_READY', 'CAPSTAN_SERVING_MODEL_LOAD_FAILED', 'CAPSTAN_AUTH_SIGNATURE_INVALID', 'CAPSTAN_AUTH_SIGNATURE_EXPIRED', 'CAPSTAN_AUTH_ACCESS_KEY_UNKNOWN', 'CAPSTAN_SERVING_UNKNOWN_IDS', 'CAPSTAN_SERVING_UNSUPPORTED_MEDIA_TYPE', 'CAPSTAN_SERVING_UPSTREAM_ERROR'],
    requestBody: {
      description: 'The model input, passed through untouched. Its shape is the model handler’s: e.g. `{"instances": …}` for tensor models, `{"user": …, "k": …}` for the built-in NCF ranking.',
      content: {
        'application/json': { schema: anyJson, example: { instances: [[5.1, 3.5, 1.4, 0.2]] } },
        'text/csv': { schema: { type: 'string' }, example: '5.1,3.5,1.4,0.2\n6.2,2.9,4.3,1.3' },
        'application/octet-stream': { schema: { type: 'string', contentMediaType: 'application/octet-stream' }, example: '<binary>' },
      },
    },
    responses: { 200: Type.Unknown({ description: "The model's answer, in the content type it chose (usually application/json)" }) },
    responseDescription: "The model's answer, with `X-Capstan-Invoked-Variant`",
    responseExample: { predictions: [[0.97, 0.02, 0.01]] },
  },
  'GET /v2/health/live': { operationId: 'oipServerLive', summary: 'Open Inference Protocol: liveness', description: 'Open Inference Protocol server liveness: true while the process runs.', responses: { 200: Type.Object({ live: Type.Boolean() }) }, responseExample: { live: true } },
  'GET /v2/health/ready': {
    operationId: 'oipServerReady',
    description: 'Open Inference Protocol server readiness: true when the metadata database answers, 503 otherwise.',
    errors: ['CAPSTAN_DB_UNAVAILABLE'],
    responses: { 200: Type.Object({ ready: Type.Boolean() }) },
    responseExample: { ready: true },
  },
  'GET /v2/models/:name': {
    operationId: 'oipModelMetadata',
    description: 'Open Inference Protocol model metadata. The endpoint is the model: versions served, platform and the tensor signature of the variant picked by `X-Capstan-Target-Variant` (default the first with traffic).',
    errors: ['CAPSTAN_SERVING_ENDPOINT_NOT_FOUND', 'CAPSTAN_SERVING_ENDPOINT_NOT_READY'],
    responses: { 200: OipModelMetadataSchema },
    responseExample: { name: 'iris', versions: ['3'], platform: 'onnxruntime_onnx', inputs: [{ name: 'input', datatype: 'FP32', shape: [-1, 4] }], outputs: [{ name: 'probabilities', datatype: 'FP32', shape: [-1, 3] }] },
  },
  'GET /v2/models/:name/ready': {
    operationId: 'oipModelReady',
    description: 'Open Inference Protocol model readiness: loads the endpoint in this server when needed and answers once it serves.',
    errors: ['CAPSTAN_SERVING_ENDPOINT_NOT_FOUND', 'CAPSTAN_SERVING_ENDPOINT_NOT_READY'],
    responses: { 200: Type.Object({ name: Type.String(), ready: Type.Boolean() }) },
    responseExample: { name: 'iris', ready: true },
  },
  'POST /v2/models/:name/infer': {
    operationId: 'oipInfer',
    description:
      'Open Inference Protocol v2 inference on JSON tensors (data row-major, flat or nested). `outputs` limits the answer to some outputs; `X-Capstan-Target-Variant` picks a variant; `X-Capstan-Sticky-Key` serves the `sticky` policy. The body is read as text and decoded by the server, not by the schema.',
    errors: [...INVOKE_ERRORS, 'CAPSTAN_SERVING_PROTOCOL_UNSUPPORTED'],
    requestBody: {
      description: 'An inference request',
      content: { 'application/json': { schema: OipInferenceRequestSchema, example: { id: 'req-1', inputs: [{ name: 'input', shape: [1, 4], datatype: 'FP32', data: [5.1, 3.5, 1.4, 0.2] }] } } },
    },
    responses: { 200: OipInferenceResponseSchema },
    responseExample: { model_name: 'iris', model_version: '3', id: 'req-1', outputs: [{ name: 'probabilities', datatype: 'FP32', shape: [1, 3], data: [0.97, 0.02, 0.01] }] },
  },
};
