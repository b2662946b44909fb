/**
 * The registry's public contract: experiments and runs, model groups and immutable versions, approval
 * with audit history, aliases, comparisons and webhooks. The local service (`createRegistry`) and the
 * HTTP client (`RegistryClient` in `src/sdk/registry-client.ts`) implement the same interface, so the
 * CLI, pipelines and serving code work the same embedded or against a server. Every value returned is
 * plain JSON; times are ISO-8601 strings.
 */
import type { TensorSpec as ManifestTensorSpec } from '../core/model-manifest.js';
import type { MetricSeriesInput, RunMetricSeries, RunPage, RunSearch } from './run-search.js';

/** Approval states of a model version (SageMaker Model Registry's names). */
export const APPROVAL_STATUSES = ['PendingManualApproval', 'Approved', 'Rejected'] as const;

/** One approval state. */
export type ApprovalStatus = (typeof APPROVAL_STATUSES)[number];

/** Events the registry publishes on `platform.events` and to webhooks. */
export const REGISTRY_EVENT_TYPES = ['model_version.created', 'model_version.approved', 'model_version.rejected', 'model_version.alias_set'] as const;

/** One registry event type. */
export type RegistryEventType = (typeof REGISTRY_EVENT_TYPES)[number];

/** Life of a run. */
export type RunStatus = 'running' | 'finished' | 'failed' | 'killed';

/** Who performs an action, for audit records; the server fills it from the API key. */
export interface ActionContext {
  /** `key:<name>` over HTTP, `local:<user>` in the CLI, `system:<what>` for automation; default `local:<os user>`. */
  actor?: string;
}

/** A named group of runs. */
export interface Experiment {
  id: string;
  name: string;
  description: string;
  tags: Record<string, string>;
  createdAt: string;
  updatedAt: string;
}

/** Input for `createExperiment`. */
export interface CreateExperimentInput {
  name: string;
  description?: string;
  tags?: Record<string, string>;
}

/** One training (or evaluation) run: params, tags, metrics and artifacts, linked to its pipeline step. */
export interface Run {
  id: string;
  experiment: string;
  name: string;
  status: RunStatus;
  params: Record<string, string>;
  tags: Record<string, string>;
  /** The latest value of each metric (highest step, then latest timestamp). */
  metrics: Record<string, number>;
  pipelineExecutionId: string | null;
  pipelineStep: string | null;
  /** Store URI under which the run's artifacts live (`…/runs/<id>/artifacts`). */
  artifactUri: string;
  createdBy: string;
  startedAt: string;
  endedAt: string | null;
  /** Milliseconds between start and end, or null while running. */
  durationMs: number | null;
}

/** Input for `createRun`; the experiment is created when it does not exist yet. */
export interface CreateRunInput {
  experiment: string;
  name?: string;
  params?: Record<string, string | number | boolean>;
  tags?: Record<string, string>;
  pipelineExecutionId?: string;
  pipelineStep?: string;
}

/** Input for `updateRun`: ending a run sets its end time. */
export interface UpdateRunInput {
  status?: RunStatus;
  name?: string;
}

/** Filter for `listRuns`. */
export interface RunFilter {
  experiment?: string;
  status?: RunStatus;
  pipelineExecutionId?: string;
  /** Newest first; default 100, at most 1000. */
  limit?: number;
}

/** One point of a metric's time series. */
export interface MetricPoint {
  key: string;
  value: number;
  /** Training step; default 0. */
  step?: number;
  /** Epoch milliseconds; default now. */
  timestamp?: number;
}

/** One stored object under a run or a model version. */
export interface ArtifactFile {
  /** Path relative to the run's or version's artifact root. */
  path: string;
  /** The store key, for `GET /api/v1/artifacts/{key}`. */
  key: string;
  size: number;
  sha256: string;
}

/** Signature of a model's inputs or outputs, as declared in `model.json` (core/model-manifest). */
export type TensorSpec = ManifestTensorSpec;

/** Where a version came from. */
export interface Lineage {
  runId?: string;
  pipelineExecutionId?: string;
  pipelineStep?: string;
  /** Digests of the input datasets by channel name (`sha256:…`). */
  datasetDigests?: Record<string, string>;
  /** Digest of the training code (`sha256:…` or a git commit). */
  codeDigest?: string;
  /** The registered repository whose commit the pipeline ran from (a repository sync started it). */
  repository?: string;
  /** That git commit (40 hex). */
  commit?: string;
}

/** Per-group approval policy: auto-approve a new version when a CEL condition over it holds. */
export interface ApprovalPolicy {
  /** CEL over `metrics`, `params`, `tags` (maps), e.g. `metrics["hr@10"] >= 0.6`. */
  autoApprove: string;
}

/** A model group: versions, aliases and an optional approval policy. */
export interface ModelGroup {
  name: string;
  description: string;
  tags: Record<string, string>;
  approvalPolicy: ApprovalPolicy | null;
  /** Highest version number handed out so far (0 before the first). */
  latestVersion: number;
  /** Alias → version. */
  aliases: Record<string, number>;
  createdAt: string;
  updatedAt: string;
}

/** Input for `createModel` / `updateModel`. */
export interface ModelGroupInput {
  description?: string;
  tags?: Record<string, string>;
}

/** An immutable model version; only its approval status and aliases change. */
export interface ModelVersion {
  name: string;
  version: number;
  /** Store URI of the model package (a prefix holding `model.json` and the model files). */
  artifactUri: string;
  /** Content digest of the package, `sha256:<hex>` (see `packageDigest`). */
  digest: string;
  framework: string;
  signature: { inputs: TensorSpec[]; outputs: TensorSpec[] };
  metrics: Record<string, number>;
  params: Record<string, string>;
  tags: Record<string, string>;
  description: string;
  lineage: Lineage;
  approval: ApprovalStatus;
  /** Aliases currently pointing here. */
  aliases: string[];
  createdBy: string;
  createdAt: string;
}

/**
 * Input for `registerVersion`. Give exactly one source: `packageDir`, a local directory uploaded to
 * `models/<name>/<version>/`, or `artifactUri`, a package already in the artifact store (copied there).
 */
export interface RegisterVersionInput {
  packageDir?: string;
  artifactUri?: string;
  metrics?: Record<string, number>;
  params?: Record<string, string | number | boolean>;
  tags?: Record<string, string>;
  description?: string;
  lineage?: Lineage;
}

/** Filter for `listVersions`. */
export interface VersionFilter {
  approval?: ApprovalStatus;
}

/** Input for `setApproval`. */
export interface ApprovalInput {
  status: ApprovalStatus;
  comment?: string;
}

/** Every kind of audit event. */
export const AUDIT_ACTIONS = ['version.created', 'approval.changed', 'alias.set', 'alias.deleted', 'policy.evaluated', 'policy.changed'] as const;

/** What an audit event records. */
export type AuditAction = (typeof AUDIT_ACTIONS)[number];

/** One audit event: who did what, when, from what to what, and why. */
export interface AuditEvent {
  id: string;
  model: string;
  version: number | null;
  action: AuditAction;
  actor: string;
  /** Previous value (approval status, alias target version), or null. */
  from: string | null;
  /** New value, or null. */
  to: string | null;
  /** Alias name for alias events. */
  alias: string | null;
  comment: string;
  at: string;
}

/** Filter and paging for `auditLog`: newest first, `cursor` is the previous page's `nextCursor`. */
export interface AuditLogFilter {
  model?: string;
  actor?: string;
  action?: AuditAction;
  /** Default 50, at most 500. */
  limit?: number;
  cursor?: string;
}

/** One page of the registry's audit log; `nextCursor` is null on the last page. */
export interface AuditPage {
  events: AuditEvent[];
  nextCursor: string | null;
}

/** Filter for `history`. */
export interface HistoryFilter {
  version?: number;
}

/** What to compare: versions of one model (default: all) and chosen metrics and params (default: all). */
export interface CompareVersionsInput {
  versions?: number[];
  metrics?: string[];
  params?: string[];
}

/** What to compare across runs. */
export interface CompareRunsInput {
  runs: string[];
  metrics?: string[];
  params?: string[];
}

/** One column of a comparison (a version or a run). */
export interface ComparisonRow {
  /** `ncf/2` or a run id. */
  id: string;
  version?: number;
  approval?: ApprovalStatus;
  aliases?: string[];
  metrics: Record<string, number | null>;
  params: Record<string, string | null>;
}

/** A comparison table: chosen metrics and params across versions or runs, with the best per metric. */
export interface Comparison {
  metrics: string[];
  params: string[];
  rows: ComparisonRow[];
  /** Per metric, the row id holding the best value: highest, or lowest for loss-like names (null when no row has it). */
  best: Record<string, string | null>;
}

/** Result of `pullVersion`. */
export interface PullResult {
  name: string;
  version: number;
  digest: string;
  directory: string;
  files: string[];
}

/** A webhook subscription. The secret is shown only when the webhook is created. */
export interface Webhook {
  id: string;
  url: string;
  events: RegistryEventType[];
  /** Only these models; empty = all. */
  models: string[];
  description: string;
  createdBy: string;
  createdAt: string;
  lastDeliveryAt: string | null;
  lastStatus: string | null;
}

/** A webhook as returned by `createWebhook`, once, with its signing secret. */
export interface CreatedWebhook extends Webhook {
  secret: string;
}

/** Input for `createWebhook`; a `whsec_` secret (Standard Webhooks) is generated when none is given. */
export interface CreateWebhookInput {
  url: string;
  events?: RegistryEventType[];
  models?: string[];
  description?: string;
  secret?: string;
}

/** The registry's operations; implemented locally and by the HTTP client. */
export interface RegistryService {
  /** Creates an experiment; CAPSTAN_REGISTRY_EXPERIMENT_EXISTS when the name is taken. */
  createExperiment(input: CreateExperimentInput): Promise<Experiment>;
  /** Every experiment, by name. */
  listExperiments(): Promise<Experiment[]>;
  /** One experiment by name. */
  getExperiment(name: string): Promise<Experiment>;

  /** Starts a run (status `running`) in an experiment, creating the experiment when needed. */
  createRun(input: CreateRunInput, ctx?: ActionContext): Promise<Run>;
  /** One run by id. */
  getRun(id: string): Promise<Run>;
  /** Runs, newest first. */
  listRuns(filter?: RunFilter): Promise<Run[]>;
  /** A page of runs filtered, sorted by start time, name, status, a metric or a param, and paged by offset, with the total and the column keys. */
  searchRuns(search?: RunSearch): Promise<RunPage>;
  /** One metric of up to 100 runs, each cut to a fixed number of points on the server (min and max kept). */
  metricSeries(input: MetricSeriesInput): Promise<RunMetricSeries[]>;
  /** Changes a run's status or name; a final status records the end time. */
  updateRun(id: string, input: UpdateRunInput): Promise<Run>;
  /** Appends metric points (batches of 1–10,000) in one transaction; returns how many were stored. */
  logMetrics(runId: string, points: MetricPoint[]): Promise<{ count: number }>;
  /** One metric's time series, by step then timestamp. */
  metricHistory(runId: string, key: string): Promise<MetricPoint[]>;
  /** Logs params; a param, once logged, cannot change (CAPSTAN_REGISTRY_PARAM_CONFLICT). */
  logParams(runId: string, params: Record<string, string | number | boolean>): Promise<Run>;
  /** Sets (or overwrites) tags. */
  setRunTags(runId: string, tags: Record<string, string>): Promise<Run>;
  /** Uploads a local directory (or file) under the run's artifact root, at `subPath` (default the root). */
  uploadRunArtifacts(runId: string, localPath: string, subPath?: string): Promise<ArtifactFile[]>;
  /** The run's artifacts. */
  listRunArtifacts(runId: string): Promise<ArtifactFile[]>;
  /** A table of chosen metrics and params across runs. */
  compareRuns(input: CompareRunsInput): Promise<Comparison>;

  /** Creates an empty model group; CAPSTAN_REGISTRY_MODEL_EXISTS when it exists. */
  createModel(name: string, input?: ModelGroupInput): Promise<ModelGroup>;
  /** Every model group, by name. */
  listModels(): Promise<ModelGroup[]>;
  /** One model group. */
  getModel(name: string): Promise<ModelGroup>;
  /** Changes a group's description or tags. */
  updateModel(name: string, input: ModelGroupInput): Promise<ModelGroup>;
  /** Sets (or, with null, clears) the auto-approval policy; the CEL condition is checked first. */
  setApprovalPolicy(name: string, policy: ApprovalPolicy | null, ctx?: ActionContext): Promise<ModelGroup>;

  /** Registers the next version of a model (creating the group when needed) from a model package. */
  registerVersion(name: string, input: RegisterVersionInput, ctx?: ActionContext): Promise<ModelVersion>;
  /** A model's versions, oldest first. */
  listVersions(name: string, filter?: VersionFilter): Promise<ModelVersion[]>;
  /** One version. */
  getVersion(name: string, version: number): Promise<ModelVersion>;
  /** The files of a version's package. */
  listVersionFiles(name: string, version: number): Promise<ArtifactFile[]>;
  /** Resolves `models:/name@alias`, `models:/name/3`, `name@alias`, `name/3` or `name/latest` to a version. */
  resolve(ref: string): Promise<ModelVersion>;
  /** Moves a version between approval states; every change is an audit event. */
  setApproval(name: string, version: number, input: ApprovalInput, ctx?: ActionContext): Promise<ModelVersion>;
  /** Points an alias at a version, creating or moving it. */
  setAlias(name: string, alias: string, version: number, ctx?: ActionContext): Promise<ModelGroup>;
  /** Removes an alias; CAPSTAN_REGISTRY_ALIAS_NOT_FOUND when it does not exist. */
  deleteAlias(name: string, alias: string, ctx?: ActionContext): Promise<ModelGroup>;
  /** The audit history of a model (or one version), oldest first. */
  history(name: string, filter?: HistoryFilter): Promise<AuditEvent[]>;
  /** Every model's audit events, newest first, paged with a cursor. */
  auditLog(filter?: AuditLogFilter): Promise<AuditPage>;
  /** A table of chosen metrics and params across versions of one model. */
  compareVersions(name: string, input?: CompareVersionsInput): Promise<Comparison>;
  /** Downloads a version's package into `directory` (which must be absent or empty) and verifies its digest. */
  pullVersion(ref: string, directory: string): Promise<PullResult>;

  /** Subscribes a URL to registry events; the URL passes the outbound guard. */
  createWebhook(input: CreateWebhookInput, ctx?: ActionContext): Promise<CreatedWebhook>;
  /** Every webhook (without secrets). */
  listWebhooks(): Promise<Webhook[]>;
  /** Removes a webhook; pending deliveries are dropped when they run. */
  deleteWebhook(id: string): Promise<void>;
}
