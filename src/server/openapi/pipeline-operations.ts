import { Type } from 'typebox';
import type { OperationDocs } from './operation-doc.js';
import { LogLineSchema, PipelineDescriptionSchema, PipelineExecutionSchema, PipelineSchema } from './resource-schemas.js';

const yaml = 'name: train-ncf\nparameters:\n  epochs: { type: integer, default: 5 }\nsteps:\n  - name: train\n    type: function\n    function: train.js#handler\ncode: ./src\n';
const logLine = { executionId: 'exe_01jh8…', pipeline: 'train-ncf', step: 'train', attempt: 1, seq: 42, at: '2026-01-05T10:01:00.000Z', stream: 'stdout', line: 'epoch 3 loss=0.31' };
const EXEC_ERRORS = ['CAPSTAN_PIPELINE_EXECUTION_NOT_FOUND'] as const;

const ExecutionList = Type.Object({ executions: Type.Array(PipelineExecutionSchema) });
const LogLines = Type.Object({ lines: Type.Array(LogLineSchema) });

/** Pipelines: definitions, executions, logs and signed webhooks. */
export const pipelineOperations: OperationDocs = {
  'POST /api/v1/pipelines/validate': {
    operationId: 'validatePipeline',
    description: 'Validates a definition (YAML or JSON text) without storing it; answers the compiled definition, or 400 `CAPSTAN_PIPELINE_INVALID` listing every issue.',
    errors: ['CAPSTAN_PIPELINE_INVALID', 'CAPSTAN_REQUEST_YAML_LIMIT'],
    requestExample: { yaml, file: 'pipeline.yaml' },
    responses: { 200: Type.Object({ valid: Type.Literal(true), pipeline: Type.Record(Type.String(), Type.Unknown(), { description: 'The compiled definition' }) }) },
  },
  'PUT /api/v1/pipelines': {
    operationId: 'applyPipeline',
    description:
      "Creates or updates a pipeline. The code directory a definition names is uploaded in `files` (relative path → base64) and snapshotted into the artifact store; the server's own files are never read. Re-applying an unchanged pipeline changes nothing (`changed: false`). Secrets of new webhook triggers are returned only here.",
    errors: ['CAPSTAN_PIPELINE_INVALID', 'CAPSTAN_PIPELINE_CODE_INVALID', 'CAPSTAN_REQUEST_YAML_LIMIT'],
    requestExample: { yaml, file: 'pipeline.yaml', files: { 'src/train.js': 'ZXhwb3J0IGFzeW5jIGZ1bmN0aW9uIGhhbmRsZXIoKSB7fQo=' } },
    responses: { 200: Type.Object({ pipeline: PipelineSchema, changed: Type.Boolean(), webhookSecrets: Type.Record(Type.String(), Type.String(), { description: 'trigger name → secret, for webhook triggers created now' }) }) },
  },
  'GET /api/v1/pipelines': { operationId: 'listPipelines', description: 'Every applied pipeline with its current version and definition.', responses: { 200: Type.Object({ pipelines: Type.Array(PipelineSchema) }) } },
  'GET /api/v1/pipelines/:name': {
    operationId: 'describePipeline',
    description: 'One pipeline with its definition, triggers and latest execution.',
    errors: ['CAPSTAN_PIPELINE_NOT_FOUND'],
    responses: { 200: PipelineDescriptionSchema },
  },
  'DELETE /api/v1/pipelines/:name': {
    operationId: 'deletePipeline',
    description: 'Deletes a pipeline definition and its triggers; its executions and logs stay.',
    errors: ['CAPSTAN_PIPELINE_NOT_FOUND'],
    responses: { 204: null },
    responseDescription: 'Deleted',
  },
  'POST /api/v1/pipelines/:name/executions': {
    operationId: 'startPipelineExecution',
    description: 'Queues an execution with parameter overrides (checked against the declared parameters); the scheduler runs it. Follow it with the execution and logs routes.',
    errors: ['CAPSTAN_PIPELINE_NOT_FOUND', 'CAPSTAN_PIPELINE_PARAMETER_INVALID'],
    requestExample: { params: { epochs: 10 } },
    responses: { 201: PipelineExecutionSchema },
  },
  'GET /api/v1/pipelines/:name/executions': {
    operationId: 'listPipelineExecutions',
    description: 'Executions of one pipeline, newest first.',
    responses: { 200: ExecutionList },
  },
  'GET /api/v1/pipelines/:name/executions/:id': {
    operationId: 'getPipelineExecution',
    description: 'One execution of the pipeline with the state, attempts, outputs, metrics and error of each step.',
    errors: [...EXEC_ERRORS],
    responses: { 200: PipelineExecutionSchema },
  },
  'GET /api/v1/pipeline-executions': {
    operationId: 'listAllPipelineExecutions',
    description: 'Executions of every pipeline (or one with `pipeline`), newest first.',
    responses: { 200: ExecutionList },
  },
  'GET /api/v1/pipeline-executions/:id': {
    operationId: 'getPipelineExecutionById',
    description: 'One execution by id, whatever its pipeline.',
    errors: [...EXEC_ERRORS],
    responses: { 200: PipelineExecutionSchema },
  },
  'POST /api/v1/pipelines/:name/executions/:id/cancel': {
    operationId: 'cancelPipelineExecution',
    description: 'Requests cancellation: running steps are stopped and pending ones marked cancelled. Answers the execution; a finished execution answers 409.',
    errors: [...EXEC_ERRORS, 'CAPSTAN_PIPELINE_EXECUTION_FINISHED'],
    responses: { 200: PipelineExecutionSchema },
  },
  'GET /api/v1/pipelines/:name/executions/:id/logs': {
    operationId: 'getPipelineExecutionLogs',
    description:
      'Step logs of an execution as JSON (`{"lines": [...]}`), or, with `Accept: text/event-stream` or `follow=true`, a live Server-Sent Events stream: `log` events carry one line each, a final `end` event carries the execution state.',
    errors: [...EXEC_ERRORS],
    responses: { 200: LogLines },
    responseExample: { lines: [logLine] },
  },
  'GET /api/v1/pipeline-logs': {
    operationId: 'searchPipelineLogs',
    description: 'Searches step logs across executions by text (or a regular expression with `regex=true`), narrowed by pipeline, execution, step and an ISO time range.',
    errors: ['CAPSTAN_REQUEST_REGEX_INVALID'],
    responses: { 200: LogLines },
    responseExample: { lines: [logLine] },
  },
  'POST /api/v1/pipelines/:name/webhooks/:trigger': {
    operationId: 'triggerPipelineWebhook',
    description:
      "Starts an execution from a webhook trigger, signed with the trigger's secret (returned when the pipeline was applied) by one of: **Standard Webhooks** (`webhook-id`, `webhook-timestamp`, `webhook-signature: v1,<base64 HMAC-SHA256 of \"<id>.<timestamp>.<raw body>\">`; the timestamp must be within 5 minutes of the server's clock), **GitHub** (`X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw body>`, `X-GitHub-Delivery`), or **GitLab** (`X-Gitlab-Token: <secret>`, `Idempotency-Key` / `X-Gitlab-Event-UUID`; a token, not a signature: see docs/pipelines.md). The deprecated `X-Capstan-Signature: t=<unix>,v1=<hex>` is still accepted for one release and answered with a `Deprecation` header (RFC 9745). A delivery whose id (`webhook-id`, `X-GitHub-Delivery`, GitLab's ids) or signature was already acted on answers 200 `{duplicate: true, started: false}` and starts nothing. An unknown trigger and a bad signature answer alike (401). The optional JSON body's `params` override the trigger's.",
    errors: [
      'CAPSTAN_PIPELINE_WEBHOOK_HEADER_MISSING',
      'CAPSTAN_PIPELINE_WEBHOOK_TIMESTAMP_INVALID',
      'CAPSTAN_PIPELINE_WEBHOOK_SIGNATURE_INVALID',
      'CAPSTAN_REQUEST_MALFORMED_JSON',
      'CAPSTAN_PIPELINE_PARAMETER_INVALID',
      'CAPSTAN_NAME_INVALID',
    ],
    requestBody: { description: 'Optional parameter overrides; the exact bytes are signed.', content: { 'application/json': { schema: Type.Object({ params: Type.Optional(Type.Record(Type.String(), Type.Unknown())) }), example: { params: { epochs: 10 } } } } },
    responses: {
      202: PipelineExecutionSchema,
      200: Type.Object(
        { duplicate: Type.Literal(true), started: Type.Literal(false), executionId: Type.Union([Type.String(), Type.Null()], { description: 'The execution the first delivery started' }) },
        { description: 'A delivery already acted on: acknowledged so the sender stops retrying; nothing started' },
      ),
    },
    responseDescription: 'The execution was queued',
  },
};
