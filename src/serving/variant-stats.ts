import { LATENCY_BOUNDS_MS, quantile } from './latency-histogram.js';

/** Options of `variantStats`. */
export interface VariantStatsOptions {
  /** How far back to look; default 300000 ms (5 min), at most the retention (default 1 h). Rounded out to whole time buckets. */
  windowMs?: number;
}

/** One variant's traffic over the window, summed over every serving process. */
export interface VariantStats {
  variant: string;
  requests: number;
  /** Requests the caller got wrong (4xx). */
  errors4xx: number;
  /** Every 5xx answer, model failures included. */
  errors5xx: number;
  /** The 5xx the model caused: an error in the model, a crash, a timeout, an external server failing. */
  modelErrors: number;
  /** errors5xx / requests; 0 without requests. */
  errorRate: number;
  /** Whole-request latency in ms (time in the gateway and the model); null without requests. */
  latencyMs: { mean: number; p50: number; p95: number; p99: number } | null;
  /** The bucketed latencies behind the percentiles: `counts[i]` requests took at most `boundsMs[i]` (and more than the bound before). */
  histogram: { boundsMs: (number | null)[]; counts: number[] };
}

/** What `variantStats` answers. */
export interface EndpointStats {
  endpoint: string;
  windowMs: number;
  /** Start of the oldest time bucket counted (ISO 8601). */
  from: string;
  to: string;
  /** The configured variants (zeros when idle), then any retired variant that still had traffic in the window. */
  variants: VariantStats[];
}

/** One variant's sums as read from the database. */
export interface VariantTotals {
  variant: string;
  requests: number;
  errors4xx: number;
  errors5xx: number;
  modelErrors: number;
  latencySumMs: number;
  latency: number[];
}

/** Turns summed counters into the statistics a reader sees. */
export function summarize(t: VariantTotals): VariantStats {
  const p = (q: number) => quantile(t.latency, q) ?? 0;
  return {
    variant: t.variant,
    requests: t.requests,
    errors4xx: t.errors4xx,
    errors5xx: t.errors5xx,
    modelErrors: t.modelErrors,
    errorRate: t.requests > 0 ? t.errors5xx / t.requests : 0,
    latencyMs: t.requests > 0 ? { mean: Math.round((t.latencySumMs / t.requests) * 1000) / 1000, p50: p(0.5), p95: p(0.95), p99: p(0.99) } : null,
    // JSON has no Infinity: the open last bucket's bound is null.
    histogram: { boundsMs: LATENCY_BOUNDS_MS.map((b) => (b === Infinity ? null : b)), counts: t.latency },
  };
}
