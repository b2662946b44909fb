import { Type } from 'typebox';
import type { OperationDocs } from './operation-doc.js';

const job = {
  id: 'job_01jh8…',
  queue: 'default',
  type: 'registry.webhook',
  payload: { webhookId: 'whk_01…' },
  state: 'dead',
  priority: 0,
  runAt: '2026-01-05T10:00:00.000Z',
  attempts: 5,
  maxAttempts: 5,
  idempotencyKey: null,
  leaseOwner: 'worker-1',
  leaseExpiresAt: null,
  lastError: 'HTTP 503 from the receiver',
  result: null,
  createdAt: '2026-01-05T10:00:00.000Z',
  updatedAt: '2026-01-05T10:05:00.000Z',
  startedAt: '2026-01-05T10:00:01.000Z',
  finishedAt: '2026-01-05T10:05:00.000Z',
};

const keyInfo = { id: 'key_01jh8…', name: 'ci', role: 'editor', prefix: 'cap_3f9a', createdAt: '2026-01-05T10:00:00.000Z', lastUsedAt: null, revokedAt: null };

/** Health probes, API keys, the job queue and raw artifact transfer. */
export const platformOperations: OperationDocs = {
  'GET /healthz': {
    operationId: 'getLiveness',
    summary: 'Liveness probe',
    description: 'Answers 200 while the process runs; it checks nothing else. Use it as a Kubernetes liveness probe.',
    responseExample: { status: 'ok' },
  },
  'GET /readyz': {
    operationId: 'getReadiness',
    summary: 'Readiness probe',
    description: 'Answers 200 with the database dialect when the metadata database answers, 503 `CAPSTAN_DB_UNAVAILABLE` otherwise. Use it as a readiness probe.',
    errors: ['CAPSTAN_DB_UNAVAILABLE'],
    responses: { 200: Type.Object({ status: Type.Literal('ready'), database: Type.String({ description: 'sqlite or postgres' }) }) },
    responseExample: { status: 'ready', database: 'postgres' },
  },

  'GET /api/v1/keys': {
    operationId: 'listApiKeys',
    description: 'Lists every API key, revoked ones included, with its role and a prefix to recognise it. Secrets are never returned: only their SHA-256 is stored.',
    responseExample: { items: [keyInfo] },
  },
  'POST /api/v1/keys': {
    operationId: 'createApiKey',
    description: 'Creates a key with a role (`admin`, `editor`, `approver`, `invoker`, `viewer`). The secret (`cap_…`) is in this response only; store it.',
    errors: ['CAPSTAN_AUTH_ROLE_INVALID', 'CAPSTAN_NAME_INVALID', 'CAPSTAN_AUTH_KEY_NAME_TAKEN'],
    requestExample: { name: 'ci', role: 'editor' },
    responseExample: { key: 'cap_3f9a…', info: keyInfo },
  },
  'DELETE /api/v1/keys/:key': {
    operationId: 'revokeApiKey',
    description: 'Revokes a key by id or name; requests with it answer 401 `CAPSTAN_AUTH_INVALID_KEY` from then on. Answers the revoked key.',
    errors: ['CAPSTAN_AUTH_KEY_NOT_FOUND'],
  },

  'GET /api/v1/jobs': {
    operationId: 'listJobs',
    description: 'Lists jobs of the durable queue, newest first, filtered by state, queue or type. Pages with `limit` and the `nextCursor` of the previous page.',
    responseExample: { jobs: [job], nextCursor: null },
  },
  'GET /api/v1/jobs/stats': {
    operationId: 'getJobStats',
    description: 'The number of jobs in each state; `dead` jobs need attention (retry or cancel).',
    responseExample: { queued: 2, running: 1, succeeded: 120, dead: 1, cancelled: 0 },
  },
  'GET /api/v1/jobs/:id': {
    operationId: 'getJob',
    description: 'One job with its payload, attempts, lease and last error.',
    errors: ['CAPSTAN_QUEUE_JOB_NOT_FOUND'],
    responseExample: job,
  },
  'POST /api/v1/jobs/:id/retry': {
    operationId: 'retryJob',
    description: 'Queues a `dead` or `cancelled` job again with a fresh set of attempts. Any other state answers 409.',
    errors: ['CAPSTAN_QUEUE_JOB_NOT_FOUND', 'CAPSTAN_QUEUE_JOB_STATE_INVALID'],
  },
  'POST /api/v1/jobs/:id/cancel': {
    operationId: 'cancelJob',
    description: 'Cancels a `queued` job; a running job cannot be cancelled (409).',
    errors: ['CAPSTAN_QUEUE_JOB_NOT_FOUND', 'CAPSTAN_QUEUE_JOB_STATE_INVALID'],
  },

  'GET /api/v1/artifacts': {
    operationId: 'listArtifacts',
    description: 'Lists the objects whose key starts with `prefix` (a key prefix, not a directory: `a` matches `a/x` and `ab`), with size, SHA-256 and the store URI to register or reference them by.',
    errors: ['CAPSTAN_ARTIFACT_KEY_INVALID', 'CAPSTAN_ARTIFACT_STORE_UNAVAILABLE'],
    responseExample: { artifacts: [{ key: 'uploads/ncf/model.onnx', uri: 'file:///var/lib/capstan/artifacts/uploads/ncf/model.onnx', size: 1048576, sha256: '9f2c…', modifiedAt: '2026-01-05T10:00:00.000Z' }] },
  },
  'PUT /api/v1/artifacts/*': {
    operationId: 'uploadArtifact',
    description:
      'Streams the raw request body (any content type, at most 1 GiB) into the store under the key in the path, replacing an object with the same key — except under `models/<group>/<version>/`, which belongs to the registry and answers 409 `CAPSTAN_REGISTRY_VERSION_IMMUTABLE`. Upload a model package file by file, then register it with `POST /api/v1/models/{name}/versions` and its `uri` prefix.',
    errors: ['CAPSTAN_ARTIFACT_KEY_INVALID', 'CAPSTAN_REGISTRY_VERSION_IMMUTABLE', 'CAPSTAN_REQUEST_TOO_LARGE', 'CAPSTAN_ARTIFACT_STORE_UNAVAILABLE'],
    requestBody: {
      description: 'The object bytes, stored as they are (the content type is not kept).',
      content: { 'application/octet-stream': { schema: { type: 'string', contentMediaType: 'application/octet-stream' }, example: '<binary>' } },
    },
    responseExample: { key: 'uploads/ncf/model.onnx', uri: 'file:///var/lib/capstan/artifacts/uploads/ncf/model.onnx', size: 1048576, sha256: '9f2c…', modifiedAt: '2026-01-05T10:00:00.000Z' },
  },
  'GET /api/v1/artifacts/*': {
    operationId: 'downloadArtifact',
    description: 'Streams one object back as `application/octet-stream`; `X-Capstan-Sha256`, `X-Capstan-Modified-At` and `X-Capstan-Uri` describe it.',
    errors: ['CAPSTAN_ARTIFACT_KEY_INVALID', 'CAPSTAN_ARTIFACT_NOT_FOUND', 'CAPSTAN_ARTIFACT_STORE_UNAVAILABLE'],
    responses: { 200: Type.String({ contentMediaType: 'application/octet-stream', description: 'The object bytes' }) },
    responseContentType: 'application/octet-stream',
    responseDescription: 'The object bytes',
  },
};
