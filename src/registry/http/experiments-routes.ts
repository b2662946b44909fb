import { Type } from 'typebox';
import type { CreateRunInput, MetricPoint, RegistryService, RunFilter, RunStatus } from '../registry-service.js';
import { MAX_METRIC_BATCH } from '../run-inputs.js';
import { MAX_RUN_PAGE, MAX_SERIES_RUNS, type RunSearch } from '../run-search.js';
import { actorOf } from '../../auth/index.js';
import type { ContextRoutes } from '../../storage/context-module.js';
import { ArtifactFileSchema, ComparisonSchema, ExperimentSchema, MetricPointSchema, RunMetricSeriesSchema, RunPageSchema, RunParams, RunSchema, RunStatusSchema, ScalarMap, splitList } from './registry-schemas.js';

type IdP = { id: string };

/** Experiment tracking: `/api/v1/experiments` and `/api/v1/runs` with params, tags, metric series and artifacts. */
export const experimentsRoutes: ContextRoutes<RegistryService> = async (app, { service: registry }) => {
  const tags = ['experiments'];

  app.get('/api/v1/experiments', { config: { access: 'viewer' }, schema: { tags, summary: 'List experiments', response: { 200: Type.Array(ExperimentSchema) } } }, async () =>
    registry.listExperiments(),
  );

  app.post(
    '/api/v1/experiments',
    {
      config: { access: 'editor' },
      schema: {
        tags,
        summary: 'Create an experiment',
        body: Type.Object({ name: Type.String({ maxLength: 200 }), description: Type.Optional(Type.String({ maxLength: 5000 })), tags: Type.Optional(Type.Record(Type.String(), Type.String())) }),
        response: { 201: ExperimentSchema },
      },
    },
    async (request, reply) => {
      const created = await registry.createExperiment(request.body as { name: string });
      reply.code(201);
      return created;
    },
  );

  app.get(
    '/api/v1/experiments/:name',
    { config: { access: 'viewer' }, schema: { tags, summary: 'Show an experiment', params: Type.Object({ name: Type.String({ maxLength: 200 }) }), response: { 200: ExperimentSchema } } },
    async (request) => registry.getExperiment((request.params as { name: string }).name),
  );

  app.get(
    '/api/v1/runs',
    {
      config: { access: 'viewer' },
      schema: {
        tags,
        summary: 'List runs, newest first',
        querystring: Type.Object({
          experiment: Type.Optional(Type.String({ maxLength: 200 })),
          status: Type.Optional(RunStatusSchema),
          pipelineExecutionId: Type.Optional(Type.String({ maxLength: 200 })),
          limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
        }),
        response: { 200: Type.Array(RunSchema) },
      },
    },
    async (request) => registry.listRuns(request.query as RunFilter),
  );

  app.get(
    '/api/v1/runs/search',
    {
      config: { access: 'viewer' },
      schema: {
        tags,
        summary: 'A page of runs, filtered and sorted, with the total and the param and metric keys',
        querystring: Type.Object({
          ids: Type.Optional(Type.String({ maxLength: 60_000, description: 'Only these runs: comma-separated ids (at most 500)' })),
          experiment: Type.Optional(Type.String({ maxLength: 200 })),
          status: Type.Optional(RunStatusSchema),
          name: Type.Optional(Type.String({ maxLength: 200, description: 'Case-insensitive fragment of the run name' })),
          sort: Type.Optional(Type.String({ maxLength: 260, description: 'startedAt (default), name, status, metric:<key> or param:<key>' })),
          order: Type.Optional(Type.Union([Type.Literal('asc'), Type.Literal('desc')])),
          offset: Type.Optional(Type.Integer({ minimum: 0, maximum: 10_000_000 })),
          limit: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_RUN_PAGE })),
        }),
        response: { 200: RunPageSchema },
      },
    },
    async (request) => {
      const q = request.query as Omit<RunSearch, 'ids'> & { ids?: string };
      return registry.searchRuns({ ...q, ids: splitList(q.ids) });
    },
  );

  app.get(
    '/api/v1/runs/metric-series',
    {
      config: { access: 'viewer' },
      schema: {
        tags,
        summary: `One metric of 1-${MAX_SERIES_RUNS} runs, each downsampled on the server (min and max kept)`,
        querystring: Type.Object({
          runs: Type.String({ minLength: 1, maxLength: 10_000, description: 'Comma-separated run ids' }),
          key: Type.String({ minLength: 1, maxLength: 250 }),
          points: Type.Optional(Type.Integer({ minimum: 2, maximum: 5000, description: 'Most points per run; default 400' })),
        }),
        response: { 200: Type.Array(RunMetricSeriesSchema) },
      },
    },
    async (request) => {
      const q = request.query as { runs: string; key: string; points?: number };
      return registry.metricSeries({ runs: splitList(q.runs) ?? [], key: q.key, points: q.points });
    },
  );

  app.post(
    '/api/v1/runs',
    {
      config: { access: 'editor' },
      schema: {
        tags,
        summary: 'Start a run (the experiment is created when needed)',
        body: Type.Object({
          experiment: Type.String({ maxLength: 200 }),
          name: Type.Optional(Type.String({ maxLength: 200 })),
          params: Type.Optional(ScalarMap),
          tags: Type.Optional(Type.Record(Type.String(), Type.String())),
          pipelineExecutionId: Type.Optional(Type.String({ maxLength: 200 })),
          pipelineStep: Type.Optional(Type.String({ maxLength: 200 })),
        }),
        response: { 201: RunSchema },
      },
    },
    async (request, reply) => {
      const run = await registry.createRun(request.body as CreateRunInput, { actor: actorOf(request) });
      reply.code(201);
      return run;
    },
  );

  app.get('/api/v1/runs/compare', {
    config: { access: 'viewer' },
    schema: {
      tags,
      summary: 'Compare metrics and params across runs',
      querystring: Type.Object({ runs: Type.String({ maxLength: 5000 }), metrics: Type.Optional(Type.String({ maxLength: 2000 })), params: Type.Optional(Type.String({ maxLength: 2000 })) }),
      response: { 200: ComparisonSchema },
    },
  }, async (request) => {
    const q = request.query as { runs: string; metrics?: string; params?: string };
    return registry.compareRuns({ runs: splitList(q.runs) ?? [], metrics: splitList(q.metrics), params: splitList(q.params) });
  });

  app.get(
    '/api/v1/runs/:id',
    { config: { access: 'viewer' }, schema: { tags, summary: 'Show a run with params, tags and latest metrics', params: RunParams, response: { 200: RunSchema } } },
    async (request) => registry.getRun((request.params as IdP).id),
  );

  app.patch(
    '/api/v1/runs/:id',
    {
      config: { access: 'editor' },
      schema: { tags, summary: 'End a run or rename it', params: RunParams, body: Type.Object({ status: Type.Optional(RunStatusSchema), name: Type.Optional(Type.String({ maxLength: 200 })) }), response: { 200: RunSchema } },
    },
    async (request) => registry.updateRun((request.params as IdP).id, request.body as { status?: RunStatus; name?: string }),
  );

  app.post(
    '/api/v1/runs/:id/metrics',
    {
      config: { access: 'editor' },
      schema: {
        tags,
        summary: `Log a batch of metric points (1-${MAX_METRIC_BATCH}) in one transaction`,
        params: RunParams,
        body: Type.Object({ metrics: Type.Array(MetricPointSchema, { minItems: 1, maxItems: MAX_METRIC_BATCH }) }),
        response: { 200: Type.Object({ count: Type.Integer() }) },
      },
    },
    async (request) => registry.logMetrics((request.params as IdP).id, (request.body as { metrics: MetricPoint[] }).metrics),
  );

  app.get(
    '/api/v1/runs/:id/metrics/:key',
    {
      config: { access: 'viewer' },
      schema: { tags, summary: "One metric's time series", params: Type.Object({ id: Type.String({ maxLength: 100 }), key: Type.String({ maxLength: 250 }) }), response: { 200: Type.Array(MetricPointSchema) } },
    },
    async (request) => {
      const p = request.params as { id: string; key: string };
      return registry.metricHistory(p.id, p.key);
    },
  );

  app.post(
    '/api/v1/runs/:id/params',
    { config: { access: 'editor' }, schema: { tags, summary: 'Log params (write-once)', params: RunParams, body: Type.Object({ params: ScalarMap }), response: { 200: RunSchema } } },
    async (request) => registry.logParams((request.params as IdP).id, (request.body as { params: Record<string, string> }).params),
  );

  app.post(
    '/api/v1/runs/:id/tags',
    { config: { access: 'editor' }, schema: { tags, summary: 'Set tags', params: RunParams, body: Type.Object({ tags: Type.Record(Type.String(), Type.String()) }), response: { 200: RunSchema } } },
    async (request) => registry.setRunTags((request.params as IdP).id, (request.body as { tags: Record<string, string> }).tags),
  );

  app.get(
    '/api/v1/runs/:id/artifacts',
    { config: { access: 'viewer' }, schema: { tags, summary: "List a run's artifacts", params: RunParams, response: { 200: Type.Array(ArtifactFileSchema) } } },
    async (request) => registry.listRunArtifacts((request.params as IdP).id),
  );
};
