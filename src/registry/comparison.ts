import { CapstanError } from '../core/errors.js';
import type { Comparison, ComparisonRow } from './registry-service.js';

/** Most versions or runs one comparison takes. */
export const MAX_COMPARED = 100;

/** One thing being compared, before the table is cut to the chosen columns. */
export interface ComparisonSubject {
  id: string;
  extra?: Pick<ComparisonRow, 'version' | 'approval' | 'aliases'>;
  metrics: Record<string, number>;
  params: Record<string, string>;
}

/** Checks a list of metric or param names asked for. */
export function checkColumns(names: unknown, what: string): string[] | undefined {
  if (names === undefined) return undefined;
  if (!Array.isArray(names) || names.some((n) => typeof n !== 'string' || n.length === 0 || n.length > 250)) {
    throw new CapstanError('CAPSTAN_REGISTRY_COMPARE_INVALID', `${what} must be a list of names`);
  }
  return [...new Set(names as string[])];
}

/** True for metrics where lower is better (loss, error rates, rmse, mae, mse, log-loss, latency). */
export function lowerIsBetter(metric: string): boolean {
  return /(loss|error|err\b|rmse|mae|mse|mape|latency|perplexity)/i.test(metric);
}

/**
 * Builds a comparison table: one row per subject with the chosen metrics and params (default: every
 * one any subject has, sorted), null where a subject lacks one, and the best row per metric (highest, or lowest for loss-like metrics, see `lowerIsBetter`).
 */
export function buildComparison(subjects: ComparisonSubject[], metrics?: string[], params?: string[]): Comparison {
  if (subjects.length === 0) throw new CapstanError('CAPSTAN_REGISTRY_COMPARE_INVALID', 'nothing to compare: name at least one version or run');
  if (subjects.length > MAX_COMPARED) throw new CapstanError('CAPSTAN_REGISTRY_COMPARE_INVALID', `compare at most ${MAX_COMPARED} versions or runs at once`);
  const metricNames = metrics ?? [...new Set(subjects.flatMap((s) => Object.keys(s.metrics)))].sort();
  const paramNames = params ?? [...new Set(subjects.flatMap((s) => Object.keys(s.params)))].sort();
  const rows: ComparisonRow[] = subjects.map((s) => ({
    id: s.id,
    ...s.extra,
    metrics: Object.fromEntries(metricNames.map((m) => [m, s.metrics[m] ?? null])),
    params: Object.fromEntries(paramNames.map((p) => [p, s.params[p] ?? null])),
  }));
  const best: Record<string, string | null> = {};
  for (const m of metricNames) {
    const sign = lowerIsBetter(m) ? -1 : 1;
    let winner: ComparisonRow | null = null;
    for (const r of rows) {
      const v = r.metrics[m];
      if (v !== null && (winner === null || sign * v > sign * (winner.metrics[m] as number))) winner = r;
    }
    best[m] = winner?.id ?? null;
  }
  return { metrics: metricNames, params: paramNames, rows, best };
}
