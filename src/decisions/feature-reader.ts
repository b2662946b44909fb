/**
 * The port through which a `features` task reads online features: the structural subset of the
 * features context's service it needs (docs: the features/decisions contract). Declared here so the
 * decisions context compiles and runs without the features context; the platform's `features`
 * service satisfies it when installed.
 */

/** One online read for many entities; refs are 'group:feature' or 'group@2:feature'. */
export interface OnlineReadRequest {
  features: string[];
  entities: Array<Record<string, string | number>>;
  /** ISO time to evaluate TTL at; default now. */
  at?: string;
}

/** One feature value of one entity. */
export interface OnlineFeatureValue {
  /** Null unless status is PRESENT. */
  value: unknown;
  status: 'PRESENT' | 'EXPIRED' | 'NOT_FOUND';
  /** ISO event time of the stored value (also when EXPIRED). */
  eventTime: string | null;
}

/** The values per entity, in request order, keyed by the ref as requested. */
export interface OnlineReadResult {
  features: string[];
  results: Array<{ entity: Record<string, string | number>; values: Record<string, OnlineFeatureValue> }>;
}

/** What a features task needs of the features context. */
export interface FeatureReader {
  readOnline(request: OnlineReadRequest): Promise<OnlineReadResult>;
}
