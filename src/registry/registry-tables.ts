/** Row types of the registry's tables (migration `0002_registry`), for `db.as<RegistryTables>()`. */

/** An `experiments` row. */
export interface ExperimentRow {
  id: string;
  name: string;
  description: string;
  tags: string;
  created_at: number;
  updated_at: number;
}

/** A `runs` row. */
export interface RunRow {
  id: string;
  experiment_id: string;
  name: string;
  status: string;
  pipeline_execution_id: string | null;
  pipeline_step: string | null;
  created_by: string;
  started_at: number;
  ended_at: number | null;
  updated_at: number;
}

/** A `run_params` or `run_tags` row. */
export interface RunKeyValueRow {
  run_id: string;
  key: string;
  value: string;
}

/** A `run_metrics` or `run_latest_metrics` row. */
export interface MetricRow {
  run_id: string;
  key: string;
  step: number;
  timestamp: number;
  value: number;
}

/** A `run_metric_rollups` row: one bucket of `width` steps of a metric series (migration `0031_metric_rollups`). */
export interface RollupRow {
  run_id: string;
  key: string;
  width: number;
  bucket: number;
  n: number;
  first_step: number;
  last_step: number;
  min_step: number;
  min_value: number;
  max_step: number;
  max_value: number;
}

/** A `model_groups` row. */
export interface ModelGroupRow {
  id: string;
  name: string;
  description: string;
  tags: string;
  approval_policy: string | null;
  latest_version: number;
  created_at: number;
  updated_at: number;
}

/** A `model_versions` row. */
export interface ModelVersionRow {
  id: string;
  model_id: string;
  version: number;
  artifact_uri: string;
  digest: string;
  framework: string;
  signature: string;
  metrics: string;
  params: string;
  tags: string;
  description: string;
  lineage: string;
  run_id: string | null;
  approval: string;
  created_by: string;
  created_at: number;
  updated_at: number;
}

/** A `model_aliases` row. */
export interface ModelAliasRow {
  model_id: string;
  alias: string;
  version: number;
  updated_by: string;
  updated_at: number;
}

/** A `model_registrations` row: a reserved version whose package a live or dead process is copying (migration `0008_model_registrations`). */
export interface ModelRegistrationRow {
  id: string;
  model_id: string;
  version: number;
  /** `host:pid:token` of the registering process. */
  owner: string;
  created_at: number;
}

/** A `registry_audit` row. */
export interface AuditRow {
  id: string;
  model_id: string;
  version: number | null;
  action: string;
  actor: string;
  from_value: string | null;
  to_value: string | null;
  alias: string | null;
  comment: string;
  created_at: number;
}

/** A `registry_webhooks` row. */
export interface WebhookRow {
  id: string;
  url: string;
  events: string;
  models: string;
  secret: string;
  description: string;
  created_by: string;
  created_at: number;
  last_delivery_at: number | null;
  last_status: string | null;
}

/** The registry's tables. */
export interface RegistryTables {
  experiments: ExperimentRow;
  runs: RunRow;
  run_params: RunKeyValueRow;
  run_tags: RunKeyValueRow;
  run_metrics: MetricRow;
  run_latest_metrics: MetricRow;
  run_metric_rollups: RollupRow;
  model_groups: ModelGroupRow;
  model_versions: ModelVersionRow;
  model_aliases: ModelAliasRow;
  model_registrations: ModelRegistrationRow;
  registry_audit: AuditRow;
  registry_webhooks: WebhookRow;
}
