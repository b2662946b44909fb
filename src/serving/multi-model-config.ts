import type { CapstanError } from '../core/errors.js';
import type { ResolvedModel } from './endpoint.js';

/** Where a multi-model variant finds its models. */
export type MultiModelSource = { kind: 'registry'; group: string } | { kind: 'artifacts'; prefix: string };

/** A multi-model block as a user writes it (`variants[].multiModel`); every field but `source` has a default. */
export interface MultiModelInput {
  /**
   * `models:/ncf` (a registry model group: targets `ncf/3`, `ncf@champion`) or `artifacts:/mme/ncf`
   * (an artifact prefix: each sub-folder is a model package and its folder name the target).
   */
  source: string;
  /** Estimated bytes of resident models (package size on disk) before the least recently used is unloaded; default 1 GiB. */
  memoryBudgetBytes?: number;
  /** Resident models at most, whatever their size (each holds its own worker threads); default 32. */
  maxModels?: number;
  /** How long a request may wait for its model to load before it gets 429 with Retry-After; default 5000 ms. */
  loadWaitMs?: number;
  /** How long a model that failed to load answers its load error before the next request tries again; default 5000 ms. */
  failedRetryMs?: number;
}

/** A multi-model block with every default filled in. */
export interface MultiModelConfig {
  source: string;
  memoryBudgetBytes: number;
  maxModels: number;
  loadWaitMs: number;
  failedRetryMs: number;
}

const GROUP = /^[a-z0-9][a-z0-9._-]{0,62}$/;
const PREFIX = /^[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*$/;

/** Reads a source string; undefined when it is neither a registry group nor an artifact prefix. */
export function parseMultiModelSource(source: string): MultiModelSource | undefined {
  if (source.startsWith('models:/')) {
    const group = source.slice('models:/'.length).replace(/\/$/, '');
    return GROUP.test(group) ? { kind: 'registry', group } : undefined;
  }
  if (source.startsWith('artifacts:/')) {
    const prefix = source.slice('artifacts:/'.length).replace(/^\/+|\/+$/g, '');
    return PREFIX.test(prefix) && !prefix.split('/').some((p) => p === '.' || p === '..') ? { kind: 'artifacts', prefix } : undefined;
  }
  return undefined;
}

/** Validates a variant's multi-model block and fills its defaults; `invalid` builds the field-naming config error. */
export function compileMultiModel(input: MultiModelInput, at: string, invalid: (detail: string, field: string) => CapstanError): MultiModelConfig {
  if (!input || typeof input !== 'object' || Array.isArray(input)) throw invalid(`${at} must be an object with a source`, at);
  const source = typeof input.source === 'string' ? input.source.trim() : '';
  if (!parseMultiModelSource(source)) {
    throw invalid(`${at}.source must be models:/<group> (a registry model group) or artifacts:/<prefix> (a folder of model packages)`, `${at}.source`);
  }
  const int = (value: unknown, field: string, min: number, max: number, fallback: number): number => {
    if (value === undefined || value === null) return fallback;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) throw invalid(`${at}.${field} must be an integer from ${min} to ${max}`, `${at}.${field}`);
    return value;
  };
  return {
    source: source.replace(/\/+$/, ''),
    memoryBudgetBytes: int(input.memoryBudgetBytes, 'memoryBudgetBytes', 1024, 1024 ** 4, 1024 ** 3),
    maxModels: int(input.maxModels, 'maxModels', 1, 1000, 32),
    loadWaitMs: int(input.loadWaitMs, 'loadWaitMs', 0, 600_000, 5000),
    failedRetryMs: int(input.failedRetryMs, 'failedRetryMs', 0, 3_600_000, 5000),
  };
}

/** What a multi-model variant stores as its pinned model: the source's group or prefix, version 0 (models resolve per request). */
export function multiModelResolved(source: string): ResolvedModel {
  const s = parseMultiModelSource(source);
  return { name: s?.kind === 'registry' ? s.group : (s?.prefix ?? source), version: 0, digest: 'multi-model', framework: 'multi-model' };
}
