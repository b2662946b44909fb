import { Type } from 'typebox';

/** TypeBox schemas of the registry API, shared by the model, experiment and webhook routes. */

const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) => Type.Union([t, Type.Null()]);
const StringMap = Type.Record(Type.String(), Type.String());
const NumberMap = Type.Record(Type.String(), Type.Number());

/** Model name path parameter (checked again by the service, which answers CAPSTAN_NAME_INVALID). */
export const NameParams = Type.Object({ name: Type.String({ maxLength: 200 }) });
/** Model name and version path parameters. */
export const VersionParams = Type.Object({ name: Type.String({ maxLength: 200 }), version: Type.String({ maxLength: 20 }) });
/** Run id path parameter. */
export const RunParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 100 }) });

/** A version's approval state. */
export const ApprovalStatusSchema = Type.Union([Type.Literal('PendingManualApproval'), Type.Literal('Approved'), Type.Literal('Rejected')]);
/** The registry events a webhook can subscribe to. */
export const RegistryEventSchema = Type.Union([
  Type.Literal('model_version.created'),
  Type.Literal('model_version.approved'),
  Type.Literal('model_version.rejected'),
  Type.Literal('model_version.alias_set'),
]);

const TensorSpecSchema = Type.Object({ name: Type.String(), dtype: Type.Optional(Type.String()), shape: Type.Optional(Type.Array(Type.Union([Type.Number(), Type.String(), Type.Null()]))) });

/** Where a version came from: run, execution, step, dataset and code digests. */
export const LineageSchema = Type.Object({
  runId: Type.Optional(Type.String({ maxLength: 200 })),
  pipelineExecutionId: Type.Optional(Type.String({ maxLength: 200 })),
  pipelineStep: Type.Optional(Type.String({ maxLength: 200 })),
  datasetDigests: Type.Optional(StringMap),
  codeDigest: Type.Optional(Type.String({ maxLength: 200 })),
  repository: Type.Optional(Type.String({ maxLength: 200 })),
  commit: Type.Optional(Type.String({ maxLength: 200 })),
});

/** A model group as the API returns it. */
export const ModelGroupSchema = Type.Object(
  {
    name: Type.String(),
    description: Type.String(),
    tags: StringMap,
    approvalPolicy: Nullable(Type.Object({ autoApprove: Type.String() })),
    latestVersion: Type.Integer(),
    aliases: Type.Record(Type.String(), Type.Integer()),
    createdAt: Type.String(),
    updatedAt: Type.String(),
  },
  { description: 'A model group: versions, aliases and an optional auto-approval policy' },
);

/** A model version as the API returns it. */
export const ModelVersionSchema = Type.Object(
  {
    name: Type.String(),
    version: Type.Integer(),
    artifactUri: Type.String(),
    digest: Type.String({ description: 'sha256:<hex> over the package files (see docs/registry.md)' }),
    framework: Type.String(),
    signature: Type.Object({ inputs: Type.Array(TensorSpecSchema), outputs: Type.Array(TensorSpecSchema) }),
    metrics: NumberMap,
    params: StringMap,
    tags: StringMap,
    description: Type.String(),
    lineage: LineageSchema,
    approval: ApprovalStatusSchema,
    aliases: Type.Array(Type.String()),
    createdBy: Type.String(),
    createdAt: Type.String(),
  },
  { description: 'An immutable model version' },
);

/** One file of a version's package. */
export const ArtifactFileSchema = Type.Object({ path: Type.String(), key: Type.String(), size: Type.Integer(), sha256: Type.String() });

/** One entry of a group's or version's audit history. */
export const AuditEventSchema = Type.Object({
  id: Type.String(),
  model: Type.String(),
  version: Nullable(Type.Integer()),
  action: Type.String(),
  actor: Type.String(),
  from: Nullable(Type.String()),
  to: Nullable(Type.String()),
  alias: Nullable(Type.String()),
  comment: Type.String(),
  at: Type.String(),
});

/** A table of metrics and params across versions or runs, with the best per metric. */
export const ComparisonSchema = Type.Object({
  metrics: Type.Array(Type.String()),
  params: Type.Array(Type.String()),
  rows: Type.Array(
    Type.Object({
      id: Type.String(),
      version: Type.Optional(Type.Integer()),
      approval: Type.Optional(ApprovalStatusSchema),
      aliases: Type.Optional(Type.Array(Type.String())),
      metrics: Type.Record(Type.String(), Nullable(Type.Number())),
      params: Type.Record(Type.String(), Nullable(Type.String())),
    }),
  ),
  best: Type.Record(Type.String(), Nullable(Type.String())),
});

/** A registered webhook (its secret is shown only when created). */
export const WebhookSchema = Type.Object({
  id: Type.String(),
  url: Type.String(),
  events: Type.Array(RegistryEventSchema),
  models: Type.Array(Type.String()),
  description: Type.String(),
  createdBy: Type.String(),
  createdAt: Type.String(),
  lastDeliveryAt: Nullable(Type.String()),
  lastStatus: Nullable(Type.String()),
  secret: Type.Optional(Type.String({ description: 'Shown only in the answer to the create request' })),
});

/** An experiment: a named set of runs. */
export const ExperimentSchema = Type.Object({ id: Type.String(), name: Type.String(), description: Type.String(), tags: StringMap, createdAt: Type.String(), updatedAt: Type.String() });

/** A run's state. */
export const RunStatusSchema = Type.Union([Type.Literal('running'), Type.Literal('finished'), Type.Literal('failed'), Type.Literal('killed')]);

/** A tracked run with params, tags, latest metrics and links. */
export const RunSchema = Type.Object({
  id: Type.String(),
  experiment: Type.String(),
  name: Type.String(),
  status: RunStatusSchema,
  params: StringMap,
  tags: StringMap,
  metrics: NumberMap,
  pipelineExecutionId: Nullable(Type.String()),
  pipelineStep: Nullable(Type.String()),
  artifactUri: Type.String(),
  createdBy: Type.String(),
  startedAt: Type.String(),
  endedAt: Nullable(Type.String()),
  durationMs: Nullable(Type.Integer()),
});

/** A page of a run search with its total and the table's column keys. */
export const RunPageSchema = Type.Object({ runs: Type.Array(RunSchema), total: Type.Integer(), offset: Type.Integer(), paramKeys: Type.Array(Type.String()), metricKeys: Type.Array(Type.String()) });

/** One run's metric as downsampled [step, value] points; `total` is how many were logged. */
export const RunMetricSeriesSchema = Type.Object({ runId: Type.String(), key: Type.String(), total: Type.Integer(), points: Type.Array(Type.Tuple([Type.Number(), Type.Number()])) });

/** A page of the registry's audit log. */
export const AuditPageSchema = Type.Object({ events: Type.Array(AuditEventSchema), nextCursor: Nullable(Type.String()) });

/** One point of a metric's time series. */
export const MetricPointSchema = Type.Object({
  key: Type.String({ minLength: 1, maxLength: 250 }),
  value: Type.Number(),
  step: Type.Optional(Type.Integer({ minimum: 0 })),
  timestamp: Type.Optional(Type.Integer({ minimum: 0 })),
});

/** Params and tags as the API accepts them: strings, numbers or booleans. */
export const ScalarMap = Type.Record(Type.String(), Type.Union([Type.String(), Type.Number(), Type.Boolean()]));

/** Splits `1,2,3` or `hr@10,ndcg@10` into trimmed, non-empty parts. */
export function splitList(text: string | undefined): string[] | undefined {
  if (text === undefined) return undefined;
  return text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}
