import type { EndpointStats, VariantStats } from '../serving/index.js';
import type { SideWindow } from './alarms.js';

/** The q-quantile of summed histogram counts, interpolated inside its bucket like serving's own percentiles. */
function quantile(bounds: readonly (number | null)[], counts: readonly number[], q: number): number {
  const total = counts.reduce((a, b) => a + b, 0);
  if (total === 0) return 0;
  const rank = q * total;
  let seen = 0;
  for (let i = 0; i < counts.length; i++) {
    const c = counts[i];
    if (c === 0 || seen + c < rank) {
      seen += c;
      continue;
    }
    const lower = i === 0 ? 0 : (bounds[i - 1] ?? 0);
    const upper = bounds[i];
    if (upper === null) return lower;
    return Math.round((lower + ((upper - lower) * (rank - seen)) / c) * 1000) / 1000;
  }
  return bounds[bounds.length - 2] ?? 0;
}

/** Sums the statistics of a set of variants (blue or green) into one window, percentiles from the merged histogram. */
export function sideWindow(stats: EndpointStats, variants: readonly string[]): SideWindow {
  const picked: VariantStats[] = stats.variants.filter((v) => variants.includes(v.variant));
  const requests = picked.reduce((a, v) => a + v.requests, 0);
  const errors5xx = picked.reduce((a, v) => a + v.errors5xx, 0);
  const errors4xx = picked.reduce((a, v) => a + v.errors4xx, 0);
  const bounds = picked[0]?.histogram.boundsMs ?? [];
  const counts = bounds.map((_, i) => picked.reduce((a, v) => a + (v.histogram.counts[i] ?? 0), 0));
  const meanMs = requests > 0 ? picked.reduce((a, v) => a + (v.latencyMs?.mean ?? 0) * v.requests, 0) / requests : 0;
  return {
    requests,
    errors5xx,
    errors4xx,
    errorRate: requests > 0 ? errors5xx / requests : 0,
    p50: quantile(bounds, counts, 0.5),
    p95: quantile(bounds, counts, 0.95),
    p99: quantile(bounds, counts, 0.99),
    meanMs: Math.round(meanMs * 1000) / 1000,
  };
}
