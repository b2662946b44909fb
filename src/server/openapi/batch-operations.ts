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
      'Creates a batch transform job: the model (a registered version or alias) scores every record of the input (an object or prefix in the artifact store, JSON Lines or CSV) on worker threads of the job\'s own pool, without an endpoint. The model, the input and output locations, the filters and a notification URL are checked first; nothing is created when one is wrong. The job is split into shards (queue jobs on the `batch` queue) whose outputs are committed once each, so a crashed worker loses and duplicates nothing. Outputs are `<output>/<input file>.out`, in input order; failed records go to `<output>/failures.jsonl` with their line number and reason.',
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
};
