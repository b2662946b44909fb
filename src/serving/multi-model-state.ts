import type { ModelCacheCounters } from './model-cache.js';

/** One resident model of a multi-model variant, as `capstan endpoints models` lists it. */
export interface ResidentModelState {
  /** The cache key: `ncf/3` for a registry version (aliases resolve to it), the folder name for an artifact prefix. */
  model: string;
  /** Estimated resident bytes (package size on disk). */
  bytes: number;
  loadMs: number;
  loadedAt: string;
  lastUsedAt: string;
  /** Requests that found it resident. */
  hits: number;
  invocations: number;
  errors: number;
  inFlight: number;
}

/** What one multi-model variant holds in this process, with its cache counters since it started (`notReady`: requests answered 429 while their model loaded). */
export interface MultiModelVariantState extends ModelCacheCounters {
  variant: string;
  source: string;
  memoryBudgetBytes: number;
  maxModels: number;
  residentBytes: number;
  /** Targets being loaded now. */
  loading: string[];
  /** Most recently used first. */
  models: ResidentModelState[];
}

/** `GET /api/v1/endpoints/{name}/models`: the multi-model variants of an endpoint and what each has loaded in the answering process. */
export interface EndpointModels {
  endpoint: string;
  variants: MultiModelVariantState[];
}
