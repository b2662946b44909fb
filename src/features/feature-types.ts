/** Value types a join key or a feature may have; each maps to one DuckDB type (offline) and one JSON type (online). */
export const VALUE_TYPES = ['string', 'int64', 'float64', 'bool', 'timestamp'] as const;

/** One value type. */
export type ValueType = (typeof VALUE_TYPES)[number];

/** A typed column: a join key of an entity or a feature of a group. */
export interface TypedColumn {
  name: string;
  type: ValueType;
  description?: string;
}

/** An entity: what features describe (a customer), identified by typed join keys. */
export interface FeatureEntity {
  name: string;
  joinKeys: TypedColumn[];
  description: string;
  createdAt: string;
  updatedAt: string;
}

/** One version of a feature group: typed features of one or more entities, with an event time and a TTL. */
export interface FeatureGroup {
  name: string;
  version: number;
  /** Entity names; the record id is the concatenation of their join keys, in this order. */
  entities: string[];
  /** The join keys of the record id, resolved from the entities when the group was applied. */
  joinKeys: TypedColumn[];
  /** Column holding when the value was true in the world. */
  eventTimeColumn: string;
  /** Column holding when the value became known; absent: the event time (known when it happened). */
  createdTimeColumn: string | null;
  /** Values older than this at the read time are expired (null); null: they never expire. */
  ttlMs: number | null;
  features: TypedColumn[];
  owner: string | null;
  description: string;
  tags: Record<string, string>;
  createdAt: string;
  updatedAt: string;
}

/** How fresh one group version's online values are (what `capstan_features_freshness_seconds` reports). */
export interface GroupFreshness {
  group: string;
  version: number;
  /** Event time of the newest value in the online store; null before any row was materialized. */
  newestEventAt: string | null;
  /** Seconds from that event time to now; null with it. */
  ageSeconds: number | null;
  /** When materialization last ran. */
  materializedAt: string;
  rowsWritten: number;
}

/** A parsed feature reference: `group:feature` (latest version) or `group@2:feature`. */
export interface FeatureRef {
  /** The reference as the caller wrote it. */
  ref: string;
  group: string;
  /** Undefined: the group's latest version. */
  version?: number;
  feature: string;
}
