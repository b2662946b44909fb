import type { OperationDocs } from './operation-doc.js';

const run = {
  id: 'run_01jh8…',
  experiment: 'ncf-tuning',
  name: 'factors-32',
  status: 'finished',
  params: { factors: '32', epochs: '5' },
  tags: { dataset: 'ml-1m' },
  metrics: { 'hr@10': 0.64, loss: 0.21 },
  pipelineExecutionId: null,
  pipelineStep: null,
  artifactUri: 'file:///var/lib/capstan/artifacts/runs/run_01jh8…',
  createdBy: 'key:ci',
  startedAt: '2026-01-05T10:00:00.000Z',
  endedAt: '2026-01-05T10:20:00.000Z',
  durationMs: 1200000,
};
const experiment = { id: 'exp_01jh8…', name: 'ncf-tuning', description: 'Factor sweep', tags: {}, createdAt: '2026-01-05T10:00:00.000Z', updatedAt: '2026-01-05T10:00:00.000Z' };

/** Experiment tracking: experiments, runs, metrics, params, tags and run artifacts. */
export const trackingOperations: OperationDocs = {
  'GET /api/v1/experiments': { operationId: 'listExperiments', description: 'Every experiment (a named set of runs).', responseExample: [experiment] },
  'POST /api/v1/experiments': {
    operationId: 'createExperiment',
    description: 'Creates an experiment. Starting a run creates its experiment when needed, so this is only for a description or tags.',
    errors: ['CAPSTAN_NAME_INVALID', 'CAPSTAN_REGISTRY_EXPERIMENT_EXISTS'],
    requestExample: { name: 'ncf-tuning', description: 'Factor sweep', tags: { owner: 'reco' } },
    responseExample: experiment,
  },
  'GET /api/v1/experiments/:name': {
    operationId: 'getExperiment',
    description: 'One experiment by name.',
    errors: ['CAPSTAN_NAME_INVALID', 'CAPSTAN_REGISTRY_EXPERIMENT_NOT_FOUND'],
    responseExample: experiment,
  },
  'GET /api/v1/runs': {
    operationId: 'listRuns',
    description: 'Runs, newest first, filtered by experiment, status or the pipeline execution that started them.',
    errors: ['CAPSTAN_REGISTRY_EXPERIMENT_NOT_FOUND'],
    responseExample: [run],
  },
  'GET /api/v1/runs/search': {
    operationId: 'searchRuns',
    description:
      'A page of runs for a table: filtered by `ids` (comma-separated), experiment, status and a case-insensitive name fragment; sorted by `startedAt` (default), `name`, `status`, `metric:<key>` (latest value) or `param:<key>` (as text), runs without that metric or param last; paged by `offset` and `limit` (at most 500). `total` counts every match; `paramKeys` and `metricKeys` list the keys among the matches (the columns).',
    errors: ['CAPSTAN_REQUEST_INVALID', 'CAPSTAN_NAME_INVALID', 'CAPSTAN_REGISTRY_METRIC_INVALID'],
    responseExample: { runs: [run], total: 1000, offset: 0, paramKeys: ['epochs', 'factors'], metricKeys: ['hr@10', 'loss'] },
  },
  'GET /api/v1/runs/metric-series': {
    operationId: 'runMetricSeries',
    description:
      'One metric of up to 100 runs (comma-separated ids in `runs`) as [step, value] points by step. A run with more than `points` points (default 400) is cut in the database into `points / 2` equal step ranges, each keeping its lowest and highest point, so a chart of 100 runs × 10,000 steps costs the same as one of 10; `total` is how many points were logged. A run without the metric has no points.',
    errors: ['CAPSTAN_REQUEST_INVALID', 'CAPSTAN_REGISTRY_RUN_NOT_FOUND', 'CAPSTAN_REGISTRY_METRIC_INVALID'],
    responseExample: [{ runId: 'run_01jh8…', key: 'loss', total: 10000, points: [[0, 0.93], [24, 0.61], [25, 0.64]] }],
  },
  'POST /api/v1/runs': {
    operationId: 'createRun',
    description: 'Starts a run (status `running`) in an experiment, created when needed. Log metrics, params and tags to it, then end it with `PATCH /api/v1/runs/{id}`.',
    errors: ['CAPSTAN_NAME_INVALID'],
    requestExample: { experiment: 'ncf-tuning', name: 'factors-32', params: { factors: 32, epochs: 5 }, tags: { dataset: 'ml-1m' } },
    responseExample: { ...run, status: 'running', metrics: {}, endedAt: null, durationMs: null },
  },
  'GET /api/v1/runs/compare': {
    operationId: 'compareRuns',
    description: 'A table of metrics and params across the runs named in `runs` (comma-separated ids), with the best run per metric.',
    errors: ['CAPSTAN_REGISTRY_RUN_NOT_FOUND', 'CAPSTAN_REGISTRY_COMPARE_INVALID'],
  },
  'GET /api/v1/runs/:id': {
    operationId: 'getRun',
    description: 'One run with its params, tags and the latest value of each metric.',
    errors: ['CAPSTAN_REGISTRY_RUN_NOT_FOUND'],
    responseExample: run,
  },
  'PATCH /api/v1/runs/:id': {
    operationId: 'updateRun',
    description: 'Ends a run (`finished`, `failed` or `killed`; the end time and duration are recorded) or renames it.',
    errors: ['CAPSTAN_REGISTRY_RUN_NOT_FOUND'],
    requestExample: { status: 'finished' },
    responseExample: run,
  },
  'POST /api/v1/runs/:id/metrics': {
    operationId: 'logRunMetrics',
    description: 'Logs a batch of metric points in one transaction: each a key, a value and optionally a step (default 0) and a timestamp (epoch ms, default now). The whole batch is refused when one point is not valid.',
    errors: ['CAPSTAN_REGISTRY_RUN_NOT_FOUND', 'CAPSTAN_REGISTRY_METRIC_INVALID'],
    requestExample: { metrics: [{ key: 'loss', value: 0.42, step: 1 }, { key: 'loss', value: 0.31, step: 2 }, { key: 'hr@10', value: 0.64 }] },
    responseExample: { count: 3 },
  },
  'GET /api/v1/runs/:id/metrics/:key': {
    operationId: 'getRunMetricHistory',
    description: "One metric's time series, ordered by step, then timestamp.",
    errors: ['CAPSTAN_REGISTRY_RUN_NOT_FOUND'],
    responseExample: [{ key: 'loss', value: 0.42, step: 1, timestamp: 1767607200000 }, { key: 'loss', value: 0.31, step: 2, timestamp: 1767607260000 }],
  },
  'POST /api/v1/runs/:id/params': {
    operationId: 'logRunParams',
    description: 'Logs params. Params are write-once: once logged, a param cannot change (409).',
    errors: ['CAPSTAN_REGISTRY_RUN_NOT_FOUND', 'CAPSTAN_REGISTRY_PARAM_CONFLICT'],
    requestExample: { params: { lr: 0.001, optimizer: 'adam' } },
    responseExample: run,
  },
  'POST /api/v1/runs/:id/tags': {
    operationId: 'setRunTags',
    description: 'Sets or overwrites the given tags (string values).',
    errors: ['CAPSTAN_REGISTRY_RUN_NOT_FOUND'],
    requestExample: { tags: { reviewed: 'yes' } },
    responseExample: run,
  },
  'GET /api/v1/runs/:id/artifacts': {
    operationId: 'listRunArtifacts',
    description: "The files under the run's artifact URI, with size and SHA-256.",
    errors: ['CAPSTAN_REGISTRY_RUN_NOT_FOUND'],
  },
};
