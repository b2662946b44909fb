/**
 * Upper bounds (ms) of the fixed latency buckets the per-variant statistics count into; the last
 * bucket is open. Fixed, so counts from every process and time bucket add up bucket by bucket.
 * Changing them needs a migration (one column per bucket) — never reorder them.
 */
export const LATENCY_BOUNDS_MS: readonly number[] = [0.25, 0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10_000, 30_000, Infinity];

/** Number of latency buckets (one column each in `serving_variant_stats`). */
export const LATENCY_BUCKETS = LATENCY_BOUNDS_MS.length;

/** The bucket a latency falls in: the first whose upper bound is at least `ms`. */
export function latencyBucket(ms: number): number {
  const b = LATENCY_BOUNDS_MS;
  let i = 0;
  while (ms > b[i]) i++;
  return i;
}

/**
 * The q-quantile (0 < q ≤ 1) of a bucketed distribution, interpolated linearly inside its bucket
 * (as Prometheus' histogram_quantile does); the open last bucket answers its lower bound. Null when
 * there is no observation.
 */
export function quantile(counts: ArrayLike<number>, q: number): number | null {
  let total = 0;
  for (let i = 0; i < counts.length; i++) total += counts[i];
  if (total === 0) return null;
  const rank = q * total;
  let seen = 0;
  for (let i = 0; i < counts.length; i++) {
    const c = counts[i];
    if (c === 0 || seen + c < rank) {
      seen += c;
      continue;
    }
    const lower = i === 0 ? 0 : LATENCY_BOUNDS_MS[i - 1];
    const upper = LATENCY_BOUNDS_MS[i];
    if (upper === Infinity) return lower;
    return Math.round((lower + ((upper - lower) * (rank - seen)) / c) * 1000) / 1000;
  }
  return LATENCY_BOUNDS_MS[LATENCY_BOUNDS_MS.length - 2];
}
