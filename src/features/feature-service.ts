import type { FeatureDefinitionsInput } from './feature-definitions.js';
import type { FeatureEntity, FeatureGroup, GroupFreshness } from './feature-types.js';
import type { IngestResult, IngestSource } from './ingestion.js';
import type { TrainingSetRequest, TrainingSetResult } from './training-set.js';

/** One online read: values for many entities at once. Feature refs are 'group:feature' (latest version of the group) or 'group@2:feature'. */
export interface OnlineReadRequest {
  /** e.g. ['transactions:amount_7d', 'customers:age'] */
  features: string[];
  /** Join keys, e.g. [{ customer_id: 'c1' }] */
  entities: Array<Record<string, string | number>>;
  /** ISO time to evaluate TTL at; default now. */
  at?: string;
}

/** One feature value of one entity as the online store holds it. */
export interface OnlineFeatureValue {
  /** null unless status PRESENT */
  value: unknown;
  status: 'PRESENT' | 'EXPIRED' | 'NOT_FOUND';
  /** ISO, the stored value's event time (also when EXPIRED) */
  eventTime: string | null;
}

/** The answer to an online read. */
export interface OnlineReadResult {
  /** echo, in request order */
  features: string[];
  /** one per entity, in request order */
  results: Array<{
    entity: Record<string, string | number>;
    /** keyed by the feature ref as requested */
    values: Record<string, OnlineFeatureValue>;
  }>;
}

/** What `apply` did to each definition. */
export interface ApplyResult {
  entities: Array<{ name: string; action: 'created' | 'updated' | 'unchanged' }>;
  featureGroups: Array<{ name: string; version: number; action: 'created' | 'updated' | 'unchanged' }>;
}

/** What a materialization run did. */
export interface MaterializeResult {
  group: string;
  version: number;
  /** Record ids read from rows ingested since the last run. */
  rowsRead: number;
  /** Online values that changed (a re-run writes none). */
  rowsWritten: number;
  /** Ingestion time up to which rows are online. */
  watermark: string | null;
  /** Newest event time online, or null. */
  newestEventTime: string | null;
}

/** The feature store: definitions, ingestion, point-in-time training sets, materialization and online reads. */
export interface FeatureService {
  /** Creates or updates entities and feature groups (all or nothing); an incompatible change of a stored version is CAPSTAN_FEATURES_SCHEMA_INCOMPATIBLE. */
  apply(definitions: FeatureDefinitionsInput): Promise<ApplyResult>;
  /** Every entity. */
  listEntities(): Promise<FeatureEntity[]>;
  /** Every feature group version. */
  listGroups(): Promise<FeatureGroup[]>;
  /** Every materialized group version with the age of its newest online value. */
  freshness(): Promise<GroupFreshness[]>;
  /** One group version (default latest); CAPSTAN_FEATURES_NOT_FOUND when missing. */
  getGroup(name: string, version?: number): Promise<FeatureGroup>;
  /** Ingests a CSV or Parquet file into a group's latest (or given) version. */
  ingest(group: string, source: IngestSource, options?: { version?: number }): Promise<IngestResult>;
  /** Ingests pushed records; more than the configured limit is CAPSTAN_FEATURES_BATCH_TOO_LARGE. */
  pushRecords(group: string, records: unknown[], options?: { version?: number }): Promise<IngestResult>;
  /** Builds a point-in-time training set into the artifact store. */
  trainingSet(request: TrainingSetRequest): Promise<TrainingSetResult>;
  /** Copies rows ingested since the last run to the online store (idempotent). */
  materialize(group: string, options?: { version?: number }): Promise<MaterializeResult>;
  /** One online read: values for many entities at once. Feature refs are 'group:feature' (latest version of the group) or 'group@2:feature'. */
  readOnline(request: OnlineReadRequest): Promise<OnlineReadResult>;
}

/**
 * Deleting definitions: what `kind: Entity` / `kind: FeatureGroup` deletes and prunes use, on the
 * platform's own service (not offered over HTTP).
 */
export interface FeatureDefinitionDeletion {
  /** Deletes every version of a group with its offline files and online values; CAPSTAN_FEATURES_NOT_FOUND when missing. */
  deleteGroup(name: string): Promise<void>;
  /** Deletes an entity no group uses (else CAPSTAN_FEATURES_SCHEMA_INCOMPATIBLE naming them); CAPSTAN_FEATURES_NOT_FOUND when missing. */
  deleteEntity(name: string): Promise<void>;
}
