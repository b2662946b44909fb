import { Type } from 'typebox';

/**
 * Documentation schemas of the resources whose routes declare no response schema (endpoints,
 * pipelines, the Open Inference Protocol). They only describe the answers: Fastify does not
 * serialise with them, so a field the services add is never stripped.
 */

const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) => Type.Union([t, Type.Null()]);
const Time = () => Type.String({ description: 'ISO 8601 time' });

/** The registry version a variant's model reference resolved to when its configuration was applied. */
export const ResolvedModelSchema = Type.Object(
  { name: Type.String(), version: Type.Integer(), digest: Type.String({ description: 'sha256:<hex> of the package' }), framework: Type.String({ description: 'onnx, js, http or python' }) },
  { description: 'The model version a variant serves' },
);

/** One variant of an endpoint with every default filled in, the pinned version and live state. */
export const EndpointVariantSchema = Type.Object(
  {
    name: Type.String(),
    model: Type.String({ description: 'The reference as written, e.g. models:/ncf@champion' }),
    weight: Type.Number({ description: 'Relative traffic share' }),
    instances: Type.Integer({ description: 'Worker threads' }),
    batching: Type.Object({ maxBatchSize: Type.Integer(), maxDelayMs: Type.Integer() }),
    intraOpThreads: Type.Integer(),
    interOpThreads: Type.Integer(),
    timeoutMs: Type.Integer(),
    url: Type.Optional(Type.String({ description: 'External server URL (http models)' })),
    interpreter: Type.Optional(Type.String({ description: 'Python interpreter (python models); default python3' })),
    handlerOptions: Type.Record(Type.String(), Type.Unknown()),
    features: Type.Optional(
      Type.Object(
        { features: Type.Array(Type.String()), entityKeys: Type.Record(Type.String(), Type.String()), as: Type.Record(Type.String(), Type.String()), keepEntityFields: Type.Boolean() },
        { description: 'Online feature values added to each JSON instance before the model sees it' },
      ),
    ),
    multiModel: Type.Optional(
      Type.Object(
        { source: Type.String(), memoryBudgetBytes: Type.Integer(), maxModels: Type.Integer(), loadWaitMs: Type.Integer(), failedRetryMs: Type.Integer() },
        { description: 'Set on a multi-model variant: where its models come from and its cache limits (resolved then has version 0)' },
      ),
    ),
    resolved: ResolvedModelSchema,
    live: Type.Optional(
      Type.Object(
        { trafficPercent: Type.Number(), workers: Type.Integer(), inFlight: Type.Integer(), workerRestarts: Type.Integer() },
        { description: 'What this server process is doing for the variant right now' },
      ),
    ),
  },
  { description: 'A production variant' },
);

/** Data capture settings with every default filled in. */
export const DataCaptureSchema = Type.Object(
  { enabled: Type.Boolean(), samplingPercent: Type.Number(), rotateBytes: Type.Integer(), rotateMs: Type.Integer() },
  { description: 'Request/response capture into the artifact store' },
);

/** What the multi-model variants of an endpoint hold in the answering process. */
export const EndpointModelsSchema = Type.Object(
  {
    endpoint: Type.String(),
    variants: Type.Array(
      Type.Object({
        variant: Type.String(),
        source: Type.String(),
        memoryBudgetBytes: Type.Integer(),
        maxModels: Type.Integer(),
        residentBytes: Type.Integer({ description: 'Estimated bytes (package size) of the resident models' }),
        loading: Type.Array(Type.String(), { description: 'Targets loading now' }),
        hits: Type.Integer(),
        misses: Type.Integer(),
        loads: Type.Integer(),
        loadFailures: Type.Integer(),
        evictions: Type.Integer(),
        notReady: Type.Integer({ description: 'Requests answered 429 while their model loaded' }),
        models: Type.Array(
          Type.Object({
            model: Type.String({ description: 'ncf/3 for a registry version (aliases resolve to it), the folder name for an artifact prefix' }),
            bytes: Type.Integer(),
            loadMs: Type.Number(),
            loadedAt: Time(),
            lastUsedAt: Time(),
            hits: Type.Integer(),
            invocations: Type.Integer(),
            errors: Type.Integer(),
            inFlight: Type.Integer(),
          }),
          { description: 'Resident models, most recently used first' },
        ),
      }),
    ),
  },
  {
    description: 'Multi-model variants and their resident models in this process (counters since the variant started here)',
    examples: [
      {
        endpoint: 'recs',
        variants: [
          {
            variant: 'primary',
            source: 'models:/ncf',
            memoryBudgetBytes: 1073741824,
            maxModels: 32,
            residentBytes: 52224,
            loading: [],
            hits: 120,
            misses: 2,
            loads: 2,
            loadFailures: 0,
            evictions: 0,
            notReady: 0,
            models: [{ model: 'ncf/3', bytes: 26112, loadMs: 84.2, loadedAt: '2026-01-01T12:00:00.000Z', lastUsedAt: '2026-01-01T12:04:59.000Z', hits: 80, invocations: 81, errors: 0, inFlight: 0 }],
          },
        ],
      },
    ],
  },
);

/** Per-variant statistics of an endpoint over a window, from every serving process. */
export const EndpointStatsSchema = Type.Object(
  {
    endpoint: Type.String(),
    windowMs: Type.Integer(),
    from: Time(),
    to: Time(),
    variants: Type.Array(
      Type.Object({
        variant: Type.String(),
        requests: Type.Integer(),
        errors4xx: Type.Integer({ description: 'Requests the caller got wrong' }),
        errors5xx: Type.Integer({ description: 'Every 5xx answer, model failures included' }),
        modelErrors: Type.Integer({ description: 'The 5xx the model caused: error, crash, timeout, external server failure' }),
        errorRate: Type.Number({ description: 'errors5xx / requests' }),
        latencyMs: Nullable(Type.Object({ mean: Type.Number(), p50: Type.Number(), p95: Type.Number(), p99: Type.Number() }, { description: 'Whole-request latency; null without requests' })),
        histogram: Type.Object({ boundsMs: Type.Array(Nullable(Type.Number()), { description: 'Upper bound of each bucket; null for the open last one' }), counts: Type.Array(Type.Integer()) }),
      }),
    ),
  },
  {
    description: "Each variant's traffic over the window, summed over every serving process (flushed every few seconds)",
    examples: [
      {
        endpoint: 'ncf',
        windowMs: 300000,
        from: '2026-01-01T12:00:00.000Z',
        to: '2026-01-01T12:05:03.000Z',
        variants: [
          {
            variant: 'primary',
            requests: 9120,
            errors4xx: 3,
            errors5xx: 1,
            modelErrors: 1,
            errorRate: 0.00011,
            latencyMs: { mean: 1.9, p50: 1.4, p95: 4.2, p99: 8.7 },
            histogram: { boundsMs: [0.25, 0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, null], counts: [0, 120, 2100, 5900, 850, 120, 30, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0] },
          },
        ],
      },
    ],
  },
);

/** A real-time endpoint as the API shows it. */
export const EndpointSchema = Type.Object(
  {
    name: Type.String(),
    status: Type.Union([Type.Literal('Creating'), Type.Literal('InService'), Type.Literal('Updating'), Type.Literal('Failed')]),
    statusReason: Nullable(Type.String({ description: 'Why the endpoint failed or its last update did not apply' })),
    variants: Type.Array(EndpointVariantSchema),
    dataCapture: DataCaptureSchema,
    trafficPolicy: Type.Object(
      { kind: Type.Union([Type.Literal('weighted-random'), Type.Literal('sticky'), Type.Literal('thompson')]), keyField: Type.Optional(Type.String()) },
      { description: 'How requests without X-Capstan-Target-Variant choose a variant: weighted-random, sticky (one X-Capstan-Sticky-Key or keyField body value, one variant), or thompson (weights moved toward the best variant by feedback)' },
    ),
    approvalOverrides: Type.Array(
      Type.Object({
        model: Type.String(),
        version: Type.Integer(),
        approval: Type.String({ description: "The version's approval status when it was deployed" }),
        variant: Type.String(),
        actor: Type.String(),
        reason: Type.String(),
        at: Time(),
      }),
      { description: 'Deploys of unapproved versions an admin allowed (`allowUnapproved`), oldest first; the latest 50' },
    ),
    generation: Type.Integer({ description: 'Bumped on every applied configuration change' }),
    createdBy: Type.String(),
    createdAt: Time(),
    updatedAt: Time(),
  },
  {
    description: 'A real-time endpoint: variants with pinned model versions and traffic weights',
    examples: [
      {
        name: 'ncf',
        status: 'InService',
        statusReason: null,
        variants: [
          {
            name: 'primary',
            model: 'models:/ncf@champion',
            weight: 1,
            instances: 1,
            batching: { maxBatchSize: 1, maxDelayMs: 0 },
            intraOpThreads: 1,
            interOpThreads: 1,
            timeoutMs: 60000,
            handlerOptions: {},
            resolved: { name: 'ncf', version: 3, digest: 'sha256:9f2c…', framework: 'onnx' },
            live: { trafficPercent: 100, workers: 1, inFlight: 0, workerRestarts: 0 },
          },
        ],
        dataCapture: { enabled: false, samplingPercent: 100, rotateBytes: 16777216, rotateMs: 60000 },
        approvalOverrides: [],
        generation: 1,
        createdBy: 'key:ci',
        createdAt: '2026-01-05T10:00:00.000Z',
        updatedAt: '2026-01-05T10:00:00.000Z',
      },
    ],
  },
);

/** The endpoint list. */
export const EndpointListSchema = Type.Object({ items: Type.Array(EndpointSchema) }, { description: 'Every endpoint' });

/** What a deploy did. */
export const DeployResultSchema = Type.Object(
  {
    action: Type.Union([Type.Literal('created'), Type.Literal('updated'), Type.Literal('unchanged')]),
    endpoint: EndpointSchema,
    previous: Type.Optional(Type.Array(ResolvedModelSchema, { description: 'What was served before, when the endpoint existed' })),
    model: ResolvedModelSchema,
  },
  { description: 'The outcome of a deploy' },
);

/** What started an execution. */
export const ExecutionTriggerSchema = Type.Object({
  type: Type.Union([Type.Literal('manual'), Type.Literal('cron'), Type.Literal('artifact'), Type.Literal('webhook'), Type.Literal('git')], { description: 'git: a repository sync started it (detail: repository, commit)' }),
  by: Type.String({ description: 'key:<name>, local:<user> or the trigger' }),
  detail: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
});

/** One step of an execution. */
export const StepRecordSchema = Type.Object(
  {
    name: Type.String(),
    type: Type.String(),
    state: Type.Union(['pending', 'waiting', 'running', 'succeeded', 'failed', 'skipped', 'cancelled'].map((s) => Type.Literal(s))),
    attempts: Type.Integer(),
    failures: Type.Integer(),
    nextAttemptAt: Nullable(Type.Integer({ description: 'Epoch ms of the next retry while waiting' })),
    cacheKey: Nullable(Type.String()),
    cached: Type.Boolean(),
    cachedFrom: Nullable(Type.String()),
    outputs: Type.Record(Type.String(), Type.Object({ uri: Type.String(), digest: Type.String() })),
    properties: Type.Record(Type.String(), Type.Unknown()),
    metrics: Type.Record(Type.String(), Type.Number()),
    warnings: Type.Array(Type.String()),
    error: Nullable(Type.Object({ code: Type.String(), message: Type.String() })),
    startedAt: Nullable(Time()),
    finishedAt: Nullable(Time()),
    durationMs: Nullable(Type.Integer()),
  },
  { description: 'A step of an execution' },
);

/** A pipeline execution with its steps. */
export const PipelineExecutionSchema = Type.Object(
  {
    id: Type.String(),
    pipeline: Type.String(),
    pipelineVersion: Type.Integer(),
    params: Type.Record(Type.String(), Type.Unknown()),
    state: Type.Union(['queued', 'running', 'succeeded', 'failed', 'cancelled'].map((s) => Type.Literal(s))),
    trigger: ExecutionTriggerSchema,
    error: Nullable(Type.String()),
    cancelRequested: Type.Boolean(),
    createdAt: Time(),
    startedAt: Nullable(Time()),
    finishedAt: Nullable(Time()),
    durationMs: Nullable(Type.Integer()),
    steps: Type.Array(StepRecordSchema),
    definition: Type.Optional(Type.Record(Type.String(), Type.Unknown(), { description: 'The definition it runs (when one execution is read)' })),
    codePrefix: Type.Optional(Nullable(Type.String({ description: 'Where its code snapshot is (when one execution is read)' }))),
    codeDigest: Type.Optional(Nullable(Type.String({ description: 'Digest of its code snapshot (when one execution is read)' }))),
  },
  {
    description: 'A pipeline execution: queued → running → succeeded | failed | cancelled',
    examples: [
      {
        id: 'exe_01jh8…',
        pipeline: 'train-ncf',
        pipelineVersion: 2,
        params: { epochs: 5 },
        state: 'queued',
        trigger: { type: 'manual', by: 'key:ci' },
        error: null,
        cancelRequested: false,
        createdAt: '2026-01-05T10:00:00.000Z',
        startedAt: null,
        finishedAt: null,
        durationMs: null,
        steps: [],
      },
    ],
  },
);

/** A stored pipeline definition. */
export const PipelineSchema = Type.Object(
  {
    name: Type.String(),
    version: Type.Integer({ description: 'Increments whenever an apply changes the definition or code' }),
    definition: Type.Record(Type.String(), Type.Unknown(), { description: 'The compiled definition (see docs/pipelines.md)' }),
    source: Nullable(Type.String({ description: 'The YAML text it was applied from' })),
    codePrefix: Nullable(Type.String()),
    codeDigest: Nullable(Type.String()),
    createdAt: Time(),
    updatedAt: Time(),
  },
  { description: 'An applied pipeline' },
);

/** A pipeline with its triggers and latest execution. */
export const PipelineDescriptionSchema = Type.Object(
  {
    ...PipelineSchema.properties,
    triggers: Type.Array(Type.Object({ pipeline: Type.String(), name: Type.String(), type: Type.String(), lastFiredAt: Nullable(Time()), createdAt: Time() })),
    lastExecution: Nullable(PipelineExecutionSchema),
  },
  { description: 'A pipeline with its triggers and latest execution' },
);

/** One stored log line of a step. */
export const LogLineSchema = Type.Object(
  {
    executionId: Type.String(),
    pipeline: Type.String(),
    step: Type.String(),
    attempt: Type.Integer(),
    seq: Type.Integer(),
    at: Time(),
    stream: Type.Union([Type.Literal('stdout'), Type.Literal('stderr'), Type.Literal('system')]),
    line: Type.String(),
  },
  { description: 'A log line of a step' },
);

/** A tensor's name, datatype and shape (-1 = any size). */
export const OipTensorMetadataSchema = Type.Object({ name: Type.String(), datatype: Type.String({ description: 'FP32, FP64, INT32, INT64, INT8, UINT8, BOOL' }), shape: Type.Array(Type.Integer()) });

/** One tensor of an inference request or response. */
export const OipTensorSchema = Type.Object(
  {
    name: Type.String(),
    shape: Type.Array(Type.Integer({ minimum: 0 })),
    datatype: Type.String({ description: 'FP32, FP64, INT32, INT64, INT8, UINT8 or BOOL' }),
    data: Type.Array(Type.Unknown(), { description: 'Row-major values, flat or nested' }),
  },
  { description: 'A tensor' },
);

/** An Open Inference Protocol v2 inference request. */
export const OipInferenceRequestSchema = Type.Object(
  {
    id: Type.Optional(Type.String({ description: 'Echoed in the response' })),
    inputs: Type.Array(OipTensorSchema, { minItems: 1 }),
    outputs: Type.Optional(Type.Array(Type.Object({ name: Type.String() }), { description: 'Outputs to return; default all' })),
  },
  { description: 'Open Inference Protocol v2 inference request (JSON tensors)' },
);

/** An Open Inference Protocol v2 inference response. */
export const OipInferenceResponseSchema = Type.Object(
  { model_name: Type.String(), model_version: Type.String(), id: Type.Optional(Type.String()), outputs: Type.Array(OipTensorSchema) },
  { description: 'Open Inference Protocol v2 inference response' },
);

/** Open Inference Protocol model metadata. */
export const OipModelMetadataSchema = Type.Object(
  { name: Type.String(), versions: Type.Array(Type.String()), platform: Type.String({ description: 'onnxruntime_onnx, capstan_js or capstan_http' }), inputs: Type.Array(OipTensorMetadataSchema), outputs: Type.Array(OipTensorMetadataSchema) },
  { description: 'Open Inference Protocol model metadata' },
);
