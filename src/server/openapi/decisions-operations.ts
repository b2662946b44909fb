import { Type } from 'typebox';
import type { OperationDocs } from './operation-doc.js';

const DecisionResult = Type.Object(
  {
    id: Type.String({ description: 'The record id' }),
    usecase: Type.String(),
    version: Type.Integer(),
    subject: Type.Union([Type.String(), Type.Null()]),
    outcome: Type.String({ description: 'approve, review, reject or a custom outcome' }),
    reasons: Type.Array(Type.String()),
    output: Type.Record(Type.String(), Type.Unknown()),
    defaulted: Type.Array(Type.String(), { description: 'Tasks that failed and answered with their default' }),
    latencyMs: Type.Number(),
  },
  { description: 'The decision' },
);

const DECIDE_ERRORS = [
  'CAPSTAN_DECISIONS_USECASE_NOT_FOUND',
  'CAPSTAN_DECISIONS_NO_ACTIVE_VERSION',
  'CAPSTAN_DECISIONS_INPUT_INVALID',
  'CAPSTAN_DECISIONS_TASK_FAILED',
  'CAPSTAN_DECISIONS_TASK_TIMEOUT',
  'CAPSTAN_DECISIONS_DEADLINE_EXCEEDED',
  'CAPSTAN_DECISIONS_RULES_FAILED',
] as const;

const definitionExample = {
  name: 'transaction-risk',
  input: { schema: { type: 'object', required: ['customer', 'amount'], properties: { customer: { type: 'string' }, amount: { type: 'number' } } }, subject: 'input.customer' },
  thresholds: { review: 0.5 },
  tasks: [{ name: 'fraud', type: 'endpoint', endpoint: 'fraud', request: '{"instances": [{"amount": input.amount}]}', output: 'response.predictions[0].score', timeoutMs: 200 }],
  rules: { engine: 'cel', rules: [{ name: 'risky', when: 'tasks.fraud >= thresholds.review', outcome: 'review', reason: 'fraud score high' }], default: { outcome: 'approve' } },
};

/** The decision service: use cases, decisions, records, replay and champion/challenger (docs/decisions.md). */
export const decisionsOperations: OperationDocs = {
  'POST /api/v1/decisions/usecases': {
    operationId: 'applyDecisionUseCase',
    description:
      'Stores a use-case definition as its next version (201), or answers 200 when it equals the latest version. The version is a draft unless `activate` is true. A definition that does not compile (JSON Schema, CEL, JDM), reads an unknown task, has a task cycle, names a blocked outbound URL or needs an uninstalled features context is refused and nothing is stored.',
    errors: ['CAPSTAN_DECISIONS_USECASE_INVALID', 'CAPSTAN_OUTBOUND_ADDRESS_BLOCKED', 'CAPSTAN_OUTBOUND_URL_INVALID', 'CAPSTAN_OUTBOUND_HOST_UNRESOLVED', 'CAPSTAN_DECISIONS_FEATURES_UNAVAILABLE'],
    requestExample: { definition: definitionExample, activate: true },
  },
  'GET /api/v1/decisions/usecases': { operationId: 'listDecisionUseCases', description: 'Every use case with its latest, active and challenger version numbers.' },
  'GET /api/v1/decisions/usecases/:name': {
    operationId: 'describeDecisionUseCase',
    description: "One version's definition (default the active one, else the latest), with the use case's summary. An alert webhook secret is shown masked.",
    errors: ['CAPSTAN_DECISIONS_USECASE_NOT_FOUND', 'CAPSTAN_DECISIONS_VERSION_NOT_FOUND'],
  },
  'POST /api/v1/decisions/usecases/:name/activate': {
    operationId: 'activateDecisionVersion',
    description: 'Makes a version the active one (draft → active), or with `challenger: true` runs it in shadow beside the active one on live traffic (both records are stored); `version: null` with `challenger` stops the shadow.',
    errors: ['CAPSTAN_DECISIONS_USECASE_NOT_FOUND', 'CAPSTAN_DECISIONS_VERSION_NOT_FOUND'],
    requestExample: { version: 2 },
  },
  'POST /api/v1/decisions/usecases/:name/replay': {
    operationId: 'replayDecisions',
    description:
      "Re-evaluates the use case's recorded champion decisions in a time range against a version's CEL tasks, thresholds and rules, from the snapshots alone (no model, feature or HTTP calls). Reports how many outcomes change, in which direction (`from → to`), and examples. A range with no records answers 404 CAPSTAN_DECISIONS_REPLAY_EMPTY.",
    errors: ['CAPSTAN_DECISIONS_USECASE_NOT_FOUND', 'CAPSTAN_DECISIONS_VERSION_NOT_FOUND', 'CAPSTAN_DECISIONS_REPLAY_EMPTY', 'CAPSTAN_DECISIONS_QUERY_INVALID'],
    requestExample: { version: 2, since: '2026-11-01T00:00:00Z' },
  },
  'GET /api/v1/decisions/usecases/:name/compare': {
    operationId: 'compareDecisionChallenger',
    description: 'Champion and challenger outcome counts since a time, and how many shadow decisions disagreed with the answer the caller got.',
    errors: ['CAPSTAN_DECISIONS_USECASE_NOT_FOUND', 'CAPSTAN_DECISIONS_QUERY_INVALID'],
  },
  'GET /api/v1/decisions': {
    operationId: 'searchDecisions',
    description: 'Decision records, newest first, filtered by use case, subject, outcome, status, role, version and an ISO time range; page with `before`.',
    errors: ['CAPSTAN_DECISIONS_USECASE_NOT_FOUND', 'CAPSTAN_DECISIONS_QUERY_INVALID'],
  },
  'GET /api/v1/decisions/export': {
    operationId: 'exportDecisions',
    description:
      'The same search, newest first, up to `limit` (default and at most 100000) records, as a file: `format=jsonl` (default) streams JSON Lines (`application/x-ndjson`), one record with its full snapshot per line; `format=parquet` answers a Parquet file (`application/vnd.apache.parquet`) with one row per record, its scalar fields as typed columns (`time` a timestamp) and `reasons`, `output` and `snapshot` as JSON columns, for DuckDB, Spark or pandas.',
    errors: ['CAPSTAN_DECISIONS_USECASE_NOT_FOUND', 'CAPSTAN_DECISIONS_QUERY_INVALID'],
    responseDescription: 'The records as JSON Lines or a Parquet file',
    responseContent: {
      'application/x-ndjson': { schema: { type: 'string', description: 'One JSON decision record per line' }, example: '{"id":"dec_…","usecase":"risk","version":1,"role":"champion","outcome":"approve",…}\n' },
      'application/vnd.apache.parquet': { schema: { type: 'string', contentMediaType: 'application/vnd.apache.parquet', description: 'A Parquet file' } },
    },
  },
  'GET /api/v1/decisions/records/:id': {
    operationId: 'getDecisionRecord',
    description: 'One decision record with its point-in-time snapshot: input, each task’s request, response, latency and model version, feature values with event times, thresholds, version, rule trace, outcome and reasons.',
    errors: ['CAPSTAN_DECISIONS_RECORD_NOT_FOUND'],
  },
  'GET /api/v1/decisions/requests/:id': {
    operationId: 'getDecisionRequest',
    description: 'An asynchronous decision request: `queued`, `done` or `failed`, with its record once finished.',
    errors: ['CAPSTAN_DECISIONS_REQUEST_NOT_FOUND'],
  },
  'POST /api/v1/decisions/:usecase': {
    operationId: 'decide',
    description:
      "Makes one decision with the use case's active version and stores its record. The body is the input the use case's JSON Schema describes (each active use case also has its own operation in this document). Input outside the schema answers 400 listing every violation and stores nothing; a task failure under policy `fail` answers its error with the `recordId` of the stored failed decision.",
    errors: [...DECIDE_ERRORS],
    requestBody: { description: "The use case's input", content: { 'application/json': { schema: Type.Record(Type.String(), Type.Unknown()), example: { customer: 'c1', amount: 120 } } } },
    responses: { 200: DecisionResult },
  },
  'POST /api/v1/decisions/:usecase/async': {
    operationId: 'decideAsync',
    description:
      'Checks the input and queues the decision, answering 202 with a request id at once (for use cases that may take longer than a gateway waits). The result is read with `GET /api/v1/decisions/requests/{id}` and, with a `callback`, POSTed to its URL signed per Standard Webhooks (`webhook-id`, `webhook-timestamp`, `webhook-signature`) with `callback.secret`, or a generated secret returned once as `callbackSecret`; delivery retries through the outbox until accepted.',
    errors: ['CAPSTAN_DECISIONS_USECASE_NOT_FOUND', 'CAPSTAN_DECISIONS_NO_ACTIVE_VERSION', 'CAPSTAN_DECISIONS_INPUT_INVALID', 'CAPSTAN_OUTBOUND_ADDRESS_BLOCKED', 'CAPSTAN_OUTBOUND_URL_INVALID'],
    requestExample: { input: { customer: 'c1', amount: 120 }, callback: { url: 'https://backend.example.com/decisions' } },
    responseDescription: 'Queued',
  },
};
