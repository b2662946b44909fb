import type { OperationDocs } from './operation-doc.js';

const group = {
  name: 'ncf',
  description: 'Neural collaborative filtering recommender',
  tags: { team: 'reco' },
  approvalPolicy: { autoApprove: 'metrics["hr@10"] >= 0.6' },
  latestVersion: 3,
  aliases: { champion: 3 },
  createdAt: '2026-01-05T10:00:00.000Z',
  updatedAt: '2026-01-06T09:00:00.000Z',
};

const version = {
  name: 'ncf',
  version: 3,
  artifactUri: 'file:///var/lib/capstan/artifacts/uploads/ncf-3',
  digest: 'sha256:9f2c…',
  framework: 'onnx',
  signature: { inputs: [{ name: 'user', dtype: 'int64', shape: [-1] }], outputs: [{ name: 'score', dtype: 'float32', shape: [-1] }] },
  metrics: { 'hr@10': 0.64, 'ndcg@10': 0.38 },
  params: { epochs: '5' },
  tags: {},
  description: '',
  lineage: { runId: 'run_01jh8…' },
  approval: 'Approved',
  aliases: ['champion'],
  createdBy: 'key:ci',
  createdAt: '2026-01-06T09:00:00.000Z',
};

const NAME_ERRORS = ['CAPSTAN_NAME_INVALID', 'CAPSTAN_REGISTRY_MODEL_NOT_FOUND'] as const;
const VERSION_ERRORS = [...NAME_ERRORS, 'CAPSTAN_REGISTRY_VERSION_NOT_FOUND'] as const;

/** The model registry and registry webhooks. */
export const registryOperations: OperationDocs = {
  'GET /api/v1/models': {
    operationId: 'listModels',
    description: 'Every model group with its latest version number, aliases and auto-approval policy.',
    responseExample: [group],
  },
  'POST /api/v1/models': {
    operationId: 'createModel',
    description: 'Creates an empty model group. Registering a version creates the group when needed, so this is only for setting a description or tags first.',
    errors: ['CAPSTAN_NAME_INVALID', 'CAPSTAN_REGISTRY_MODEL_EXISTS'],
    requestExample: { name: 'ncf', description: 'Neural collaborative filtering recommender', tags: { team: 'reco' } },
    responseExample: { ...group, approvalPolicy: null, latestVersion: 0, aliases: {} },
  },
  'GET /api/v1/model-refs': {
    operationId: 'resolveModelRef',
    description: 'Resolves a model reference (`models:/ncf@champion`, `models:/ncf/3`, `ncf@champion` or `ncf/3`) to the version it names, as deployments do.',
    errors: ['CAPSTAN_REGISTRY_REF_INVALID', ...VERSION_ERRORS, 'CAPSTAN_REGISTRY_ALIAS_NOT_FOUND'],
    responseExample: version,
  },
  'GET /api/v1/models/:name': {
    operationId: 'getModel',
    description: 'One model group with its aliases and approval policy.',
    errors: [...NAME_ERRORS],
    responseExample: group,
  },
  'PATCH /api/v1/models/:name': {
    operationId: 'updateModel',
    description: 'Changes the description or tags of a model group; fields left out stay unchanged.',
    errors: [...NAME_ERRORS],
    requestExample: { description: 'NCF ranking for the home page', tags: { team: 'reco' } },
    responseExample: group,
  },
  'PUT /api/v1/models/:name/approval-policy': {
    operationId: 'setApprovalPolicy',
    description:
      'Sets the auto-approval policy: a CEL condition over `metrics`, `params` and `tags` evaluated when a version is registered (true → Approved, otherwise PendingManualApproval). A JSON `null` body clears it. Recorded in the history.',
    errors: [...NAME_ERRORS, 'CAPSTAN_REGISTRY_POLICY_INVALID'],
    requestExample: { autoApprove: 'metrics["hr@10"] >= 0.6 && tags.dataset == "ml-1m"' },
    responseExample: group,
  },
  'GET /api/v1/models/:name/versions': {
    operationId: 'listModelVersions',
    description: 'The versions of a model group, oldest first, optionally only those with one approval status.',
    errors: [...NAME_ERRORS],
    responseExample: [version],
  },
  'POST /api/v1/models/:name/versions': {
    operationId: 'registerModelVersion',
    description:
      'Registers the next version from a model package already in the artifact store (upload it with `PUT /api/v1/artifacts/…` first). The package is checked (model.json, signature, files) and digested; the version is immutable. The auto-approval policy decides its initial approval.',
    errors: [...NAME_ERRORS, 'CAPSTAN_REGISTRY_PACKAGE_INVALID', 'CAPSTAN_ARTIFACT_URI_INVALID', 'CAPSTAN_ARTIFACT_NOT_FOUND', 'CAPSTAN_DB_CONFLICT'],
    requestExample: {
      artifactUri: 'file:///var/lib/capstan/artifacts/uploads/ncf-3',
      metrics: { 'hr@10': 0.64, 'ndcg@10': 0.38 },
      params: { epochs: 5, factors: 32 },
      tags: { dataset: 'ml-1m' },
      description: 'Trained on MovieLens 1M',
      lineage: { runId: 'run_01jh8…' },
    },
    responseExample: version,
  },
  'GET /api/v1/models/:name/versions/:version': {
    operationId: 'getModelVersion',
    description: 'One version: package URI and digest, signature, metrics, params, lineage, approval and aliases.',
    errors: [...VERSION_ERRORS],
    responseExample: version,
  },
  'GET /api/v1/models/:name/versions/:version/files': {
    operationId: 'listModelVersionFiles',
    description: "The files of a version's package with size and SHA-256; download each with `GET /api/v1/artifacts/{key}`.",
    errors: [...VERSION_ERRORS],
    responseExample: [{ path: 'model.onnx', key: 'uploads/ncf-3/model.onnx', size: 1048576, sha256: '9f2c…' }],
  },
  'PUT /api/v1/models/:name/versions/:version/approval': {
    operationId: 'setModelVersionApproval',
    description: 'Approves, rejects or returns a version to PendingManualApproval, with an optional comment; recorded in the history and announced to webhooks. Setting the status it already has answers 409.',
    errors: [...VERSION_ERRORS, 'CAPSTAN_REGISTRY_APPROVAL_UNCHANGED'],
    requestExample: { status: 'Approved', comment: 'hr@10 beats the champion on the holdout' },
    responseExample: version,
  },
  'GET /api/v1/models/:name/aliases/:alias': {
    operationId: 'getModelAlias',
    description: 'The version an alias (e.g. `champion`) points to.',
    errors: [...NAME_ERRORS, 'CAPSTAN_REGISTRY_ALIAS_NOT_FOUND', 'CAPSTAN_REGISTRY_ALIAS_INVALID'],
    responseExample: version,
  },
  'PUT /api/v1/models/:name/aliases/:alias': {
    operationId: 'setModelAlias',
    description: 'Points an alias at a version, creating or moving it. Endpoints that reference the alias pick the new version up on their next update or deploy.',
    errors: [...VERSION_ERRORS, 'CAPSTAN_REGISTRY_ALIAS_INVALID'],
    requestExample: { version: 3 },
    responseExample: group,
  },
  'DELETE /api/v1/models/:name/aliases/:alias': {
    operationId: 'deleteModelAlias',
    description: 'Removes an alias; the version it pointed to stays.',
    errors: [...NAME_ERRORS, 'CAPSTAN_REGISTRY_ALIAS_NOT_FOUND', 'CAPSTAN_REGISTRY_ALIAS_INVALID'],
    responseExample: group,
  },
  'GET /api/v1/audit': {
    operationId: 'getAuditLog',
    description: "Every model's audit events, newest first: who registered, approved or rejected a version, moved an alias or changed a policy, with comment. Filter by `model`, `actor` (e.g. `key:alice`) or `action`; page with `limit` (default 50, at most 500) and the previous page's `nextCursor`.",
    errors: ['CAPSTAN_REQUEST_INVALID', 'CAPSTAN_NAME_INVALID'],
    responseExample: { events: [{ id: 'aud_01…', model: 'ncf', version: 3, action: 'approval.changed', actor: 'key:alice', from: 'PendingManualApproval', to: 'Approved', alias: null, comment: 'looks good', at: '2026-01-06T09:30:00.000Z' }], nextCursor: '1767691800000.aud_01…' },
  },
  'GET /api/v1/models/:name/history': {
    operationId: 'getModelHistory',
    description: 'The audit history of a group (or of one version with `version`): approvals, alias moves and policy changes with actor and comment, oldest first.',
    errors: [...VERSION_ERRORS],
    responseExample: [{ id: 'aud_01…', model: 'ncf', version: 3, action: 'approval', actor: 'key:alice', from: 'PendingManualApproval', to: 'Approved', alias: null, comment: 'looks good', at: '2026-01-06T09:30:00.000Z' }],
  },
  'GET /api/v1/models/:name/compare': {
    operationId: 'compareModelVersions',
    description: 'A table of metrics and params across versions (default all), with the best version per metric.',
    errors: [...VERSION_ERRORS, 'CAPSTAN_REGISTRY_COMPARE_INVALID'],
    responseExample: {
      metrics: ['hr@10'],
      params: ['epochs'],
      rows: [
        { id: '2', version: 2, approval: 'Approved', aliases: [], metrics: { 'hr@10': 0.61 }, params: { epochs: '3' } },
        { id: '3', version: 3, approval: 'Approved', aliases: ['champion'], metrics: { 'hr@10': 0.64 }, params: { epochs: '5' } },
      ],
      best: { 'hr@10': '3' },
    },
  },

  'GET /api/v1/webhooks': {
    operationId: 'listWebhooks',
    description: 'Every registry webhook with its last delivery status. Secrets are not shown.',
  },
  'POST /api/v1/webhooks': {
    operationId: 'createWebhook',
    description:
      'Subscribes a URL to registry events (default all), optionally only for some models. Deliveries go through the job queue with retries and are signed per Standard Webhooks: `webhook-id` (the event id, the same on every retry), `webhook-timestamp` and `webhook-signature: v1,<base64 HMAC-SHA256>` with the `whsec_` secret, which is returned only here (a given `secret` must be `whsec_<base64 of 24-64 bytes>`; older plain secrets key the HMAC with their UTF-8 bytes). The deprecated `X-Capstan-Signature`/`X-Capstan-Timestamp`/`X-Capstan-Delivery` headers are still sent for one release. The URL is checked by the outbound URL guard (scheme, resolvable host, blocked address ranges).',
    errors: ['CAPSTAN_REGISTRY_WEBHOOK_INVALID', 'CAPSTAN_OUTBOUND_URL_INVALID', 'CAPSTAN_OUTBOUND_ADDRESS_BLOCKED', 'CAPSTAN_OUTBOUND_HOST_UNRESOLVED'],
    requestExample: { url: 'https://ci.example.com/hooks/capstan', events: ['model_version.approved'], models: ['ncf'], description: 'Deploy approved NCF versions' },
  },
  'DELETE /api/v1/webhooks/:id': {
    operationId: 'deleteWebhook',
    description: 'Removes a webhook; no further events are delivered to it.',
    errors: ['CAPSTAN_REGISTRY_WEBHOOK_NOT_FOUND'],
    responses: { 204: null },
    responseDescription: 'Deleted',
  },
};
